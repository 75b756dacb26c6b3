"""Skew: the angle that makes the horizontal projection profile sharpest, and the way back to the original."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from crnn.document import Box
from crnn.imaging import rotation_matrix, transform_box
from crnn.layout.config import DeskewConfig


def estimate_skew(mask: np.ndarray, config: DeskewConfig = DeskewConfig()) -> float:
    """The page's skew in degrees, counter-clockwise positive: undoing it makes the rows sharpest."""
    max_degrees = config.max_degrees
    ys, xs = ink_points(mask)
    if len(ys) < 50:
        return 0.0
    if len(ys) > config.max_points:  # every k-th ink pixel in raster order: an even sample of the page
        step = -(-len(ys) // config.max_points)
        ys, xs = ys[::step], xs[::step]
    xs = xs.astype(np.float32) - np.float32(mask.shape[1] / 2)
    # lifted so that no rotation in the searched range projects a pixel above row 0
    lift = float(np.abs(xs).max()) * math.tan(math.radians(max_degrees + 0.5)) + 1
    ys = ys.astype(np.float32) + np.float32(lift)

    def sharpness(angle: float, ys: np.ndarray = ys, xs: np.ndarray = xs) -> float:
        hist = np.bincount((ys + xs * np.float32(math.tan(math.radians(angle)))).astype(np.int32))
        return float(np.dot(hist, hist))

    every = config.coarse_subsample
    coarse = partial(sharpness, ys=ys[::every], xs=xs[::every])
    step = config.coarse_step
    best = max(np.arange(-max_degrees, max_degrees + 1e-9, step), key=coarse)
    fine = np.arange(best - step, best + step + 1e-9, config.fine_step)
    return float(max(fine, key=sharpness))


def ink_points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a mask's set pixels in raster order, as ``np.nonzero`` gives them
    (OpenCV's scan is a few times faster on a page)."""
    points = cv2.findNonZero(np.ascontiguousarray(mask, dtype=np.uint8)) if mask.size else None
    if points is None:
        empty = np.zeros(0, np.int64)
        return empty, empty
    points = points.reshape(-1, 2)
    return points[:, 1], points[:, 0]


def back_mapper(width: int, height: int, scale: float, skew: float) -> Callable[[Box], Box]:
    """Map a box on the scaled, deskewed page to the bounding box of its corners on the original page."""
    undo = cv2.invertAffineTransform(rotation_matrix(width, height, -skew))
    return partial(transform_box, matrix=undo, scale=scale, clip=(width, height))

"""Rotation about an image's centre, and the boxes that follow it."""

from __future__ import annotations

import math

import cv2
import numpy as np

from crnn.document import Box


def rotation_matrix(width: int, height: int, degrees: float) -> np.ndarray:
    """The 2x3 affine matrix rotating by ``degrees`` counter-clockwise about the image centre."""
    return cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)


def rotate(image: np.ndarray, degrees: float, fill: int | None = None) -> np.ndarray:
    """Rotate counter-clockwise about the centre, keeping the size (the skew is small).

    Pixels from outside the image are ``fill``, or copies of the nearest edge pixel when it is None.
    """
    if abs(degrees) < 1e-3:
        return image
    h, w = image.shape[:2]
    border = cv2.BORDER_REPLICATE if fill is None else cv2.BORDER_CONSTANT
    return cv2.warpAffine(image, rotation_matrix(w, h, degrees), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=border, borderValue=0 if fill is None else fill)


def transform_corners(box: Box, matrix: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The box's corners (clockwise from the top left), divided by ``scale``, moved by an affine ``matrix``."""
    corners = np.array([[box.x0, box.y0, 1], [box.x1, box.y0, 1], [box.x1, box.y1, 1], [box.x0, box.y1, 1]],
                       dtype=np.float64)
    corners[:, :2] /= scale
    return corners @ np.asarray(matrix, dtype=np.float64).T


def transform_box(box: Box, matrix: np.ndarray, scale: float = 1.0, clip: tuple[int, int] | None = None) -> Box:
    """The bounding box, in whole pixels, of the box's corners moved by :func:`transform_corners`.

    With ``clip`` = (width, height) the result is kept inside that image.
    """
    moved = transform_corners(box, matrix, scale)
    x0, y0 = int(math.floor(moved[:, 0].min())), int(math.floor(moved[:, 1].min()))
    x1, y1 = int(math.ceil(moved[:, 0].max())), int(math.ceil(moved[:, 1].max()))
    if clip is not None:
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(clip[0], x1), min(clip[1], y1)
    return Box(x0, y0, x1, y1)

"""Grey-level statistics and paper flattening on uint8 images."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale from a gray, BGR or BGRA uint8 image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def gray_percentiles(gray: np.ndarray, percents: tuple[float, ...], mask: np.ndarray | None = None) -> list[int]:
    """Percentiles of a uint8 image (of its pixels where ``mask`` is non-zero) from its histogram,
    much faster than ``np.percentile``. Zeros for an empty selection."""
    return histogram_percentiles(histogram(gray, mask), percents)


def median(values: np.ndarray | list[float]) -> float:
    """The median of ``values`` (no NaNs; ``nan`` for none): ``np.median``'s figure for integer and float64 values.

    ``np.median`` of a float array imports ``numpy.ma`` to check for NaNs, which is a sizeable
    part of a one-page run's start-up; a partition finds the same middle values.
    """
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        return float("nan")
    middle = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, middle)[middle])
    low, high = np.partition(flat, (middle - 1, middle))[middle - 1 : middle + 1]
    return (float(low) + float(high)) / 2


def percentile(values: np.ndarray | list[float], percent: float) -> float:
    """The ``percent`` percentile of ``values`` (no NaNs; ``nan`` for none), interpolated between the two
    nearest values as ``np.percentile`` does by default; the same figure for integer and float64 values.

    ``np.percentile`` imports ``numpy.ma`` on its first call, as ``np.median`` does (see :func:`median`).
    """
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        return float("nan")
    position = (percent / 100) * (flat.size - 1)
    low = int(np.floor(position))
    high = min(low + 1, flat.size - 1)
    parted = np.partition(flat, (low, high) if high != low else low)
    below, above, fraction = float(parted[low]), float(parted[high]), position - low
    # numpy's two-sided interpolation, which lands exactly on ``above`` at a fraction of 1
    if fraction >= 0.5:
        return above - (above - below) * (1 - fraction)
    return below + (above - below) * fraction


def histogram(gray: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The 256-bin grey-level histogram of a uint8 image (of its pixels where ``mask`` is non-zero)."""
    if gray.size == 0:
        return np.zeros(256, np.float32)
    # OpenCV's histogram is a few times faster than np.bincount on uint8 pixels
    return cv2.calcHist([np.ascontiguousarray(gray)], [0], mask, [256], [0, 256]).reshape(-1)


def histogram_percentiles(counts: np.ndarray, percents: tuple[float, ...]) -> list[int]:
    """Percentiles (as bin indices) of a histogram."""
    cumulative = np.cumsum(counts, dtype=np.float64)
    total = cumulative[-1]
    return [int(np.searchsorted(cumulative, total * p / 100.0)) for p in percents]


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Block means over ``factor`` x ``factor`` pixels (a scale factor, not a size, selects
    OpenCV's fast integer-ratio path)."""
    if factor <= 1:
        return image
    return cv2.resize(image, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)


def divide_by_paper(gray: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """``gray`` relative to the paper's brightness under it, paper at 255."""
    # one saturating OpenCV division: numpy's float temporaries cost more than the arithmetic
    return cv2.divide(gray, np.maximum(paper, 1), scale=255.0)


def paper_background(gray: np.ndarray, window: int, method: Literal["closing", "max"] = "closing") -> np.ndarray:
    """The paper's brightness under an image, full size, estimated over ``window`` pixels.

    The estimate is made at a reduced resolution (the background is smooth) and scaled back.

    - ``"closing"`` (a grey-level closing: max filter, then min filter) erases strokes narrower
      than the window but keeps the edge of a wide shadow (the gutter, the page border) where
      it is: dividing by it leaves no false ink along such edges. Pages use it.
    - ``"max"`` (a max filter, then a box blur) is smoother; a line crop, which has no such
      edges inside it, uses it.
    """
    window = max(3, int(window))
    if method == "closing":
        factor = max(1, min(window // 8, min(gray.shape) // 2))
    else:
        factor = max(1, min(window // 8, min(gray.shape)))
    small = shrink(gray, factor)
    k = max(3, (window // factor) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    if method == "closing":
        background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    else:
        background = cv2.blur(cv2.dilate(small, kernel), (k, k))
    if factor > 1:
        background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return background


def flatten_illumination(gray: np.ndarray, window: int) -> np.ndarray:
    """Divide out the paper's brightness (``paper_background(..., "max")``) over ``window`` pixels.

    Shadows, gradients and tinted paper become a flat white background; strokes
    thinner than the window keep their darkness relative to the paper around them.
    """
    return divide_by_paper(gray, paper_background(gray, window, "max"))


def ink_mask(gray: np.ndarray, min_contrast: int = 24) -> np.ndarray:
    """Boolean mask of dark ink on lighter paper (Otsu), all False when there is no contrast."""
    low, high = gray_percentiles(gray, (1, 99))
    if high - low < min_contrast:
        return np.zeros(gray.shape, dtype=bool)
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = gray < threshold
    # on a bilevel image Otsu's threshold is the ink's own level, below which nothing lies
    return ink if ink.any() else gray <= threshold

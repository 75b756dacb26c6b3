"""Projection profiles: ink per row or column, runs of inked rows, and text-line bands."""

from __future__ import annotations

import cv2
import numpy as np

from crnn.layout.config import LineConfig


def ink_counts(mask: np.ndarray, axis: int) -> np.ndarray:
    """Ink pixels per column (axis 0) or per row (axis 1) of a boolean mask, as float64.

    OpenCV's reduction is several times faster than numpy's sum over booleans.
    """
    counts = cv2.reduce(np.ascontiguousarray(mask).view(np.uint8), axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return counts.ravel().astype(np.float64)


def runs(on: np.ndarray) -> list[tuple[int, int]]:
    """The [start, end) index ranges where a boolean array is True."""
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def line_bands(profile: np.ndarray, char_height: float, config: LineConfig = LineConfig()) -> list[tuple[int, int]]:
    """Row ranges [top, bottom) of text lines in a horizontal projection profile.

    Rows with (almost) any ink are text; blank rows separate lines. A band much
    taller than the median (lines whose descenders touch the next line's
    ascenders) is split at the profile minima near the expected line pitch, and
    slivers shorter than ``min_band_chars`` character heights are dropped.
    """
    if profile.max() <= 0:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    peaks = smooth[smooth > 0]
    # any ink at all: a lone page number has only a few pixels per row, and rows where
    # descenders meet the next line's ascenders are handled by splitting tall bands below
    threshold = max(config.min_ink_row, config.ink_row_fraction * np.percentile(peaks, 90))
    bands = runs(smooth > threshold)
    bands = [b for b in bands if b[1] - b[0] >= max(config.min_band_rows, config.min_band_chars * char_height)]
    if not bands:
        return []
    median_height = float(np.median([b - a for a, b in bands]))
    split: list[tuple[int, int]] = []
    for a, b in bands:
        split.extend(_split_tall_band(smooth, a, b, median_height, config))
    return split


def _split_tall_band(profile: np.ndarray, a: int, b: int, median_height: float,
                     config: LineConfig) -> list[tuple[int, int]]:
    height = b - a
    if height < config.split_factor * median_height or median_height <= 0:
        return [(a, b)]
    parts = max(2, int(round(height / median_height)))
    cuts = [a]
    for k in range(1, parts):
        expected = a + k * height / parts
        lo = int(expected - config.split_window * median_height)
        hi = int(expected + config.split_window * median_height)
        lo, hi = max(a + 1, lo), min(b - 1, hi)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(expected))
    cuts.append(b)
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]

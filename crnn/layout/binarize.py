"""Ink masks: Otsu on the illumination-flattened page, confirmed by Sauvola's local threshold."""

from __future__ import annotations

import cv2
import numpy as np

from crnn.imaging import divide_by_paper, paper_background
from crnn.layout.config import BinarizeConfig


def flatten_page(gray: np.ndarray, window: int) -> np.ndarray:
    """Divide the page by its paper brightness (a grey-level closing over ``window`` pixels).

    A closing keeps the edge of a wide shadow where it is, so dividing by it leaves no
    false ink along such edges (see :func:`crnn.imaging.paper_background`).
    """
    return divide_by_paper(gray, paper_background(gray, window, "closing"))


def sauvola(gray: np.ndarray, window: int, k: float = 0.25, dynamic_range: float = 128.0) -> np.ndarray:
    """Sauvola's local threshold: ink where darker than mean * (1 + k * (std / R - 1)) around it.

    Smooth shadows have little local contrast, so they stay paper even when dark.
    (The statistics need full resolution: at the edge of a gutter shadow they change
    within a few pixels, and an interpolated threshold there eats letters.)
    """
    window = max(3, int(window) | 1)
    mean = cv2.boxFilter(gray, cv2.CV_32F, (window, window), borderType=cv2.BORDER_REFLECT)
    threshold = cv2.sqrBoxFilter(gray, cv2.CV_32F, (window, window), borderType=cv2.BORDER_REFLECT)
    # in place, page-sized: threshold = mean * (1 - k + k * std / R)
    threshold -= mean * mean
    np.maximum(threshold, 0, out=threshold)
    np.sqrt(threshold, out=threshold)
    threshold *= k / dynamic_range
    threshold += 1 - k
    threshold *= mean
    return gray < threshold


def binarize(gray: np.ndarray, window: int, config: BinarizeConfig = BinarizeConfig()) -> np.ndarray:
    """The ink mask of a page (see :func:`binarize_with_levels`)."""
    return binarize_with_levels(gray, window, config)[0]


def binarize_with_levels(gray: np.ndarray, window: int,
                         config: BinarizeConfig = BinarizeConfig()) -> tuple[np.ndarray, np.ndarray, float]:
    """Ink mask: Otsu on the illumination-flattened page, confirmed by Sauvola's local threshold.

    Otsu on the flattened page finds ink on tinted paper; the Sauvola test removes
    what is merely dark without local contrast (the gutter's shadow, a page edge).
    Also returns the flattened page and the Otsu threshold.
    """
    flat = flatten_page(gray, window)
    threshold, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = min(threshold, config.max_otsu_threshold)
    # Otsu's threshold is the last level of the dark class: on a bilevel scan it is the ink's own
    # level, so the comparison must include it
    ink = (flat <= threshold) & sauvola(gray, window, config.sauvola_k, config.sauvola_range)
    return ink, flat, float(threshold)

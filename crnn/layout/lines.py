"""Text lines from bands: which components make a line, its box, its crop, and blocks of lines."""

from __future__ import annotations

import itertools
import math
from typing import TypeVar

import cv2
import numpy as np

from crnn.document import Box
from crnn.imaging import (
    EmptyLineError,
    LineGeometry,
    close_wide_gaps,
    divide_by_paper,
    gray_percentiles,
    median,
    normalize_line,
)
from crnn.layout.config import CropConfig, LineConfig

T = TypeVar("T")


def band_boxes(stats: np.ndarray, centroids: np.ndarray, bands: list[tuple[int, int]], char_height: float,
               config: LineConfig = LineConfig()) -> list[tuple[Box, np.ndarray]]:
    """One box per band that holds text (the extent of its components), and the components' boxes
    (one row of x0, y0, x1, y1 each).

    Components are assigned to the band holding their vertical centre. A band
    needs at least one component of letter height (so rows of specks or the
    frayed edge of a page are not lines); specks far from the letters do not
    stretch the box.
    """
    boxes = []
    reach = int(config.extend_chars * char_height)
    for top, bottom in bands:
        members = (centroids[:, 1] >= top) & (centroids[:, 1] < bottom)
        if not members.any():
            continue
        heights = stats[members, cv2.CC_STAT_HEIGHT]
        chosen = _main_cluster(stats[members][heights >= config.member_min_chars * char_height], char_height, config)
        if chosen is None:
            continue
        x0 = int(chosen[:, cv2.CC_STAT_LEFT].min())
        y0 = int(chosen[:, cv2.CC_STAT_TOP].min())
        x1 = int((chosen[:, cv2.CC_STAT_LEFT] + chosen[:, cv2.CC_STAT_WIDTH]).max())
        y1 = int((chosen[:, cv2.CC_STAT_TOP] + chosen[:, cv2.CC_STAT_HEIGHT]).max())
        # i-dots, hyphens, periods and commas are too small to choose the line, but belong to it,
        # also where they end it (a line-end hyphen, a closing period) or open it (a quote)
        member_stats = stats[members]
        left = member_stats[:, cv2.CC_STAT_LEFT]
        right = left + member_stats[:, cv2.CC_STAT_WIDTH]
        x0, x1 = _reach_punctuation(left, right, x0, x1, config.punctuation_gap_chars * char_height)
        centre_x = (left + right) / 2
        inside = member_stats[(centre_x >= x0) & (centre_x <= x1)]
        parts = np.column_stack([inside[:, 0], inside[:, 1], inside[:, 0] + inside[:, 2], inside[:, 1] + inside[:, 3]])
        boxes.append((Box(x0, max(y0, top - reach), x1, min(y1, bottom + reach)), parts))
    return boxes


def _reach_punctuation(left: np.ndarray, right: np.ndarray, x0: int, x1: int, gap: float) -> tuple[int, int]:
    """The extent [x0, x1] grown over the small marks that follow or precede it within ``gap``."""
    changed = True
    while changed:
        changed = False
        after = (right > x1) & (left <= x1 + gap)
        if after.any():
            x1, changed = int(right[after].max()), True
        before = (left < x0) & (right >= x0 - gap)
        if before.any():
            x0, changed = int(left[before].min()), True
    return x0, x1


def near_any(box: Box, others: list[Box], distance: float) -> bool:
    """Whether ``box``, grown by ``distance`` pixels, touches any of ``others``."""
    grown = box.grown(int(distance))
    return any(grown.intersection_over_self(other) > 0 for other in others)


def _letters(stats: np.ndarray, char_height: float, config: LineConfig) -> np.ndarray:
    """Which components are letter-shaped: letter height, at most a few letters wide, not a solid blob."""
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    fill = stats[:, cv2.CC_STAT_AREA] / np.maximum(w * h, 1)
    return ((h >= config.letter_min_chars * char_height) & (h <= config.letter_max_chars * char_height)
            & (w <= config.letter_max_chars * char_height) & (fill < config.letter_max_fill))


def _large_letters(stats: np.ndarray, char_height: float, config: LineConfig) -> np.ndarray:
    """Which components are taller than letters but shaped like them (a title's capitals)."""
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    return ((h > config.letter_max_chars * char_height) & (w <= config.large_letter_max_aspect * h)
            & (w >= config.large_letter_min_aspect * h))


def _main_cluster(stats: np.ndarray, char_height: float, config: LineConfig) -> np.ndarray | None:
    """The components of a band that form its text: clusters split at gaps wider than
    ``cluster_gap_chars`` character heights (wider than a justified word space), keeping those
    with a letter-sized member. A short word after a wide gap is text however little ink it has;
    a row of specks is not."""
    if len(stats) == 0:
        return None
    order = np.argsort(stats[:, cv2.CC_STAT_LEFT])
    stats = stats[order]
    right_edges = np.maximum.accumulate(stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH])
    gaps = stats[1:, cv2.CC_STAT_LEFT] - right_edges[:-1]
    cuts = np.flatnonzero(gaps > config.cluster_gap_chars * char_height) + 1
    clusters = np.split(stats, cuts)
    # a title in large type has no letter of body size, but a row of large ones
    large_row = int(_large_letters(stats, char_height, config).sum()) >= config.large_letters_in_row
    kept = [c for c in clusters if _letters(c, char_height, config).any()
            or (large_row and _large_letters(c, char_height, config).any())]
    return np.concatenate(kept) if kept else None


def group_blocks(lines: list[tuple[Box, T]], gap_factor: float) -> list[list[tuple[Box, T]]]:
    """Consecutive lines split into blocks where the step from one line's top to the next exceeds
    ``gap_factor`` times the median step."""
    if not lines:
        return []
    heights = median([b.height for b, _ in lines])
    pitches = [b2.y0 - b1.y0 for (b1, _), (b2, _) in itertools.pairwise(lines)]
    pitch = float(median(pitches)) if pitches else float(heights)
    blocks: list[list[tuple[Box, T]]] = [[lines[0]]]
    for previous, current in itertools.pairwise(lines):
        if current[0].y0 - previous[0].y0 > gap_factor * pitch:
            blocks.append([])
        blocks[-1].append(current)
    return blocks


def crop_line(deskewed: np.ndarray, brightness: np.ndarray, box: Box, parts: np.ndarray, scale: float,
              char_height: float, geometry: LineGeometry, config: CropConfig = CropConfig()) -> np.ndarray | None:
    """Cut a line from the full-resolution deskewed page and normalize it (None if it holds no ink).

    ``box`` and ``parts`` are on the analysis scale (``scale`` times the full resolution).
    The crop is flattened (divided by its paper's brightness), then only the
    surroundings of the line's own components are kept; the rest (specks, bits of
    the neighbouring lines and illustrations) is painted with the paper's colour.
    """
    pad_y = config.pad_height_fraction * box.height
    pad_x = config.pad_chars * char_height
    x0 = int(max(0, (box.x0 - pad_x) / scale))
    x1 = int(min(deskewed.shape[1], math.ceil((box.x1 + pad_x) / scale)))
    y0 = int(max(0, (box.y0 - pad_y) / scale))
    y1 = int(min(deskewed.shape[0], math.ceil((box.y1 + pad_y) / scale)))
    # the crop's shading (a gutter shadow, a lamp's falloff) is divided out before the
    # surroundings are painted white: painting first would leave a grey box with sharp edges
    # behind the last words of a shadowed line, which the recognizer reads as letters
    crop = divide_by_paper(deskewed[y0:y1, x0:x1], brightness[y0:y1, x0:x1])
    keep = np.zeros(crop.shape, dtype=np.uint8)
    grow = config.keep_chars * char_height
    if len(parts):
        corners = parts.astype(np.float64)
        lows = ((corners[:, :2] - grow) / scale).astype(np.int64)  # truncated, as int() does
        highs = np.ceil((corners[:, 2:] + grow) / scale).astype(np.int64)
        left, top = np.maximum(0, lows[:, 0] - x0).tolist(), np.maximum(0, lows[:, 1] - y0).tolist()
        right, bottom = np.maximum(0, highs[:, 0] - x0).tolist(), np.maximum(0, highs[:, 1] - y0).tolist()
        for t, b, lo, hi in zip(top, bottom, left, right, strict=True):
            keep[t:b, lo:hi] = 1
    if keep.any():
        (paper,) = gray_percentiles(crop, (90,), mask=keep)
        crop = cv2.copyTo(crop, keep, np.full_like(crop, paper))
    try:
        return normalize_line(crop, geometry)
    except EmptyLineError:
        return None


def narrow_wide_gaps(crop: np.ndarray, geometry: LineGeometry, config: CropConfig = CropConfig(),
                     ) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """A framed line with its gaps wider than any word space narrowed (``config.close_gaps_wider_than``
    line heights to ``config.closed_gap_width``), and where (:func:`crnn.imaging.close_wide_gaps`)."""
    return close_wide_gaps(crop, int(round(config.close_gaps_wider_than * geometry.height)),
                           int(round(config.closed_gap_width * geometry.height)))

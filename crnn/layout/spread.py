"""Two-page spreads: the gutter between the pages."""

from __future__ import annotations

import numpy as np

from crnn.imaging import percentile
from crnn.layout.config import SpreadConfig
from crnn.layout.profiles import ink_counts, runs


def find_gutter(mask: np.ndarray, config: SpreadConfig = SpreadConfig()) -> int | None:
    """Column of the gutter of a two-page spread, or None for a single page.

    A spread is wide, and near its middle has a band of columns with (almost) no
    ink, with substantial ink on both sides.
    """
    h, w = mask.shape
    if w / h < config.min_aspect:
        return None
    columns = ink_counts(mask, axis=0)
    window = max(3, w // config.smoothing_divisor)
    smooth = np.convolve(columns, np.ones(window) / window, mode="same")
    lo, hi = int(w * config.search_from), int(w * config.search_to)
    lowest = float(smooth[lo:hi].min())
    # the middle of the widest run of emptiest columns, not merely its first column
    empty = runs(smooth[lo:hi] <= lowest + 1e-6)
    start, end = max(empty, key=lambda r: (r[1] - r[0], -abs((r[0] + r[1]) / 2 - (hi - lo) / 2)))
    x = lo + (start + end) // 2
    left, right = columns[:x].sum(), columns[x:].sum()
    total = left + right
    if total == 0 or min(left, right) < config.min_side_share * total:
        return None
    if smooth[x] > config.max_gutter_ink * percentile(smooth[smooth > 0], 90):
        return None
    return x

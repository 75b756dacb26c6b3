"""Page orientation: which of 0, 90, 180 or 270 degrees turns the page's text upright.

Two measurements on a binarized page, both independent of the recognizer:

- *Lines run across, not down.* Text lines make the row profile of a page oscillate (lines
  and the gaps between them); the column profile of the same page is much flatter. A page
  whose column profile oscillates more is lying on its side.
- *Ascenders outnumber descenders.* In Latin print the ink that rises above a line's x-height
  band (ascenders, capitals, digits, accents) far outweighs the ink that hangs below it
  (descenders of g, j, p, q, y). A page whose lines carry more ink below their core than
  above is upside down.
"""

from __future__ import annotations

import numpy as np

from crnn.layout.config import OrientationConfig
from crnn.layout.profiles import ink_counts, runs


def profile_oscillation(profile: np.ndarray, window: int) -> float:
    """How strongly a projection profile swings between lines and gaps: the mean absolute
    difference from its own moving average over ``window``, relative to its mean."""
    if profile.size < 3 or profile.mean() <= 0:
        return 0.0
    window = min(max(3, int(window) | 1), profile.size - 1 + profile.size % 2)  # odd, and no longer than the profile
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    trend = np.convolve(smooth, np.ones(window) / window, mode="same")
    return float(np.abs(smooth - trend).mean() / profile.mean())


def ascender_ratio(mask: np.ndarray, char_height: float, config: OrientationConfig = OrientationConfig()) -> float:
    """Ink above the x-height cores of the mask's lines over the ink below them (1.0 if unknown).

    The mask (the page's deskewed text, pictures and specks removed) is measured in vertical
    strips a few words wide, so the lines of neighbouring columns do not blur each other's cores.
    In each strip every run of inked rows is a line (or a few touching lines); its core is the
    run of rows holding at least ``core_fraction`` of its densest row.
    """
    strip = max(8, int(config.strip_chars * char_height))
    min_rows = max(2, int(config.min_line_chars * char_height))
    above = below = 0.0
    for x in range(0, mask.shape[1], strip):
        profile = ink_counts(mask[:, x : x + strip], axis=1)
        if profile.max() <= 0:
            continue
        for top, bottom in runs(profile > config.blank_row_fraction * profile.max()):
            if bottom - top < min_rows:
                continue
            band = profile[top:bottom]
            core = np.flatnonzero(band >= config.core_fraction * band.max())
            above += float(band[: core[0]].sum())
            below += float(band[core[-1] + 1 :].sum())
    return (above + 1.0) / (below + 1.0)


def sideways(mask: np.ndarray, char_height: float, config: OrientationConfig = OrientationConfig()) -> float:
    """Row-profile oscillation over column-profile oscillation: well below 1 when lines run down the page."""
    window = int(config.trend_chars * char_height)
    rows = profile_oscillation(ink_counts(mask, axis=1), window)
    columns = profile_oscillation(ink_counts(mask, axis=0), window)
    return (rows + 1e-6) / (columns + 1e-6)

"""Projection profiles: ink per row or column, runs of inked rows, and text-line bands."""

from __future__ import annotations

import cv2
import numpy as np

from crnn.imaging import median, percentile
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


def line_bands(profile: np.ndarray, char_height: float, config: LineConfig = LineConfig(),
               pitch: float | None = None) -> list[tuple[int, int]]:
    """Row ranges [top, bottom) of text lines in a horizontal projection profile.

    Rows with (almost) any ink are text; blank rows separate lines. A band much
    taller than the median (lines whose descenders touch the next line's
    ascenders) is split at the profile minima near the expected line pitch, and
    slivers shorter than ``min_band_chars`` character heights are dropped. ``pitch`` is the
    line pitch if known (a short block takes its page's), else it is measured on ``profile``.
    """
    if profile.max() <= 0:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    peaks = smooth[smooth > 0]
    # any ink at all: a lone page number has only a few pixels per row, and rows where
    # descenders meet the next line's ascenders are handled by splitting tall bands below
    threshold = max(config.min_ink_row, config.ink_row_fraction * percentile(peaks, 90))
    bands = runs(smooth > threshold)
    bands = [b for b in bands if b[1] - b[0] >= max(config.min_band_rows, config.min_band_chars * char_height)]
    if not bands:
        return []
    median_height = float(median([b - a for a, b in bands]))
    pitch = pitch or line_pitch(smooth, char_height, config)
    reference, factor = (pitch, config.pitch_split_factor) if pitch else (median_height, config.split_factor)
    # a page may mix spacings (a single-spaced quotation in a double-spaced letter): a band far
    # taller than one line of type is also cut at its dips, whatever the page's pitch
    line_height = config.line_height_chars * char_height
    split: list[tuple[int, int]] = []
    for a, b in bands:
        parts = _split_tall_band(smooth, a, b, reference, factor, config)
        if len(parts) == 1 and b - a >= config.max_line_chars * char_height:
            parts = _split_at_valleys(smooth, a, b, line_height, config)
        split.extend(parts)
    return split


def line_pitch(profile: np.ndarray, char_height: float, config: LineConfig = LineConfig()) -> float | None:
    """The line pitch in rows: the period of the profile, from its autocorrelation (``None`` if not periodic).

    The first autocorrelation peak nearly as strong as the best is the pitch; later strong
    peaks are its multiples. Lines that touch (tight leading, long descenders) still repeat
    at the pitch, which the band heights alone do not show.
    """
    lo = max(2, int(config.min_pitch_chars * char_height))
    hi = min(len(profile) // 2, int(np.ceil(config.max_pitch_chars * char_height)))
    if char_height <= 0 or hi <= lo + 2:
        return None
    # clipped at a typical row's ink, so a short line (an indented verse, a paragraph's end)
    # repeats like a full one and the pitch does not double
    inked = profile[profile > 0]
    clipped = np.minimum(profile, median(inked)) if inked.size else profile
    centred = clipped - clipped.mean()
    spectrum = np.fft.rfft(centred, 2 * len(centred))
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum))[: hi + 2]
    if autocorrelation[0] <= 0:
        return None
    autocorrelation /= autocorrelation[0]
    window = autocorrelation[lo - 1 : hi + 2]
    inner = window[1:-1]
    peaks = np.flatnonzero((inner >= window[:-2]) & (inner >= window[2:]) & (inner > 0))
    if not len(peaks):
        return None
    best = float(inner[peaks].max())
    if best < config.min_pitch_correlation:
        return None
    first = int(peaks[np.argmax(inner[peaks] >= config.pitch_peak_share * best)])
    return float(lo + first)


def _split_tall_band(profile: np.ndarray, a: int, b: int, pitch: float, factor: float,
                     config: LineConfig) -> list[tuple[int, int]]:
    """A band of several touching lines cut at the profile's minima near the expected cuts, where
    the profile dips (a tall heading does not dip between its would-be lines)."""
    height = b - a
    if pitch <= 0 or height < factor * pitch:
        return [(a, b)]
    parts = max(2, int(round(height / pitch)))
    typical = float(percentile(profile[a:b], 75))
    cuts = [a]
    for k in range(1, parts):
        expected = a + k * height / parts
        lo = max(a + 1, int(expected - config.split_window * pitch))
        hi = min(b - 1, int(expected + config.split_window * pitch))
        if hi <= lo:
            continue
        cut = lo + int(np.argmin(profile[lo:hi]))
        if profile[cut] <= config.split_depth * typical:
            cuts.append(cut)
    cuts.append(b)
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]


def _split_at_valleys(profile: np.ndarray, a: int, b: int, line_height: float,
                      config: LineConfig) -> list[tuple[int, int]]:
    """A band far taller than a line cut at every valley of its profile: a row that is the lowest
    within half a line either way and holds at most ``split_depth`` of the band's typical row
    ink, the deepest first, no two within most of a line of each other."""
    typical = float(percentile(profile[a:b], 75))
    reach = max(1, int(0.5 * line_height))
    spacing = max(2, int(0.7 * line_height))
    band = profile[a:b]
    candidates = [r for r in range(spacing, len(band) - spacing)
                  if band[r] <= config.split_depth * typical
                  and band[r] == band[max(0, r - reach) : r + reach + 1].min()]
    cuts: list[int] = []
    for r in sorted(candidates, key=lambda r: band[r]):
        if all(abs(r - c) >= spacing for c in cuts):
            cuts.append(r)
    edges = [a, *sorted(a + c for c in cuts), b]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]

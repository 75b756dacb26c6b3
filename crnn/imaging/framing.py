"""The one line framing shared by synthetic data and the page layout.

A line image, whether rendered by ``crnn.synth`` or cut from a page by
``crnn.layout``, goes through :func:`normalize_line`: find the text band
(x-height core plus ascenders and descenders, ignoring stray ink from
neighbouring lines), crop it with margins proportional to its height, scale it
to the configured height, and stretch contrast so paper is white and ink black.
Training and inference therefore see the same framing. :class:`LineGeometry`
owns the framing's numbers, and so also the way back from a framed line to its
ink (:meth:`LineGeometry.margin_px`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from crnn.imaging.ops import (
    flatten_illumination,
    gray_percentiles,
    histogram,
    histogram_percentiles,
    ink_mask,
    percentile,
    to_gray,
)


@dataclass(frozen=True)
class LineGeometry:
    """How a line is framed for the recognizer; ``height`` is the one source of the line height.

    height: output height in pixels (the recognizer's input height).
    vertical_margin: blank margin above and below the text band, as a fraction of the band height.
    horizontal_margin: blank margin left and right, as a fraction of the band height.
    max_width: lines wider than this after scaling are squeezed to it.
    """

    height: int = 32
    vertical_margin: float = 0.12
    horizontal_margin: float = 0.3
    max_width: int = 1600

    def __post_init__(self) -> None:
        if self.height < 8:
            raise ValueError(f"line height must be at least 8 px, got {self.height}")
        if not 0 <= self.vertical_margin < 1 or not 0 <= self.horizontal_margin < 2:
            raise ValueError("line margins out of range")

    @property
    def band_height_px(self) -> float:
        """The text band's height in a framed line, in its pixels (the margins are nominal fractions)."""
        return self.height / (1 + 2 * self.vertical_margin)

    @property
    def margin_px(self) -> float:
        """The blank margin left and right of the ink in a framed line, in its pixels."""
        return self.horizontal_margin * self.band_height_px


class EmptyLineError(ValueError):
    """The crop holds no ink that could be a line of text."""


WHOLE_LINE_SHARE = 0.5
MIN_CORE_SHARE = 0.3


def text_band(row_profile: np.ndarray, core_profile: np.ndarray | None = None) -> tuple[int, int]:
    """Rows [top, bottom) of the main text band in a row ink profile.

    The core is a run of rows holding at least 35% of the peak of ``core_profile``
    (the row ink itself when not given; :func:`stroke_crossings` for a line image):
    the x-height, or the cap height of an all-caps line; of several runs that are whole
    lines, the one nearest the middle of the crop. It is extended while rows still hold
    ink, by at most 0.9 of the core height up (ascenders) and 0.7 down (descenders), so
    fragments of a neighbouring line do not widen the band.
    """
    core_rows = row_profile if core_profile is None else core_profile
    if not core_rows.any() or not row_profile.any():
        raise EmptyLineError("no ink in line crop")
    top, bottom = _core(core_rows, float(core_rows.max()), len(row_profile))
    first, last = _ink_run(row_profile, top, bottom)
    alone = first > 0 and last < len(row_profile) - 1  # blank above and below: no neighbour touches it
    if alone and bottom - top + 1 < MIN_CORE_SHARE * (last - first + 1):
        # a line standing alone whose core is far lower than its ink is a few busy rows, where a
        # dash crosses a digit ("- 4 -") or a digit's bowl and foot ("- 2 -"): its core is every
        # row of its ink that holds a good share of the strokes its rows typically cross
        run = core_rows[first : last + 1]
        strong = np.flatnonzero(run >= 0.35 * float(percentile(run[run > 0], 90)))
        top, bottom = first + int(strong[0]), first + int(strong[-1])
    core = bottom - top + 1
    up_limit = max(0, top - int(round(0.9 * core)) - 1)
    down_limit = min(len(row_profile) - 1, bottom + int(round(0.7 * core)) + 1)
    while top > up_limit and row_profile[top - 1] > 0:
        top -= 1
    while bottom < down_limit and row_profile[bottom + 1] > 0:
        bottom += 1
    return top, bottom + 1


def stroke_crossings(ink: np.ndarray) -> np.ndarray:
    """How many strokes each row of an ink mask crosses (its runs of ink), as float32.

    Across the x-height every letter has a stem or a bowl or two, while a row of serifs, a
    typewriter face's heavy baseline or an underline is much ink in few runs: counted by ink,
    those rows would take the core of the text band from the letters' middles.
    """
    starts = ink[:, 1:] & ~ink[:, :-1]
    return (np.count_nonzero(starts, axis=1) + ink[:, 0]).astype(np.float32)


def _core(core_rows: np.ndarray, peak: float, rows: int) -> tuple[int, int]:
    """First and last row of the core: of the runs of rows holding 35% of ``peak`` or more that
    are whole lines, the one nearest the middle."""
    strong = np.flatnonzero(core_rows >= 0.35 * peak)
    # strong rows in runs (gaps of up to two rows bridged), weighed by their mass, so a dense
    # fragment of a neighbouring line cannot win on its peak alone
    breaks = np.flatnonzero(np.diff(strong) > 3)
    starts = np.concatenate([[strong[0]], strong[breaks + 1]])
    ends = np.concatenate([strong[breaks], [strong[-1]]])
    masses = np.array([float(core_rows[a : b + 1].sum()) for a, b in zip(starts, ends, strict=True)])
    # a crop is cut around its line: of the runs that are whole lines (as heavy as the heaviest,
    # within a factor), the one nearest the middle is the line and the others are neighbours
    whole = np.flatnonzero(masses >= WHOLE_LINE_SHARE * masses.max())
    middle = (rows - 1) / 2
    best = int(whole[np.argmin(np.abs((starts[whole] + ends[whole]) / 2 - middle))])
    return int(starts[best]), int(ends[best])


def _ink_run(row_profile: np.ndarray, top: int, bottom: int) -> tuple[int, int]:
    """First and last row of the unbroken run of inked rows around rows ``top..bottom``."""
    while top > 0 and row_profile[top - 1] > 0:
        top -= 1
    while bottom < len(row_profile) - 1 and row_profile[bottom + 1] > 0:
        bottom += 1
    return top, bottom


def normalize_line(image: np.ndarray, geometry: LineGeometry = LineGeometry()) -> np.ndarray:
    """Crop, scale and contrast-normalize one text line to ``geometry.height`` rows (uint8, ink dark).

    Raises ``EmptyLineError`` when the crop holds no ink.
    """
    return frame_line(image, geometry)[0]


def frame_line(image: np.ndarray, geometry: LineGeometry = LineGeometry(),
               ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """:func:`normalize_line`'s line and the extent it framed (:func:`line_extent`), found once."""
    gray, extent = _locate_text(image)
    left, top, right, bottom = extent
    band_height = bottom - top

    v_margin = int(round(geometry.vertical_margin * band_height))
    h_margin = int(round(geometry.horizontal_margin * band_height))
    y0, y1 = top - v_margin, bottom + v_margin
    x0, x1 = left - h_margin, right + h_margin

    (paper,) = gray_percentiles(np.ascontiguousarray(gray[top:bottom, left:right]), (90,))
    crop = _crop_with_fill(gray, y0, y1, x0, x1, paper)

    width = framed_width(band_height, right - left, geometry)
    interpolation = cv2.INTER_AREA if geometry.height < crop.shape[0] else cv2.INTER_CUBIC
    line = cv2.resize(crop, (width, geometry.height), interpolation=interpolation)
    return _stretch_contrast(line), extent


def line_extent(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the text band that :func:`normalize_line` frames; ``EmptyLineError`` if no ink."""
    return _locate_text(image)[1]


def _locate_text(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The illumination-flattened gray image and the text band's extent in it."""
    gray = flatten_illumination(to_gray(image), image.shape[0] // 2)
    # the mask only locates the text: smoothing first keeps paper grain out of it
    ink = ink_mask(cv2.GaussianBlur(gray, (3, 3), 0))
    # specks of one or two pixels must not decide the band or the horizontal extent
    ink = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
    if not ink.any():
        raise EmptyLineError("no ink in line crop")
    top, bottom = text_band(ink.sum(axis=1).astype(np.float32), stroke_crossings(ink))
    columns = np.flatnonzero(ink[top:bottom].any(axis=0))
    return gray, (int(columns[0]), top, int(columns[-1]) + 1, bottom)


def framed_width(band_height: int, ink_width: int, geometry: LineGeometry) -> int:
    """Width in pixels of the normalized line whose text band and ink extent measure these."""
    crop_height = band_height + 2 * int(round(geometry.vertical_margin * band_height))
    crop_width = ink_width + 2 * int(round(geometry.horizontal_margin * band_height))
    return max(1, min(geometry.max_width, int(round(crop_width * geometry.height / crop_height))))


def _crop_with_fill(gray: np.ndarray, y0: int, y1: int, x0: int, x1: int, fill: int) -> np.ndarray:
    h, w = gray.shape
    crop = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_CONSTANT, value=fill)
    return crop


def _stretch_contrast(line: np.ndarray) -> np.ndarray:
    """Map ink to black and paper to white.

    Paper's level is the 20th percentile of the pixels Otsu calls paper, so paper
    texture and noise turn white while every stroke keeps its full darkness and
    its anti-aliased edges.
    """
    threshold, _ = cv2.threshold(line, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    counts = histogram(line)
    cut = int(threshold) + 1  # Otsu's class boundary: ink <= threshold < paper
    if not counts[cut:].any() or not counts[:cut].any():
        return np.full_like(line, 255)
    (paper_level,) = histogram_percentiles(counts[cut:], (20,))
    paper_level += cut
    (ink_level,) = histogram_percentiles(counts[:cut], (5,))
    if paper_level - ink_level < 8:
        return np.full_like(line, 255)
    levels = (np.arange(256, dtype=np.float32) - ink_level) * (255.0 / (paper_level - ink_level))
    return cv2.LUT(line, np.clip(levels, 0, 255).astype(np.uint8))


# a column of a framed line this light holds no ink (paper is 255 after the contrast stretch)
_BLANK_LEVEL = 160


def close_wide_gaps(line: np.ndarray, wider_than: int, to: int) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """A framed line with every blank gap inside its ink wider than ``wider_than`` columns
    narrowed to ``to`` columns, and where: ``(x, removed)`` for each narrowed gap, ``x`` the
    column of the returned image at which ``removed`` columns were taken out.

    A running head's page number stands far from its title, a date line's signature across the
    page: gaps the recognizer never saw between two words, which it reads as no space at all
    or fills with marks. Narrowed they read as the word space they are.
    """
    ink = line.min(axis=0) < _BLANK_LEVEL
    columns = np.flatnonzero(ink)
    if len(columns) < 2:
        return line, ()
    blank = ~ink[columns[0] : columns[-1] + 1]
    edges = np.diff(np.concatenate([[0], blank.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1) + columns[0], np.flatnonzero(edges == -1) + columns[0]
    wide = (ends - starts) > wider_than
    if not wide.any():
        return line, ()
    pieces, closed, previous, removed_so_far = [], [], 0, 0
    for start, end in zip(starts[wide].tolist(), ends[wide].tolist(), strict=True):
        keep_left = to // 2
        cut_from, cut_to = start + keep_left, end - (to - keep_left)
        pieces.append(line[:, previous:cut_from])
        closed.append((cut_from - removed_so_far, cut_to - cut_from))
        removed_so_far += cut_to - cut_from
        previous = cut_to
    pieces.append(line[:, previous:])
    return np.ascontiguousarray(np.concatenate(pieces, axis=1)), tuple(closed)


def reopened_x(x: float, closed_gaps: tuple[tuple[int, int], ...]) -> float:
    """A column of a line whose gaps :func:`close_wide_gaps` narrowed, as the column of the line before."""
    return x + sum(removed for at, removed in closed_gaps if at <= x)

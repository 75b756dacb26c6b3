"""The whole page: from a page image to blocks of line regions, each with the crop the recognizer reads.

The layout owns the geometry of a page; it knows nothing of text. The
recognition pipeline (``crnn.pipeline``) turns a :class:`LayoutResult` into a
:class:`crnn.document.Page` once the lines are read.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from crnn.document import Box
from crnn.imaging import (
    EmptyLineError,
    LineGeometry,
    flatten_illumination,
    frame_line,
    gray_percentiles,
    ink_mask,
    paper_background,
    percentile,
    rotate,
    rotation_matrix,
    transform_box,
)
from crnn.io import ImageError, load_image
from crnn.layout.binarize import binarize, binarize_with_levels
from crnn.layout.columns import text_regions
from crnn.layout.components import TextComponents, connected_components, estimate_char_height, text_components
from crnn.layout.config import CropConfig, DeskewConfig, LayoutConfig, LineConfig
from crnn.layout.deskew import back_mapper, estimate_skew
from crnn.layout.lines import band_boxes, crop_line, group_blocks, narrow_wide_gaps, near_any
from crnn.layout.orientation import ascender_ratio, sideways
from crnn.layout.profiles import ink_counts, line_bands, line_pitch, runs
from crnn.layout.spread import find_gutter
from crnn.threads import ordered_map


class LayoutError(ImageError):
    """The array given is not a page image the layout can analyse."""


@dataclass
class LayoutAnalysis:
    """Intermediate images and measurements, kept for the debug pictures (``crnn.layout.debug``)."""

    gray: np.ndarray
    deskewed: np.ndarray
    binary: np.ndarray
    text_mask: np.ndarray
    scale: float
    skew_degrees: float
    char_height: float
    gutter_x: int | None
    profiles: list[np.ndarray] = field(default_factory=list)
    bands: list[list[tuple[int, int]]] = field(default_factory=list)
    regions: list[Box] = field(default_factory=list)  # the columns and blocks the lines were found in


@dataclass(frozen=True)
class LineRegion:
    """One text line: its box on the original image and the normalized crop the recognizer reads."""

    box: Box
    crop: np.ndarray
    # where the crop's wide gaps were narrowed (crnn.imaging.close_wide_gaps): (column, columns taken out)
    closed_gaps: tuple[tuple[int, int], ...] = ()

    @classmethod
    def framed(cls, box: Box, crop: np.ndarray, geometry: LineGeometry, config: CropConfig) -> LineRegion:
        """The line of ``box`` read from ``crop`` with its wide gaps narrowed."""
        return cls(box, *narrow_wide_gaps(crop, geometry, config))


@dataclass(frozen=True)
class BlockRegion:
    """Lines that follow each other without a wide gap, on one physical page."""

    box: Box
    lines: tuple[LineRegion, ...]
    page_index: int = 0  # 0: left (or only) page of the image, 1: right page of a spread


@dataclass(frozen=True)
class LayoutResult:
    """What the layout found on a page image: boxes in pixel coordinates of the image (turned
    upright by ``rotation_degrees`` clockwise first, if it was lying on its side or upside
    down), blocks in reading order."""

    width: int
    height: int
    skew_degrees: float
    blocks: tuple[BlockRegion, ...]
    page_boxes: tuple[Box, ...]  # one per physical page (two for a spread)
    illustration_boxes: tuple[Box, ...]
    analysis: LayoutAnalysis
    rotation_degrees: int = 0  # 0, 90, 180 or 270: how far the image was turned clockwise before the layout

    @property
    def lines(self) -> list[LineRegion]:
        """All line regions in reading order."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def crops(self) -> list[np.ndarray]:
        """The normalized line crops in reading order."""
        return [line.crop for line in self.lines]


def segment_page(image: np.ndarray | str | Path | bytes, config: LayoutConfig = LayoutConfig(),
                 geometry: LineGeometry = LineGeometry(), single_line: bool = False) -> LayoutResult:
    """Text lines of a page image in reading order, with boxes in original pixel coordinates and
    crops framed by ``geometry``.

    ``image`` is a uint8 grayscale or BGR array, or a file path or encoded bytes (decoded with
    :func:`crnn.io.load_image`, which raises ``crnn.io.ImageError``). With ``single_line`` the
    image is one text line (no layout, like Tesseract's ``--psm 7``); an image no taller than
    ``config.single_line_max_height`` in which the layout finds at most one line is read that
    way too, so a pre-cut line crop yields its line.
    """
    gray = image if isinstance(image, np.ndarray) else load_image(image)
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise LayoutError("page image must be 8-bit grayscale or BGR")
    if single_line:
        return single_line_layout(gray, geometry, config.crop, config.deskew, config.lines)
    result = _oriented_segment(gray, config, geometry)
    if gray.shape[0] <= config.single_line_max_height:
        whole = single_line_layout(gray, geometry, config.crop, config.deskew, config.lines)
        if whole.lines:
            band = whole.lines[0].box
            # a line crop often holds slivers of its neighbours: only lines as tall and long as a
            # good part of its main text band make it a page of several lines
            full_lines = [line for line in result.lines if line.box.height >= config.single_line_share * band.height
                          and line.box.width >= config.single_line_share * band.width]
            if len(full_lines) <= 1:
                return whole
    return result


def _oriented_segment(gray: np.ndarray, config: LayoutConfig, geometry: LineGeometry) -> LayoutResult:
    """The layout of the page turned upright: a page whose columns oscillate more than its rows is
    turned a quarter clockwise, then one with more ink below its lines' cores than above is
    turned over (``crnn.layout.orientation``)."""
    result = _segment(gray, config, geometry)
    o = config.orientation
    if not o.enabled or not result.lines:
        return result
    turned = 0
    char_height = result.analysis.char_height
    if sideways(result.analysis.text_mask, char_height, o) < 1 / o.min_sideways_ratio:
        gray, turned = np.ascontiguousarray(np.rot90(gray, -1)), 90
        result = _segment(gray, config, geometry)
        char_height = result.analysis.char_height
    if char_height and ascender_ratio(result.analysis.text_mask, char_height, o) < 1 / o.min_flip_ratio:
        gray, turned = np.ascontiguousarray(np.rot90(gray, 2)), turned + 180
        result = _segment(gray, config, geometry)
    return dataclasses.replace(result, rotation_degrees=turned) if turned else result


def single_line_layout(gray: np.ndarray, geometry: LineGeometry = LineGeometry(),
                       config: CropConfig = CropConfig(), deskew: DeskewConfig = DeskewConfig(),
                       lines: LineConfig = LineConfig()) -> LayoutResult:
    """The whole image as one text line: its text band's box and the framed crop (no lines if no ink).
    A line image cut from a skewed page is straightened first (:func:`straighten_line`), and one
    that holds its neighbours too is read in its central line's rows (:func:`central_line_rows`)."""
    height, width = gray.shape
    analysis = LayoutAnalysis(gray, gray, np.zeros_like(gray, bool), np.zeros_like(gray, bool), 1.0, 0.0, 0.0, None)
    if min(height, width) < 4:
        return LayoutResult(width, height, 0.0, (), (), (), analysis)
    ink, char_height = _line_ink(gray)
    straight, skew = _straightened(gray, deskew, ink, char_height)
    if skew:
        ink, char_height = _line_ink(straight)
    top, bottom = _central_rows(ink, char_height, lines)
    try:
        crop, (x0, y0, x1, y1) = frame_line(straight[top:bottom], geometry)
    except EmptyLineError:
        return LayoutResult(width, height, 0.0, (), (), (), analysis)
    band = Box(x0, y0 + top, x1, y1 + top)
    analysis.char_height = float(band.height)
    box = _unturned_box(band, straight.shape, gray.shape, skew) if skew else band
    page = Box(0, 0, width, height)
    block = BlockRegion(box, (LineRegion.framed(box, crop, geometry, config),))
    return LayoutResult(width, height, round(skew, 2), (block,), (page,), (), analysis)


def straighten_line(gray: np.ndarray, config: DeskewConfig = DeskewConfig()) -> tuple[np.ndarray, float]:
    """A line image turned straight, and its skew in degrees (counter-clockwise positive), or the
    image itself and 0 when it is straight enough.

    A line cut from a skewed page slants, often with parts of its neighbours above and below;
    slanted, their rows of ink run into each other and no text band stands out. It is measured
    and judged as a block of a page is (``config.block_max_degrees``, turned when its ink drifts
    ``config.block_min_drift_chars`` character heights from one end to the other), on a canvas
    made taller first, so that no end of the line turns out of the picture.
    """
    return _straightened(gray, config, *_line_ink(gray))


def _straightened(gray: np.ndarray, config: DeskewConfig, ink: np.ndarray, char_height: float,
                  ) -> tuple[np.ndarray, float]:
    width = gray.shape[1]
    if not char_height:
        return gray, 0.0
    skew = estimate_skew(ink, dataclasses.replace(config, max_degrees=config.block_max_degrees))
    if width * abs(math.tan(math.radians(skew))) < config.block_min_drift_chars * char_height:
        return gray, 0.0
    (paper,) = gray_percentiles(gray, (90,))
    pad = _turn_pad(width, skew)
    taller = cv2.copyMakeBorder(gray, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=int(paper))
    return rotate(taller, -skew, int(paper)), skew


def central_line_rows(gray: np.ndarray, config: LineConfig = LineConfig()) -> tuple[int, int]:
    """Rows [top, bottom) of a (straight) line image that hold its line alone.

    A line cut generously from a page holds parts of its neighbours above and below, and
    single-spaced typescript leaves them no blank row apart. Where the image's profile holds
    several lines (``crnn.layout.profiles.line_bands``, which also parts touching lines), its line
    is the one nearest the middle of those about as heavy as the heaviest, and its rows reach
    halfway to the lines beside it; otherwise all rows.
    """
    return _central_rows(*_line_ink(gray), config)


def _central_rows(ink: np.ndarray, char_height: float, config: LineConfig) -> tuple[int, int]:
    height = ink.shape[0]
    if not char_height:
        return 0, height
    profile = ink_counts(ink, axis=1)
    bands = line_bands(profile, char_height, config)
    if len(bands) < 2:
        return 0, height
    masses = np.array([float(profile[a:b].sum()) for a, b in bands])
    whole = np.flatnonzero(masses >= 0.5 * masses.max())
    centres = np.array([(a + b) / 2 for a, b in bands])
    best = int(whole[np.argmin(np.abs(centres[whole] - (height - 1) / 2))])
    top = (bands[best - 1][1] + bands[best][0]) // 2 if best > 0 else 0
    bottom = (bands[best][1] + bands[best + 1][0] + 1) // 2 if best + 1 < len(bands) else height
    return top, bottom


def _line_ink(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A line image's ink mask (paper flattened) and its character height (0 when it has no letters)."""
    height, width = gray.shape
    ink = ink_mask(flatten_illumination(gray, max(3, height // 2)))
    if not ink.any():
        return ink, 0.0
    _, _, stats, _ = connected_components(ink)
    stats = stats[1:]
    if len(stats):
        # the bits of the neighbouring lines a crop cuts through are low: letters are the taller
        # part of its components
        heights = stats[:, cv2.CC_STAT_HEIGHT]
        stats = stats[heights >= 0.5 * percentile(heights, 90)]
    return ink, estimate_char_height(stats, max(height, width))


def _turn_pad(width: int, degrees: float) -> int:
    """Rows added above and below a line image before it is turned by ``degrees``."""
    return int(math.ceil(width / 2 * abs(math.tan(math.radians(degrees))))) + 2


def _unturned_box(box: Box, turned_shape: tuple[int, ...], shape: tuple[int, ...], skew: float) -> Box:
    """A box of a line image straightened by :func:`straighten_line` as the box around it on the image."""
    turned_height, turned_width = turned_shape[:2]
    undo = cv2.invertAffineTransform(rotation_matrix(turned_width, turned_height, -skew))
    moved = transform_box(box, undo)
    pad = (turned_height - shape[0]) // 2
    return Box(max(0, moved.x0), max(0, moved.y0 - pad), min(shape[1], moved.x1), min(shape[0], moved.y1 - pad))


def _segment(gray: np.ndarray, config: LayoutConfig, geometry: LineGeometry) -> LayoutResult:
    """The layout proper: deskew, binarize, components, spread, columns, lines."""
    height, width = gray.shape
    if min(height, width) < 16:
        analysis = LayoutAnalysis(gray, gray, np.zeros_like(gray, bool), np.zeros_like(gray, bool), 1.0, 0.0, 0.0,
                                  None)
        return LayoutResult(width, height, 0.0, (), (), (), analysis)
    scale = min(1.0, config.analysis_max_side / max(height, width))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    skew, rough_char_height = _measure(small, config)
    (paper,) = gray_percentiles(small, (config.paper_percentile,))
    small = rotate(small, -skew, paper)
    # the deskewed page is binarized with a window of a few character heights
    b = config.binarize
    window = int(b.window_chars * rough_char_height) if rough_char_height else max(
        b.min_window, small.shape[0] // b.fallback_window_divisor)
    mask, flat, threshold = binarize_with_levels(small, window, b)
    paper_window = int(config.components.paper_window_chars * rough_char_height) if rough_char_height else window
    on_paper = paper_background(small, paper_window) >= config.components.min_paper_brightness * paper
    components = text_components(mask, config.components, flat, threshold, config.char_height, on_paper)
    char_height = components.char_height
    gutter = find_gutter(mask, config.spread) if char_height else None
    analysis = LayoutAnalysis(gray, small, mask, components.mask, scale, skew, char_height, gutter)
    skew_degrees = round(skew, 2)
    if not char_height:
        return LayoutResult(width, height, skew_degrees, (), (), (), analysis)

    sw = small.shape[1]
    page_ranges = [(0, gutter), (gutter, sw)] if gutter is not None else [(0, sw)]
    deskewed_full = small if scale == 1 else rotate(gray, -skew, gray_percentiles(gray, (config.paper_percentile,))[0])
    # shading (a gutter shadow, a lamp's falloff) is divided out of each line crop: a window of a
    # few characters follows a shadow's edge closely, and no stroke is that wide
    brightness = paper_background(deskewed_full, int(config.crop.shading_window_chars * char_height / scale))
    to_original = back_mapper(width, height, scale, skew)
    blocks: list[BlockRegion] = []
    page_boxes: list[Box] = []
    inked = [(index, pages) for index, pages in enumerate(page_ranges)
             if components.mask[:, pages[0]:pages[1]].any()]

    def lines_of(pages: tuple[int, int]) -> _PageLines:
        return _page_lines(components, pages[0], pages[1], deskewed_full, brightness, scale, geometry, config)

    # the two pages of a spread are laid out side by side, on two threads where there are two cores
    for (page_index, (x_start, x_end)), page_lines in zip(inked, ordered_map(lines_of, [p for _, p in inked], 2),
                                                          strict=True):
        page_boxes.append(to_original(Box(x_start, 0, x_end, small.shape[0])))
        analysis.profiles.append(page_lines.profile)
        analysis.bands.append(page_lines.bands)
        analysis.regions.extend(page_lines.regions)
        for block_lines in page_lines.blocks:
            block_box = block_lines[0][0]
            for box, _ in block_lines[1:]:
                block_box = block_box.union(box)
            regions = tuple(LineRegion.framed(to_original(box), crop, geometry, config.crop)
                            for box, crop in block_lines)
            blocks.append(BlockRegion(to_original(block_box), regions, page_index))
    illustrations = tuple(to_original(box) for box in components.illustrations)
    return LayoutResult(width, height, skew_degrees, tuple(blocks), tuple(page_boxes), illustrations, analysis)


@dataclass(frozen=True)
class _PageContext:
    """What finding the lines of a block needs from its page."""

    components: TextComponents
    deskewed_full: np.ndarray
    brightness: np.ndarray
    scale: float
    geometry: LineGeometry
    config: LayoutConfig
    pitch: float | None


def _block_lines(page: _PageContext, region: Box, tilt: float,
                 ) -> tuple[list[tuple[Box, np.ndarray]], list[tuple[int, int]]]:
    """The lines of one block (boxes on the analysis scale, with their crops), found in its own
    frame turned straight when ``tilt`` is not 0, and the bands they came from (for the debug
    profile: a turned block's are its lines' extents)."""
    components, config = page.components, page.config
    char_height, line_config = components.char_height, config.lines
    if tilt:
        frame = _TurnedBlock(components.mask, page.deskewed_full, page.brightness, region, tilt, page.scale,
                             char_height)
        mask, stats, centroids = frame.mask, frame.stats, frame.centroids
        full, light, where = frame.full, frame.brightness, Box(0, 0, frame.mask.shape[1], frame.mask.shape[0])
    else:
        mask, full, light, where = components.mask, page.deskewed_full, page.brightness, region
        cx, cy = components.centroids[:, 0], components.centroids[:, 1]
        inside = (cx >= region.x0) & (cx < region.x1) & (cy >= region.y0) & (cy < region.y1)
        stats, centroids = components.stats[inside], components.centroids[inside]
    profile = ink_counts(mask[where.y0 : where.y1, where.x0 : where.x1], axis=1)
    pitch = line_pitch(profile, char_height, line_config) or page.pitch
    bands = [(a + where.y0, b + where.y0) for a, b in line_bands(profile, char_height, line_config, pitch)]
    found: list[tuple[Box, Box, np.ndarray]] = []  # (box on the page, box in the frame, its parts)
    for box, parts in band_boxes(stats, centroids, bands, char_height, line_config):
        on_page = frame.back(box) if tilt else box
        if (len(parts) <= line_config.loose_stroke_parts
                and near_any(on_page, components.illustrations, line_config.loose_stroke_chars * char_height)):
            continue  # a loose stroke beside a picture, not a one-character line
        if box.width < line_config.min_aspect * box.height:
            continue  # a bare vertical stroke (a piece of a rule or frame), narrower than any glyph
        found.append((on_page, box, parts))

    def crop(line: tuple[Box, Box, np.ndarray]) -> np.ndarray | None:
        return crop_line(full, light, line[1], line[2], page.scale, char_height, page.geometry, config.crop)

    crops = ordered_map(crop, found)
    lines = [(on_page, image) for (on_page, _, _), image in zip(found, crops, strict=True) if image is not None]
    return lines, ([(box.y0, box.y1) for box, _ in lines] if tilt else bands)


def _paragraphs(mask: np.ndarray, region: Box, pitch: float, config: LayoutConfig) -> list[Box]:
    """The block cut at its blank gaps of a line pitch or more (paragraphs, stanzas), each shrunk
    to its ink; the whole block when it has none."""
    rows = mask[region.y0 : region.y1, region.x0 : region.x1].any(axis=1)
    gaps = [(a, b) for a, b in runs(~rows) if b - a >= config.deskew.paragraph_gap_pitches * pitch]
    if not gaps:
        return [region]
    edges = [0] + [e for gap in gaps for e in gap] + [len(rows)]
    pieces = []
    for top, bottom in zip(edges[::2], edges[1::2], strict=True):
        block = mask[region.y0 + top : region.y0 + bottom, region.x0 : region.x1]
        xs = np.flatnonzero(block.any(axis=0))
        if len(xs):
            pieces.append(Box(region.x0 + int(xs[0]), region.y0 + top, region.x0 + int(xs[-1]) + 1,
                              region.y0 + bottom))
    return pieces


def _block_skew(mask: np.ndarray, region: Box, char_height: float, pitch: float | None,
                config: LayoutConfig) -> float:
    """The skew left in one block of the deskewed page (degrees, 0 when its lines are straight
    enough): a photographed page bends, and one angle does not straighten all of it."""
    d = config.deskew
    lines = region.height / (pitch or 2 * char_height)
    if lines < d.block_min_lines or region.width < 4 * char_height:
        return 0.0
    block = mask[region.y0 : region.y1, region.x0 : region.x1]
    angle = estimate_skew(block, dataclasses.replace(d, max_degrees=d.block_max_degrees))
    drift = region.width * abs(math.tan(math.radians(angle)))
    return angle if drift >= d.block_min_drift_chars * char_height else 0.0


class _TurnedBlock:
    """A block of the page turned straight by its own skew: its text mask (alone), components,
    full-resolution crop and paper brightness in the turned frame, and the way back."""

    def __init__(self, mask: np.ndarray, deskewed_full: np.ndarray, brightness: np.ndarray, region: Box,
                 degrees: float, scale: float, char_height: float) -> None:
        h, w = mask.shape
        margin = int(math.ceil(region.width * abs(math.tan(math.radians(degrees))) / 2 + 2 * char_height))
        self.origin = Box(max(0, region.x0 - margin), max(0, region.y0 - margin),
                          min(w, region.x1 + margin), min(h, region.y1 + margin))
        o = self.origin
        alone = np.zeros((o.height, o.width), np.uint8)
        alone[region.y0 - o.y0 : region.y1 - o.y0, region.x0 - o.x0 : region.x1 - o.x0] = \
            mask[region.y0 : region.y1, region.x0 : region.x1]
        self.turn = rotation_matrix(o.width, o.height, -degrees)
        self.mask = cv2.warpAffine(alone, self.turn, (o.width, o.height), flags=cv2.INTER_NEAREST) > 0
        _, _, stats, centroids = connected_components(self.mask)
        self.stats, self.centroids = stats[1:], centroids[1:]
        fy0, fy1 = int(o.y0 / scale), min(deskewed_full.shape[0], int(math.ceil(o.y1 / scale)))
        fx0, fx1 = int(o.x0 / scale), min(deskewed_full.shape[1], int(math.ceil(o.x1 / scale)))
        (paper,) = gray_percentiles(deskewed_full[fy0:fy1, fx0:fx1], (90,))
        self.full = rotate(deskewed_full[fy0:fy1, fx0:fx1], -degrees, int(paper))
        self.brightness = rotate(brightness[fy0:fy1, fx0:fx1], -degrees)
        self.undo = cv2.invertAffineTransform(self.turn)

    def back(self, box: Box) -> Box:
        """A box of the turned frame as the box around it on the deskewed page."""
        moved = transform_box(box, self.undo)
        o = self.origin
        return Box(moved.x0 + o.x0, moved.y0 + o.y0, moved.x1 + o.x0, moved.y1 + o.y0)


def _measure(small: np.ndarray, config: LayoutConfig) -> tuple[float, float]:
    """The skew and a rough character height, from a first binarization at half resolution."""
    b = config.binarize
    half = cv2.resize(small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    half_mask = binarize(half, max(b.min_window, half.shape[0] // b.fallback_window_divisor), b)
    skew = estimate_skew(half_mask, config.deskew)
    _, _, half_stats, _ = connected_components(half_mask)
    return skew, 2 * estimate_char_height(half_stats[1:], max(half.shape), config.char_height)


@dataclass
class _PageLines:
    """The lines of one physical page, block by block, and what the debug view shows of them."""

    blocks: list[list[tuple[Box, np.ndarray]]]
    profile: np.ndarray
    bands: list[tuple[int, int]]
    regions: list[Box]


def _page_lines(components: TextComponents, x_start: int, x_end: int, deskewed_full: np.ndarray,
                brightness: np.ndarray, scale: float, geometry: LineGeometry, config: LayoutConfig) -> _PageLines:
    """The lines of one physical page (columns ``x_start:x_end`` of the analysis image), block by
    block in reading order: boxes on the analysis scale with their crops, top to bottom."""
    char_height = components.char_height
    line_config = config.lines
    page_mask = components.mask[:, x_start:x_end]
    page_profile = ink_counts(page_mask, axis=1)
    page_pitch = line_pitch(page_profile, char_height, line_config)
    result = _PageLines([], page_profile, [], [])
    blocks = result.blocks
    rules = [Box(r.x0 - x_start, r.y0, r.x1 - x_start, r.y1) for r in components.vertical_rules
             if x_start <= r.x0 and r.x1 <= x_end]
    page = _PageContext(components, deskewed_full, brightness, scale, geometry, config, page_pitch)
    for region in text_regions(page_mask, char_height, config.columns, rules):
        region = Box(region.x0 + x_start, region.y0, region.x1 + x_start, region.y1)
        result.regions.append(region)
        # a bending page turns from one paragraph to the next: a block whose paragraphs slant
        # their own ways is read paragraph by paragraph, each straightened
        paragraphs = _paragraphs(components.mask, region, page_pitch or 2 * char_height, config)
        tilts = [_block_skew(components.mask, p, char_height, page_pitch, config) for p in paragraphs]
        if len(paragraphs) > 1 and not any(tilts):
            paragraphs, tilts = [region], [_block_skew(components.mask, region, char_height, page_pitch, config)]
        lines: list[tuple[Box, np.ndarray]] = []
        for paragraph, tilt in zip(paragraphs, tilts, strict=True):
            found, bands = _block_lines(page, paragraph, tilt)
            lines += found
            result.bands.extend(bands)
        blocks.extend(group_blocks(lines, line_config.block_gap_factor))
    return result

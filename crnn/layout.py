"""Page layout: from a photographed or scanned book page to text lines in reading order.

The steps, each a small function: load (any common format, EXIF orientation
applied), grayscale, illumination flattening, Otsu binarization of the
flattened page, deskew (the angle that makes the horizontal projection profile
sharpest), two-page spread detection and split at the gutter, removal of
illustrations, rules and specks (connected-component statistics relative to the
page's own character height), and text lines cut by horizontal projection
profiles, with tall bands split at their profile minimum. Line crops are framed
by ``crnn.lines.normalize_line``, the function synthetic training lines go
through as well.
"""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from crnn.document import Block, Box, Line, Page
from crnn.lines import EmptyLineError, LineGeometry, divide_by_paper, gray_percentiles, normalize_line, shrink

MAX_PIXELS = 100_000_000  # larger images are refused rather than decoded (decompression bombs)


class LayoutError(ValueError):
    """The input cannot be read as a page image."""


@dataclass(frozen=True)
class LayoutConfig:
    analysis_max_side: int = 2000  # pages are analysed at most this large; crops come from full resolution
    max_skew_degrees: float = 5.0
    min_spread_aspect: float = 1.15  # width / height above which a two-page spread is looked for
    big_component_factor: float = 3.5  # components taller than this many character heights are not text
    line_gap_factor: float = 1.6  # a vertical gap over this many line heights starts a new block


@dataclass
class LayoutAnalysis:
    """Intermediate images and measurements, kept for --debug-dir pictures."""

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


# -- loading ------------------------------------------------------------------------------------


def load_image(source: str | Path | bytes) -> np.ndarray:
    """Decode an image file or bytes into uint8 grayscale, EXIF orientation applied.

    Handles JPEG, PNG, TIFF (1-bit, 8-bit, 16-bit), WebP, BMP; alpha is composited on white.
    Raises ``LayoutError`` with a one-line reason for anything that is not a readable image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        if isinstance(source, bytes | bytearray):
            if not source:
                raise LayoutError("empty image data (0 bytes)")
            handle = io.BytesIO(source)
            name = "image data"
        else:
            path = Path(source)
            if not path.is_file():
                raise LayoutError(f"no such file: {path}")
            if path.stat().st_size == 0:
                raise LayoutError(f"empty file (0 bytes): {path}")
            handle = path.open("rb")
            name = str(path)
        with handle, Image.open(handle) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise LayoutError(f"{name}: {width}x{height} exceeds the limit of {MAX_PIXELS // 1_000_000} MP")
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_gray_array(image)
    except LayoutError:
        raise
    except UnidentifiedImageError:
        shown = "image data" if isinstance(source, bytes | bytearray) else source
        raise LayoutError(f"not an image (or an unsupported format): {shown}") from None
    except Image.DecompressionBombError as exc:
        raise LayoutError(f"image refused: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise LayoutError(f"cannot decode image: {exc}") from None


def _to_gray_array(image) -> np.ndarray:
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        data = np.asarray(image, dtype=np.float64)
        low, high = float(data.min()), float(data.max())
        if high <= low:
            return np.full(data.shape, 255, np.uint8)
        return np.clip((data - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


# -- analysis steps -----------------------------------------------------------------------------


def flatten_page(gray: np.ndarray, window: int) -> np.ndarray:
    """Divide the page by its paper brightness, estimated by a grey-level closing over ``window`` pixels.

    A closing (max filter, then min filter) erases strokes narrower than the
    window but keeps the edge of a wide shadow (the gutter, the page border)
    where it is: dividing by it leaves no false ink along such edges, which a
    plain max filter would create there.
    """
    return divide_by_paper(gray, paper_brightness(gray, window))


def paper_brightness(gray: np.ndarray, window: int) -> np.ndarray:
    """The paper's brightness under the page, full size: see :func:`flatten_page`."""
    window = max(3, int(window))
    factor = max(1, min(window // 8, min(gray.shape) // 2))
    small = shrink(gray, factor)
    k = max(3, (window // factor) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    if factor > 1:
        background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return background


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


def binarize(gray: np.ndarray, char_window: int) -> np.ndarray:
    return binarize_with_levels(gray, char_window)[0]


def binarize_with_levels(gray: np.ndarray, char_window: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Ink mask: Otsu on the illumination-flattened page, confirmed by Sauvola's local threshold.

    Otsu on the flattened page finds ink on tinted paper; the Sauvola test removes
    what is merely dark without local contrast (the gutter's shadow, a page edge).
    Also returns the flattened page and the Otsu threshold.
    """
    flat = flatten_page(gray, char_window)
    threshold, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu on a nearly blank page would split paper grain; demand real contrast
    threshold = min(threshold, 200)
    return (flat < threshold) & sauvola(gray, char_window), flat, float(threshold)


def estimate_skew(mask: np.ndarray, max_degrees: float = 5.0) -> float:
    """The page's skew in degrees, counter-clockwise positive: undoing it makes the rows sharpest."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return 0.0
    if len(ys) > 60_000:  # every k-th ink pixel in raster order: an even sample of the page
        step = -(-len(ys) // 60_000)
        ys, xs = ys[::step], xs[::step]
    xs = xs.astype(np.float32) - np.float32(mask.shape[1] / 2)
    # lifted so that no rotation in the searched range projects a pixel above row 0
    lift = float(np.abs(xs).max()) * math.tan(math.radians(max_degrees + 0.5)) + 1
    ys = ys.astype(np.float32) + np.float32(lift)

    def sharpness(angle: float, ys: np.ndarray = ys, xs: np.ndarray = xs) -> float:
        hist = np.bincount((ys + xs * np.float32(math.tan(math.radians(angle)))).astype(np.int32))
        return float(np.dot(hist, hist))

    # the coarse search only needs the peak's neighbourhood: a third of the points find it
    coarse = partial(sharpness, ys=ys[::3], xs=xs[::3])
    best = max(np.arange(-max_degrees, max_degrees + 1e-9, 0.25), key=coarse)
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05)
    return float(max(fine, key=sharpness))


def rotate(image: np.ndarray, degrees: float, fill: int) -> np.ndarray:
    """Rotate counter-clockwise about the centre, keeping the size (the skew is small)."""
    if abs(degrees) < 1e-3:
        return image
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill)


def estimate_char_height(stats: np.ndarray, page_height: int) -> float:
    """Median height of letter-sized connected components (0 if there are none)."""
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    areas = stats[:, cv2.CC_STAT_AREA]
    plausible = (heights >= 4) & (heights <= page_height / 12) & (areas >= 12)
    if plausible.sum() < 5:
        return 0.0
    return float(np.median(heights[plausible]))


def ink_counts(mask: np.ndarray, axis: int) -> np.ndarray:
    """Ink pixels per column (axis 0) or per row (axis 1) of a boolean mask, as float64.

    OpenCV's reduction is several times faster than numpy's sum over booleans.
    """
    counts = cv2.reduce(np.ascontiguousarray(mask).view(np.uint8), axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return counts.ravel().astype(np.float64)


def find_gutter(mask: np.ndarray, min_aspect: float) -> int | None:
    """Column of the gutter of a two-page spread, or None for a single page.

    A spread is wide, and near its middle has a band of columns with (almost) no
    ink, with substantial ink on both sides.
    """
    h, w = mask.shape
    if w / h < min_aspect:
        return None
    columns = ink_counts(mask, axis=0)
    window = max(3, w // 60)
    smooth = np.convolve(columns, np.ones(window) / window, mode="same")
    lo, hi = int(w * 0.35), int(w * 0.65)
    lowest = float(smooth[lo:hi].min())
    # the middle of the widest run of emptiest columns, not merely its first column
    runs = _runs(smooth[lo:hi] <= lowest + 1e-6)
    start, end = max(runs, key=lambda r: (r[1] - r[0], -abs((r[0] + r[1]) / 2 - (hi - lo) / 2)))
    x = lo + (start + end) // 2
    left, right = columns[:x].sum(), columns[x:].sum()
    total = left + right
    if total == 0 or min(left, right) < 0.15 * total:
        return None
    if smooth[x] > 0.05 * np.percentile(smooth[smooth > 0], 90):
        return None
    return x


def connected_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of a boolean mask: count, labels, stats and centroids as OpenCV gives them.

    Grana's algorithm labels exactly as OpenCV's default does, about a sixth faster here, and
    16-bit labels (when there are fewer than 65,536; OpenCV refuses otherwise) save another third.
    """
    try:
        return cv2.connectedComponentsWithStatsWithAlgorithm(mask.view(np.uint8), 8, cv2.CV_16U, cv2.CCL_GRANA)
    except cv2.error:
        return cv2.connectedComponentsWithStatsWithAlgorithm(mask.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)


@dataclass(frozen=True)
class TextComponents:
    mask: np.ndarray  # the pixels of the components that can be text
    char_height: float  # 0 when the page has no letter-sized components
    illustrations: list[Box]
    stats: np.ndarray  # cv2 connected-component stats of the text components
    centroids: np.ndarray


def text_components(mask: np.ndarray, config: LayoutConfig, flat: np.ndarray | None = None,
                    threshold: float = 255.0) -> TextComponents:
    """The components that can be text, the character height, and illustration boxes.

    Components taller than ``big_component_factor`` character heights, or far
    wider than any word, are illustrations, rules or page edges. Thin ones (rules,
    edges, shadow borders) first give back the letters that touch them. The boxes
    of the others (unless one runs along the page without filling its box, like a
    page border) also remove the small parts inside them: hatching, eyes, loose
    strokes. Given the
    flattened page, components much paler than the page's letters (the frayed
    edge of a shadow, show-through from the other side) are dropped too.
    """
    mask = mask.astype(bool, copy=False)
    count, labels, stats, centroids = connected_components(mask)
    stats, centroids = stats[1:], centroids[1:]
    char_height = estimate_char_height(stats, mask.shape[0])
    if char_height == 0:
        return TextComponents(np.zeros_like(mask), 0.0, [], stats[:0], centroids[:0])
    big = _big(stats, char_height, config)
    strips = [i for i in np.flatnonzero(big) if _is_thin(stats[i], char_height)]
    if strips:  # letters touching a rule or an edge shadow are set free
        mask, labels, count, stats, centroids = _peel_strips(mask, labels, stats, centroids, strips, char_height)
        big = _big(stats, char_height, config)
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    widths = stats[:, cv2.CC_STAT_WIDTH]
    areas = stats[:, cv2.CC_STAT_AREA]
    speck = areas < max(3, (0.12 * char_height) ** 2)
    h, w = mask.shape
    illustrations: list[Box] = []
    for i in np.flatnonzero(big):
        x, y, bw, bh = stats[i, :4]
        if _is_thin(stats[i], char_height):
            continue
        # a component as tall or wide as the page may be its border or an edge shadow, which only
        # traces the sides of its box (and the box would take the page's text with it); a
        # full-page picture fills its box with strokes
        spans_page = bh > 0.8 * h or bw > 0.9 * w
        if not spans_page or _occupancy(labels[y : y + bh, x : x + bw] == i + 1, char_height) >= 0.3:
            illustrations.append(Box(int(x), int(y), int(x + bw), int(y + bh)))
    illustrations = _merge_boxes(illustrations, int(char_height))
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    # whatever touches the image border is the edge of the page or text cut off by the frame
    edge = max(3, int(0.5 * char_height))  # deskewing moves the frame's edge inwards a little
    on_border = (left <= edge) | (top <= edge) | (left + widths >= w - edge) | (top + heights >= h - edge)
    keep = ~big & ~speck & ~on_border
    if flat is not None:
        ink_labels = labels[mask]  # background pixels carry label 0 and do not count
        darkness = np.bincount(ink_labels, weights=flat[mask].astype(np.float64), minlength=count)[1:]
        darkness /= np.maximum(areas, 1)
        letters = keep & (heights >= 0.6 * char_height) & (heights <= 2.5 * char_height)
        if letters.sum() >= 5:
            ink = float(np.median(darkness[letters]))
            keep &= darkness <= ink + 0.6 * (threshold - ink)
    centers_x = stats[:, cv2.CC_STAT_LEFT] + widths / 2
    centers_y = stats[:, cv2.CC_STAT_TOP] + heights / 2
    grow = 0.5 * char_height  # loose strokes hugging a picture's edge belong to it
    for box in illustrations:
        inside = ((centers_x >= box.x0 - grow) & (centers_x < box.x1 + grow)
                  & (centers_y >= box.y0 - grow) & (centers_y < box.y1 + grow))
        keep &= ~inside
    lookup = np.zeros(count, dtype=bool)
    lookup[1:] = keep
    return TextComponents(np.take(lookup, labels), char_height, illustrations, stats[keep], centroids[keep])


def _big(stats: np.ndarray, char_height: float, config: LayoutConfig) -> np.ndarray:
    """Components too tall or too wide to be text."""
    return ((stats[:, cv2.CC_STAT_HEIGHT] > config.big_component_factor * char_height)
            | (stats[:, cv2.CC_STAT_WIDTH] > 30 * char_height))


def _is_thin(stat: np.ndarray, char_height: float) -> bool:
    """A rule, a page edge or the edge of a shadow rather than a picture."""
    short, long = sorted((int(stat[cv2.CC_STAT_WIDTH]), int(stat[cv2.CC_STAT_HEIGHT])))
    return short < 1.5 * char_height or short < 0.1 * long


def _peel_strips(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, centroids: np.ndarray,
                 strips: list[int], char_height: float) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Remove the long straight body of each strip component; what sticks out of it (a letter
    touching a rule or the edge of a gutter shadow) becomes components of its own.

    Returns the new mask, the labels (a strip's body becomes background, the pieces get new
    labels after the old ones: updated in place, or in a 32-bit copy once they outgrow 16
    bits), the component count, stats and centroids.
    """
    mask = mask.copy()
    stats, centroids = stats.copy(), centroids.copy()
    run = max(3, int(3 * char_height))
    side = max(3, int(0.5 * char_height) | 1)
    margin = np.ones((side, side), np.uint8)  # the body's ragged outline goes with it
    added_stats, added_centroids = [], []
    next_label = len(stats) + 1
    for i in strips:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        component = labels[y : y + bh, x : x + bw] == i + 1
        along = np.ones((run, 1), np.uint8) if bh >= bw else np.ones((1, run), np.uint8)
        body = cv2.dilate(cv2.morphologyEx(component.astype(np.uint8), cv2.MORPH_OPEN, along), margin) > 0
        rest = component & ~body
        pieces, piece_labels, piece_stats, piece_centroids = connected_components(rest)
        if next_label + pieces - 2 > np.iinfo(labels.dtype).max:
            labels = labels.astype(np.int32)
        region = labels[y : y + bh, x : x + bw]
        region[component] = 0
        mask[y : y + bh, x : x + bw] &= ~(component & body)
        stats[i] = (x, y, 0, 0, 0)  # the strip itself is gone
        region[rest] = piece_labels[rest].astype(labels.dtype) + (next_label - 1)
        next_label += pieces - 1
        added_stats.extend(piece_stats[1:] + np.array([x, y, 0, 0, 0]))
        added_centroids.extend(piece_centroids[1:] + np.array([x, y]))
    if added_stats:
        stats = np.vstack([stats, np.array(added_stats, dtype=stats.dtype)])
        centroids = np.vstack([centroids, np.array(added_centroids)])
    return mask, labels, next_label, stats, centroids


def _occupancy(component: np.ndarray, char_height: float) -> float:
    """Share of the character-sized cells of a component's box that hold some of its ink."""
    cell = max(1, int(char_height))
    rows, cols = -(-component.shape[0] // cell), -(-component.shape[1] // cell)
    padded = np.zeros((rows * cell, cols * cell), dtype=bool)
    padded[: component.shape[0], : component.shape[1]] = component
    return float(padded.reshape(rows, cell, cols, cell).any(axis=(1, 3)).mean())


def _merge_boxes(boxes: list[Box], margin: int) -> list[Box]:
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for box in merged:
            grown = Box(box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin)
            for j, other in enumerate(out):
                if grown.intersection_over_self(other) > 0:
                    out[j] = other.union(box)
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged


def line_bands(profile: np.ndarray, char_height: float) -> list[tuple[int, int]]:
    """Row ranges [top, bottom) of text lines in a horizontal projection profile.

    Rows with (almost) any ink are text; blank rows separate lines. A band much
    taller than the median (lines whose descenders touch the next line's
    ascenders) is split at the profile minima near the expected line pitch, and
    slivers shorter than a third of a character height are dropped.
    """
    if profile.max() <= 0:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    peaks = smooth[smooth > 0]
    # any ink at all: a lone page number has only a few pixels per row, and rows where
    # descenders meet the next line's ascenders are handled by splitting tall bands below
    threshold = max(0.5, 0.005 * np.percentile(peaks, 90))
    on = smooth > threshold
    bands = _runs(on)
    bands = [b for b in bands if b[1] - b[0] >= max(2, 0.35 * char_height)]
    if not bands:
        return []
    median_height = float(np.median([b - a for a, b in bands]))
    split: list[tuple[int, int]] = []
    for a, b in bands:
        split.extend(_split_tall_band(smooth, a, b, median_height))
    return split


def _runs(on: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _split_tall_band(profile: np.ndarray, a: int, b: int, median_height: float) -> list[tuple[int, int]]:
    height = b - a
    if height < 1.7 * median_height or median_height <= 0:
        return [(a, b)]
    parts = max(2, int(round(height / median_height)))
    cuts = [a]
    for k in range(1, parts):
        expected = a + k * height / parts
        lo, hi = int(expected - 0.3 * median_height), int(expected + 0.3 * median_height)
        lo, hi = max(a + 1, lo), min(b - 1, hi)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(expected))
    cuts.append(b)
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]


# -- the whole page -----------------------------------------------------------------------------


@dataclass
class SegmentedPage:
    page: Page
    crops: list[np.ndarray]  # normalized line images, one per page.lines entry, same order
    analysis: LayoutAnalysis


def segment(image: np.ndarray | str | Path | bytes, config: LayoutConfig = LayoutConfig()) -> Page:
    """Text lines of a page image, in reading order, with boxes in original pixel coordinates."""
    return segment_page(image, config).page


DEFAULT_GEOMETRY = LineGeometry()


def segment_page(image: np.ndarray | str | Path | bytes, config: LayoutConfig = LayoutConfig(),
                 geometry: LineGeometry = DEFAULT_GEOMETRY) -> SegmentedPage:
    """Like :func:`segment`, plus the normalized line crops for the recognizer and debug data."""
    gray = image if isinstance(image, np.ndarray) else load_image(image)
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise LayoutError("page image must be 8-bit grayscale or BGR")
    height, width = gray.shape
    page = Page(width=width, height=height)
    if min(height, width) < 16:
        return SegmentedPage(page, [], LayoutAnalysis(gray, gray, np.zeros_like(gray, bool),
                                                      np.zeros_like(gray, bool), 1.0, 0.0, 0.0, None))
    scale = min(1.0, config.analysis_max_side / max(height, width))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray

    # a first, half-resolution binarization gives the skew and the characters' size ...
    half = cv2.resize(small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    half_mask = binarize(half, max(15, half.shape[0] // 25))
    skew = estimate_skew(half_mask, config.max_skew_degrees)
    _, _, half_stats, _ = connected_components(half_mask)
    rough_char_height = 2 * estimate_char_height(half_stats[1:], half.shape[0])
    (paper,) = gray_percentiles(small, (90,))
    small = rotate(small, -skew, paper)
    # ... then the deskewed page is binarized with a window of a few character heights
    window = int(6 * rough_char_height) if rough_char_height else max(15, small.shape[0] // 25)
    mask, flat, threshold = binarize_with_levels(small, window)
    components = text_components(mask, config, flat, threshold)
    text_mask, char_height, illustrations = components.mask, components.char_height, components.illustrations
    gutter = find_gutter(mask, config.min_spread_aspect) if char_height else None

    analysis = LayoutAnalysis(gray, small, mask, text_mask, scale, skew, char_height, gutter)
    page.skew_degrees = round(skew, 2)
    if not char_height:
        return SegmentedPage(page, [], analysis)

    sh, sw = small.shape
    page_ranges = [(0, gutter), (gutter, sw)] if gutter is not None else [(0, sw)]
    deskewed_full = small if scale == 1 else rotate(gray, -skew, gray_percentiles(gray, (90,))[0])
    # shading (a gutter shadow, a lamp's falloff) is divided out of each line crop: a window of two
    # characters follows a shadow's edge closely, and no stroke is that wide
    brightness = paper_brightness(deskewed_full, int(2 * char_height / scale))
    to_original = _back_mapper(width, height, scale, skew)
    page.illustration_boxes = [to_original(b) for b in illustrations]
    crops: list[np.ndarray] = []
    for page_index, (x_start, x_end) in enumerate(page_ranges):
        column_mask = text_mask[:, x_start:x_end]
        if not column_mask.any():
            continue
        page.page_boxes.append(to_original(Box(x_start, 0, x_end, sh)))
        profile = ink_counts(column_mask, axis=1)
        bands = line_bands(profile, char_height)
        analysis.profiles.append(profile)
        analysis.bands.append(bands)
        lines: list[tuple[Box, np.ndarray]] = []
        in_column = (components.centroids[:, 0] >= x_start) & (components.centroids[:, 0] < x_end)
        for box, parts in _band_boxes(components.stats[in_column], components.centroids[in_column], bands,
                                      char_height):
            if len(parts) <= 2 and _near_any(box, illustrations, 2 * char_height):
                continue  # a loose stroke beside a picture, not a one-character line
            if box.width < 0.25 * box.height:
                continue  # a bare vertical stroke (a piece of a rule or frame), narrower than any glyph
            crop = _crop_line(deskewed_full, brightness, box, parts, scale, char_height, geometry)
            if crop is not None:
                lines.append((box, crop))
        for block_lines in _group_blocks(lines, config.line_gap_factor):
            boxes = [b for b, _ in block_lines]
            block_box = boxes[0]
            for b in boxes[1:]:
                block_box = block_box.union(b)
            block = Block(to_original(block_box), [Line(to_original(b)) for b in boxes], page_index)
            page.blocks.append(block)
            crops.extend(c for _, c in block_lines)
    return SegmentedPage(page, crops, analysis)


def _band_boxes(stats: np.ndarray, centroids: np.ndarray, bands: list[tuple[int, int]],
                char_height: float) -> list[tuple[Box, np.ndarray]]:
    """One box per band that holds text (the extent of its components), and the components' boxes
    (one row of x0, y0, x1, y1 each).

    Components are assigned to the band holding their vertical centre. A band
    needs at least one component of letter height (so rows of specks or the
    frayed edge of a page are not lines); specks far from the letters do not
    stretch the box.
    """
    boxes = []
    for top, bottom in bands:
        members = (centroids[:, 1] >= top) & (centroids[:, 1] < bottom)
        if not members.any():
            continue
        heights = stats[members, cv2.CC_STAT_HEIGHT]
        chosen = _main_cluster(stats[members][heights >= 0.25 * char_height], char_height)
        if chosen is None:
            continue
        x0 = int(chosen[:, cv2.CC_STAT_LEFT].min())
        y0 = int(chosen[:, cv2.CC_STAT_TOP].min())
        x1 = int((chosen[:, cv2.CC_STAT_LEFT] + chosen[:, cv2.CC_STAT_WIDTH]).max())
        y1 = int((chosen[:, cv2.CC_STAT_TOP] + chosen[:, cv2.CC_STAT_HEIGHT]).max())
        # i-dots, dashes and commas are too small to choose the line, but belong to it
        member_stats = stats[members]
        centre_x = member_stats[:, cv2.CC_STAT_LEFT] + member_stats[:, cv2.CC_STAT_WIDTH] / 2
        inside = member_stats[(centre_x >= x0) & (centre_x <= x1)]
        parts = np.column_stack([inside[:, 0], inside[:, 1], inside[:, 0] + inside[:, 2], inside[:, 1] + inside[:, 3]])
        boxes.append((Box(x0, max(y0, top - int(char_height)), x1, min(y1, bottom + int(char_height))), parts))
    return boxes


def _near_any(box: Box, others: list[Box], distance: float) -> bool:
    d = int(distance)
    grown = Box(box.x0 - d, box.y0 - d, box.x1 + d, box.y1 + d)
    return any(grown.intersection_over_self(other) > 0 for other in others)


def _has_letter(stats: np.ndarray, char_height: float) -> bool:
    """True if a component is letter-shaped: letter height, at most a few letters wide, not a solid blob."""
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    fill = stats[:, cv2.CC_STAT_AREA] / np.maximum(w * h, 1)
    letter = (h >= 0.6 * char_height) & (h <= 2.5 * char_height) & (w <= 2.5 * char_height) & (fill < 0.85)
    return bool(letter.any())


def _main_cluster(stats: np.ndarray, char_height: float) -> np.ndarray | None:
    """The components of a band that form its text: clusters split at gaps wider than
    two character heights (wider than a justified word space), keeping those
    with at least a quarter of the heaviest cluster's ink and a letter-sized member."""
    if len(stats) == 0:
        return None
    order = np.argsort(stats[:, cv2.CC_STAT_LEFT])
    stats = stats[order]
    right_edges = np.maximum.accumulate(stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH])
    gaps = stats[1:, cv2.CC_STAT_LEFT] - right_edges[:-1]
    cuts = np.flatnonzero(gaps > 2 * char_height) + 1
    clusters = np.split(stats, cuts)
    masses = [float(c[:, cv2.CC_STAT_AREA].sum()) for c in clusters]
    heaviest = max(masses)
    kept = [c for c, m in zip(clusters, masses, strict=True) if m >= 0.25 * heaviest and _has_letter(c, char_height)]
    return np.concatenate(kept) if kept else None


def _group_blocks(lines: list[tuple[Box, np.ndarray]], gap_factor: float) -> list[list[tuple[Box, np.ndarray]]]:
    if not lines:
        return []
    heights = np.median([b.height for b, _ in lines])
    pitches = [b2.y0 - b1.y0 for (b1, _), (b2, _) in itertools.pairwise(lines)]
    pitch = float(np.median(pitches)) if pitches else float(heights)
    blocks = [[lines[0]]]
    for previous, current in itertools.pairwise(lines):
        if current[0].y0 - previous[0].y0 > gap_factor * pitch:
            blocks.append([])
        blocks[-1].append(current)
    return blocks


def _crop_line(deskewed: np.ndarray, brightness: np.ndarray, box: Box, parts: np.ndarray, scale: float,
               char_height: float, geometry: LineGeometry) -> np.ndarray | None:
    """Cut a line from the full-resolution deskewed page and normalize it.

    The crop is flattened (divided by its paper's brightness), then only the
    surroundings of the line's own components are kept; the rest (specks, bits of
    the neighbouring lines and illustrations) is painted with the paper's colour.
    """
    pad_y = 0.5 * box.height
    pad_x = 0.8 * char_height
    x0 = int(max(0, (box.x0 - pad_x) / scale))
    x1 = int(min(deskewed.shape[1], math.ceil((box.x1 + pad_x) / scale)))
    y0 = int(max(0, (box.y0 - pad_y) / scale))
    y1 = int(min(deskewed.shape[0], math.ceil((box.y1 + pad_y) / scale)))
    # the crop's shading (a gutter shadow, a lamp's falloff) is divided out before the
    # surroundings are painted white: painting first would leave a grey box with sharp edges
    # behind the last words of a shadowed line, which the recognizer reads as letters
    crop = divide_by_paper(deskewed[y0:y1, x0:x1], brightness[y0:y1, x0:x1])
    keep = np.zeros(crop.shape, dtype=np.uint8)
    grow = 0.2 * char_height
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


def _back_mapper(width: int, height: int, scale: float, skew: float):
    """Map a box on the scaled, deskewed page to the bounding box of its corners on the original."""
    deskew = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
    undo = cv2.invertAffineTransform(deskew)

    def to_original(box: Box) -> Box:
        corners = np.array([[box.x0, box.y0, 1], [box.x1, box.y0, 1], [box.x0, box.y1, 1], [box.x1, box.y1, 1]],
                           dtype=np.float64)
        corners[:, :2] /= scale
        moved = corners @ undo.T
        return Box(max(0, int(math.floor(moved[:, 0].min()))), max(0, int(math.floor(moved[:, 1].min()))),
                   min(width, int(math.ceil(moved[:, 0].max()))), min(height, int(math.ceil(moved[:, 1].max()))))

    return to_original


# -- debug pictures -----------------------------------------------------------------------------


def save_debug(result: SegmentedPage, directory: str | Path, stem: str = "page") -> list[Path]:
    """Write the page with blocks and lines drawn, the binarized page and the projection profiles."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    overlay = cv2.cvtColor(result.analysis.gray, cv2.COLOR_GRAY2BGR)
    for box in result.page.illustration_boxes:
        cv2.rectangle(overlay, (box.x0, box.y0), (box.x1, box.y1), (0, 0, 220), 2)
    for block in result.page.blocks:
        b = block.box
        cv2.rectangle(overlay, (b.x0 - 4, b.y0 - 4), (b.x1 + 4, b.y1 + 4), (220, 120, 0), 2)
    for number, line in enumerate(result.page.lines, 1):
        b = line.box
        cv2.rectangle(overlay, (b.x0, b.y0), (b.x1, b.y1), (0, 170, 0), 1)
        cv2.putText(overlay, str(number), (max(0, b.x0 - 28), b.y1 - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 120, 0), 1, cv2.LINE_AA)
    written.append(directory / f"{stem}.lines.png")
    cv2.imwrite(str(written[-1]), overlay)
    written.append(directory / f"{stem}.binary.png")
    binary = np.where(result.analysis.binary, 0, 255).astype(np.uint8)
    text = np.where(result.analysis.text_mask, 0, 255).astype(np.uint8)
    cv2.imwrite(str(written[-1]), np.hstack([binary, np.full((binary.shape[0], 8), 128, np.uint8), text]))
    if result.analysis.profiles:
        written.append(directory / f"{stem}.profile.png")
        _plot_profiles(result.analysis, written[-1])
    return written


def _plot_profiles(analysis: LayoutAnalysis, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(analysis.profiles)
    fig, axes = plt.subplots(1, count, figsize=(4 * count, 8), squeeze=False)
    for ax, profile, bands in zip(axes[0], analysis.profiles, analysis.bands, strict=True):
        rows = np.arange(len(profile))
        ax.plot(profile, rows, color="black", linewidth=0.8)
        for top, bottom in bands:
            ax.axhspan(top, bottom, color="tab:green", alpha=0.25)
        ax.invert_yaxis()
        ax.set_xlabel("ink pixels per row")
        ax.set_ylabel("row (analysis scale)")
    fig.suptitle(f"horizontal projection profiles (skew {analysis.skew_degrees:.2f}°)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)

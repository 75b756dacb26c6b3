"""Connected components: the character height, the components that can be text, and illustrations."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from crnn.document import Box
from crnn.imaging import median
from crnn.layout.config import CharHeightConfig, ComponentConfig


def connected_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of a boolean mask: count, labels, stats and centroids as OpenCV gives them.

    Grana's algorithm labels exactly as OpenCV's default does, and faster; 16-bit labels (when
    there are fewer than 65,536; OpenCV refuses otherwise) are faster still.
    """
    try:
        return cv2.connectedComponentsWithStatsWithAlgorithm(mask.view(np.uint8), 8, cv2.CV_16U, cv2.CCL_GRANA)
    except cv2.error:
        return cv2.connectedComponentsWithStatsWithAlgorithm(mask.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)


def estimate_char_height(stats: np.ndarray, page_size: int, config: CharHeightConfig = CharHeightConfig()) -> float:
    """Median height of letter-sized connected components (0 if there are none); ``page_size`` is
    the image's longer side (a low image of one or two lines still has letters)."""
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    areas = stats[:, cv2.CC_STAT_AREA]
    plausible = ((heights >= config.min_height) & (heights <= page_size / config.max_page_divisor)
                 & (areas >= config.min_area))
    if plausible.sum() < config.min_components:
        return 0.0
    return float(median(heights[plausible]))


@dataclass(frozen=True)
class TextComponents:
    """The components of a page that can be text."""

    mask: np.ndarray  # the pixels of the components that can be text
    char_height: float  # 0 when the page has no letter-sized components
    illustrations: list[Box]
    stats: np.ndarray  # cv2 connected-component stats of the text components
    centroids: np.ndarray
    vertical_rules: list[Box] = field(default_factory=list)  # printed rules between columns


def text_components(mask: np.ndarray, config: ComponentConfig = ComponentConfig(), flat: np.ndarray | None = None,
                    threshold: float = 255.0, char_config: CharHeightConfig = CharHeightConfig(),
                    paper: np.ndarray | None = None) -> TextComponents:
    """The components that can be text, the character height, and illustration boxes.

    Components taller than ``big_chars`` character heights, or far wider than any
    word, are illustrations, rules or page edges. Thin ones (rules, edges, shadow
    borders) first give back the letters that touch them. The boxes of the others
    (unless one runs along the page without filling its box, like a page border)
    also remove the small parts inside them: hatching, eyes, loose strokes. Given
    the flattened page and its threshold, components much paler than the page's
    letters (the frayed edge of a shadow, show-through from the other side) are
    dropped too, and so is whatever lies where ``paper`` (a boolean map of the page's paper,
    if given) says there is none: the table or the dark cloth around a photographed page.
    """
    c = config
    mask = mask.astype(bool, copy=False)
    count, labels, stats, centroids = connected_components(mask)
    stats, centroids = stats[1:], centroids[1:]
    char_height = estimate_char_height(stats, max(mask.shape), char_config)
    if char_height == 0:
        return TextComponents(np.zeros_like(mask), 0.0, [], stats[:0], centroids[:0])
    big = _big(stats, char_height, c)
    large = large_type(stats, big, char_height, c)
    strips = [i for i in np.flatnonzero(big & ~large) if _is_thin(stats[i], char_height, c)]
    rules = [Box(int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh in (stats[i, :4] for i in strips)
             if bh >= c.rule_min_chars * char_height and bw <= c.thin_chars * char_height]
    if strips:  # letters touching a rule or an edge shadow are set free
        mask, labels, count, stats, centroids = peel_strips(mask, labels, stats, centroids, strips, char_height, c)
        large = np.concatenate([large, np.zeros(len(stats) - len(large), dtype=bool)])
        big = _big(stats, char_height, c)
    big &= ~large
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    widths = stats[:, cv2.CC_STAT_WIDTH]
    areas = stats[:, cv2.CC_STAT_AREA]
    speck = areas < max(c.min_speck_area, (c.speck_chars * char_height) ** 2)
    h, w = mask.shape
    illustrations: list[Box] = []
    outlines: list[Box] = []
    for i in np.flatnonzero(big):
        x, y, bw, bh = stats[i, :4]
        if _is_thin(stats[i], char_height, c):
            continue
        box = Box(int(x), int(y), int(x + bw), int(y + bh))
        # a picture fills its box with strokes; a page border, the curled edge of a photographed
        # page or the table around it only traces the sides of its box (and the box would take
        # the page's text with it), and so does a picture's frame
        if _fills_like_a_picture(labels[y : y + bh, x : x + bw] == i + 1, char_height, c):
            illustrations.append(box)
        elif bh <= c.spans_height_fraction * h and bw <= c.spans_width_fraction * w:
            outlines.append(box)
    # an outline is a picture's frame when it meets a picture, and the page's edge when it only holds text
    illustrations += [box for box in outlines if any(box.intersection_over_self(p) > 0 for p in illustrations)]
    # large letters touching a picture are pieces of it that happen to line up
    margin = int(c.picture_margin_chars * char_height)
    pictures = list(illustrations)  # the letters' own boxes do not count, or one would take the next
    for i in np.flatnonzero(large):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        box = Box(x, y, x + bw, y + bh)
        if any(box.grown(margin).intersection_over_self(p) > 0 for p in pictures):
            large[i], big[i] = False, True
            illustrations.append(box)
    illustrations = merge_boxes(illustrations, int(char_height))
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    # whatever touches the image border is the edge of the page or text cut off by the frame
    edge = max(c.min_border, int(c.border_chars * char_height))  # deskewing moves the frame's edge inwards
    on_border = (left <= edge) | (top <= edge) | (left + widths >= w - edge) | (top + heights >= h - edge)
    keep = ~big & ~speck & ~on_border
    if paper is not None:
        cx = np.clip(centroids[:, 0].astype(np.int64), 0, w - 1)
        cy = np.clip(centroids[:, 1].astype(np.int64), 0, h - 1)
        keep &= paper[cy, cx]
    if flat is not None:
        ink_labels = labels[mask]  # background pixels carry label 0 and do not count
        darkness = np.bincount(ink_labels, weights=flat[mask].astype(np.float64), minlength=count)[1:]
        darkness /= np.maximum(areas, 1)
        letters = (keep & (heights >= c.letter_min_chars * char_height)
                   & (heights <= c.letter_max_chars * char_height))
        if letters.sum() >= c.min_letters:
            ink = float(median(darkness[letters]))
            keep &= darkness <= ink + c.pale_fraction * (threshold - ink)
    centers_x = stats[:, cv2.CC_STAT_LEFT] + widths / 2
    centers_y = stats[:, cv2.CC_STAT_TOP] + heights / 2
    grow = c.picture_margin_chars * char_height  # loose strokes hugging a picture's edge belong to it
    for box in illustrations:
        inside = ((centers_x >= box.x0 - grow) & (centers_x < box.x1 + grow)
                  & (centers_y >= box.y0 - grow) & (centers_y < box.y1 + grow))
        keep &= ~inside
    lookup = np.zeros(count, dtype=bool)
    lookup[1:] = keep
    rules = [r for r in rules if not any(r.intersection_over_self(p) > 0 for p in illustrations)]
    return TextComponents(np.take(lookup, labels), char_height, illustrations, stats[keep], centroids[keep],
                          rules)


def large_type(stats: np.ndarray, big: np.ndarray, char_height: float,
               config: ComponentConfig = ComponentConfig()) -> np.ndarray:
    """Which big components are letters of a title or heading set in large type.

    A big component is a large letter when it is letter-shaped (not much wider than tall,
    neither a solid blob nor a hairline) and stands in a row with others of its height: at
    least ``large_type_min_letters`` of them, each within ``large_type_gap`` of its own height
    of the next, their middles level. A picture's pieces rarely line up like that.
    """
    x, y, w, h, area = (stats[:, i].astype(np.float64) for i in range(5))
    fill = area / np.maximum(w * h, 1)
    candidate = (big & (h <= config.large_type_max_chars * char_height) & (w <= config.large_type_max_aspect * h)
                 & (w >= config.large_type_min_aspect * h)
                 & (fill >= config.large_type_min_fill) & (fill <= config.large_type_max_fill))
    found = np.zeros(len(stats), dtype=bool)
    index = np.flatnonzero(candidate)
    index = index[np.argsort(x[index])]
    used: set[int] = set()
    for start in index:
        if int(start) in used:
            continue
        row = [int(start)]
        for j in index:
            j = int(j)
            last = row[-1]
            if j in used or j == last or x[j] < x[last]:
                continue
            level = abs((y[j] + h[j] / 2) - (y[last] + h[last] / 2)) <= config.large_type_level * h[last]
            similar = abs(h[j] - h[last]) <= config.large_type_height_tolerance * h[last]
            near = x[j] - (x[last] + w[last]) <= config.large_type_gap * h[last]
            if level and similar and near:
                row.append(j)
        if len(row) >= config.large_type_min_letters:
            found[row] = True
            used.update(row)
    return found


def _big(stats: np.ndarray, char_height: float, config: ComponentConfig) -> np.ndarray:
    """Components too tall or too wide to be text."""
    return ((stats[:, cv2.CC_STAT_HEIGHT] > config.big_chars * char_height)
            | (stats[:, cv2.CC_STAT_WIDTH] > config.wide_chars * char_height))


def _is_thin(stat: np.ndarray, char_height: float, config: ComponentConfig) -> bool:
    """A rule, a page edge or the edge of a shadow rather than a picture."""
    short, long = sorted((int(stat[cv2.CC_STAT_WIDTH]), int(stat[cv2.CC_STAT_HEIGHT])))
    return short < config.thin_chars * char_height or short < config.thin_ratio * long


def peel_strips(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, centroids: np.ndarray, strips: list[int],
                char_height: float, config: ComponentConfig = ComponentConfig(),
                ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Remove the long straight body of each strip component; what sticks out of it (a letter
    touching a rule or the edge of a gutter shadow) becomes components of its own.

    ``stats`` and ``centroids`` are OpenCV's without the background row, so component ``i``
    carries label ``i + 1``. Returns the new mask, the labels (a strip's body becomes
    background, the pieces get new labels after the old ones: updated in place, or in a
    32-bit copy once they outgrow 16 bits), the label count, stats and centroids.
    """
    mask = mask.copy()
    stats, centroids = stats.copy(), centroids.copy()
    run = max(3, int(config.peel_run_chars * char_height))
    side = max(3, int(config.peel_margin_chars * char_height) | 1)
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


def _fills_like_a_picture(component: np.ndarray, char_height: float, config: ComponentConfig) -> bool:
    """Whether a big component is a picture: its strokes fill its box, the middle too.

    The dark table or background around a photographed page may also fill much of its box,
    but only around the paper: the middle of its box is the page, with no ink of its own.
    """
    if _occupancy(component, char_height) < config.min_picture_occupancy:
        return False
    h, w = component.shape
    dy, dx = int(h * config.middle_margin_fraction), int(w * config.middle_margin_fraction)
    middle = component[dy : h - dy, dx : w - dx]
    return middle.size > 0 and _occupancy(middle, char_height) >= config.min_picture_occupancy


def _occupancy(component: np.ndarray, char_height: float) -> float:
    """Share of the character-sized cells of a component's box that hold some of its ink."""
    cell = max(1, int(char_height))
    rows, cols = -(-component.shape[0] // cell), -(-component.shape[1] // cell)
    padded = np.zeros((rows * cell, cols * cell), dtype=bool)
    padded[: component.shape[0], : component.shape[1]] = component
    return float(padded.reshape(rows, cell, cols, cell).any(axis=(1, 3)).mean())


def merge_boxes(boxes: list[Box], margin: int) -> list[Box]:
    """Boxes closer than ``margin`` pixels merged into their union, until no two are that close."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for box in merged:
            grown = box.grown(margin)
            for j, other in enumerate(out):
                if grown.intersection_over_self(other) > 0:
                    out[j] = other.union(box)
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged

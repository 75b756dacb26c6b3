"""Columns and text blocks by recursive X-Y cuts over the page's text mask, in reading order.

A region is cut vertically at the widest blank gutter that runs through all of it (wider than
any word space, the region at least a few lines tall), otherwise horizontally at its widest
blank row gap, and each part is cut again. Vertical cuts are tried first, so a two-column page
becomes its columns, read left to right, and a heading across both columns is cut off above
them by the blank rows beneath it. What cannot be cut further is a block, whose lines the
projection profile finds. A single-column page comes back as its paragraphs (or lines), in
order, which reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from crnn.document import Box
from crnn.layout.config import ColumnConfig
from crnn.layout.profiles import runs


def text_regions(mask: np.ndarray, char_height: float, config: ColumnConfig = ColumnConfig(),
                 rules: list[Box] | None = None) -> list[Box]:
    """Boxes of the blocks of a text mask (one physical page), in reading order, in mask pixels.

    ``rules`` (vertical rules printed between columns, in mask pixels) part columns even where
    a line of text runs into the gutter.
    """
    if not mask.any() or char_height <= 0:
        return []
    cell = max(1, int(round(config.cell_chars * char_height)))
    rows, cols = -(-mask.shape[0] // cell), -(-mask.shape[1] // cell)
    padded = np.zeros((rows * cell, cols * cell), np.float32)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    # a speck inks its cell (a period counts): a cell's mean is above zero when any pixel of it is ink
    # (an area resize by a whole factor is that mean, and many times faster than numpy's any over cells)
    grid = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA) > 0
    if not config.enabled:
        leaves = [_trim(grid, 0, rows, 0, cols)]
    else:
        gap = max(1, int(np.ceil(config.min_gutter_chars * char_height / cell)))
        min_height = max(2, int(np.ceil(config.min_column_chars * char_height / cell)))
        side_ink = max(1, int(np.ceil(config.min_side_ink_chars * char_height / cell)))
        continued_gap = max(gap, int(np.ceil(config.continued_gutter_chars * char_height / cell)))
        separators = [(r.x0 // cell, -(-r.x1 // cell), r.y0 // cell, -(-r.y1 // cell)) for r in rules or []]
        leaves, _ = _cut(grid, 0, rows, 0, cols, _Cuts(gap, min_height, side_ink, continued_gap, config.max_depth,
                                                       config.rule_span_fraction, separators), depth=0)
    h, w = mask.shape
    boxes = [Box(x0 * cell, y0 * cell, min(w, x1 * cell), min(h, y1 * cell))
             for y0, y1, x0, x1 in (leaf for leaf in leaves if leaf is not None)]
    return reading_order(boxes)


SAME_COLUMN = 0.5  # blocks whose x-ranges overlap by this share of the narrower one are in one column


def reading_order(boxes: list[Box]) -> list[Box]:
    """Blocks in reading order (Breuel's two rules, then a topological sort).

    A block comes before another if they share a column and it is above, or if it lies
    wholly to the left and no separator lies between them in height. A separator stands alone
    in its rows and either spans two blocks that stand side by side (a heading across two
    columns, which puts the left column's part above it before the right's part below it) or
    is above or below all the others (a dateline, a running head or foot): it comes after
    everything above it and before everything below it. A caption set in the gutter beside
    the columns' text is no separator, and a page whose blocks were cut into columns is read
    column by column even where a caption or a picture split a column into pieces.
    """
    n = len(boxes)
    if n < 3:
        return boxes

    def overlap(a: Box, b: Box) -> int:
        return min(a.x1, b.x1) - max(a.x0, b.x0)

    alone = [not any(k != i and min(c.y1, d.y1) > max(c.y0, d.y0) for k, d in enumerate(boxes))
             for i, c in enumerate(boxes)]

    def spans_two(c: Box) -> bool:  # two blocks under or over it stand side by side
        under = [d for d in boxes if d is not c and overlap(c, d) > 0]
        return bool(under) and min(d.x1 for d in under) <= max(d.x0 for d in under)

    top, bottom = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    separator = [alone[i] and (c.y0 == top or c.y1 == bottom or spans_two(c)) for i, c in enumerate(boxes)]
    after: list[set[int]] = [set() for _ in range(n)]
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes):
            if i == j:
                continue
            if separator[i] or separator[j]:
                if a.y1 <= b.y0:
                    after[i].add(j)
            elif overlap(a, b) >= SAME_COLUMN * min(a.width, b.width):  # one column
                if a.y1 <= b.y0 or (a.y0 < b.y0 and (a.y0 + a.y1) < (b.y0 + b.y1)):
                    after[i].add(j)
            elif a.x1 <= b.x0 and not any(
                    separator[k] and c.y0 >= min(a.y1, b.y1) and c.y1 <= max(a.y0, b.y0)
                    for k, c in enumerate(boxes)):
                after[i].add(j)
    waiting = [0] * n
    for i in range(n):
        for j in after[i]:
            waiting[j] += 1
    order: list[int] = []
    ready = [i for i in range(n) if waiting[i] == 0]
    while ready:
        ready.sort(key=lambda i: (boxes[i].y0, boxes[i].x0))
        i = ready.pop(0)
        order.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    if len(order) < n:  # contradictory rules (overlapping blocks): the cut order stands
        return boxes
    return [boxes[i] for i in order]


def _trim(grid: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> tuple[int, int, int, int] | None:
    """The region shrunk to its ink (None if it has none)."""
    region = grid[y0:y1, x0:x1]
    ys, xs = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not len(ys):
        return None
    return y0 + int(ys[0]), y0 + int(ys[-1]) + 1, x0 + int(xs[0]), x0 + int(xs[-1]) + 1


@dataclass(frozen=True)
class _Cuts:
    """The cut rules in grid cells."""

    gap: int
    min_height: int
    side_ink: int
    continued_gap: int
    max_depth: int
    rule_span: float
    rules: list[tuple[int, int, int, int]]  # x0, x1, y0, y1 of each vertical rule


def _cut(grid: np.ndarray, y0: int, y1: int, x0: int, x1: int, cuts: _Cuts,
         depth: int) -> tuple[list[tuple[int, int, int, int]], bool]:
    """The blocks of a region in reading order, and whether a vertical cut was made inside it.

    Horizontal cuts that lead to no vertical cut are undone: the region stays one block, so a
    single-column page keeps its paragraphs together for the line finder."""
    trimmed = _trim(grid, y0, y1, x0, x1)
    if trimmed is None:
        return [], False
    y0, y1, x0, x1 = trimmed
    region = grid[y0:y1, x0:x1]
    if depth >= cuts.max_depth:
        return [trimmed], False
    split = _rule_split(region, y0, y1, x0, x1, cuts)
    if split is None:
        split = _widest_gutter(grid, y0, y1, x0, x1, cuts)
    if split is not None:
        a, b = split
        left, _ = _cut(grid, y0, y1, x0, x0 + a, cuts, depth + 1)
        right, _ = _cut(grid, y0, y1, x0 + b, x1, cuts, depth + 1)
        return left + right, True
    blank_rows = runs(~region.any(axis=1))
    if not blank_rows:
        return [trimmed], False
    a, b = max(blank_rows, key=lambda r: r[1] - r[0])
    top, top_cut = _cut(grid, y0, y0 + a, x0, x1, cuts, depth + 1)
    bottom, bottom_cut = _cut(grid, y0 + b, y1, x0, x1, cuts, depth + 1)
    if not (top_cut or bottom_cut):
        return [trimmed], False
    return top + bottom, True


def _widest_gutter(grid: np.ndarray, y0: int, y1: int, x0: int, x1: int, cuts: _Cuts) -> tuple[int, int] | None:
    """The widest blank run of columns through the whole region with a few lines of text on both
    sides; in a region too short for that, the widest wide one that continues a column gutter
    straight above it (the lines under a picture set across two columns: read down each)."""
    region = grid[y0:y1, x0:x1]
    blank = runs(~region.any(axis=0))
    if region.shape[0] >= cuts.min_height:
        gutters = [(a, b) for a, b in blank if b - a >= cuts.gap
                   and region[:, :a].any(axis=1).sum() >= cuts.side_ink
                   and region[:, b:].any(axis=1).sum() >= cuts.side_ink]
    else:
        above = grid[max(0, y0 - cuts.min_height) : y0]  # the whole width: the columns may lie beyond the region
        inked = region.any(axis=0)
        # each side holds a word or more: a letter's sliver that a rule parted off is no column
        gutters = [(a, b) for a, b in blank if b - a >= cuts.continued_gap
                   and _ink_width(inked[:a]) >= cuts.gap and _ink_width(inked[b:]) >= cuts.gap
                   and len(above) == cuts.min_height and _between_columns(above, x0 + a, x0 + b)]
    return max(gutters, key=lambda r: r[1] - r[0]) if gutters else None


def _ink_width(inked: np.ndarray) -> int:
    """From the first to the last inked column, in cells (0 if none)."""
    where = np.flatnonzero(inked)
    return int(where[-1] - where[0] + 1) if len(where) else 0


SPECKS = 0.02  # a blank stretch of page may hold this share of inked cells (specks a picture left), not a line


def _between_columns(cells: np.ndarray, a: int, b: int) -> bool:
    """Whether columns ``a:b`` of a stretch of the grid are a gutter between text on both sides:
    blank but for a few specks, with ink left and right of them (a margin has none beyond it)."""
    gutter = cells[:, a:b]
    return (np.count_nonzero(gutter) <= SPECKS * gutter.size
            and bool(cells[:, :a].any()) and bool(cells[:, b:].any()))


def _rule_split(region: np.ndarray, y0: int, y1: int, x0: int, x1: int, cuts: _Cuts) -> tuple[int, int] | None:
    """A printed vertical rule running through most of the region, with text on both sides of it."""
    for rx0, rx1, ry0, ry1 in cuts.rules:
        if not (x0 < rx0 and rx1 < x1):
            continue
        if min(y1, ry1) - max(y0, ry0) < cuts.rule_span * (y1 - y0):
            continue
        a, b = rx0 - x0, rx1 - x0
        if region[:, :a].any() and region[:, b:].any():
            return a, b
    return None

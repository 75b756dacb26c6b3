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

import numpy as np

from crnn.document import Box
from crnn.layout.config import ColumnConfig
from crnn.layout.profiles import runs


def text_regions(mask: np.ndarray, char_height: float, config: ColumnConfig = ColumnConfig()) -> list[Box]:
    """Boxes of the blocks of a text mask (one physical page), in reading order, in mask pixels."""
    if not mask.any() or char_height <= 0:
        return []
    cell = max(1, int(round(config.cell_chars * char_height)))
    rows, cols = -(-mask.shape[0] // cell), -(-mask.shape[1] // cell)
    padded = np.zeros((rows * cell, cols * cell), bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    grid = padded.reshape(rows, cell, cols, cell).any(axis=(1, 3))  # a speck inks its cell (a period counts)
    if not config.enabled:
        leaves = [_trim(grid, 0, rows, 0, cols)]
    else:
        gap = max(1, int(np.ceil(config.min_gutter_chars * char_height / cell)))
        min_height = max(2, int(np.ceil(config.min_column_chars * char_height / cell)))
        side_ink = max(1, int(np.ceil(config.min_side_ink_chars * char_height / cell)))
        leaves, _ = _cut(grid, 0, rows, 0, cols, gap, min_height, side_ink, depth=0, max_depth=config.max_depth)
    h, w = mask.shape
    return [Box(x0 * cell, y0 * cell, min(w, x1 * cell), min(h, y1 * cell))
            for y0, y1, x0, x1 in (leaf for leaf in leaves if leaf is not None)]


def _trim(grid: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> tuple[int, int, int, int] | None:
    """The region shrunk to its ink (None if it has none)."""
    region = grid[y0:y1, x0:x1]
    ys, xs = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not len(ys):
        return None
    return y0 + int(ys[0]), y0 + int(ys[-1]) + 1, x0 + int(xs[0]), x0 + int(xs[-1]) + 1


def _cut(grid: np.ndarray, y0: int, y1: int, x0: int, x1: int, gap: int, min_height: int,
         side_ink: int, depth: int, max_depth: int) -> tuple[list[tuple[int, int, int, int]], bool]:
    """The blocks of a region in reading order, and whether a vertical cut was made inside it.

    Horizontal cuts that lead to no vertical cut are undone: the region stays one block, so a
    single-column page keeps its paragraphs together for the line finder."""
    trimmed = _trim(grid, y0, y1, x0, x1)
    if trimmed is None:
        return [], False
    y0, y1, x0, x1 = trimmed
    region = grid[y0:y1, x0:x1]
    if depth >= max_depth:
        return [trimmed], False
    if y1 - y0 >= min_height:
        # a gutter has columns of text on both sides: a few lines' worth of inked rows each
        gutters = [(a, b) for a, b in runs(~region.any(axis=0)) if b - a >= gap
                   and region[:, :a].any(axis=1).sum() >= side_ink and region[:, b:].any(axis=1).sum() >= side_ink]
        if gutters:
            a, b = max(gutters, key=lambda r: r[1] - r[0])
            left, _ = _cut(grid, y0, y1, x0, x0 + a, gap, min_height, side_ink, depth + 1, max_depth)
            right, _ = _cut(grid, y0, y1, x0 + b, x1, gap, min_height, side_ink, depth + 1, max_depth)
            return left + right, True
    blank_rows = runs(~region.any(axis=1))
    if not blank_rows:
        return [trimmed], False
    a, b = max(blank_rows, key=lambda r: r[1] - r[0])
    top, top_cut = _cut(grid, y0, y0 + a, x0, x1, gap, min_height, side_ink, depth + 1, max_depth)
    bottom, bottom_cut = _cut(grid, y0 + b, y1, x0, x1, gap, min_height, side_ink, depth + 1, max_depth)
    if not (top_cut or bottom_cut):
        return [trimmed], False
    return top + bottom, True

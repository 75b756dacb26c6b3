"""Containers for a page's structure and text: Page -> Block -> Line -> Word.

Boxes are in pixel coordinates of the original image (after EXIF orientation),
``x0, y0`` inclusive and ``x1, y1`` exclusive. Confidences are in [0, 1]; see
``crnn.recognize.decoders`` for what they mean. A page is built once, by the
recognition pipeline (``crnn.pipeline``), and never changed after; every output
format (``crnn.formats``) is a renderer over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    """An axis-aligned pixel box: ``x0, y0`` inclusive, ``x1, y1`` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def grown(self, margin: int) -> Box:
        """The box with ``margin`` pixels added on every side."""
        return Box(self.x0 - margin, self.y0 - margin, self.x1 + margin, self.y1 + margin)

    def iou(self, other: Box) -> float:
        """Intersection over union of two boxes (0 when both are empty)."""
        ix = max(0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def intersection_over_self(self, other: Box) -> float:
        """Fraction of this box's area that lies inside ``other``."""
        ix = max(0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0, min(self.y1, other.y1) - max(self.y0, other.y0))
        return ix * iy / self.area if self.area else 0.0

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def as_tuple(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``."""
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class Word:
    """A run of characters between spaces, with the box of the frames it was read from."""

    text: str
    box: Box
    confidence: float


@dataclass(frozen=True)
class Line:
    """A text line: its box, its text, and the minimum confidence of its characters."""

    box: Box
    text: str = ""
    confidence: float = 1.0
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    """Lines that follow each other without a wide gap, on one physical page."""

    box: Box
    lines: list[Line] = field(default_factory=list)
    page_index: int = 0  # 0: left (or only) page of the image, 1: right page of a spread


@dataclass(frozen=True)
class Page:
    """A read page image: blocks of lines in reading order, with the boxes of its pages and pictures."""

    width: int
    height: int
    blocks: list[Block] = field(default_factory=list)
    skew_degrees: float = 0.0
    page_boxes: list[Box] = field(default_factory=list)  # one per physical page (two for a spread)
    illustration_boxes: list[Box] = field(default_factory=list)
    source: str = ""
    rotation_degrees: int = 0  # the image was turned this far clockwise before reading; boxes refer to the turned image

    @property
    def lines(self) -> list[Line]:
        """All lines in reading order."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def text(self) -> str:
        """The lines' text joined by newlines."""
        return "\n".join(line.text for line in self.lines)

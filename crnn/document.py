"""Containers for a page's structure and text: Page -> Block -> Line -> Word.

Boxes are in pixel coordinates of the original image (after EXIF orientation),
``x0, y0`` inclusive and ``x1, y1`` exclusive. Confidences are in [0, 1]; see
``crnn.decode`` for what they mean. Every output format (``crnn.export``) is a
renderer over these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
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

    def iou(self, other: Box) -> float:
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
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass
class Word:
    text: str
    box: Box
    confidence: float


@dataclass
class Line:
    box: Box
    text: str = ""
    confidence: float = 1.0
    words: list[Word] = field(default_factory=list)


@dataclass
class Block:
    box: Box
    lines: list[Line] = field(default_factory=list)
    page_index: int = 0  # 0: left (or only) page of the image, 1: right page of a spread


@dataclass
class Page:
    width: int
    height: int
    blocks: list[Block] = field(default_factory=list)
    skew_degrees: float = 0.0
    page_boxes: list[Box] = field(default_factory=list)  # one per physical page (two for a spread)
    illustration_boxes: list[Box] = field(default_factory=list)
    source: str = ""

    @property
    def lines(self) -> list[Line]:
        """All lines in reading order."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

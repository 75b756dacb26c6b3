"""Synthetic book pages with known line boxes, for layout tests and the demo.

A page (or a two-page spread) is set from ``crnn.synth.text`` lines drawn by
``crnn.synth.typeset``: a running header in capitals,
justified body lines with indented paragraph starts, a page number, and
optionally line-art "illustrations" (curves, hatching, filled shapes) with a
one-line caption. Then the whole image is skewed, tinted, shaded, blurred and
noised. The ground truth is every text line's ink box and text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from crnn.charset import Charset
from crnn.document import Box
from crnn.imaging import rotate, rotation_matrix, transform_box, transform_corners
from crnn.synth.config import RenderConfig
from crnn.synth.render import select_fonts
from crnn.synth.text import LineTextGenerator, TextConfig
from crnn.synth.typeset import Typesetter


@dataclass(frozen=True)
class TruthLine:
    """A line as it was set: its text and ink box."""

    text: str
    box: Box


@dataclass
class SyntheticPage:
    """A generated page image with the truth about it."""

    image: np.ndarray  # uint8 grayscale
    lines: list[TruthLine]  # in reading order
    illustrations: list[Box] = field(default_factory=list)  # bounding boxes (of the skewed rectangles)
    illustration_polygons: list[np.ndarray] = field(default_factory=list)  # their exact corners

    def inside_illustration(self, box: Box) -> bool:
        """True if the centre of ``box`` lies inside an illustration."""
        centre = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        return any(cv2.pointPolygonTest(p.astype(np.float32), centre, False) >= 0
                   for p in self.illustration_polygons)


def _line_art(page: np.ndarray, box: Box, rng: np.random.Generator) -> None:
    """Random dark line art inside ``box`` (clipped to it): curves, hatching and filled shapes."""
    canvas = np.full_like(page, 255)
    ink = int(rng.integers(10, 60))
    w, h = box.width, box.height
    for _ in range(int(rng.integers(6, 16))):
        points = np.stack([rng.uniform(box.x0, box.x1, 5), rng.uniform(box.y0, box.y1, 5)], axis=1)
        t = np.linspace(0, 1, 60)[:, None]
        # a smooth curve through random control points (quadratic B-spline segments)
        curve = []
        for a, b, c in zip(points[:-2], points[1:-1], points[2:], strict=True):
            p0, p2 = (a + b) / 2, (b + c) / 2
            curve.append((1 - t) ** 2 * p0 + 2 * (1 - t) * t * b + t**2 * p2)
        pts = np.concatenate(curve).astype(np.int32)
        cv2.polylines(canvas, [pts], False, ink, int(rng.integers(1, 5)), cv2.LINE_AA)
    for _ in range(int(rng.integers(1, 4))):  # hatching
        x, y = int(rng.uniform(box.x0, box.x1 - w * 0.3)), int(rng.uniform(box.y0, box.y1 - h * 0.3))
        size = int(min(w, h) * rng.uniform(0.15, 0.3))
        step = int(rng.integers(4, 9))
        for k in range(0, size, step):
            cv2.line(canvas, (x + k, y), (x, y + k), ink, 1, cv2.LINE_AA)
    for _ in range(int(rng.integers(1, 4))):  # filled shapes
        centre = (int(rng.uniform(box.x0 + 20, box.x1 - 20)), int(rng.uniform(box.y0 + 20, box.y1 - 20)))
        axes = (int(rng.uniform(8, w / 5)), int(rng.uniform(8, h / 5)))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, ink, -1, cv2.LINE_AA)
    cv2.rectangle(canvas, (box.x0, box.y0), (box.x1 - 1, box.y1 - 1), ink, int(rng.integers(1, 4)))
    region = (slice(box.y0, box.y1), slice(box.x0, box.x1))
    page[region] = np.minimum(page[region], canvas[region])


class PageGenerator:
    """Deterministic synthetic pages for a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.fonts = [f for f in select_fonts(RenderConfig()) if f.style == "regular"]
        self.typesetter = Typesetter()
        self.texts = LineTextGenerator(TextConfig(hyphenation_fraction=0.3), Charset(), seed)

    def _alpha(self, text: str, font, size: int) -> np.ndarray:
        # page text is drawn crisp, spaces as the font has them: the page-level degradations come afterwards
        return self.typesetter.render_alpha(text, font, size, 1.0)

    def _body_text(self) -> str:
        text = ""
        while len(text) < 8:
            text = self.texts.next_line().strip()
        return text

    def _page(self, width: int, height: int, font, size: int, number: int, min_art: int = 0) -> SyntheticPage:
        rng = self.rng
        canvas = np.full((height, width), 255, np.uint8)
        lines: list[TruthLine] = []
        illustrations: list[Box] = []
        margin_x = int(width * rng.uniform(0.07, 0.12))
        pitch = int(size * rng.uniform(1.3, 1.6))
        y = int(height * rng.uniform(0.04, 0.07))

        def place(text: str, x: int, y: int, text_size: int, measure: int | None = None) -> None:
            alpha = self._alpha(text, font, text_size)
            if measure and alpha.shape[1] > measure:
                alpha = cv2.resize(alpha, (measure, alpha.shape[0]), interpolation=cv2.INTER_AREA)
            h, w = alpha.shape
            if y + h >= height or x + w >= width:
                return
            region = canvas[y : y + h, x : x + w]
            np.minimum(region, (255 * (1 - alpha)).astype(np.uint8), out=region)
            ys, xs = np.nonzero(alpha > 0.25)
            if len(ys):
                lines.append(TruthLine(text, Box(x + int(xs.min()), y + int(ys.min()), x + int(xs.max()) + 1,
                                                 y + int(ys.max()) + 1)))

        header = self.texts.heading()
        header_alpha_width = self._alpha(header, font, int(size * 0.8)).shape[1]
        place(header, max(margin_x, (width - header_alpha_width) // 2), y, int(size * 0.8))
        y += int(pitch * 2)
        body_width = width - 2 * margin_x
        bottom = height - int(pitch * 2.5)
        full_page_art = rng.random() < 0.25
        art_count = max(min_art, 1 if full_page_art else int(rng.integers(0, 3)))
        art_rows = set()
        if art_count:
            rows_available = (bottom - y) // pitch
            for _ in range(art_count):
                rows = int(rows_available * (0.8 if full_page_art else rng.uniform(0.2, 0.35)))
                start = int(rng.integers(0, max(1, rows_available - rows)))
                if any(r in art_rows for r in range(start - 1, start + rows + 3)):
                    continue
                # a blank row above the picture, the caption's row and a blank row below it
                art_rows.update(range(start - 1, start + rows + 2))
                art = Box(margin_x, y + start * pitch, width - margin_x, y + (start + rows) * pitch)
                _line_art(canvas, art, rng)
                illustrations.append(art)
                caption = self.texts.caption()
                cap_w = self._alpha(caption, font, size).shape[1]
                place(caption, max(margin_x, (width - cap_w) // 2), art.y1 + pitch // 3, size, body_width)
        row = 0
        while y + row * pitch + size < bottom:
            if row not in art_rows:
                text = self._body_text()
                indent = int(size * 1.5) if rng.random() < 0.12 else 0
                place(text, margin_x + indent, y + row * pitch, size, body_width - indent)
            row += 1
        page_number = str(number)
        num_w = self._alpha(page_number, font, size).shape[1]
        place(page_number, (width - num_w) // 2, height - int(pitch * 1.6), size)
        lines.sort(key=lambda line: line.box.y0)
        return SyntheticPage(canvas, lines, illustrations)

    def generate(self, two_pages: bool | None = None, min_illustrations: int = 0) -> SyntheticPage:
        """One page or spread; ``min_illustrations`` forces pictures onto the last page."""
        rng = self.rng
        two_pages = bool(rng.random() < 0.5) if two_pages is None else two_pages
        font = self.fonts[int(rng.integers(len(self.fonts)))]
        size = int(rng.integers(20, 32))
        page_w, page_h = int(size * rng.uniform(30, 38)), int(size * rng.uniform(44, 52))
        number = int(rng.integers(1, 400))
        count = 2 if two_pages else 1
        pages = [self._page(page_w, page_h, font, size, number + i, min_illustrations if i == count - 1 else 0)
                 for i in range(count)]
        gutter = int(size * rng.uniform(1.5, 3)) if two_pages else 0
        image = np.full((page_h, page_w * len(pages) + gutter * (len(pages) - 1)), 255, np.uint8)
        lines: list[TruthLine] = []
        illustrations: list[Box] = []
        for i, page in enumerate(pages):
            dx = i * (page_w + gutter)
            image[:, dx : dx + page_w] = page.image
            lines += [TruthLine(t.text, Box(t.box.x0 + dx, t.box.y0, t.box.x1 + dx, t.box.y1)) for t in page.lines]
            illustrations += [Box(b.x0 + dx, b.y0, b.x1 + dx, b.y1) for b in page.illustrations]
        return self._degrade(SyntheticPage(image, lines, illustrations), gutter)

    def _degrade(self, page: SyntheticPage, gutter: int) -> SyntheticPage:
        rng = self.rng
        image = page.image.astype(np.float32) / 255.0
        h, w = image.shape
        paper = rng.uniform(170, 245)
        ink = rng.uniform(10, 70)
        gray = ink + (paper - ink) * image
        if gutter:  # a shadow darkening towards the gutter
            x = np.arange(w, dtype=np.float32)
            centre = w / 2
            shade = 1 - rng.uniform(0.2, 0.5) * np.exp(-(((x - centre) / (gutter * 1.2)) ** 2))
            gray *= shade[None, :]
        ramp = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(0.9, 1.05), h, dtype=np.float32)[:, None]
        gray *= ramp
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.0))
        gray += rng.normal(0, rng.uniform(1, 6), gray.shape).astype(np.float32)
        gray = np.clip(gray, 0, 255).astype(np.uint8)
        angle = float(rng.uniform(-3, 3))
        matrix = rotation_matrix(w, h, angle)
        gray = rotate(gray, angle)
        quality = int(rng.integers(60, 95))
        _ok, encoded = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
        gray = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)

        lines = [TruthLine(t.text, transform_box(t.box, matrix)) for t in page.lines]
        return SyntheticPage(gray, lines, [transform_box(b, matrix) for b in page.illustrations],
                             [transform_corners(b, matrix) for b in page.illustrations])

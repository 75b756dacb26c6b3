"""Page OCR: image -> layout -> batched line recognition -> decoded Page with words and confidences."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crnn.checkpoint import Recognizer, load_checkpoint
from crnn.decode import Decoded, decode_batch
from crnn.document import Box, Line, Page, Word
from crnn.layout import LayoutConfig, SegmentedPage, segment_page
from crnn.model import frame_step_px

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "default"


@dataclass
class OcrResult:
    page: Page
    segmented: SegmentedPage
    seconds: dict[str, float] = field(default_factory=dict)


def _words(line_box: Box, decoded: Decoded, crop_width: int, frame_px: int, margin_px: float) -> list[Word]:
    """Word boxes from the frames each character was read at, mapped back onto the line's box.

    The crop shows the line's ink box plus ``margin_px`` on each side, scaled to ``crop_width``;
    a frame covers ``frame_px`` crop pixels.
    """
    inner = max(crop_width - 2 * margin_px, 1.0)

    def to_x(crop_x: float) -> int:
        relative = min(max((crop_x - margin_px) / inner, 0.0), 1.0)
        return line_box.x0 + int(round(relative * line_box.width))

    words: list[Word] = []
    start = None
    for i, character in enumerate([*decoded.text, " "]):
        if character != " " and start is None:
            start = i
        elif character == " " and start is not None:
            first, last = decoded.spans[start][0], decoded.spans[i - 1][1]
            x0, x1 = to_x(first * frame_px), to_x((last + 1) * frame_px)
            confidence = min(decoded.char_confidences[start:i])
            words.append(Word(decoded.text[start:i], Box(x0, line_box.y0, max(x1, x0 + 1), line_box.y1),
                              round(confidence, 4)))
            start = None
    return words


class PageReader:
    """Loads a checkpoint once and reads any number of pages with it."""

    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, decoder: str = "greedy", beam_width: int = 8,
                 layout: LayoutConfig | None = None, batch_size: int = 32) -> None:
        if decoder not in ("greedy", "beam"):
            raise ValueError(f"unknown decoder {decoder!r} (greedy or beam)")
        self.recognizer: Recognizer = load_checkpoint(checkpoint)
        self.decoder = decoder
        self.beam_width = beam_width
        self.layout = layout or LayoutConfig()
        self.batch_size = batch_size
        self.frame_px = frame_step_px(self.recognizer.model_config)

    def recognize_lines(self, crops: list[np.ndarray]) -> list[Decoded]:
        """Decode normalized line images, batched by similar width."""
        results: list[Decoded | None] = [None] * len(crops)
        order = np.argsort([c.shape[1] for c in crops], kind="stable")
        for start in range(0, len(order), self.batch_size):
            indices = order[start : start + self.batch_size]
            logits, lengths = self.recognizer.logits([crops[i] for i in indices])
            decoded = decode_batch(logits, lengths, self.recognizer.charset, self.decoder, self.beam_width)
            for i, d in zip(indices, decoded, strict=True):
                results[int(i)] = d
        return [r for r in results if r is not None]

    def read(self, image: np.ndarray | str | Path | bytes, source: str = "") -> OcrResult:
        started = time.perf_counter()
        segmented = segment_page(image, self.layout, self.recognizer.geometry)
        laid_out = time.perf_counter()
        decoded = self.recognize_lines(segmented.crops) if segmented.crops else []
        recognized = time.perf_counter()
        page = segmented.page
        page.source = source
        margin = self.recognizer.geometry.horizontal_margin
        lines: list[Line] = page.lines
        for line, crop, result in zip(lines, segmented.crops, decoded, strict=True):
            line.text = result.text
            line.confidence = round(result.confidence, 4)
            band_height = crop.shape[0] / (1 + 2 * self.recognizer.geometry.vertical_margin)
            line.words = _words(line.box, result, crop.shape[1], self.frame_px, margin * band_height)
        # a line the recognizer reads as nothing is not a text line
        for block in page.blocks:
            block.lines = [line for line in block.lines if line.text.strip()]
        page.blocks = [block for block in page.blocks if block.lines]
        return OcrResult(page, segmented, {"layout": laid_out - started, "recognition": recognized - laid_out})

"""Page OCR: image -> layout -> batched line recognition -> the :class:`~crnn.document.Page`, built once."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crnn.document import Block, Line, Page
from crnn.formats.pdf import PageRaster, upright
from crnn.io import DEFAULT_DPI, document_pages
from crnn.layout import LayoutConfig, LayoutResult, LineRegion, segment_page
from crnn.pipeline.words import word_boxes
from crnn.recognize import DEFAULT_CHECKPOINT, Decoded, Recognizer, load_recognizer, make_decoder
from crnn.recognize.model import frame_step_px

EMPTY_LINE = Decoded("", 1.0, (), ())


@dataclass(frozen=True)
class OcrResult:
    """A read page, the layout it was read from, the layout line behind each page line, and timings."""

    page: Page
    layout: LayoutResult
    line_regions: tuple[LineRegion, ...] = ()  # one per ``page.lines`` entry, same order
    seconds: dict[str, float] = field(default_factory=dict)

    def crop_of(self, line_index: int) -> np.ndarray:
        """The normalized image the recognizer read for ``page.lines[line_index]``."""
        return self.line_regions[line_index].crop


def build_page(layout: LayoutResult, decoded: list[Decoded], frame_px: int, margin_px: float,
               source: str = "") -> tuple[Page, tuple[LineRegion, ...]]:
    """The page: each layout line with its decoded text, confidence and words.

    ``decoded`` has one entry per layout line, in reading order. A line the recognizer reads
    as nothing is not a text line, and a block left without lines is dropped. Also returns the
    layout line behind each page line.
    """
    if len(decoded) != len(layout.lines):
        raise ValueError(f"{len(decoded)} decoded lines for {len(layout.lines)} layout lines")
    results = iter(decoded)
    blocks: list[Block] = []
    kept: list[LineRegion] = []
    for region_block in layout.blocks:
        lines: list[Line] = []
        for region in region_block.lines:
            result = next(results)
            if not result.text.strip():
                continue
            words = word_boxes(region.box, result, region.crop.shape[1], frame_px, margin_px, region.closed_gaps)
            lines.append(Line(region.box, result.text, round(result.confidence, 4), words))
            kept.append(region)
        if lines:
            blocks.append(Block(region_block.box, lines, region_block.page_index))
    page = Page(layout.width, layout.height, blocks, layout.skew_degrees, list(layout.page_boxes),
                list(layout.illustration_boxes), source, layout.rotation_degrees)
    return page, tuple(kept)


class PageReader:
    """Loads a checkpoint once and reads any number of pages with it.

    ``backend`` runs the model: ``auto`` (ONNX Runtime when the checkpoint has a ``model.onnx``,
    else Keras), ``onnx`` or ``keras`` (``crnn.recognize.backends``).
    """

    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, decoder: str = "greedy", beam_width: int = 8,
                 layout: LayoutConfig | None = None, batch_size: int = 32, backend: str = "auto") -> None:
        self.decoder = make_decoder(decoder, beam_width=beam_width)
        self.recognizer: Recognizer = load_recognizer(checkpoint, backend)
        self.layout = layout or LayoutConfig()
        self.batch_size = batch_size
        self.frame_px = frame_step_px(self.recognizer.checkpoint.model_config)

    def recognize_lines(self, crops: list[np.ndarray]) -> list[Decoded]:
        """Decode normalized line images, batched by similar width."""
        return self.recognizer.read(crops, self.decoder, self.batch_size)

    def read_line_images(self, images: Sequence[np.ndarray | str | Path | bytes]) -> list[Decoded]:
        """Each image read as one text line, without layout (Tesseract's ``--psm 7``).

        An image is an array, a path or encoded bytes; one without ink reads as an empty line.
        Raises ``crnn.io.ImageError`` for an image that cannot be decoded.
        """
        crops: list[np.ndarray | None] = []
        for image in images:
            layout = segment_page(image, self.layout, self.recognizer.geometry, single_line=True)
            crops.append(layout.lines[0].crop if layout.lines else None)
        readable = [crop for crop in crops if crop is not None]
        decoded = iter(self.recognize_lines(readable) if readable else [])
        return [next(decoded) if crop is not None else EMPTY_LINE for crop in crops]

    def read(self, image: np.ndarray | str | Path | bytes, source: str = "", single_line: bool = False) -> OcrResult:
        """Lay out and read one page image (an array, a path or encoded bytes); with ``single_line``
        the image is one text line and no layout is run."""
        started = time.perf_counter()
        layout = segment_page(image, self.layout, self.recognizer.geometry, single_line=single_line)
        laid_out = time.perf_counter()
        crops = layout.crops
        decoded = self.recognize_lines(crops) if crops else []
        recognized = time.perf_counter()
        page, regions = build_page(layout, decoded, self.frame_px, self.recognizer.geometry.margin_px, source)
        return OcrResult(page, layout, regions, {"layout": laid_out - started, "recognition": recognized - laid_out})

    def read_document(self, source: str | Path | bytes, dpi: float = DEFAULT_DPI, single_line: bool = False,
                      keep_image: bool = False, pages: list[int] | None = None,
                      ) -> Iterator[tuple[OcrResult, PageRaster]]:
        """Read each page of a document (an image file or bytes, or a PDF), one at a time, in order.

        Yields the reading and its :class:`~crnn.formats.pdf.PageRaster` (with the upright page
        image when ``keep_image``, for formats that draw the page). ``dpi`` renders PDF pages
        that are not scans. Raises ``crnn.io.ImageError`` for what cannot be read.
        """
        for page_image in document_pages(source, dpi=dpi, pages=pages):
            result = self.read(page_image.image, source=page_image.source, single_line=single_line)
            image = upright(page_image.image, result.page.rotation_degrees) if keep_image else None
            number = page_image.number if "#page=" in page_image.source else 0
            yield result, PageRaster(result.page, image, page_image.dpi, number)

"""The project's reader as an engine for :mod:`crnn.evaluation.folders` (pages and line images)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crnn.pipeline.reader import PageReader
from crnn.version import __version__


class ReaderEngine:
    """A :class:`PageReader` seen as an OCR engine under test."""

    def __init__(self, reader: PageReader, name: str = f"crnn {__version__}", debug_dir: Path | None = None) -> None:
        self.reader = reader
        self.name = name
        self.debug_dir = debug_dir

    def read_page(self, image: Path) -> list[str]:
        """The page's text lines in reading order (every page of a PDF, in order); with
        ``debug_dir``, its layout pictures are written there as ``<folder>/<stem>.lines.png`` and so on."""
        lines: list[str] = []
        for result, raster in self.reader.read_document(image):
            if self.debug_dir is not None:
                from crnn.layout import save_debug

                save_debug(result.layout, self.debug_dir / image.parent.name,
                           image.stem + (f"-p{raster.number}" if raster.number else ""), result.page)
            lines.extend(line.text for line in result.page.lines)
        return lines

    def read_lines(self, images: Sequence[Path]) -> list[str]:
        """Each image read as one line."""
        return [decoded.text for decoded in self.reader.read_line_images(list(images))]

"""Output formats: each a pure function of read pages, registered by name in :data:`FORMATS`.

A new format is a module here with a renderer and one entry in :data:`FORMATS`; the
command line, the batch runner and the web app read the table. A document renderer
writes one file for a whole document (a PDF's pages, or an image's one page) from
:class:`~crnn.formats.pdf.PageRaster` items; text formats also have a one-page renderer
``(page, options) -> str``. A format that ``needs_image`` (the searchable PDF) draws the
page images and so needs them in its rasters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from crnn.document import Page
from crnn.formats.alto import alto_document, to_alto
from crnn.formats.hocr import hocr_document, to_hocr
from crnn.formats.json_format import to_dict, to_json
from crnn.formats.options import LOW_CONFIDENCE
from crnn.formats.pdf import PageRaster, upright, write_pdf
from crnn.formats.text import to_text


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer may be asked: the confidence below which lines and words are flagged."""

    low_confidence: float = LOW_CONFIDENCE


DocumentWriter = Callable[[BinaryIO, Iterable[PageRaster], RenderOptions, str], None]


@dataclass(frozen=True)
class Format:
    """An output format: its file extension, media type and renderers.

    ``page_renderer`` renders one page as text (``None`` for a binary format);
    ``document_writer(handle, rasters, options, title)`` writes a whole document's file.
    """

    name: str
    extension: str
    media_type: str
    page_renderer: Callable[[Page, RenderOptions], str] | None
    document_writer: DocumentWriter
    description: str
    needs_image: bool = False


def _text_document(join: Callable[[Sequence[Page], RenderOptions, str], str]) -> DocumentWriter:
    """A document writer for a text format: the pages gathered, ``join`` renders them, UTF-8."""

    def write(handle: BinaryIO, rasters: Iterable[PageRaster], options: RenderOptions, title: str) -> None:
        handle.write(join([raster.page for raster in rasters], options, title).encode("utf-8"))

    return write


def _json_pages(pages: Sequence[Page], options: RenderOptions, title: str) -> str:
    if len(pages) == 1:
        return to_json(pages[0], options.low_confidence)
    return json.dumps({"source": title, "pages": [to_dict(page, options.low_confidence) for page in pages]},
                      ensure_ascii=False, indent=1) + "\n"


def _pdf_document(handle: BinaryIO, rasters: Iterable[PageRaster], options: RenderOptions, title: str) -> None:
    write_pdf(handle, rasters, title)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("txt", ".txt", "text/plain; charset=utf-8", lambda page, options: to_text(page),
               # pages of a document apart by a form feed, as Tesseract writes them
               _text_document(lambda pages, options, title: "\f".join(to_text(page) for page in pages)),
               "the lines in reading order (pages of a PDF apart by a form feed)"),
        Format("json", ".json", "application/json", lambda page, options: to_json(page, options.low_confidence),
               _text_document(_json_pages),
               "blocks, lines and words with boxes and confidences (a PDF: {\"pages\": [...]})"),
        Format("hocr", ".hocr", "text/html; charset=utf-8",
               lambda page, options: to_hocr(page, options.low_confidence),
               _text_document(lambda pages, options, title: hocr_document(pages, options.low_confidence, title)),
               "hOCR 1.2"),
        Format("alto", ".xml", "application/xml", lambda page, options: to_alto(page),
               _text_document(lambda pages, options, title: alto_document(pages, title)), "ALTO 4"),
        Format("pdf", ".pdf", "application/pdf", None, _pdf_document,
               "searchable PDF: the page images with an invisible text layer on the word boxes",
               needs_image=True),
    )
}


def _format(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})") from None


def render(page: Page, fmt: str, low_confidence: float = LOW_CONFIDENCE) -> str:
    """``page`` in the text format named ``fmt`` (a key of :data:`FORMATS`); ``ValueError`` for an
    unknown one or one that needs the page image (use :func:`write_document`)."""
    output = _format(fmt)
    if output.page_renderer is None:
        raise ValueError(f"format {fmt!r} needs the page image: use write_document")
    return output.page_renderer(page, RenderOptions(low_confidence))


def write_document(handle: BinaryIO, rasters: Iterable[PageRaster], fmt: str,
                   low_confidence: float = LOW_CONFIDENCE, title: str = "") -> None:
    """Write the pages of one document (``rasters``, in order) to ``handle`` in format ``fmt``."""
    _format(fmt).document_writer(handle, rasters, RenderOptions(low_confidence), title)


def render_document(rasters: Iterable[PageRaster], fmt: str, low_confidence: float = LOW_CONFIDENCE,
                    title: str = "") -> bytes:
    """:func:`write_document` into bytes."""
    import io

    out = io.BytesIO()
    write_document(out, rasters, fmt, low_confidence, title)
    return out.getvalue()


__all__ = ["FORMATS", "LOW_CONFIDENCE", "Format", "PageRaster", "RenderOptions", "alto_document", "hocr_document",
           "render", "render_document", "to_alto", "to_dict", "to_hocr", "to_json", "to_text", "upright",
           "write_document"]

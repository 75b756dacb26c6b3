"""hOCR 1.2: ocr_page > ocr_carea > ocr_line > ocrx_word, with bbox and x_wconf (0-100)."""

from __future__ import annotations

from collections.abc import Sequence

from crnn.document import Box, Page
from crnn.formats.options import LOW_CONFIDENCE
from crnn.version import __version__


def _bbox(box: Box) -> str:
    return f"bbox {box.x0} {box.y0} {box.x1} {box.y1}"


def to_hocr(page: Page, low_confidence: float = LOW_CONFIDENCE) -> str:
    """hOCR 1.2: ocr_page > ocr_carea > ocr_line > ocrx_word, with bbox and x_wconf (0-100)."""
    return hocr_document([page], low_confidence)


def hocr_document(pages: Sequence[Page], low_confidence: float = LOW_CONFIDENCE, title: str = "") -> str:
    """One hOCR file of several pages (a PDF, a book), an ``ocr_page`` per page, ids numbered by page."""
    # imported here: xml.sax pulls in urllib, which a reader that writes text never needs
    from xml.sax.saxutils import escape, quoteattr

    title = title or (pages[0].source if pages else "") or "page"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
        "<head>",
        f"<title>{escape(title)}</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="crnn-book-ocr {__version__}"/>',
        '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_line ocrx_word ocrp_wconf"/>',
        "</head>",
        "<body>",
    ]
    for number, page in enumerate(pages, 1):
        out.append(f'<div class="ocr_page" id="page_{number}" title='
                   + quoteattr(f"image {page.source}; {_bbox(Box(0, 0, page.width, page.height))}; "
                               f"ppageno {number - 1}") + ">")
        word_id = 0
        line_id = 0
        for b, block in enumerate(page.blocks, 1):
            out.append(f'<div class="ocr_carea" id="block_{number}_{b}" title="{_bbox(block.box)}">')
            for line in block.lines:
                line_id += 1
                uncertain = " uncertain" if line.confidence < low_confidence else ""
                out.append(f'<span class="ocr_line{uncertain}" id="line_{number}_{line_id}" '
                           f'title="{_bbox(line.box)}; x_wconf {round(100 * line.confidence)}">')
                for word in line.words:
                    word_id += 1
                    flag = " uncertain" if word.confidence < low_confidence else ""
                    out.append(f'<span class="ocrx_word{flag}" id="word_{number}_{word_id}" '
                               f'title="{_bbox(word.box)}; x_wconf {round(100 * word.confidence)}">'
                               f"{escape(word.text)}</span>")
                out.append("</span>")
            out.append("</div>")
        out.append("</div>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)

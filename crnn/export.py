"""Renderers over a recognized :class:`crnn.document.Page`: plain text, JSON, hOCR 1.2 and ALTO 4.

Each renderer is a pure function of the page; none of them knows how the page was made.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from crnn import __version__
from crnn.document import Box, Page

FORMATS = ("txt", "json", "hocr", "alto")
EXTENSIONS = {"txt": ".txt", "json": ".json", "hocr": ".hocr", "alto": ".xml"}
LOW_CONFIDENCE = 0.5  # lines and words below this are flagged as uncertain


def to_text(page: Page) -> str:
    """The page's lines in reading order, one per line."""
    return "".join(line.text + "\n" for line in page.lines)


def _box(box: Box) -> list[int]:
    return list(box.as_tuple())


def to_dict(page: Page, low_confidence: float = LOW_CONFIDENCE) -> dict[str, Any]:
    return {
        "source": page.source,
        "width": page.width,
        "height": page.height,
        "skew_degrees": page.skew_degrees,
        "illustrations": [_box(b) for b in page.illustration_boxes],
        "blocks": [
            {
                "box": _box(block.box),
                "page_index": block.page_index,
                "lines": [
                    {
                        "text": line.text,
                        "box": _box(line.box),
                        "confidence": line.confidence,
                        "uncertain": line.confidence < low_confidence,
                        "words": [
                            {"text": w.text, "box": _box(w.box), "confidence": w.confidence,
                             "uncertain": w.confidence < low_confidence}
                            for w in line.words
                        ],
                    }
                    for line in block.lines
                ],
            }
            for block in page.blocks
        ],
        "text": to_text(page),
        "confidence_meaning": "minimum per-character probability (greedy: max softmax over the "
        "character's frames); boxes are [x0, y0, x1, y1] in image pixels",
    }


def to_json(page: Page, low_confidence: float = LOW_CONFIDENCE) -> str:
    return json.dumps(to_dict(page, low_confidence), ensure_ascii=False, indent=1) + "\n"


def _bbox(box: Box) -> str:
    return f"bbox {box.x0} {box.y0} {box.x1} {box.y1}"


def to_hocr(page: Page, low_confidence: float = LOW_CONFIDENCE) -> str:
    """hOCR 1.2: ocr_page > ocr_carea > ocr_line > ocrx_word, with bbox and x_wconf (0-100)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
        "<head>",
        f"<title>{escape(page.source or 'page')}</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="crnn-book-ocr {__version__}"/>',
        '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_line ocrx_word ocrp_wconf"/>',
        "</head>",
        "<body>",
        '<div class="ocr_page" id="page_1" title='
        + quoteattr(f"image {page.source}; {_bbox(Box(0, 0, page.width, page.height))}") + ">",
    ]
    word_id = 0
    line_id = 0
    for b, block in enumerate(page.blocks, 1):
        out.append(f'<div class="ocr_carea" id="block_1_{b}" title="{_bbox(block.box)}">')
        for line in block.lines:
            line_id += 1
            uncertain = " uncertain" if line.confidence < low_confidence else ""
            out.append(f'<span class="ocr_line{uncertain}" id="line_1_{line_id}" '
                       f'title="{_bbox(line.box)}; x_wconf {round(100 * line.confidence)}">')
            for word in line.words:
                word_id += 1
                flag = " uncertain" if word.confidence < low_confidence else ""
                out.append(f'<span class="ocrx_word{flag}" id="word_1_{word_id}" '
                           f'title="{_bbox(word.box)}; x_wconf {round(100 * word.confidence)}">'
                           f"{escape(word.text)}</span>")
            out.append("</span>")
        out.append("</div>")
    out += ["</div>", "</body>", "</html>", ""]
    return "\n".join(out)


def to_alto(page: Page) -> str:
    """ALTO v4: TextBlock > TextLine > String/SP/HYP with HPOS, VPOS, WIDTH, HEIGHT and WC (0-1)."""

    def geometry(box: Box) -> str:
        return f'HPOS="{box.x0}" VPOS="{box.y0}" WIDTH="{box.width}" HEIGHT="{box.height}"'

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# '
        'http://www.loc.gov/alto/v4/alto-4-2.xsd">',
        "<Description>",
        "<MeasurementUnit>pixel</MeasurementUnit>",
        f"<sourceImageInformation><fileName>{escape(page.source)}</fileName></sourceImageInformation>",
        "<OCRProcessing ID=\"OCR_0\"><ocrProcessingStep><processingSoftware>"
        f"<softwareName>crnn-book-ocr</softwareName><softwareVersion>{__version__}</softwareVersion>"
        "</processingSoftware></ocrProcessingStep></OCRProcessing>",
        "</Description>",
        "<Layout>",
        f'<Page ID="page_1" PHYSICAL_IMG_NR="1" WIDTH="{page.width}" HEIGHT="{page.height}">',
        f'<PrintSpace {geometry(Box(0, 0, page.width, page.height))}>',
    ]
    line_id = word_id = 0
    for b, block in enumerate(page.blocks, 1):
        out.append(f'<TextBlock ID="block_{b}" {geometry(block.box)}>')
        for line in block.lines:
            line_id += 1
            out.append(f'<TextLine ID="line_{line_id}" {geometry(line.box)}>')
            words = line.words
            for i, word in enumerate(words):
                word_id += 1
                content = word.text
                hyphenated = i == len(words) - 1 and len(content) > 1 and content.endswith("-")
                if hyphenated:
                    content = content[:-1]
                out.append(f'<String ID="string_{word_id}" {geometry(word.box)} '
                           f'CONTENT={quoteattr(content)} WC="{word.confidence:.3f}"/>')
                if i < len(words) - 1:
                    gap = Box(word.box.x1, word.box.y0, max(word.box.x1, words[i + 1].box.x0), word.box.y1)
                    out.append(f'<SP HPOS="{gap.x0}" VPOS="{gap.y0}" WIDTH="{gap.width}"/>')
                elif hyphenated:
                    out.append(f'<HYP HPOS="{word.box.x1}" VPOS="{word.box.y0}" WIDTH="1" CONTENT="-"/>')
            out.append("</TextLine>")
        out.append("</TextBlock>")
    out += ["</PrintSpace>", "</Page>", "</Layout>", "</alto>", ""]
    return "\n".join(out)


def render(page: Page, fmt: str, low_confidence: float = LOW_CONFIDENCE) -> str:
    if fmt == "txt":
        return to_text(page)
    if fmt == "json":
        return to_json(page, low_confidence)
    if fmt == "hocr":
        return to_hocr(page, low_confidence)
    if fmt == "alto":
        return to_alto(page)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")

"""ALTO v4: TextBlock > TextLine > String/SP/HYP with HPOS, VPOS, WIDTH, HEIGHT and WC (0-1)."""

from __future__ import annotations

from collections.abc import Sequence

from crnn.document import Box, Page
from crnn.version import __version__


def _geometry(box: Box) -> str:
    return f'HPOS="{box.x0}" VPOS="{box.y0}" WIDTH="{box.width}" HEIGHT="{box.height}"'


def to_alto(page: Page) -> str:
    """ALTO v4: TextBlock > TextLine > String/SP/HYP with HPOS, VPOS, WIDTH, HEIGHT and WC (0-1)."""
    return alto_document([page])


def alto_document(pages: Sequence[Page], source: str = "") -> str:
    """One ALTO file of several pages (a PDF, a book): a ``Page`` per page, ids unique in the file."""
    # imported here: xml.sax pulls in urllib, which a reader that writes text never needs
    from xml.sax.saxutils import escape

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# '
        'http://www.loc.gov/alto/v4/alto-4-2.xsd">',
        "<Description>",
        "<MeasurementUnit>pixel</MeasurementUnit>",
        f"<sourceImageInformation><fileName>{escape(source or (pages[0].source if pages else ''))}</fileName>"
        "</sourceImageInformation>",
        "<OCRProcessing ID=\"OCR_0\"><ocrProcessingStep><processingSoftware>"
        f"<softwareName>crnn-book-ocr</softwareName><softwareVersion>{__version__}</softwareVersion>"
        "</processingSoftware></ocrProcessingStep></OCRProcessing>",
        "</Description>",
        "<Layout>",
    ]
    block_id = line_id = word_id = 0
    for number, page in enumerate(pages, 1):
        out.append(f'<Page ID="page_{number}" PHYSICAL_IMG_NR="{number}" WIDTH="{page.width}" '
                   f'HEIGHT="{page.height}">')
        out.append(f'<PrintSpace {_geometry(Box(0, 0, page.width, page.height))}>')
        block_id = _page_blocks(page, out, block_id, line_id, word_id)
        line_id += len(page.lines)
        word_id += sum(len(line.words) for line in page.lines)
        out += ["</PrintSpace>", "</Page>"]
    out += ["</Layout>", "</alto>", ""]
    return "\n".join(out)


def _page_blocks(page: Page, out: list[str], block_id: int, line_id: int, word_id: int) -> int:
    """Append the page's TextBlocks to ``out``, numbering on from the ids given; returns the last block id."""
    from xml.sax.saxutils import quoteattr

    for block in page.blocks:
        block_id += 1
        out.append(f'<TextBlock ID="block_{block_id}" {_geometry(block.box)}>')
        for line in block.lines:
            line_id += 1
            out.append(f'<TextLine ID="line_{line_id}" {_geometry(line.box)}>')
            words = line.words
            for i, word in enumerate(words):
                word_id += 1
                content = word.text
                hyphenated = i == len(words) - 1 and len(content) > 1 and content.endswith("-")
                if hyphenated:
                    content = content[:-1]
                out.append(f'<String ID="string_{word_id}" {_geometry(word.box)} '
                           f'CONTENT={quoteattr(content)} WC="{word.confidence:.3f}"/>')
                if i < len(words) - 1:
                    gap = Box(word.box.x1, word.box.y0, max(word.box.x1, words[i + 1].box.x0), word.box.y1)
                    out.append(f'<SP HPOS="{gap.x0}" VPOS="{gap.y0}" WIDTH="{gap.width}"/>')
                elif hyphenated:
                    out.append(f'<HYP HPOS="{word.box.x1}" VPOS="{word.box.y0}" WIDTH="1" CONTENT="-"/>')
            out.append("</TextLine>")
        out.append("</TextBlock>")
    return block_id

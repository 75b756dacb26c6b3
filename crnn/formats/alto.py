"""ALTO v4: TextBlock > TextLine > String/SP/HYP with HPOS, VPOS, WIDTH, HEIGHT and WC (0-1)."""

from __future__ import annotations

from crnn.document import Box, Page
from crnn.version import __version__


def to_alto(page: Page) -> str:
    """ALTO v4: TextBlock > TextLine > String/SP/HYP with HPOS, VPOS, WIDTH, HEIGHT and WC (0-1)."""
    # imported here: xml.sax pulls in urllib, which a reader that writes text never needs
    from xml.sax.saxutils import escape, quoteattr

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

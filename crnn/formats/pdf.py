"""Searchable PDF: each page image with an invisible text layer on the words' boxes.

As OCRmyPDF and Tesseract do it: the scan is drawn over the whole page, and every word is
set in text render mode 3 (neither filled nor stroked) in a font whose glyphs are empty,
stretched to its box. A viewer shows the scan, and selects, searches and copies the text;
``pdftotext`` extracts it. The font is made on the fly (fontTools); its ``ToUnicode`` map
makes every character extract as itself. Pages are written as they come, so a book is never
held in memory whole.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

import numpy as np

from crnn.document import Box, Page
from crnn.version import __version__

FONT_NAME = "GlyphLessFont"
GLYPH_WIDTH = 500  # every glyph's advance, in thousandths of the font size
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PageRaster:
    """A read page with the pixels its boxes refer to (the image turned upright) and their resolution.

    Only a format that draws the page (``needs_image``) needs ``image``; text formats take ``None``.
    """

    page: Page
    image: np.ndarray | None = None  # uint8 grayscale, page.height x page.width
    dpi: float = 300.0
    number: int = 0  # its page number in a PDF or multi-page TIFF; 0 for an image that is one page


def upright(image: np.ndarray, rotation_degrees: int) -> np.ndarray:
    """``image`` turned clockwise by ``rotation_degrees`` (0, 90, 180, 270), as the layout turned it."""
    quarter_turns = (rotation_degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(image, -quarter_turns)) if quarter_turns else image


@lru_cache(maxsize=1)
def glyphless_font() -> bytes:
    """A TrueType font with one empty glyph, for text that is found but not seen."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "space"])
    builder.setupCharacterMap({0x20: "space"})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({".notdef": empty, "space": empty})
    builder.setupHorizontalMetrics({".notdef": (GLYPH_WIDTH, 0), "space": (GLYPH_WIDTH, 0)})
    builder.setupHorizontalHeader(ascent=1000, descent=0)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=1000, sTypoDescender=0, usWinAscent=1000, usWinDescent=0)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be", "surrogatepass").hex().upper()


def _units(text: str) -> int:
    return len(text.encode("utf-16-be", "surrogatepass")) // 2


class PdfWriter:
    """Writes a PDF page by page to a binary handle: ``add_page`` for each, then ``close``."""

    def __init__(self, handle: BinaryIO, title: str = "") -> None:
        self.handle = handle
        self.offsets: dict[int, int] = {}
        self.page_ids: list[int] = []
        self.next_id = 8  # 1-7 are the catalog, the page tree and the font's objects
        self.title = title
        self.position = 0
        self._emit(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")

    def _emit(self, data: bytes) -> None:
        self.handle.write(data)
        self.position += len(data)

    def _object(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self.offsets[number] = self.position
        self._emit(f"{number} 0 obj\n".encode())
        if stream is None:
            self._emit(body + b"\nendobj\n")
        else:
            self._emit(body[:-2] + f" /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream\nendobj\n")

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def add_page(self, raster: PageRaster) -> None:
        """Write one page: the image filling it and the invisible words over it."""
        page, image = raster.page, raster.image
        if image is None:
            raise ValueError("a PDF page needs the page image")
        height_px, width_px = image.shape[:2]
        scale = 72.0 / raster.dpi  # points per pixel
        width_pt, height_pt = width_px * scale, height_px * scale
        image_id, content_id, page_id = self._new_id(), self._new_id(), self._new_id()
        self._object(image_id, *_image_object(image))
        content = [f"q {width_pt:.3f} 0 0 {height_pt:.3f} 0 0 cm /Im0 Do Q"]
        content += _text_layer(page, scale, height_pt)
        self._object(content_id, b"<< /Filter /FlateDecode >>",
                     zlib.compress("\n".join(content).encode("ascii"), 6))
        self._object(page_id, (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt:.3f} {height_pt:.3f}] "
            f"/Resources << /XObject << /Im0 {image_id} 0 R >> /Font << /F1 3 0 R >> >> "
            f"/Contents {content_id} 0 R >>").encode())
        self.page_ids.append(page_id)

    def close(self) -> None:
        """Write the page tree, the font, the catalog and the cross-reference table."""
        kids = " ".join(f"{i} 0 R" for i in self.page_ids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.page_ids)} >>".encode())
        self._object(3, (f"<< /Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H "
                         f"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>").encode())
        self._object(4, (f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} "
                         "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                         f"/FontDescriptor 6 0 R /DW {GLYPH_WIDTH} /CIDToGIDMap 7 0 R >>").encode())
        self._object(5, b"<< /Filter /FlateDecode >>", zlib.compress(_TO_UNICODE))
        font = glyphless_font()
        self._object(6, (f"<< /Type /FontDescriptor /FontName /{FONT_NAME} /Flags 5 /FontBBox [0 0 {GLYPH_WIDTH} "
                         f"1000] /ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 "
                         f"/FontFile2 {self._font_file(font)} 0 R >>").encode())
        # every character code shows glyph 1, the empty one
        self._object(7, b"<< /Filter /FlateDecode >>",
                     zlib.compress(b"\x00\x01" * 65536, 9))
        info_id = self._new_id()
        title = self.title.encode("utf-16-be", "replace").hex().upper()
        self._object(info_id, (f"<< /Producer (crnn-book-ocr {__version__}) /Creator (crnn-book-ocr) "
                               f"/Title <FEFF{title}> >>").encode())
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref_at = self.position
        size = self.next_id
        rows = [f"xref\n0 {size}\n0000000000 65535 f \n"]
        for number in range(1, size):
            offset = self.offsets.get(number)
            rows.append(f"{offset:010d} 00000 n \n" if offset is not None else "0000000000 65535 f \n")
        self._emit("".join(rows).encode())
        self._emit(f"trailer\n<< /Size {size} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref_at}\n%%EOF\n"
                   .encode())

    def _font_file(self, font: bytes) -> int:
        number = self._new_id()
        self._object(number, f"<< /Filter /FlateDecode /Length1 {len(font)} >>".encode(), zlib.compress(font, 9))
        return number


def _image_object(image: np.ndarray) -> tuple[bytes, bytes]:
    """The image XObject: 1-bit Flate for a bilevel page (as it was scanned), else grey JPEG."""
    height, width = image.shape[:2]
    if _is_bilevel(image):
        packed = np.packbits(image >= 128, axis=1)  # 1 is white in DeviceGray, each row starts on a byte
        return (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray "
                "/BitsPerComponent 1 /Filter /FlateDecode >>").encode(), zlib.compress(packed.tobytes(), 6)
    import cv2

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the page image cannot be encoded as JPEG")
    return (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray "
            "/BitsPerComponent 8 /Filter /DCTDecode >>").encode(), encoded.tobytes()


def _is_bilevel(image: np.ndarray) -> bool:
    return bool(np.all((image == 0) | (image == 255)))


def _text_layer(page: Page, scale: float, height_pt: float) -> list[str]:
    """Content-stream operators that set each word, invisible, over its box (PDF's y axis points up)."""
    out = ["BT", "3 Tr"]
    for line in page.lines:
        if not line.words:
            continue
        # one size and baseline per line, so that a viewer keeps the line's words together
        size = max(line.box.height * scale, 1.0)
        baseline = height_pt - line.box.y1 * scale
        out.append(f"/F1 {size:.2f} Tf")
        for i, word in enumerate(line.words):
            if not word.text:
                continue
            out.append(_set_run(word.text, word.box, scale, size, baseline))
            following = line.words[i + 1] if i + 1 < len(line.words) else None
            if following is not None and following.box.x0 > word.box.x1:
                # the gap is a space of its own, stretched across it: copied text keeps its word breaks
                gap = Box(word.box.x1, word.box.y0, following.box.x0, word.box.y1)
                out.append(_set_run(" ", gap, scale, size, baseline))
            elif following is not None:
                out.append(_set_run(" ", Box(word.box.x1, word.box.y0, word.box.x1 + 1, word.box.y1),
                                    scale, size, baseline))
    out.append("ET")
    return out


def _set_run(text: str, box: Box, scale: float, size: float, baseline: float) -> str:
    natural = _units(text) * GLYPH_WIDTH / 1000 * size
    stretch = 100.0 * max(box.width, 1) * scale / natural
    return f"{stretch:.3f} Tz 1 0 0 1 {box.x0 * scale:.3f} {baseline:.3f} Tm <{_utf16_hex(text)}> Tj"


def write_pdf(handle: BinaryIO, rasters: Iterable[PageRaster], title: str = "") -> int:
    """Write the searchable PDF of ``rasters`` to ``handle``, page by page; returns the page count."""
    writer = PdfWriter(handle, title)
    for raster in rasters:
        writer.add_page(raster)
    writer.close()
    return len(writer.page_ids)


def to_pdf(rasters: Iterable[PageRaster], title: str = "") -> bytes:
    """The searchable PDF of ``rasters`` as bytes."""
    out = io.BytesIO()
    write_pdf(out, rasters, title)
    return out.getvalue()

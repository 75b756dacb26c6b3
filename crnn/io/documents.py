"""Documents: an image file is one page, a PDF or a multi-page TIFF one page per page.

A PDF page that is a scan (one image covering the page) gives the scan's own pixels at the
scan's own resolution (rendered at that resolution when the page turns or mirrors it); any
other page is rendered at the caller's DPI. PDFs are read with pypdfium2 (PDFium, from PyPI): no system tool is needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crnn.io.images import MAX_PIXELS, ImageError, ImageTooLargeError, check_input_file, load_image

PDF_SUFFIX = ".pdf"
DEFAULT_DPI = 300.0  # for PDF pages without a scan of their own, and images that do not say
MAX_PAGES = 5000  # a PDF with more pages is refused before any is read
# a PDF page's image counts as the page's scan when it covers this share of the page
SCAN_COVERAGE = 0.85
# PDFium is not safe to call from two threads at once (the web app reads pages on a pool)
_PDFIUM_LOCK = threading.RLock()


@dataclass(frozen=True)
class PageImage:
    """One page of a document: its grayscale pixels, their resolution, and where it came from."""

    image: np.ndarray
    number: int  # 1-based page number in its document
    dpi: float  # pixels per inch of ``image``; DEFAULT_DPI when the source does not say
    source: str  # the document's path, with ``#page=N`` for a page of a PDF


def is_pdf(source: str | Path | bytes) -> bool:
    """Whether ``source`` (a path or file bytes) is a PDF, by its first bytes."""
    if isinstance(source, bytes | bytearray):
        return bytes(source[:1024]).lstrip().startswith(b"%PDF-")
    path = Path(source)
    try:
        with path.open("rb") as handle:
            return handle.read(1024).lstrip().startswith(b"%PDF-")
    except OSError:
        return path.suffix.lower() == PDF_SUFFIX


def _has_encryption_dictionary(source: str | bytes, window: int = 1 << 16) -> bool:
    """Whether a PDF's trailer (at its end, or its start when linearized) names an ``/Encrypt`` dictionary."""
    if isinstance(source, bytes):
        head, tail = source[:window], source[-window:]
    else:
        with open(source, "rb") as handle:
            head = handle.read(window)
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - window))
            tail = handle.read()
    return b"/Encrypt" in head or b"/Encrypt" in tail


def _open_pdf(source: str | Path | bytes, max_pages: int):
    import pypdfium2 as pdfium

    name = "PDF data" if isinstance(source, bytes | bytearray) else str(source)
    if isinstance(source, bytes | bytearray):
        if not source:
            raise ImageError(f"empty PDF (0 bytes): {name}")
        opened: str | bytes = bytes(source)
    else:
        # PDFium reads the file itself, as it needs: a large PDF is not loaded whole
        opened = str(check_input_file(source))
    try:
        document = pdfium.PdfDocument(opened)
    except pdfium.PdfiumError:
        # PDFium's error code can be left over from an earlier failure: an encryption dictionary
        # in the file is what says the PDF is encrypted
        if _has_encryption_dictionary(opened):
            raise ImageError(f"encrypted PDF (a password is needed): {name}") from None
        raise ImageError(f"broken PDF (PDFium cannot parse it): {name}") from None
    count = len(document)
    if count == 0:
        document.close()
        raise ImageError(f"PDF without pages: {name}")
    if count > max_pages:
        document.close()
        raise ImageTooLargeError(f"{name}: {count} pages exceeds the limit of {max_pages}")
    return document, name


def pdf_page_count(source: str | Path | bytes, max_pages: int = MAX_PAGES) -> int:
    """The number of pages of a PDF; :class:`ImageError` for a broken or encrypted one."""
    with _PDFIUM_LOCK:
        document, _ = _open_pdf(source, max_pages)
        try:
            return len(document)
        finally:
            document.close()


def page_count(path: str | Path, max_pages: int = MAX_PAGES) -> int:
    """How many pages a document holds: a PDF's or a TIFF's page count, 1 for any other image."""
    return pdf_page_count(path, max_pages) if is_pdf(path) else max(1, tiff_page_count(path))


def _scan(page, width_pt: float, height_pt: float):
    """The image object that makes up the page, if the page is one scan, else ``None``."""
    import pypdfium2.raw as pdfium_c

    images = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2))
    if len(images) != 1:
        return None
    left, bottom, right, top = images[0].get_bounds()
    shown_w, shown_h = right - left, top - bottom
    if shown_w <= 0 or shown_h <= 0 or shown_w * shown_h < SCAN_COVERAGE * width_pt * height_pt:
        return None
    return images[0]


def _scan_dpi(scan) -> float:
    """The resolution of a scan as the page shows it (its longer side against the longer side shown)."""
    left, bottom, right, top = scan.get_bounds()
    px_w, px_h = scan.get_px_size()
    return max(px_w, px_h) / (max(right - left, top - bottom) / 72.0)


def _scan_pixels(scan, page) -> np.ndarray | None:
    """The scan's own pixels, in grey, when the page shows them upright and unmirrored (the usual
    case); ``None`` otherwise, and the page is rendered instead."""
    import cv2
    import pypdfium2.raw as pdfium_c

    matrix = scan.get_matrix()
    if page.get_rotation() != 0 or matrix.b != 0 or matrix.c != 0 or matrix.a <= 0 or matrix.d <= 0:
        return None
    # grey and colour images only: a stencil mask, an indexed or a CMYK image looks as the page paints it
    if scan.get_metadata().colorspace not in (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB,
                                              pdfium_c.FPDF_COLORSPACE_CALGRAY, pdfium_c.FPDF_COLORSPACE_CALRGB):
        return None
    bitmap = scan.get_bitmap(render=False)
    # a copy: the array is a view of PDFium's buffer, which goes with the bitmap
    pixels, mode = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True), bitmap.mode
    if mode == "L":
        return pixels
    if mode in ("BGR", "BGRX", "BGRA"):
        return cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_BGR2GRAY)
    return None


def pdf_pages(source: str | Path | bytes, dpi: float = DEFAULT_DPI, max_pixels: int = MAX_PIXELS,
              max_pages: int = MAX_PAGES, pages: list[int] | None = None) -> Iterator[PageImage]:
    """The pages of a PDF as grayscale images, one at a time (``pages``: 1-based numbers, default all).

    A page that is one scan is rendered at the scan's resolution (never above ``max_pixels``),
    any other page at ``dpi``. Raises :class:`ImageError` (one line) for a broken or encrypted
    PDF, or a page larger than ``max_pixels`` at that resolution.
    """
    with _PDFIUM_LOCK:
        document, name = _open_pdf(source, max_pages)
    try:
        numbers = pages if pages is not None else list(range(1, len(document) + 1))
        for number in numbers:
            if not 1 <= number <= len(document):
                raise ImageError(f"{name}: no page {number} (it has {len(document)})")
            with _PDFIUM_LOCK:
                image, page_dpi = _render_page(document, number, dpi, max_pixels, name)
            yield PageImage(image, number, page_dpi, f"{name}#page={number}")
    finally:
        with _PDFIUM_LOCK:
            document.close()


def _render_page(document, number: int, dpi: float, max_pixels: int, name: str) -> tuple[np.ndarray, float]:
    import pypdfium2 as pdfium

    try:
        page = document[number - 1]
    except pdfium.PdfiumError as exc:
        raise ImageError(f"{name}: page {number} cannot be read: {exc}") from None
    try:
        width_pt, height_pt = page.get_size()
        if width_pt <= 0 or height_pt <= 0:
            raise ImageError(f"{name}: page {number} has no size")
        scan = _scan(page, width_pt, height_pt)
        page_dpi = _scan_dpi(scan) if scan is not None else dpi
        if scan is not None:
            px_w, px_h = scan.get_px_size()
            if px_w * px_h > max_pixels:
                raise ImageTooLargeError(f"{name}: page {number}'s scan of {px_w}x{px_h} exceeds the limit of "
                                         f"{max_pixels // 1_000_000} megapixels")
            image = _scan_pixels(scan, page)
            if image is not None:
                return image, page_dpi
        pixels = (width_pt * page_dpi / 72.0) * (height_pt * page_dpi / 72.0)
        if pixels > max_pixels:
            raise ImageTooLargeError(f"{name}: page {number} at {page_dpi:.0f} dpi has {pixels / 1e6:.0f} "
                                     f"megapixels, over the limit of {max_pixels // 1_000_000}")
        # PDFium rounds the bitmap's size up from single-precision page sizes: a hair below the exact
        # scale keeps a scan's own pixel size
        bitmap = page.render(scale=page_dpi / 72.0 * (1 - 1e-5), grayscale=True, may_draw_forms=False)
        image = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
        bitmap.close()
    except pdfium.PdfiumError as exc:
        raise ImageError(f"{name}: page {number} cannot be rendered: {exc}") from None
    finally:
        page.close()
    if image.ndim == 3:
        image = image[..., 0]
    return image, page_dpi


def _stated_dpi(info: dict) -> float:
    """The resolution an image's header states, or ``DEFAULT_DPI``."""
    try:
        stated = info.get("dpi")
        value = float(stated[0]) if stated else 0.0
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI
    # a few programs write 1 or 72 when they mean "unknown"; a page scanned below 100 dpi is unreadable anyway
    return value if 100 <= value <= 2400 else DEFAULT_DPI


def _image_header(source: str | Path | bytes) -> tuple[str, int, float]:
    """An image file's format, frame count and stated resolution, from one read of its header
    (``("", 1, DEFAULT_DPI)`` for what Pillow cannot open)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")  # noqa: SIM115
        with handle, Image.open(handle) as image:
            return str(image.format or ""), int(getattr(image, "n_frames", 1)), _stated_dpi(image.info)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return "", 1, DEFAULT_DPI


def image_dpi(path: str | Path | bytes) -> float:
    """The resolution an image file states (its DPI tag), or ``DEFAULT_DPI``."""
    return _image_header(path)[2]


def tiff_page_count(source: str | Path | bytes) -> int:
    """How many pages a TIFF holds (0 for anything that is not a TIFF)."""
    image_format, frames, _ = _image_header(source)
    return frames if image_format == "TIFF" else 0


def tiff_pages(source: str | Path | bytes, max_pixels: int = MAX_PIXELS, max_pages: int = MAX_PAGES,
               pages: list[int] | None = None) -> Iterator[PageImage]:
    """The pages of a multi-page TIFF (a scanned book's usual container), one at a time, in grey."""
    import io

    from PIL import Image, ImageOps

    from crnn.io.images import to_gray_array

    name = "image data" if isinstance(source, bytes | bytearray) else str(source)
    handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else check_input_file(source).open("rb")
    try:
        with handle, Image.open(handle) as image:
            count = int(getattr(image, "n_frames", 1))
            if count > max_pages:
                raise ImageTooLargeError(f"{name}: {count} pages exceeds the limit of {max_pages}")
            for number in pages if pages is not None else range(1, count + 1):
                if not 1 <= number <= count:
                    raise ImageError(f"{name}: no page {number} (it has {count})")
                image.seek(number - 1)
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageTooLargeError(f"{name}: page {number} of {width}x{height} exceeds the limit of "
                                             f"{max_pixels // 1_000_000} megapixels")
                gray = to_gray_array(ImageOps.exif_transpose(image.copy()))
                yield PageImage(gray, number, _stated_dpi(image.info), f"{name}#page={number}")
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot decode TIFF page: {exc}") from None


def document_pages(source: str | Path | bytes, dpi: float = DEFAULT_DPI, max_pixels: int = MAX_PIXELS,
                   max_pages: int = MAX_PAGES, pages: list[int] | None = None) -> Iterator[PageImage]:
    """The pages of a document, one at a time: an image file (or bytes) is one page, a PDF or a
    multi-page TIFF one per page.

    Raises :class:`ImageError` (one line) for what cannot be read.
    """
    if is_pdf(source):
        yield from pdf_pages(source, dpi, max_pixels, max_pages, pages)
        return
    image_format, frames, stated_dpi = _image_header(source)
    if image_format == "TIFF" and frames > 1:
        yield from tiff_pages(source, max_pixels, max_pages, pages)
        return
    if pages is not None and pages != [1]:
        raise ImageError(f"an image has one page, not pages {pages}")
    name = "image data" if isinstance(source, bytes | bytearray) else str(source)
    yield PageImage(load_image(source, max_pixels), 1, stated_dpi, name)

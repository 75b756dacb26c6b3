"""Checking what a client sends: image uploads, data URLs and page ids."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from crnn.io import (
    ImageError,
    ImageTooLargeError,
    image_dpi,
    is_pdf,
    load_image,
    pdf_page_count,
    pdf_pages,
    tiff_page_count,
    tiff_pages,
)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
MAX_UPLOAD_PDF_PAGES = 2000


class RequestError(Exception):
    """A request the app refuses: an HTTP status and a one-line message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_document_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS,
                           page: int = 1) -> tuple[np.ndarray, int, float]:
    """The uploaded image (or page ``page`` of an uploaded PDF or TIFF) as grayscale, how many pages
    the upload has (1 for an image) and the page's resolution: 400 when empty or no such page, 413
    when too large, 415 when not an image or PDF (or a broken or encrypted one)."""
    if not data:
        raise RequestError(400, "empty upload (0 bytes)")
    if len(data) > max_bytes:
        raise RequestError(413, f"upload of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        if is_pdf(data):
            count = pdf_page_count(data, MAX_UPLOAD_PDF_PAGES)
            if not 1 <= page <= count:
                raise RequestError(400, f"the PDF has {count} page(s): there is no page {page}")
            read = next(pdf_pages(data, max_pixels=max_pixels, pages=[page]))
            return read.image, count, read.dpi
        count = max(1, tiff_page_count(data))
        if not 1 <= page <= count:
            raise RequestError(400, f"the image has {count} page(s): there is no page {page}")
        if count > 1:
            read = next(tiff_pages(data, max_pixels=max_pixels, pages=[page]))
            return read.image, count, read.dpi
        return load_image(data, max_pixels=max_pixels), 1, image_dpi(data)
    except ImageTooLargeError as exc:
        raise RequestError(413, str(exc)) from None
    except ImageError as exc:
        raise RequestError(415, str(exc)) from None


def decode_data_url(value: Any) -> bytes:
    """The bytes of a ``data:...;base64,`` URL (or of bare base64)."""
    if not isinstance(value, str):
        raise RequestError(400, "field 'image' must be a data URL string")
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        if ";base64" not in header:
            raise RequestError(400, "data URL must be base64-encoded")
    else:
        payload = value
    try:
        # line breaks and spaces are allowed (MIME base64 wraps at 76 characters); nothing else is
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "image is not valid base64") from None


def clean_text(value: Any, limit: int = 200) -> str:
    """A client's free text (a file name, say) made safe to store and to send back: NFC, control
    characters and lone surrogates (which no UTF-8 file or response can hold) replaced, at most
    ``limit`` characters."""
    import unicodedata

    text = value if isinstance(value, str) else str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    text = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    return unicodedata.normalize("NFC", text)[:limit]


def encode_page(image: np.ndarray) -> bytes:
    """A page image, encoded to keep: PNG when bilevel (small, and exact), else JPEG of quality 90."""
    import cv2

    bilevel = bool(np.all((image == 0) | (image == 255)))
    ok, encoded = cv2.imencode(".png", image) if bilevel else cv2.imencode(".jpg", image,
                                                                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RequestError(500, "the page image cannot be encoded")
    return encoded.tobytes()


def jpeg_data_url(image: np.ndarray, quality: int = 80) -> str:
    """A grayscale page as a ``data:image/jpeg;base64,`` URL, for the browser to show."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RequestError(500, "the page image cannot be encoded")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def page_number(value: Any) -> int:
    """A client's 1-based page number (of a PDF upload): an integer, or digits; 400 otherwise."""
    if isinstance(value, bool):
        raise RequestError(400, "page must be a page number (1, 2, ...)")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise RequestError(400, "page must be a page number (1, 2, ...)")
    return value


def check_page_id(page_id: Any) -> str:
    """A page id is the SHA-256 hex digest /api/ocr returned; anything else (paths included) is refused."""
    if not isinstance(page_id, str) or len(page_id) != 64 or not all(c in "0123456789abcdef" for c in page_id):
        raise RequestError(400, "page_id must be the 64-hex-digit id returned by /api/ocr")
    return page_id

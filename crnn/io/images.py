"""Decoding page images: any common format, EXIF orientation applied, a pixel limit checked before decoding."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

# larger images are refused before they are decoded (decompression bombs)
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".jp2", ".pbm", ".pgm",
                            ".ppm"})
# what a folder given as input is searched for: page images and PDFs
DOCUMENT_SUFFIXES = IMAGE_SUFFIXES | {".pdf"}


class ImageError(ValueError):
    """The input cannot be read as an image; the message is one line that says why."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than the caller allows."""


def check_input_file(source: str | Path) -> Path:
    """``source`` as a path to a non-empty regular file; :class:`ImageError` saying what it is otherwise
    (a FIFO or a device is refused unopened: reading it could block forever)."""
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"not a regular file: {path}" if path.exists() else f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ImageError(f"empty file (0 bytes): {path}")
    return path


def load_image(source: str | Path | bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file or bytes into uint8 grayscale, EXIF orientation applied.

    Handles JPEG, PNG, TIFF (1-bit, 8-bit, 16-bit), WebP, BMP; alpha is composited on white.
    An image of more than ``max_pixels`` pixels is refused from its header, before decoding.
    Raises :class:`ImageError` (or :class:`ImageTooLargeError`) with a one-line reason.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, max_pixels)
    try:
        if isinstance(source, bytes | bytearray):
            if not source:
                raise ImageError("empty image data (0 bytes)")
            handle: Any = io.BytesIO(source)
            name = "image data"
        else:
            path = check_input_file(source)
            handle = path.open("rb")
            name = str(path)
        with handle, Image.open(handle) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(f"{name}: {width}x{height} exceeds the limit of "
                                         f"{max_pixels // 1_000_000} megapixels")
            if image.format == "JPEG" and image.mode == "RGB":
                # decoded straight to its luma, as grey as converting the colours would make it, in a
                # fraction of the time; a CMYK JPEG still goes through the colour conversion below
                image.draft("L", image.size)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright page
            return to_gray_array(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        shown = "image data" if isinstance(source, bytes | bytearray) else source
        raise ImageError(f"not an image (or an unsupported format): {shown}") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image refused: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if "decompressed data too large" in str(exc).lower():
            # a compressed chunk (PNG text or colour profile) that inflates past Pillow's safety limit
            raise ImageTooLargeError(f"image refused: {exc}") from None
        raise ImageError(f"cannot decode image: {exc}") from None


def to_gray_array(image: Any) -> np.ndarray:
    """A decoded Pillow image as uint8 grey: 16-bit and float images stretched, alpha composited on white."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        data = np.asarray(image, dtype=np.float64)
        low, high = float(data.min()), float(data.max())
        if high <= low:
            return np.full(data.shape, 255, np.uint8)
        return np.clip((data - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def frame_count(path: str | Path) -> int:
    """How many images (pages, frames) a file holds: a multi-page TIFF or an animated GIF has more
    than one, of which :func:`load_image` decodes the first (``crnn.io.document_pages`` reads every
    page of a TIFF). 1 for anything Pillow cannot open."""
    from PIL import Image, UnidentifiedImageError

    if not Path(path).is_file():
        return 1
    try:
        with Image.open(path) as image:
            return int(getattr(image, "n_frames", 1))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return 1


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header without decoding it; ``None`` if it is not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return None


def collect_images(paths: list[Path], missing: list[str] | None = None) -> list[Path]:
    """The page files named by ``paths``: files as given, directories expanded to their images and PDFs (sorted).

    Raises :class:`ImageError` for a path that does not exist or a directory without images,
    unless ``missing`` is given: then the reason for each such path is appended to it and the
    others are still collected.
    """
    images: list[Path] = []
    for path in paths:
        if missing is not None:
            try:
                images.extend(collect_images([path]))
            except ImageError as exc:
                missing.append(str(exc))
            continue
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file())
            if not found:
                raise ImageError(f"no images in directory {path}")
            images.extend(found)
        elif path.is_file():
            images.append(path)
        elif path.exists():  # a FIFO, a device: opening it could block forever
            raise ImageError(f"not a regular file: {path}")
        else:
            raise ImageError(f"no such file: {path}")
    return images

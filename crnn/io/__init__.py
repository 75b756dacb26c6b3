"""Reading page images and writing files safely: the project's only contact with the file system's edge cases."""

from crnn.io.documents import (
    DEFAULT_DPI,
    MAX_PAGES,
    PageImage,
    document_pages,
    image_dpi,
    is_pdf,
    page_count,
    pdf_page_count,
    pdf_pages,
    tiff_page_count,
    tiff_pages,
)
from crnn.io.files import atomic_directory, atomic_write_bytes, atomic_write_text, write_new_file
from crnn.io.images import (
    DOCUMENT_SUFFIXES,
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    ImageError,
    ImageTooLargeError,
    collect_images,
    frame_count,
    image_size,
    load_image,
)

__all__ = [
    "DEFAULT_DPI",
    "DOCUMENT_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MAX_PAGES",
    "MAX_PIXELS",
    "ImageError",
    "ImageTooLargeError",
    "PageImage",
    "atomic_directory",
    "atomic_write_bytes",
    "atomic_write_text",
    "collect_images",
    "document_pages",
    "frame_count",
    "image_dpi",
    "image_size",
    "is_pdf",
    "load_image",
    "page_count",
    "pdf_page_count",
    "pdf_pages",
    "tiff_page_count",
    "tiff_pages",
    "write_new_file",
]

"""Reading page images and writing files safely: the project's only contact with the file system's edge cases."""

from crnn.io.files import atomic_directory, atomic_write_bytes, atomic_write_text, write_new_file
from crnn.io.images import (
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
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageError",
    "ImageTooLargeError",
    "atomic_directory",
    "atomic_write_bytes",
    "atomic_write_text",
    "collect_images",
    "frame_count",
    "image_size",
    "load_image",
    "write_new_file",
]

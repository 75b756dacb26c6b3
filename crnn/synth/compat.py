"""Compatibility shims for third-party packages, kept in one place.

trdg 1.8.0 measures text with ``FreeTypeFont.getsize``, which Pillow 10 removed.
Rather than pin an old Pillow, we give the font class an equivalent method.
"""

from __future__ import annotations

from PIL import ImageFont


def _getsize(self: ImageFont.FreeTypeFont, text: str, *args: object, **kwargs: object) -> tuple[int, int]:
    # Pillow < 10 returned (width + x offset, height + y offset): the right and
    # bottom edges of the ink box measured from the drawing origin.
    _, _, right, bottom = self.getbbox(text, *args, **kwargs)
    return int(right), int(bottom)


def install_pillow_getsize() -> None:
    """Give ``FreeTypeFont`` a ``getsize`` method if this Pillow lacks one (idempotent)."""
    if not hasattr(ImageFont.FreeTypeFont, "getsize"):
        ImageFont.FreeTypeFont.getsize = _getsize  # type: ignore[attr-defined]

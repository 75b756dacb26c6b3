"""Output formats: each a pure function of a :class:`~crnn.document.Page`, registered by name in :data:`FORMATS`.

A new format is a module here with a renderer ``(page, options) -> str`` and one
entry in :data:`FORMATS`; the command line and the web app read the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crnn.document import Page
from crnn.formats.alto import to_alto
from crnn.formats.hocr import to_hocr
from crnn.formats.json_format import to_dict, to_json
from crnn.formats.options import LOW_CONFIDENCE
from crnn.formats.text import to_text


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer may be asked: the confidence below which lines and words are flagged."""

    low_confidence: float = LOW_CONFIDENCE


@dataclass(frozen=True)
class Format:
    """An output format: its file extension, media type and renderer."""

    name: str
    extension: str
    media_type: str
    renderer: Callable[[Page, RenderOptions], str]
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("txt", ".txt", "text/plain; charset=utf-8", lambda page, options: to_text(page),
               "the lines in reading order"),
        Format("json", ".json", "application/json", lambda page, options: to_json(page, options.low_confidence),
               "blocks, lines and words with boxes and confidences"),
        Format("hocr", ".hocr", "text/html; charset=utf-8",
               lambda page, options: to_hocr(page, options.low_confidence), "hOCR 1.2"),
        Format("alto", ".xml", "application/xml", lambda page, options: to_alto(page), "ALTO 4"),
    )
}


def render(page: Page, fmt: str, low_confidence: float = LOW_CONFIDENCE) -> str:
    """``page`` in the format named ``fmt`` (a key of :data:`FORMATS`); ``ValueError`` for an unknown one."""
    try:
        output = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})") from None
    return output.renderer(page, RenderOptions(low_confidence))


__all__ = ["FORMATS", "LOW_CONFIDENCE", "Format", "RenderOptions", "render", "to_alto", "to_dict", "to_hocr",
           "to_json", "to_text"]

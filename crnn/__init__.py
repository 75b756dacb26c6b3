"""crnn: printed page OCR with a projection-profile layout and a CNN + BiLSTM + CTC line recognizer.

The public API, importable from here (loaded on first use, so ``import crnn`` stays cheap)::

    from crnn import PageReader, render
    result = PageReader().read("page.jpg")
    print(render(result.page, "alto"))

The packages, one concern each: ``io`` (images in, files out), ``imaging`` (shared image
operations and the line framing), ``layout`` (page to line regions), ``recognize``
(models, checkpoints, backends, decoders), ``pipeline`` (the page read and built),
``formats`` (renderers), ``evaluation`` (error rates and reports), ``data`` (line data
sets), ``synth`` (synthetic lines and pages), ``training``, ``web`` and ``cli``.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from crnn.version import __version__

# albumentations checks PyPI for a newer version on import unless told not to;
# this project runs where only package registries are reachable at install time.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

_EXPORTS = {
    "Block": "crnn.document",
    "Box": "crnn.document",
    "Line": "crnn.document",
    "Page": "crnn.document",
    "Word": "crnn.document",
    "Charset": "crnn.charset",
    "ImageError": "crnn.io",
    "load_image": "crnn.io",
    "LayoutConfig": "crnn.layout",
    "LayoutResult": "crnn.layout",
    "segment_page": "crnn.layout",
    "CheckpointError": "crnn.recognize",
    "DECODERS": "crnn.recognize",
    "load_recognizer": "crnn.recognize",
    "OcrResult": "crnn.pipeline",
    "PageReader": "crnn.pipeline",
    "FORMATS": "crnn.formats",
    "render": "crnn.formats",
    "cer": "crnn.evaluation",
    "wer": "crnn.evaluation",
    "score_page": "crnn.evaluation",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from crnn.charset import Charset
    from crnn.document import Block, Box, Line, Page, Word
    from crnn.evaluation import cer, score_page, wer
    from crnn.formats import FORMATS, render
    from crnn.io import ImageError, load_image
    from crnn.layout import LayoutConfig, LayoutResult, segment_page
    from crnn.pipeline import OcrResult, PageReader
    from crnn.recognize import DECODERS, CheckpointError, load_recognizer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

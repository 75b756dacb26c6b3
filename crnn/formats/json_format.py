"""JSON: the page's blocks, lines and words with boxes, confidences and uncertainty flags."""

from __future__ import annotations

import json
from typing import Any

from crnn.document import Box, Page
from crnn.formats.options import LOW_CONFIDENCE
from crnn.formats.text import to_text


def _box(box: Box) -> list[int]:
    return list(box.as_tuple())


def to_dict(page: Page, low_confidence: float = LOW_CONFIDENCE) -> dict[str, Any]:
    """The page as plain dicts and lists (what the JSON format and the web app send)."""
    return {
        "source": page.source,
        "width": page.width,
        "height": page.height,
        "skew_degrees": page.skew_degrees,
        "rotation_degrees": page.rotation_degrees,
        "illustrations": [_box(b) for b in page.illustration_boxes],
        "blocks": [
            {
                "box": _box(block.box),
                "page_index": block.page_index,
                "lines": [
                    {
                        "text": line.text,
                        "box": _box(line.box),
                        "confidence": line.confidence,
                        "uncertain": line.confidence < low_confidence,
                        "words": [
                            {"text": w.text, "box": _box(w.box), "confidence": w.confidence,
                             "uncertain": w.confidence < low_confidence}
                            for w in line.words
                        ],
                    }
                    for line in block.lines
                ],
            }
            for block in page.blocks
        ],
        "text": to_text(page),
        "confidence_meaning": "minimum per-character probability (greedy: max softmax over the "
        "character's frames); boxes are [x0, y0, x1, y1] in image pixels, of the image turned "
        "rotation_degrees clockwise",
    }


def to_json(page: Page, low_confidence: float = LOW_CONFIDENCE) -> str:
    """:func:`to_dict` as indented UTF-8 JSON."""
    return json.dumps(to_dict(page, low_confidence), ensure_ascii=False, indent=1) + "\n"

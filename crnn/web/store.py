"""Corrections kept as training data: the crop the model read, the corrected text, and a record of both.

Each correction is three files named by the server (never by the request), as the
tesstrain/Calamari/kraken convention has it: ``<id>.png`` (the normalized line image
the recognizer read), ``<id>.json`` (source image hash, box, model version, original
prediction, correction, time) and ``<id>.gt.txt`` (its corrected text). A correction
appears whole or not at all: every part is encoded before any is written, each file
is written under a temporary name and linked into place (nothing is overwritten), and
the ``.gt.txt`` comes last. It is what makes the correction exist: a line-pair reader
takes an image only with its ``.gt.txt``, and :meth:`CorrectionStore.list` a record
only with its ``.gt.txt``, so an interrupted save leaves nothing either would see.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from crnn.document import Page
from crnn.io import write_new_file
from crnn.pipeline import OcrResult


class StoreError(RuntimeError):
    """A correction could not be stored."""


@dataclass(frozen=True)
class StoredPage:
    """A page the web app has read, kept so that its lines can be corrected: the page and the line
    images the model read (not the layout's page-sized working images)."""

    page_id: str
    page: Page
    crops: tuple[np.ndarray, ...]  # one per ``page.lines`` entry
    filename: str

    @classmethod
    def of(cls, page_id: str, result: OcrResult, filename: str) -> StoredPage:
        """What to keep of a reading."""
        return cls(page_id, result.page, tuple(region.crop for region in result.line_regions), filename)


class CorrectionStore:
    """Line crops and their corrected text in a directory, one id per correction."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, stored: StoredPage, line_index: int, text: str, model_version: str) -> dict[str, Any]:
        """Store a correction of line ``line_index`` of a read page; returns its record."""
        line = stored.page.lines[line_index]
        ok, png = cv2.imencode(".png", stored.crops[line_index])
        if not ok:
            raise StoreError("could not encode the line image")
        # sortable by time (so later corrections win), unique, and never derived from the request
        correction_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        record = {
            "id": correction_id,
            "page_id": stored.page_id,
            "source_image_sha256": stored.page_id,
            "source_filename": stored.filename,
            "line_index": line_index,
            "box": list(line.box.as_tuple()),
            "model_version": model_version,
            "prediction": line.text,
            "prediction_confidence": line.confidence,
            "correction": text,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            parts = {
                ".png": png.tobytes(),
                ".json": json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"),
                ".gt.txt": (text + "\n").encode("utf-8"),  # last: its presence completes the record
            }
        except UnicodeEncodeError as exc:
            raise StoreError(f"the correction holds text that cannot be stored as UTF-8: {exc.reason}") from None
        for suffix, data in parts.items():
            write_new_file(self.directory / f"{correction_id}{suffix}", data)
        return record

    def list(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """The stored records (of one page, if given), oldest first."""
        records = []
        for path in sorted(self.directory.glob("*.json")):
            if not path.with_suffix(".gt.txt").is_file():
                continue  # a save that was interrupted: not a correction
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if page_id is None or record.get("page_id") == page_id:
                records.append(record)
        return records

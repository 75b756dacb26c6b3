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

import io
import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from crnn.config import ConfigError, from_dict, to_dict
from crnn.document import Page
from crnn.io import atomic_write_bytes, write_new_file
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
    scan: bytes = b""  # the page image, encoded (the upload itself when it was an image), for the searchable PDF
    dpi: float = 300.0  # its resolution

    @classmethod
    def of(cls, page_id: str, result: OcrResult, filename: str, scan: bytes = b"", dpi: float = 300.0) -> StoredPage:
        """What to keep of a reading."""
        return cls(page_id, result.page, tuple(region.crop for region in result.line_regions), filename, scan, dpi)


class PageStore:
    """The pages the app has read, kept on disk by id so that a page can still be corrected after many
    other uploads and after a restart, with the most recently used ones in memory.

    Disk: one ``<page_id>.npz`` per page (its lines, the crops the model read and the encoded page
    image; no pickles), at most ``max_pages`` of them, the least recently used removed first, but
    never a page that has corrections (``pages_with_corrections()`` names them), and at most
    ``max_disk_bytes`` of them in all (the same order). Memory: at most ``max_memory_bytes`` of
    crops and page images.
    """

    def __init__(self, directory: Path, pages_with_corrections: Callable[[], set[str]], max_pages: int = 1000,
                 max_memory_bytes: int = 64 * 1024 * 1024, max_disk_bytes: int = 2 * 1024 ** 3) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pages_with_corrections = pages_with_corrections
        self.max_pages = max_pages
        self.max_memory_bytes = max_memory_bytes
        self.max_disk_bytes = max_disk_bytes
        self._memory: OrderedDict[str, StoredPage] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()

    def _path(self, page_id: str) -> Path:
        return self.directory / f"{page_id}.npz"

    @staticmethod
    def _size(stored: StoredPage) -> int:
        return sum(crop.nbytes for crop in stored.crops) + 1024 * len(stored.crops) + len(stored.scan)

    def _remember(self, stored: StoredPage) -> None:
        if stored.page_id in self._memory:
            self._memory_bytes -= self._size(self._memory.pop(stored.page_id))
        self._memory[stored.page_id] = stored
        self._memory_bytes += self._size(stored)
        while self._memory_bytes > self.max_memory_bytes and len(self._memory) > 1:
            _, old = self._memory.popitem(last=False)
            self._memory_bytes -= self._size(old)

    def put(self, stored: StoredPage) -> None:
        """Keep a page (on disk first, then in memory) and make room by the oldest pages."""
        meta = json.dumps({"page": to_dict(stored.page), "filename": stored.filename, "dpi": stored.dpi},
                          ensure_ascii=False)
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8),
                 scan=np.frombuffer(stored.scan, dtype=np.uint8),
                 **{f"crop{i}": crop for i, crop in enumerate(stored.crops)})
        with self._lock:
            atomic_write_bytes(self._path(stored.page_id), buffer.getvalue())
            self._remember(stored)
            self._evict_from_disk(keep=stored.page_id)

    def _evict_from_disk(self, keep: str) -> None:
        sizes = {path: path.stat() for path in self.directory.glob("*.npz")}
        files = sorted(sizes, key=lambda p: sizes[p].st_mtime)
        excess = len(files) - self.max_pages
        excess_bytes = sum(stat.st_size for stat in sizes.values()) - self.max_disk_bytes
        corrected = self.pages_with_corrections() if excess > 0 or excess_bytes > 0 else set()
        for path in files:
            if excess <= 0 and excess_bytes <= 0:
                break
            page_id = path.stem
            if page_id == keep or page_id in corrected:
                continue
            path.unlink(missing_ok=True)
            if page_id in self._memory:
                self._memory_bytes -= self._size(self._memory.pop(page_id))
            excess -= 1
            excess_bytes -= sizes[path].st_size

    def get(self, page_id: str) -> StoredPage | None:
        """The page read as ``page_id`` (from memory, else from disk), or None."""
        with self._lock:
            stored = self._memory.get(page_id)
            if stored is not None:
                self._memory.move_to_end(page_id)
                return stored
            path = self._path(page_id)
            if not path.is_file():
                return None
            try:
                with np.load(path, allow_pickle=False) as saved:
                    meta = json.loads(saved["meta"].tobytes().decode("utf-8"))
                    crops = tuple(saved[f"crop{i}"] for i in range(sum(n.startswith("crop") for n in saved.files)))
                    scan = saved["scan"].tobytes() if "scan" in saved.files else b""
                page = from_dict(Page, meta["page"])
            except (OSError, ValueError, KeyError, ConfigError) as exc:
                raise StoreError(f"stored page {page_id} is unreadable: {exc}") from None
            os.utime(path)  # used: the last to go
            stored = StoredPage(page_id, page, crops, meta["filename"], scan, float(meta.get("dpi", 300.0)))
            self._remember(stored)
            return stored


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

    def pages_with_corrections(self) -> set[str]:
        """The ids of the pages that have at least one correction."""
        return {str(record.get("page_id")) for record in self.list()}

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

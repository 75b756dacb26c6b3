"""Web app: upload a page, see its lines and text, correct them, keep the corrections as training data.

``create_app`` builds a FastAPI application around one :class:`crnn.pipeline.PageReader`
(the model is loaded once, at start-up). Corrections are written as the
tesstrain/Calamari/kraken convention: ``<id>.png`` (the line crop) beside
``<id>.gt.txt`` (its corrected text), plus ``<id>.json`` (source image hash, box,
model version, original prediction, correction, time). Every file is written to a
temporary name and renamed; names are made by the server, never taken from the
request; nothing is overwritten.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse

from crnn.charset import Charset
from crnn.document import Page
from crnn.export import to_dict
from crnn.layout import LayoutError, load_image

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
STATIC_DIR = Path(__file__).resolve().parent / "static"


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredPage:
    page_id: str
    gray: np.ndarray
    page: Page
    filename: str


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    # link + unlink refuses to replace an existing file, unlike rename
    os.link(tmp, path)
    tmp.unlink()


class CorrectionStore:
    """Line crops and their corrected text in a directory, one id per correction."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, stored: StoredPage, line_index: int, text: str, model_version: str) -> dict[str, Any]:
        line = stored.page.lines[line_index]
        box = line.box
        crop = stored.gray[box.y0 : box.y1, box.x0 : box.x1]
        ok, png = cv2.imencode(".png", crop)
        if not ok:
            raise RequestError(500, "could not encode the line image")
        # sortable by time (so later corrections win), unique, and never derived from the request
        correction_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        record = {
            "id": correction_id,
            "page_id": stored.page_id,
            "source_image_sha256": stored.page_id,
            "source_filename": stored.filename,
            "line_index": line_index,
            "box": list(box.as_tuple()),
            "model_version": model_version,
            "prediction": line.text,
            "prediction_confidence": line.confidence,
            "correction": text,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _atomic_write(self.directory / f"{correction_id}.png", png.tobytes())
        _atomic_write(self.directory / f"{correction_id}.gt.txt", (text + "\n").encode("utf-8"))
        _atomic_write(self.directory / f"{correction_id}.json",
                      json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
        return record

    def list(self, page_id: str | None = None) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if page_id is None or record.get("page_id") == page_id:
                records.append(record)
        return records


def decode_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    if not data:
        raise RequestError(400, "empty upload (0 bytes)")
    if len(data) > max_bytes:
        raise RequestError(413, f"upload of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except Exception:
        raise RequestError(415, "not an image (or an unsupported format)") from None
    if width * height > max_pixels:
        raise RequestError(413, f"{width}x{height} exceeds the limit of {max_pixels // 1_000_000} megapixels")
    try:
        return load_image(data)
    except LayoutError as exc:
        raise RequestError(415, str(exc)) from None


def decode_data_url(value: Any) -> bytes:
    if not isinstance(value, str):
        raise RequestError(400, "field 'image' must be a data URL string")
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        if ";base64" not in header:
            raise RequestError(400, "data URL must be base64-encoded")
    else:
        payload = value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "image is not valid base64") from None


def check_page_id(page_id: Any) -> str:
    """A page id is the SHA-256 hex digest /api/ocr returned; anything else (paths included) is refused."""
    if not isinstance(page_id, str) or len(page_id) != 64 or not all(c in "0123456789abcdef" for c in page_id):
        raise RequestError(400, "page_id must be the 64-hex-digit id returned by /api/ocr")
    return page_id


def create_app(checkpoint: str | Path | None = None, corrections_dir: str | Path = "corrections",
               reader: Any = None, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS,
               cache_pages: int = 32) -> FastAPI:
    """The FastAPI application. Pass ``reader`` to share an already loaded PageReader."""
    from crnn.pipeline import DEFAULT_CHECKPOINT, PageReader

    if reader is None:
        reader = PageReader(checkpoint or DEFAULT_CHECKPOINT)
    store = CorrectionStore(Path(corrections_dir))
    pages: OrderedDict[str, StoredPage] = OrderedDict()
    pages_lock = threading.Lock()
    model_lock = threading.Lock()
    charset: Charset = reader.recognizer.charset
    metadata = reader.recognizer.metadata
    model_version = f"{reader.recognizer.path.name}@{metadata.get('git_commit', 'unknown')}" \
                    f"/step{metadata.get('metrics', {}).get('step', '?')}"

    app = FastAPI(title="crnn-book-ocr", version="0.1.0",
                  description="OCR printed book pages; correct the lines and keep the corrections.")

    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_version": model_version, "charset_size": len(charset)}

    def run_ocr(data: bytes, filename: str) -> dict[str, Any]:
        gray = decode_upload(data, max_bytes, max_pixels)
        page_id = hashlib.sha256(data).hexdigest()
        with model_lock:
            result = reader.read(gray, source=filename)
        with pages_lock:
            pages[page_id] = StoredPage(page_id, gray, result.page, filename)
            pages.move_to_end(page_id)
            while len(pages) > cache_pages:
                pages.popitem(last=False)
        return {"page_id": page_id, "model_version": model_version, **to_dict(result.page),
                "corrections": store.list(page_id)}

    @app.post("/api/ocr")
    async def ocr(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        body = await request.body()
        if len(body) > max_bytes * 2:
            raise RequestError(413, f"request body exceeds {max_bytes * 2} bytes")
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("image") or form.get("file")
            if upload is None or isinstance(upload, str):
                raise RequestError(400, "multipart upload needs a file field named 'image'")
            data = await upload.read()
            return run_ocr(data, Path(upload.filename or "upload").name)
        if content_type.startswith("application/json"):
            try:
                payload = json.loads(body)
            except ValueError:
                raise RequestError(400, "malformed JSON body") from None
            if not isinstance(payload, dict) or "image" not in payload:
                raise RequestError(400, "JSON body needs an 'image' field with a data URL")
            return run_ocr(decode_data_url(payload["image"]), str(payload.get("filename", "upload"))[:200])
        raise RequestError(415, "send multipart/form-data with an 'image' file, or JSON with an 'image' data URL")

    def stored_page(page_id: Any) -> StoredPage:
        with pages_lock:
            stored = pages.get(check_page_id(page_id))
        if stored is None:
            raise RequestError(404, "unknown page_id (OCR the page first)")
        return stored

    @app.post("/api/corrections")
    async def save_corrections(request: Request) -> dict[str, Any]:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            raise RequestError(400, "malformed JSON body") from None
        if not isinstance(payload, dict):
            raise RequestError(400, "JSON body must be an object")
        stored = stored_page(payload.get("page_id"))
        items = payload.get("corrections")
        if items is None:
            items = [{"line_index": payload.get("line_index"), "text": payload.get("text")}]
        if not isinstance(items, list) or not items:
            raise RequestError(400, "'corrections' must be a non-empty list")
        checked = []
        for item in items:
            if not isinstance(item, dict):
                raise RequestError(400, "each correction must be an object with line_index and text")
            index, text = item.get("line_index"), item.get("text")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(stored.page.lines):
                raise RequestError(404, f"no line {index!r} on this page ({len(stored.page.lines)} lines)")
            if not isinstance(text, str) or "\n" in text or len(text) > 1000:
                raise RequestError(400, "text must be one line of at most 1000 characters")
            missing = charset.missing(text)
            if missing:
                raise RequestError(422, f"characters outside the charset: {''.join(sorted(missing))!r}")
            checked.append((index, text))
        saved = [store.save(stored, index, text, model_version) for index, text in checked]
        return {"saved": saved}

    @app.get("/api/corrections")
    def list_corrections(page_id: str | None = None) -> dict[str, Any]:
        if page_id is not None:
            check_page_id(page_id)
        return {"corrections": store.list(page_id)}

    @app.get("/api/pages/{page_id}/text")
    def page_text(page_id: str):
        stored = stored_page(page_id)
        lines = [line.text for line in stored.page.lines]
        for record in store.list(page_id):  # later corrections win
            index = record.get("line_index")
            if isinstance(index, int) and 0 <= index < len(lines):
                lines[index] = record["correction"]
        return PlainTextResponse("".join(line + "\n" for line in lines),
                                 headers={"Content-Disposition": 'attachment; filename="page.txt"'})

    return app

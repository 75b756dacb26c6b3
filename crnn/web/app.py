"""Web app: upload a page, see its lines and text, correct them, keep the corrections as training data.

``create_app`` builds a FastAPI application around one :class:`crnn.pipeline.PageReader`
(the model is loaded once, at start-up). Corrections are stored by
:class:`crnn.web.store.CorrectionStore`; uploads are checked by ``crnn.web.uploads``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from crnn.charset import Charset
from crnn.formats import FORMATS, PageRaster, render, render_document, to_dict, upright
from crnn.io import load_image
from crnn.recognize import DEFAULT_CHECKPOINT
from crnn.version import __version__
from crnn.web.store import CorrectionStore, PageStore, StoredPage, StoreError
from crnn.web.uploads import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    RequestError,
    check_page_id,
    clean_text,
    decode_data_url,
    page_number,
)
from crnn.web.workers import ProcessReaders, Reading, ThreadReaders

STATIC_DIR = Path(__file__).resolve().parent / "static"


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# on every answer: no content sniffing, no framing by another site, scripts and styles only from the app
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def create_app(checkpoint: str | Path | None = None, corrections_dir: str | Path = "corrections",
               reader: Any = None, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS,
               max_pages: int = 1000, allowed_hosts: tuple[str, ...] = LOCAL_HOSTS, backend: str = "auto",
               max_memory_bytes: int = 64 * 1024 * 1024, pages_dir: str | Path | None = None,
               max_disk_bytes: int = 2 * 1024 ** 3, workers: int = 1) -> FastAPI:
    """The FastAPI application. Pass ``reader`` to share an already loaded PageReader (else one is
    loaded from ``checkpoint`` with ``backend``, see ``crnn.pipeline.PageReader``).

    With ``workers`` above 1 (and no ``reader``), uploads are read by that many worker processes,
    each with its own model on one core (``crnn.web.workers.ProcessReaders``): several pages are
    then read at once at the speed of one. With 1 they are read by threads of this process.

    Pages read are kept in ``pages_dir`` (default: ``<corrections_dir>.pages`` beside the
    corrections), at most ``max_pages`` and ``max_disk_bytes`` of them, and ``max_memory_bytes`` in memory
    (``crnn.web.store.PageStore``): a page can be corrected after other uploads and restarts.

    Only requests naming one of ``allowed_hosts`` in their ``Host`` header are served (a page
    on another site that rebinds its name to this machine gets nothing), and a request that
    changes something is refused when a browser says it comes from another origin.
    """
    from crnn.pipeline import PageReader

    readers: ThreadReaders | ProcessReaders
    if reader is None and workers > 1:
        readers = ProcessReaders(checkpoint or DEFAULT_CHECKPOINT, backend, workers)
    else:
        if reader is None:
            reader = PageReader(checkpoint or DEFAULT_CHECKPOINT, backend=backend)
        # pages are read by a few threads of their own, one per core: that keeps the cores busy, and the
        # same threads reusing their memory keeps the process from growing as many threads' allocations would
        readers = ThreadReaders(reader, min(4, os.cpu_count() or 1))
    store = CorrectionStore(Path(corrections_dir))
    corrections_path = Path(corrections_dir)
    pages = PageStore(Path(pages_dir) if pages_dir else corrections_path.with_name(corrections_path.name + ".pages"),
                      store.pages_with_corrections, max_pages, max_memory_bytes, max_disk_bytes)
    charset: Charset = readers.checkpoint.charset
    model_version = readers.checkpoint.model_version

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        readers.close()

    # no /docs or /redoc: FastAPI serves them with scripts from a CDN; /openapi.json describes the API
    app = FastAPI(title="crnn-book-ocr", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="OCR printed book pages; correct the lines and keep the corrections.")
    app.state.readers = readers

    hosts = frozenset(allowed_hosts)

    @app.middleware("http")
    async def same_site_only(request: Request, call_next):
        host = request.headers.get("host", "")
        if _hostname(host) not in hosts:
            return JSONResponse({"error": f"host {host!r} is not served here"}, status_code=400)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None and urlsplit(origin).netloc != host:
            return JSONResponse({"error": "cross-site request refused"}, status_code=403)
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    # anything unexpected answers in the same shape, without a traceback
    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception):
        return JSONResponse({"error": "internal server error"}, status_code=500)

    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    # every error the framework raises answers in the app's one shape, {"error": "..."}
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"error": f"invalid request: {where} {first.get('msg', '')}".strip()}, status_code=422)

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError):
        return JSONResponse({"error": str(exc)}, status_code=500)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/health")
    async def health() -> dict[str, Any]:  # on the event loop: it answers while every worker thread reads
        return {"status": "ok", "model_version": model_version, "charset_size": len(charset)}

    def keep(data: bytes, filename: str, number: int, reading: Reading) -> dict[str, Any]:
        """Store a page read and make its answer; in a thread, off the event loop (the store writes files)."""
        digest = hashlib.sha256(data)
        if number > 1:  # each page of a PDF is a page of its own; page 1's id is the file's, as an image's
            digest.update(f"#page={number}".encode())
        page_id = digest.hexdigest()
        # kept for the searchable PDF: an image upload as it came, a page of a PDF or TIFF encoded
        scan = data if reading.scan is None else reading.scan
        pages.put(StoredPage(page_id, reading.page, reading.crops, filename, scan, reading.dpi))
        answer = {"page_id": page_id, "model_version": model_version, **to_dict(reading.page),
                  "document_page": number, "document_pages": reading.document_pages,
                  "corrections": store.list(page_id)}
        if reading.page_image is not None:  # a browser shows neither a PDF's page nor a TIFF's: send the page read
            answer["page_image"] = reading.page_image  # as uploaded: the browser turns it as it turns an image
        return answer

    async def read_page(data: bytes, filename: Any, number: Any = 1) -> dict[str, Any]:
        number, filename = page_number(number), clean_text(filename)
        reading = await readers.read(data, filename, number, max_bytes, max_pixels)
        return await run_in_threadpool(keep, data, filename, number, reading)

    @app.post("/api/ocr")
    async def ocr(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        # base64 in JSON is a third larger than the image it holds; a form adds its boundaries
        body = await read_body(request, max_bytes * 4 // 3 + 64 * 1024)
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("image") or form.get("file")
            if upload is None or isinstance(upload, str):
                raise RequestError(400, "multipart upload needs a file field named 'image'")
            data = await upload.read()
            return await read_page(data, Path(upload.filename or "upload").name, form.get("page", 1))
        if content_type.startswith("application/json"):
            payload = parse_json(body)
            if not isinstance(payload, dict) or "image" not in payload:
                raise RequestError(400, "JSON body needs an 'image' field with a data URL")
            return await read_page(decode_data_url(payload["image"]), payload.get("filename", "upload"),
                                   payload.get("page", 1))
        raise RequestError(415, "send multipart/form-data with an 'image' file, or JSON with an 'image' data URL")

    def stored_page(page_id: Any) -> StoredPage:
        stored = pages.get(check_page_id(page_id))
        if stored is None:
            raise RequestError(404, "unknown page_id (OCR the page first)")
        return stored

    @app.post("/api/corrections")
    async def save_corrections(request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise RequestError(415, "send the corrections as application/json")
        payload = parse_json(await read_body(request, MAX_CORRECTIONS_BODY))
        if not isinstance(payload, dict):
            raise RequestError(400, "JSON body must be an object")
        stored = stored_page(payload.get("page_id"))
        items = payload.get("corrections")
        if items is None:
            items = [{"line_index": payload.get("line_index"), "text": payload.get("text")}]
        if not isinstance(items, list) or not items:
            raise RequestError(400, "'corrections' must be a non-empty list")
        if len(items) > len(stored.page.lines):
            raise RequestError(413, f"{len(items)} corrections for a page of {len(stored.page.lines)} lines "
                               "(at most one per line)")
        checked = []
        for item in items:
            if not isinstance(item, dict):
                raise RequestError(400, "each correction must be an object with line_index and text")
            index, text = item.get("line_index"), item.get("text")
            lines = stored.page.lines
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(lines):
                raise RequestError(404, f"no line {index!r} on this page ({len(lines)} lines)")
            if not isinstance(text, str) or "\n" in text or len(text) > 1000:
                raise RequestError(400, "text must be one line of at most 1000 characters")
            text = unicodedata.normalize("NFC", text)
            if not text.strip():
                raise RequestError(400, "an empty correction: give the line's text")
            if any(index == seen for seen, _ in checked):
                raise RequestError(400, f"line {index} is corrected twice in one request")
            missing = charset.missing(text)
            if missing:
                raise RequestError(422, f"characters outside the charset: {''.join(sorted(missing))!r}")
            checked.append((index, text))
        # the store writes and fsyncs files: off the event loop, which keeps answering meanwhile
        saved = await run_in_threadpool(lambda: [store.save(stored, index, text, model_version)
                                                 for index, text in checked])
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

    @app.get("/api/pages/{page_id}/render/{fmt}")
    def page_render(page_id: str, fmt: str):
        """The page as read (corrections not applied) in one of the output formats."""
        stored = stored_page(page_id)
        output = FORMATS.get(fmt)
        if output is None:
            raise RequestError(404, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(stored.filename).stem)[:100] or "page"
        if output.needs_image:
            if not stored.scan:
                raise RequestError(404, f"the page image of {page_id} was not kept: upload the page again")
            image = upright(load_image(stored.scan, max_pixels=max_pixels), stored.page.rotation_degrees)
            body: bytes | str = render_document([PageRaster(stored.page, image, stored.dpi)], fmt,
                                                title=stored.filename)
        else:
            body = render(stored.page, fmt)
        return Response(body, media_type=output.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}{output.extension}"'})

    return app


MAX_CORRECTIONS_BODY = 1024 * 1024  # a page of corrections is a few kilobytes


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes: by its declared
    ``Content-Length`` before anything is read, else while it streams in (never held whole first)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise RequestError(413, f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache of the body: request.form() parses these bytes
    return body


def parse_json(body: bytes) -> Any:
    """A JSON body; 400 for malformed JSON, including nesting too deep to parse."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError(400, "malformed JSON body (or nested too deeply)") from None


def _hostname(host: str) -> str:
    """The name in a Host header, without its port (``[::1]:8000`` -> ``::1``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

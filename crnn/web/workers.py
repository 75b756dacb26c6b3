"""Who reads the web app's uploads: threads of the server's own process, or processes of their own.

A page's layout is Python between OpenCV calls and holds the interpreter's lock most of the time,
so two reader threads in one process share about one core; worker processes, one per core, each
with its own model and one thread, read as many pages at once as there are cores. Both kinds
answer with a :class:`Reading`, so the app does not care which it has.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from crnn.document import Page
from crnn.io import is_pdf
from crnn.threads import available_cores
from crnn.web.uploads import RequestError, decode_document_upload, encode_page, jpeg_data_url

if TYPE_CHECKING:
    from crnn.pipeline import PageReader
    from crnn.recognize import Checkpoint


@dataclass(frozen=True)
class Reading:
    """One upload read: the page, the crops its lines were read from, how many pages the upload has,
    the page's resolution, the page image to keep when it is not the upload itself (a page of a PDF
    or TIFF, encoded) and, for those, the page as a data URL for the browser."""

    page: Page
    crops: tuple[np.ndarray, ...]
    document_pages: int
    dpi: float
    scan: bytes | None = None  # None: keep the upload as it came
    page_image: str | None = None


def read_upload(reader: PageReader, data: bytes, filename: str, number: int, max_bytes: int,
                max_pixels: int) -> Reading:
    """Decode an upload (page ``number`` of a PDF or TIFF) and read it; :class:`RequestError` for
    what cannot be read."""
    gray, count, dpi = decode_document_upload(data, max_bytes, max_pixels, number)
    result = reader.read(gray, source=filename + (f"#page={number}" if count > 1 else ""))
    whole_image = count == 1 and not is_pdf(data)
    return Reading(result.page, tuple(region.crop for region in result.line_regions), count, dpi,
                   None if whole_image else encode_page(gray), None if whole_image else jpeg_data_url(gray))


class ThreadReaders:
    """Uploads read by a few threads of the server's process, sharing one :class:`PageReader`."""

    def __init__(self, reader: PageReader, threads: int) -> None:
        self.reader = reader
        self.checkpoint: Checkpoint = reader.recognizer.checkpoint
        self._threads = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="read-page")

    async def read(self, data: bytes, filename: str, number: int, max_bytes: int, max_pixels: int) -> Reading:
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, read_upload, self.reader, data, filename, number, max_bytes, max_pixels)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


# the reader of a worker process, loaded once when the process starts, or why it could not be
_WORKER_READER: PageReader | None = None
_WORKER_ERROR = ""


def _start_worker(checkpoint: str, backend: str) -> None:
    global _WORKER_READER, _WORKER_ERROR
    # Ctrl-C reaches every process of the terminal's group: the server stops its workers itself,
    # and a worker interrupted mid-page would only print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["CRNN_THREADS"] = "1"  # one core per process: the processes side by side use them all
    from crnn.pipeline import PageReader
    from crnn.recognize import CheckpointError

    try:
        _WORKER_READER = PageReader(checkpoint, backend=backend)
    except CheckpointError as exc:  # told by _ready, in one line: an initializer's exception is a traceback
        _WORKER_ERROR = str(exc)


def _ready() -> str:
    """What a new worker answers once it has started: "" when its model is loaded, else why not."""
    return _WORKER_ERROR if _WORKER_READER is None else ""


def _read_in_worker(data: bytes, filename: str, number: int, max_bytes: int, max_pixels: int,
                    ) -> Reading | tuple[int, str]:
    """A reading, or a refusal as (status, message): an exception made in another process may not
    come back whole."""
    if _WORKER_READER is None:
        return 500, f"the reading process has no model: {_WORKER_ERROR}"
    try:
        return read_upload(_WORKER_READER, data, filename, number, max_bytes, max_pixels)
    except RequestError as exc:
        return exc.status, exc.message


class ProcessReaders:
    """Uploads read by ``processes`` worker processes, each with its own model on one core.

    The workers start loading their models at once, while the model is loaded here too, only to
    check it: a checkpoint that cannot be loaded is a :class:`~crnn.recognize.CheckpointError` from
    the constructor, and the server answers while the workers are still starting. A worker that
    dies (killed, out of memory) fails the requests it held with a 500 and is replaced for the
    next ones.
    """

    def __init__(self, checkpoint: str | Path, backend: str, processes: int) -> None:
        from crnn.recognize import CheckpointError, load_recognizer

        self._arguments = (str(checkpoint), backend)
        self._processes = max(1, processes)
        self._lock = threading.Lock()
        self._pool = self._start()
        try:
            self.checkpoint: Checkpoint = load_recognizer(checkpoint, backend).checkpoint  # as each worker does
        except CheckpointError:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _start(self) -> Executor:
        # spawned, not forked: the server's threads and ONNX Runtime's must not be copied mid-flight
        pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=self._arguments)
        for _ in range(self._processes):  # starts each worker now, not at the first upload
            pool.submit(_ready)
        return pool

    async def read(self, data: bytes, filename: str, number: int, max_bytes: int, max_pixels: int) -> Reading:
        pool = self._pool
        try:
            answer = await asyncio.wrap_future(pool.submit(_read_in_worker, data, filename, number, max_bytes,
                                                            max_pixels))
        except BrokenProcessPool:
            await asyncio.get_running_loop().run_in_executor(None, self._replace, pool)
            raise RequestError(500, "the process reading the page stopped; try again") from None
        if isinstance(answer, tuple):
            raise RequestError(*answer)
        return answer

    def _replace(self, broken: Executor) -> None:
        with self._lock:
            if self._pool is broken:  # not yet replaced by another request that saw it break
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()

    def worker_pids(self) -> list[int]:
        """The process ids of the current workers (for tests and memory probes)."""
        return [int(pid) for pid in getattr(self._pool, "_processes", {})]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_processes() -> int:
    """Worker processes for the web app: one per core this process may use, at most 4."""
    return max(1, min(4, available_cores()))


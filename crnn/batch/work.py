"""The unit of batch work: one page of one document, read by a worker that loads the model once."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from crnn.document import Page
from crnn.io import DEFAULT_DPI, ImageError


@dataclass(frozen=True)
class ReaderSettings:
    """How every worker reads: the checkpoint, backend, decoder and page options."""

    checkpoint: Path
    backend: str = "auto"
    decoder: str = "greedy"
    beam_width: int = 8
    pdf_dpi: float = DEFAULT_DPI
    single_line: bool = False
    threads: int = 0  # intra-op threads per worker; 0: the backend's default


@dataclass(frozen=True)
class PageTask:
    """Read page ``number`` (1-based) of the document at ``path``; ``job`` indexes the batch's jobs."""

    job: int
    path: str
    number: int


@dataclass(frozen=True)
class PageOutcome:
    """What a worker sends back for a task: the page read (or the one-line reason it was not),
    with its resolution, the seconds it took and which worker read it. Small: a page's text and
    boxes, never its pixels."""

    task: PageTask
    page: Page | None
    dpi: float = DEFAULT_DPI
    seconds: float = 0.0
    error: str | None = None
    worker: str = field(default="", compare=False)


class PageWorker:
    """Loads the model once and reads pages for the batch, one task at a time."""

    def __init__(self, settings: ReaderSettings) -> None:
        if settings.threads:
            os.environ["CRNN_THREADS"] = str(settings.threads)
        from crnn.pipeline import PageReader

        self.settings = settings
        self.reader = PageReader(settings.checkpoint, settings.decoder, settings.beam_width, backend=settings.backend)
        self.name = f"{os.uname().nodename}:{os.getpid()}"

    def read(self, task: PageTask) -> PageOutcome:
        """Read one page; a page that cannot be read comes back with its reason, never raises."""
        started = time.perf_counter()
        try:
            for result, raster in self.reader.read_document(Path(task.path), dpi=self.settings.pdf_dpi,
                                                             single_line=self.settings.single_line,
                                                             pages=[task.number]):
                return PageOutcome(task, result.page, raster.dpi, time.perf_counter() - started, None, self.name)
            raise ImageError(f"{task.path}: no page {task.number}")
        except (ImageError, OSError) as exc:
            return PageOutcome(task, None, DEFAULT_DPI, time.perf_counter() - started,
                               str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__, self.name)
        except Exception as exc:  # one bad page must not end a batch of thousands
            return PageOutcome(task, None, DEFAULT_DPI, time.perf_counter() - started,
                               f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                               self.name)

    def pid(self) -> int:
        """The worker's process id (for tests that stop a worker mid-run)."""
        return os.getpid()


# the worker of this process, when it is a process-pool worker
_WORKER: PageWorker | None = None


def init_process_worker(settings: ReaderSettings) -> None:
    """Process-pool initializer: load this process's worker once. Ctrl-C is the driver's to handle
    (it stops handing out pages and keeps what is done); a worker finishes its page."""
    import signal

    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = PageWorker(settings)


def read_in_process_worker(task: PageTask) -> PageOutcome:
    """Process-pool task: read one page with this process's worker."""
    if _WORKER is None:
        raise RuntimeError("the process worker was not initialized")
    return _WORKER.read(task)

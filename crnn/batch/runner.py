"""A resumable batch: documents in, a mirrored tree of outputs and a JSONL manifest out.

The driver walks the jobs in order, skips each one whose outputs exist for an input of the
same SHA-256 (as the manifest recorded it), streams the others' pages to an executor, and
writes a document's outputs, each atomically, when its last page is back, then appends its
manifest record. Stopped at any point, a run loses only the documents in flight: the next
run reads only what is not done.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crnn.batch.executors import Executor
from crnn.batch.jobs import Job, count_pages, file_sha256
from crnn.batch.work import PageOutcome, PageTask
from crnn.document import Page
from crnn.formats import FORMATS, PageRaster, upright, write_document
from crnn.io import DEFAULT_DPI, ImageError, document_pages

MANIFEST_NAME = "manifest.jsonl"


@dataclass
class BatchSummary:
    """What a run did: documents and pages read, skipped as done, and failed."""

    documents: int = 0
    read: int = 0
    skipped: int = 0
    failed: int = 0
    pages_read: int = 0
    pages_failed: int = 0
    seconds: float = 0.0
    driver_seconds: float = 0.0  # of ``seconds``, the driver's own work: hashing, writing outputs and records
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def output_paths(job: Job, output_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Where the job's output in each format goes."""
    return [output_dir / (str(job.relative) + FORMATS[fmt].extension) for fmt in formats]


class Manifest:
    """The JSONL record of a batch: one line per document read (later lines win), appended and synced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a crash: that document is read again
                    continue
                if isinstance(record, dict) and isinstance(record.get("input"), str):
                    self.records[record["input"]] = record

    def done(self, job: Job, sha256: str, outputs: Sequence[Path]) -> bool:
        """Whether ``job`` was read from this very input into outputs that are all there."""
        record = self.records.get(job.key)
        return (record is not None and record.get("error") is None and record.get("sha256") == sha256
                and all(path.is_file() for path in outputs))

    def append(self, record: dict) -> None:
        """Add a record: one ``write`` of one line in append mode, then fsync."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.records[record["input"]] = record


def _rasters(job: Job, pages: list[Page | None], dpis: list[float], needs_image: bool,
             pdf_dpi: float) -> Iterator[PageRaster]:
    """The job's pages read, in order, with their images again when a format draws them."""
    if not needs_image:
        for page, dpi in zip(pages, dpis, strict=True):
            if page is not None:
                yield PageRaster(page, None, dpi)
        return
    numbers = [n for n, page in enumerate(pages, 1) if page is not None]
    for number, image in zip(numbers, document_pages(job.path, dpi=pdf_dpi, pages=numbers), strict=True):
        page = pages[number - 1]
        assert page is not None
        yield PageRaster(page, upright(image.image, page.rotation_degrees), image.dpi)


def _write_outputs(job: Job, outputs: list[Path], formats: Sequence[str], pages: list[Page | None],
                   dpis: list[float], low_confidence: float, pdf_dpi: float) -> None:
    for fmt, path in zip(formats, outputs, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        try:
            with tmp.open("wb") as handle:
                write_document(handle, _rasters(job, pages, dpis, FORMATS[fmt].needs_image, pdf_dpi), fmt,
                               low_confidence, title=str(job.path))
                handle.flush()
                os.fsync(handle.fileno())  # on disk before the manifest says it is done
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def _record(job: Job, sha256: str, pages: list[Page | None], outcomes: list[PageOutcome], outputs: list[Path],
            output_dir: Path, error: str | None) -> dict:
    """The manifest line of a document (``outputs``: the files written, none if none were)."""
    lines = [line for page in pages if page is not None for line in page.lines]
    chars = sum(len(line.text) for line in lines)
    confidence = (sum(line.confidence * len(line.text) for line in lines) / chars) if chars else None
    return {
        "input": job.key, "path": str(job.path), "sha256": sha256, "pages": len(pages),
        "pages_failed": sum(page is None for page in pages),
        "lines": len(lines),
        "seconds": round(sum(o.seconds for o in outcomes), 3),
        "confidence": round(confidence, 4) if confidence is not None else None,
        "outputs": [str(path.relative_to(output_dir)) for path in outputs],
        "error": error,
        "workers": sorted({o.worker for o in outcomes if o.worker}),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@dataclass
class _Open:
    """A document whose pages are being read."""

    job: Job
    sha256: str
    outputs: list[Path]
    pages: list[Page | None]
    dpis: list[float]
    outcomes: list[PageOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)  # page numbers back


def run_batch(jobs: Sequence[Job], output_dir: Path, formats: Sequence[str], executor: Executor,
              low_confidence: float = 0.5, pdf_dpi: float = DEFAULT_DPI,
              progress: Callable[[int, int], None] | None = None,
              on_document: Callable[[dict], None] | None = None) -> BatchSummary:
    """Read ``jobs`` into ``output_dir`` (a mirrored tree, one file per document and format, and
    ``manifest.jsonl``), skipping documents already done. ``progress(pages_done, pages_total)``
    is called as pages finish; ``on_document(record)`` after each document's record is written.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(output_dir / MANIFEST_NAME)
    summary = BatchSummary(documents=len(jobs))
    started = time.perf_counter()
    open_documents: dict[int, _Open] = {}
    todo: list[tuple[int, Job, str, list[Path], int]] = []
    for index, job in enumerate(jobs):
        outputs = output_paths(job, output_dir, formats)
        try:
            sha256 = file_sha256(job.path)
        except OSError as exc:
            record = _record(job, "", [], [], [], output_dir, f"cannot read {job.path}: {exc.strerror or exc}")
            manifest.append(record)
            summary.failed += 1
            summary.failures.append(f"{job.key}: {record['error']}")
            continue
        if manifest.done(job, sha256, outputs):
            summary.skipped += 1
            continue
        todo.append((index, job, sha256, outputs, count_pages(job)))
    total = sum(item[4] for item in todo)
    driver = time.perf_counter() - started
    done_pages = 0
    if progress is not None:
        progress(0, total)

    def tasks() -> Iterator[PageTask]:
        for index, job, sha256, outputs, count in todo:
            open_documents[index] = _Open(job, sha256, outputs, [None] * count, [DEFAULT_DPI] * count)
            for number in range(1, count + 1):
                yield PageTask(index, str(job.path), number)

    for outcome in executor.run(tasks()):
        handling = time.perf_counter()
        document = open_documents.get(outcome.task.job)
        slot = outcome.task.number - 1
        if document is None or outcome.task.number in document.seen:
            continue  # a page a retried worker read twice counts once
        document.seen.add(outcome.task.number)
        document.outcomes.append(outcome)
        if outcome.page is not None:
            document.pages[slot] = outcome.page
            document.dpis[slot] = outcome.dpi
            summary.pages_read += 1
        else:
            document.errors.append(f"page {outcome.task.number}: {outcome.error}" if len(document.pages) > 1
                                   else str(outcome.error))
            summary.pages_failed += 1
        done_pages += 1
        if progress is not None:
            progress(done_pages, total)
        if len(document.outcomes) < len(document.pages):
            driver += time.perf_counter() - handling
            continue
        del open_documents[outcome.task.job]
        error = "; ".join(document.errors) or None
        written: list[Path] = []
        try:
            if any(page is not None for page in document.pages):
                _write_outputs(document.job, document.outputs, formats, document.pages, document.dpis,
                               low_confidence, pdf_dpi)
                written = document.outputs
        except (OSError, ImageError, ValueError) as exc:
            error = (error + "; " if error else "") + f"cannot write outputs: {exc}"
        record = _record(document.job, document.sha256, document.pages, document.outcomes, written,
                         output_dir, error)
        manifest.append(record)
        if error is None:
            summary.read += 1
        else:
            summary.failed += 1
            summary.failures.append(f"{document.job.key}: {error}")
        driver += time.perf_counter() - handling
        if on_document is not None:
            on_document(record)
    summary.seconds = time.perf_counter() - started
    summary.driver_seconds = driver
    return summary

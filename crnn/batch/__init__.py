"""Batches of documents: a folder tree, list files or PDFs read into a mirrored tree of outputs,
resumable, on this machine's cores or on a Ray cluster (``crnn.batch.executors``)."""

from crnn.batch.executors import EXECUTORS, Executor, available_cores, make_executor
from crnn.batch.jobs import BatchInputError, Job, count_pages, file_sha256, find_jobs
from crnn.batch.runner import MANIFEST_NAME, BatchSummary, Manifest, output_paths, run_batch
from crnn.batch.work import PageOutcome, PageTask, PageWorker, ReaderSettings

__all__ = [
    "EXECUTORS",
    "MANIFEST_NAME",
    "BatchInputError",
    "BatchSummary",
    "Executor",
    "Job",
    "Manifest",
    "PageOutcome",
    "PageTask",
    "PageWorker",
    "ReaderSettings",
    "available_cores",
    "count_pages",
    "file_sha256",
    "find_jobs",
    "make_executor",
    "output_paths",
    "run_batch",
]

"""How many threads a reading process uses, and an ordered map over a shared pool of them.

OpenCV, NumPy's large loops and ONNX Runtime let go of Python's lock while they work, so
line crops cut on two threads finish in a good deal less than twice the time of one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_IN_POOL = threading.local()


def default_threads() -> int:
    """``CRNN_THREADS`` if set, else the cores this process may use, at most 2.

    More threads than cores only adds contention; beyond two the model's small convolutions and
    LSTM steps gain little (``benchmarks/`` measures it). ``ValueError`` for a ``CRNN_THREADS``
    that is not a whole number.
    """
    if os.environ.get("CRNN_THREADS", "").strip():
        try:
            return max(1, int(os.environ["CRNN_THREADS"]))
        except ValueError:
            raise ValueError(f"CRNN_THREADS must be a whole number, got {os.environ['CRNN_THREADS']!r}") from None
    return max(1, min(2, available_cores()))


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor | None:
    """The shared pool, made on first use; None when this process should use one thread."""
    global _POOL
    try:
        threads = default_threads()
    except ValueError:
        return None  # the recognizer reports a bad CRNN_THREADS; the layout just runs alone
    if threads < 2:
        return None
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(threads, thread_name_prefix="crnn", initializer=_mark_pool_thread)
    return _POOL


def _mark_pool_thread() -> None:
    _IN_POOL.active = True


def ordered_map(function: Callable[[T], R], items: Iterable[T], min_items: int = 4) -> list[R]:
    """``[function(item) for item in items]``, spread over the process's worker threads when there
    are at least ``min_items`` items and more than one thread; results in the items' order.

    Called from inside a worker it runs in the calling thread (a worker waiting on the pool that
    runs it could wait forever).
    """
    items = list(items)
    pool = None if len(items) < min_items or getattr(_IN_POOL, "active", False) else _pool()
    if pool is None:
        return [function(item) for item in items]
    return list(pool.map(function, items))

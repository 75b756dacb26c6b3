"""Where a batch's pages are read: in this process, in a local process pool, or on a Ray cluster.

Each executor takes the page tasks as a stream and yields outcomes as they finish, in any
order, with only a few tasks in flight per worker: a book of thousands of pages is never
gathered in memory, and a task is sent only when a worker is about to be free. A new
executor is a class here and one entry in :data:`EXECUTORS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from crnn.batch.work import (
    PageOutcome,
    PageTask,
    PageWorker,
    ReaderSettings,
    init_process_worker,
    read_in_process_worker,
)

IN_FLIGHT_PER_WORKER = 2  # one being read, one waiting, so that no worker idles between pages


class Executor(Protocol):
    """Reads page tasks on some workers."""

    workers: int

    def run(self, tasks: Iterable[PageTask]) -> Iterator[PageOutcome]:
        """The outcome of every task, as they finish."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


def available_cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _threads_for(settings: ReaderSettings, workers: int) -> ReaderSettings:
    """Split the cores among the workers, unless the caller chose: two readers on two cores each
    wanting two threads would only wait on each other."""
    if settings.threads:
        return settings
    return replace(settings, threads=max(1, available_cores() // max(1, workers)))


class InlineExecutor:
    """One worker, in this process: no start-up cost, nothing to pickle."""

    def __init__(self, settings: ReaderSettings, workers: int = 1) -> None:
        self.workers = 1
        self.worker = PageWorker(settings)

    def run(self, tasks: Iterable[PageTask]) -> Iterator[PageOutcome]:
        for task in tasks:
            yield self.worker.read(task)

    def close(self) -> None:
        pass


class ProcessPoolExecutor:
    """A local pool of worker processes, each loading the model once (no Ray needed).

    A worker process that dies (killed, out of memory) takes the pool with it: a new pool is
    started and the pages in flight are read again, each at most ``max_retries`` times (a page
    that kills every worker that reads it is then recorded as failed).
    """

    def __init__(self, settings: ReaderSettings, workers: int = 2, max_retries: int = 2) -> None:
        self.workers = max(1, workers)
        self.settings = _threads_for(settings, self.workers)
        self.max_retries = max_retries
        self.pool = self._start()

    def _start(self):
        import concurrent.futures
        import multiprocessing

        # spawned, not forked: a fork of a process that already runs threads (progress bars, thread
        # pools of numerical libraries) can inherit a lock held by a thread that is not there
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=init_process_worker, initargs=(self.settings,))

    def run(self, tasks: Iterable[PageTask]) -> Iterator[PageOutcome]:
        import concurrent.futures
        from concurrent.futures.process import BrokenProcessPool

        pending: dict[concurrent.futures.Future, PageTask] = {}
        retries: dict[PageTask, int] = {}
        again: list[PageTask] = []
        stream = iter(tasks)
        exhausted = False
        while True:
            while (again or not exhausted) and len(pending) < self.workers * IN_FLIGHT_PER_WORKER:
                task = again.pop() if again else next(stream, None)
                if task is None:
                    exhausted = True
                    break
                pending[self.pool.submit(read_in_process_worker, task)] = task
            if not pending:
                return
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            broken = False
            for future in done:
                task = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    retries[task] = retries.get(task, 0) + 1
                    if retries[task] > self.max_retries:
                        yield PageOutcome(task, None, error="the worker process reading it died")
                    else:
                        again.append(task)
                except Exception as exc:  # the task could not even be sent or returned
                    yield PageOutcome(task, None, error=f"{exc.__class__.__name__}: {exc}")
            if broken:  # every page still in flight went down with the pool
                for future, task in pending.items():
                    future.cancel()
                    again.append(task)
                pending.clear()
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._start()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Ray actors, each loading the model once; a worker that dies is restarted and its page retried by Ray.

    Workers read their pages from the paths they are given (inputs on storage every node
    sees) and send back only the page read (text and boxes); the driver writes every output,
    so that each document's files are written once, whole, by one process, and workers need
    no write access to the output storage.
    """

    def __init__(self, settings: ReaderSettings, workers: int = 0, address: str | None = None,
                 max_retries: int = 3) -> None:
        import ray

        self.ray = ray
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=available_cores(), **options)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cluster_cpus)
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=max_retries)(PageWorker)
        threads = settings.threads or max(1, cluster_cpus // self.workers)
        self.actors = [actor.remote(replace(settings, threads=threads)) for _ in range(self.workers)]

    def worker_pids(self) -> list[int]:
        """The process id of each worker (for tests that stop one mid-run)."""
        return self.ray.get([actor.pid.remote() for actor in self.actors])

    def run(self, tasks: Iterable[PageTask]) -> Iterator[PageOutcome]:
        ray = self.ray
        pending: dict = {}  # object ref -> (task, actor index)
        load = [0] * len(self.actors)
        stream = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and min(load) < IN_FLIGHT_PER_WORKER:
                task = next(stream, None)
                if task is None:
                    exhausted = True
                    break
                index = load.index(min(load))
                pending[self.actors[index].read.remote(task)] = (task, index)
                load[index] += 1
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task, index = pending.pop(ref)
                load[index] -= 1
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries used up: the page is recorded as failed
                    yield PageOutcome(task, None, error=f"worker lost: {exc.__class__.__name__}")

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started_ray:
            self.ray.shutdown()


def make_executor(kind: str, settings: ReaderSettings, workers: int = 1, address: str | None = None) -> Executor:
    """The executor named ``kind`` (a key of :data:`EXECUTORS`) with ``workers`` workers."""
    try:
        factory = EXECUTORS[kind]
    except KeyError:
        raise ValueError(f"unknown executor {kind!r} (one of {', '.join(EXECUTORS)})") from None
    return factory(settings, workers, address)


EXECUTORS: dict[str, Callable[[ReaderSettings, int, str | None], Executor]] = {
    # one worker reads in this process; more are a local process pool
    "local": lambda settings, workers, address: (InlineExecutor(settings) if workers <= 1
                                                 else ProcessPoolExecutor(settings, workers)),
    "ray": lambda settings, workers, address: RayExecutor(settings, workers, address),
}

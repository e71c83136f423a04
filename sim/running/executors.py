"""Where sweep tasks run: in this process, on a local process pool, or on a Dask cluster.

Every executor takes a picklable function and a list of tasks and yields ``(index, result)``
pairs as tasks complete, in any order; a task that raised yields its exception instead of a
result, so one failure never stops the others. The results must not depend on the executor:
tasks carry everything they need (scenario, seed, replication indices) and draw their random
numbers from streams keyed by those values, never from a generator shared between processes.

Dask hashes a call's function and arguments to name it and runs identical calls once; sweep
tasks are submitted with ``pure=False`` so that each gets its own key. A worker process that
dies (a segfault, ``os._exit``, an out-of-memory kill) does not end the sweep: the local pool
is restarted and the tasks it was running are tried again (Dask does the same on its own).
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from sim.running.pools import ignore_sigint, stop_at_once

T = TypeVar("T")
R = TypeVar("R")

POOL_PRELOAD = ["sim.engine.model", "sim.running.metrics"]
"""Modules the fork server imports once, so that pool workers start warm (the engine and the
KPIs: the task modules above them are imported when their first task arrives)."""


class Executor(Protocol):
    """Runs tasks and yields ``(index, result or exception)`` as they complete."""

    name: str
    workers: int

    def imap_unordered(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Tasks one after the other in this process (the reference for the others)."""

    name = "serial"
    workers = 1

    def imap_unordered(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        for i, task in enumerate(tasks):
            try:
                result: R | BaseException = fn(task)
            except Exception as err:
                result = err
            yield i, result

    def close(self) -> None:
        pass


def _pool_context() -> multiprocessing.context.BaseContext:
    """How pool workers start.

    On Linux, from a single-threaded parent: fork, so that workers start at once with the
    simulator already imported (they are all forked here, before any progress-bar thread).
    Otherwise a fork server (a clean single-threaded process that imports the simulator once),
    or spawn where there is no fork.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(POOL_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


class WorkerCrashedError(RuntimeError):
    """A task whose worker process died (a segfault, ``os._exit``, an out-of-memory kill)."""


MAX_CRASHES = 2
"""Worker deaths after which a task is given up (the second one with the task running alone)."""


class PoolExecutor:
    """A local process pool with ``workers`` processes, restarted when a worker dies.

    At most two tasks per worker are handed to the pool at a time, so the tasks a dead worker
    may have been running are known: they run again one at a time, alone, while the others
    wait; a task that kills its worker twice is yielded as a :class:`WorkerCrashedError`.
    """

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.restarts = 0
        self._context = _pool_context()  # chosen once: a restart starts workers the same way
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # with fork the workers' parent is this process; with a fork server it is the
        # server, which ends when this process does (and its workers with it)
        parent = os.getpid() if self._context.get_start_method() == "fork" else None
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=ignore_sigint,
            initargs=(parent,),
        )
        # start the workers now (with fork: all of them, here); if this fails, the workers
        # died before running anything, and the tasks in flight are not to blame
        self._warm_up = pool.submit(os.getpid)
        return pool

    def _died_at_start(self) -> bool:
        """Whether the workers of the pool that just broke died before any work."""
        try:
            return isinstance(self._warm_up.exception(timeout=10), BrokenProcessPool)
        except TimeoutError:  # pragma: no cover - a broken pool resolves every future
            return True

    def imap_unordered(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        queue = collections.deque(range(len(tasks)))
        suspects: collections.deque[int] = collections.deque()  # in flight when a worker died
        crashes: dict[int, int] = {}
        running: dict[Future[R], int] = {}
        stalls = 0  # restarts in a row without a task back: the pool cannot keep workers alive
        try:
            while queue or suspects or running:
                feed, limit = (suspects, 1) if suspects else (queue, 2 * self.workers)
                broken = False
                while feed and len(running) < limit:
                    try:
                        running[self._pool.submit(fn, tasks[feed[0]])] = feed[0]
                    except BrokenProcessPool:
                        broken = True
                        break
                    feed.popleft()
                done = wait(running, return_when=FIRST_COMPLETED)[0] if running else set()
                if broken or any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    done, broken = wait(running)[0], True  # a broken pool fails all it holds
                lost = []
                for future in sorted(done, key=running.__getitem__):
                    index = running.pop(future)
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        lost.append(index)
                    else:
                        stalls = 0
                        yield index, (error if error is not None else future.result())
                if not broken:
                    continue
                if not lost or self._died_at_start():
                    stalls += 1  # the workers die whatever they run: no task is to blame
                    if stalls > MAX_CRASHES:
                        raise RuntimeError("the process pool cannot keep its workers running")
                    self._restart()
                    for index in reversed(lost):
                        (suspects if index in crashes else queue).appendleft(index)
                    continue
                stalls = 0
                self._restart()
                for index in lost:
                    crashes[index] = crashes.get(index, 0) + 1
                    if crashes[index] < MAX_CRASHES:
                        suspects.append(index)
                    else:
                        yield index, WorkerCrashedError(_crash_message(crashes[index]))
        finally:
            for future in running:
                future.cancel()

    def _restart(self) -> None:
        stop_at_once(self._pool)
        self._pool = self._start()
        self.restarts += 1

    def close(self) -> None:
        """Stop the workers at once (running tasks are abandoned, as after Ctrl-C)."""
        stop_at_once(self._pool)


def _crash_message(deaths: int) -> str:
    return (
        f"its worker process died {deaths} times (a crash, a signal or out of memory; "
        "the pool was restarted and the other tasks went on)"
    )


def _import_simulator() -> None:
    for module in POOL_PRELOAD:
        importlib.import_module(module)


class DaskExecutor:
    """A Dask distributed cluster: an existing scheduler (``address``) or a LocalCluster of
    ``local_workers`` single-threaded processes started (and stopped) here."""

    name = "dask"

    def __init__(self, address: str | None = None, local_workers: int | None = None) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError as err:  # pragma: no cover - depends on the installed extras
            raise RuntimeError(
                "Dask is not installed: pip install 'parcours[dask]' (the distributed package)"
            ) from err
        self._cluster: Any = None
        if address is None:
            self._cluster = distributed.LocalCluster(
                n_workers=local_workers or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # a free port on this machine only
            )
            self._client: Any = distributed.Client(self._cluster)
        else:
            self._client = distributed.Client(address)
        self.address = address or str(self._cluster.scheduler_address)
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()))
        try:  # import the simulator on every worker now: start-up, not the first tasks, pays
            self._client.run(_import_simulator)
        except ImportError as err:
            self.close()
            raise RuntimeError(
                f"the Dask workers cannot import the simulator ({err}): install parcours there"
            ) from err

    def imap_unordered(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        as_completed: Any = importlib.import_module("distributed").as_completed
        # pure=False: identical tasks are separate computations, never merged into one key.
        futures = [self._client.submit(fn, t, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                error = future.exception()
                yield index[future.key], (error if error is not None else future.result())
                future.release()
        finally:
            self._client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def make_executor(
    workers: int = 1, scheduler: str | None = None, dask_local: int | None = None
) -> Executor:
    """Serial for one worker, a process pool for more, Dask when a scheduler or local cluster
    is asked for."""
    if scheduler is not None or dask_local is not None:
        return DaskExecutor(scheduler, dask_local)
    if workers <= 1:
        return SerialExecutor()
    return PoolExecutor(workers)


MAX_CHUNK_RUNS = 50
TASKS_PER_WORKER = 16


def chunk_size(runs: int, workers: int, requested: int | None = None) -> int:
    """Runs per task: about 16 tasks per worker (balance), at most 50 runs (latency)."""
    if requested:
        return requested
    if workers <= 1:
        return 1
    return max(1, min(MAX_CHUNK_RUNS, runs // (workers * TASKS_PER_WORKER)))

"""Where sweep tasks run: in this process, on a local process pool, or on a Dask cluster.

Every executor takes a picklable function and a list of tasks and yields ``(index, result)``
pairs as tasks complete, in any order; a task that raised yields its exception instead of a
result, so one failure never stops the others. The results must not depend on the executor:
tasks carry everything they need (scenario, seed, replication indices) and draw their random
numbers from streams keyed by those values, never from a generator shared between processes.

Dask hashes a call's function and arguments to name it and runs identical calls once; sweep
tasks are submitted with ``pure=False`` so that each gets its own key.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

POOL_PRELOAD = ["sim.sweep"]
"""Modules the fork server imports once, so that pool workers start warm."""


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


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them after saving what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


class PoolExecutor:
    """A local process pool with ``workers`` processes."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_pool_context(), initializer=_ignore_sigint
        )
        self._pool.submit(os.getpid)  # start the workers now (with fork: all of them, here)

    def imap_unordered(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        futures: dict[Future[R], int] = {self._pool.submit(fn, t): i for i, t in enumerate(tasks)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=futures.__getitem__):
                    error = future.exception()
                    yield futures[future], (error if error is not None else future.result())
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the workers at once (running tasks are abandoned, as after Ctrl-C)."""
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)


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
                dashboard_address=None,
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

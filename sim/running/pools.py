"""Local process pools that stop at once on Ctrl-C.

Workers ignore SIGINT, so Ctrl-C reaches only the main process, which then cancels what is
queued and ends the workers instead of waiting for every queued job (whose results would be
discarded anyway).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def ignore_sigint(parent: int | None = None) -> None:
    """Worker initializer: leave Ctrl-C to the main process, which stops the workers, and
    die with the process that started this worker (see :func:`die_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to kill this process when its parent dies, whatever killed the parent
    (``kill -9`` included): no worker is left running as an orphan.

    ``parent`` is the pid the parent had: if it is already gone (it died between the fork
    and this call, so the signal will never come), exit at once. Elsewhere than Linux this
    does nothing (the pool's own checks then end the workers)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def interruptible_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers leave Ctrl-C to the main process and die with it."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=ignore_sigint, initargs=(os.getpid(),)
    )


def stop_at_once(pool: ProcessPoolExecutor) -> None:
    """Cancel queued jobs and end the workers without waiting for running ones
    (``terminate_workers`` is public from Python 3.14 only). Errors while stopping are
    suppressed, so they never hide the Ctrl-C or the failure that led here."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)
    if isinstance(manager, threading.Thread):
        manager.join(timeout=5)  # gone, so that a new pool can fork again (no threads)

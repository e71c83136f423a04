"""Local process pools that stop at once on Ctrl-C.

Workers ignore SIGINT, so Ctrl-C reaches only the main process, which then cancels what is
queued and ends the workers instead of waiting for every queued job (whose results would be
discarded anyway).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from concurrent.futures import ProcessPoolExecutor


def ignore_sigint() -> None:
    """Worker initializer: leave Ctrl-C to the main process, which stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interruptible_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers leave Ctrl-C to the main process."""
    return ProcessPoolExecutor(max_workers=workers, initializer=ignore_sigint)


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

"""Local process pools that stop at once on Ctrl-C.

Workers ignore SIGINT, so Ctrl-C reaches only the main process, which then cancels what is
queued and ends the workers instead of waiting for every queued job (whose results would be
discarded anyway).
"""

from __future__ import annotations

import signal
from concurrent.futures import ProcessPoolExecutor


def ignore_sigint() -> None:
    """Worker initializer: leave Ctrl-C to the main process, which stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interruptible_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers leave Ctrl-C to the main process."""
    return ProcessPoolExecutor(max_workers=workers, initializer=ignore_sigint)


def stop_at_once(pool: ProcessPoolExecutor) -> None:
    """Cancel queued jobs and end the workers without waiting for running ones.
    ``terminate_workers`` is public from Python 3.14 only."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)

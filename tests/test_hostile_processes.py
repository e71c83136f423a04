"""No orphans: after ``kill -9`` of a command (only of the command, not of its process group),
its pool or Dask workers end within seconds instead of running on with PPID 1."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
ORPHAN_GRACE = 5.0
"""Seconds the workers may outlive their parent (the issue's bound)."""
CHECK_MARGIN = 10.0
"""Extra seconds on a loaded machine before an orphan counts as left running."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)"),
]


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("PPid")), ""
        )
        if ppid == str(pid):
            found.add(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_9_and_check_no_orphans(args: list[str], workers_expected: int) -> None:
    """Start ``parcours ARGS``, wait for its workers, ``kill -9`` it alone, and check that
    every process it started is gone within the grace period."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(workers) < workers_expected:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.2)
            workers = descendants(proc.pid)
        time.sleep(1.0)  # let them take work
        workers = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the command only: its workers must notice
        proc.wait()
        deadline = time.monotonic() + ORPHAN_GRACE + CHECK_MARGIN
        left = {p for p in workers if alive(p)}
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = {p for p in workers if alive(p)}
        assert not left, f"orphans still running {ORPHAN_GRACE + CHECK_MARGIN:.0f} s later: {left}"
    finally:
        for pid in descendants(proc.pid) | workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()


def sweep_args(out: Path) -> list[str]:
    return [
        "sweep",
        str(MMC),
        "--set",
        "end=2004-01-01",
        "--range",
        "nodes.queue.capacity=380:420:40",
        "-n",
        "20",
        "--out",
        str(out),
        "--quiet",
    ]


def test_kill_9_of_a_sweep_leaves_no_pool_worker(tmp_path: Path) -> None:
    kill_9_and_check_no_orphans([*sweep_args(tmp_path / "s"), "--workers", "2"], 2)


def test_kill_9_of_a_calibration_leaves_no_pool_worker(tmp_path: Path) -> None:
    import yaml

    from tests.test_calibrate import heavy_data

    path = tmp_path / "heavy.yaml"
    path.write_text(yaml.safe_dump(heavy_data(), sort_keys=False), encoding="utf-8")
    args = ["calibrate", str(path), "--workers", "2", "--out", str(tmp_path / "cal")]  # ABC-SMC
    kill_9_and_check_no_orphans(args, 2)


def test_kill_9_of_a_dask_local_sweep_leaves_no_worker(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    kill_9_and_check_no_orphans([*sweep_args(tmp_path / "s"), "--dask-local", "2"], 2)

"""Driving a command in a subprocess as a user at a terminal would: start it in its own
process group, press Ctrl-C, and check that nothing of it is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start_command(*args: str) -> subprocess.Popen[str]:
    """``python -m sim ARGS`` in a new process group (as a terminal runs a command)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def press_ctrl_c(proc: subprocess.Popen[str], within: float) -> str:
    """Send SIGINT to the command's process group (what Ctrl-C does) and return its stderr.

    A command still running ``within`` seconds later hangs on Ctrl-C: it is killed, and
    its return code is then that of SIGKILL, not the 130 of an interrupted command."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
    return stderr


def assert_nothing_left_running(proc: subprocess.Popen[str], within: float = 15.0) -> None:
    """No process of the command's group (its workers) is still alive ``within`` seconds
    (stopping joins each worker for up to 5 s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"processes of the command's group still run {within:.0f} s after it exited")

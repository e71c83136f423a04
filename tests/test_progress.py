"""Progress off a terminal: a long command writes one line per task to stderr every few
seconds (``PARCOURS_PROGRESS_SECONDS``), so logs and CI show it is alive and when it ends."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from sim.cli.common import PROGRESS_SECONDS, ProgressLines, new_progress
from sim.cli.main import main
from tests.processes import ROOT
from tests.test_calibrate import tiny_data

LINE = re.compile(r"^(?P<task>[^:]+): (?P<done>\d+)/(?P<total>\d+) \((?P<pct>\d+)%\).*elapsed")


def _tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    return path


def test_lines_say_done_total_and_time_left() -> None:
    out = io.StringIO()
    bar = ProgressLines(Console(file=out, force_terminal=False), interval=0.02)
    with bar:
        task = bar.add_task("replications", total=10, note="")
        for _ in range(4):
            bar.advance(task, 1)
            time.sleep(0.05)
    lines = out.getvalue().splitlines()
    assert lines, "no progress line in 0.2 s with a 0.02 s interval"
    assert all(LINE.match(line) for line in lines), lines
    assert "ETA" in lines[0]
    assert lines[-1].startswith("replications: 4/10 (40%)")  # the last line says where it ended


def test_a_short_command_prints_no_progress_line() -> None:
    out = io.StringIO()
    with ProgressLines(Console(file=out, force_terminal=False), interval=60) as bar:
        bar.add_task("replications", total=3, completed=3)
    assert out.getvalue() == ""


def test_off_a_terminal_the_command_progress_is_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROGRESS_SECONDS, "0.5")
    bar = new_progress()  # pytest captures stderr: not a terminal
    assert isinstance(bar, ProgressLines)
    assert bar.interval == 0.5


def test_run_prints_progress_lines_to_a_pipe(tmp_path: Path) -> None:
    env = {**os.environ, PROGRESS_SECONDS: "0.05"}
    out = tmp_path / "run"
    args = ["run", str(_tiny(tmp_path)), "-n", "30", "--workers", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if LINE.match(line)]
    assert lines, done.stderr
    assert all(line.startswith("queue: ") for line in lines)
    assert lines[-1].startswith("queue: 30/30 (100%)")
    assert "\x1b[" not in done.stderr  # no terminal escape codes in a log


@pytest.mark.slow
def test_calibrate_shows_progress_and_keeps_its_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROGRESS_SECONDS, "0.05")
    out = tmp_path / "abc"
    args = ["calibrate", str(_tiny(tmp_path)), "--population", "20", "--generations", "2",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("ABC-SMC")]
    assert lines, result.output
    assert lines[-1].startswith("ABC-SMC particles accepted: 40/40 (100%)"), lines
    assert (out / "history.db").exists()


def test_eta_falls_back_on_the_mean_rate_when_rich_has_no_recent_sample() -> None:
    bar = ProgressLines(Console(file=io.StringIO(), force_terminal=False), interval=60)
    task_id = bar.add_task("runs", total=10, completed=5)  # no advance: rich has no speed
    task = bar.tasks[task_id]
    time.sleep(0.01)
    assert task.time_remaining is None
    remaining = ProgressLines.remaining(task)
    assert remaining is not None
    assert remaining == pytest.approx(task.elapsed, rel=0.2)  # half done: as long again
    assert "ETA ?" not in bar.line(task)

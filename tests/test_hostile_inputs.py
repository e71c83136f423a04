"""The hostile-input corpus: files built to hang or exhaust the loader, implausible sizes,
``--force`` aimed at a user's own folder, read-only and full destinations, concurrent writers.

Each case checks the exit code, the one-line message, a generous hang guard (not a speed
measure) and that nothing was lost or half-written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli.main import main
from sim.inputs import loading
from sim.inputs.loading import ScenarioError, load_scenario
from sim.running import folders, results

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "bad_inputs" / "_base.yaml"
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
QUICK = ["--set", "end=2001-01-01", "--set", "warmup=0", "-n", "1", "--workers", "1"]
HANG_GUARD = 60.0
"""Seconds after which a command counts as hung (the cases answer in about a second)."""


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def run_cli(*args: str, cwd: Path = ROOT) -> tuple[int, str, float]:
    """``parcours ARGS`` in a subprocess, killed past the hang guard: (code, stderr, seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    return proc.returncode, proc.stderr, time.monotonic() - started


# --- files that expand without end ------------------------------------------------------------


def mapping_bomb() -> str:
    """A 9-level billion laughs of mappings: 10^9 values once expanded."""
    lines = ["calibration:", "  a: &a {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
    previous = "a"
    for name in "bcdefghi":
        refs = ", ".join(f"k{i}: *{previous}" for i in range(10))
        lines.append(f"  {name}: &{name} {{{refs}}}")
        previous = name
    return "\n".join(lines)


def merge_bomb() -> str:
    """Lists inside ``<<`` merges, each level merging and repeating the one before."""
    lines = ["calibration:", "  a: &a {x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}"]
    previous = "a"
    for i, name in enumerate("bcdefghi"):
        refs = ", ".join(f"*{previous}" for _ in range(10))
        lines.append(f"  {name}: &{name} {{<<: [*{previous}], k{i}: [{refs}]}}")
        previous = name
    return "\n".join(lines)


def wide_file() -> str:
    """Five levels of ten keys: 111,110 values without a single alias."""
    lines = ["calibration:"]

    def level(depth: int, indent: int) -> None:
        for i in range(10):
            if depth == 0:
                lines.append(" " * indent + f"k{i}: {i}")
            else:
                lines.append(" " * indent + f"k{i}:")
                level(depth - 1, indent + 2)

    level(4, 2)
    return "\n".join(lines)


def deep_file() -> str:
    return "calibration: " + "[" * 5000 + "]" * 5000


BOMBS = {
    "mapping_bomb": (mapping_bomb, "expands to more than"),
    "merge_bomb": (merge_bomb, "expands to more than"),
    "wide_111k_values": (wide_file, "larger than"),
    "deep_nesting": (deep_file, "nested more than"),
}


def write_hostile(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {BASE}\n{body}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_is_refused_while_it_is_read(name: str, tmp_path: Path) -> None:
    make, message = BOMBS[name]
    path = write_hostile(tmp_path, name, make())
    started = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert time.monotonic() - started < HANG_GUARD
    assert len(info.value.problems) == 1
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:1: <document>: ")


@pytest.mark.parametrize("name", ["mapping_bomb", "merge_bomb"])
@pytest.mark.parametrize("command", ["validate", "run", "diagram", "diff"])
def test_every_command_refuses_a_bomb_with_one_line(
    name: str, command: str, tmp_path: Path
) -> None:
    make, message = BOMBS[name]
    path = write_hostile(tmp_path, name, make())
    args = {
        "validate": ["validate", str(path)],
        "run": ["run", str(path), "--out", str(tmp_path / "out")],
        "diagram": ["diagram", str(path), "--out", str(tmp_path / "out.svg")],
        "diff": ["diff", str(path), str(BASE)],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing written


def test_a_50_mb_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "w", encoding="utf-8") as file:
        file.write(f"extends: {BASE}\ncalibration:\n")
        line = "  - 1234567890\n"
        file.write(line * (50_000_000 // len(line)))
    code, stderr, seconds = run_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert code == 2, stderr
    assert "larger than 1,000,000 bytes" in one_error_line(stderr)
    assert seconds < HANG_GUARD
    assert not (tmp_path / "out").exists()


def test_an_endless_file_is_read_only_up_to_the_limit() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario("/dev/zero")


def test_a_file_of_many_plain_values_stops_at_the_node_limit(tmp_path: Path) -> None:
    path = write_hostile(tmp_path, "dense", "calibration: [" + "1, " * 100_000 + "1]")
    with pytest.raises(ScenarioError, match="holds more than"):
        load_scenario(path)


def test_forgetting_locations_is_linear() -> None:
    """Forgetting below a path visits only what it forgets (the old scan was quadratic)."""
    where = loading.Locations()
    for i in range(20_000):
        where[("nodes", f"n{i}", "capacity")] = ("f", i + 1)
    where[("keep",)] = ("f", 1)
    for i in range(20_000):
        loading._forget(where, ("nodes", f"n{i}"))
    assert list(where) == [("keep",)]
    where[("a", "b", "c")] = ("f", 2)
    loading._forget(where, ("a",))
    assert ("a", "b", "c") not in where


def test_shipped_scenarios_are_far_below_the_limits() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        reader = loading._SafeLoader(path.read_text(encoding="utf-8"))
        reader.get_single_node()
        assert reader.nodes * 10 < loading.MAX_NODES, path
        assert path.stat().st_size * 10 < loading.MAX_FILE_BYTES, path


# --- implausible sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "figure", "flag"),
    [
        (["--set", "nodes.street.initial.count=100000000000"], "100,000,", "--limit people="),
        (["-n", "10000000"], "10,000,000 runs", "--limit replications="),
        (["--set", "end=9999-12-31"], "simulated years: 7,", "--limit years="),
        (
            ["--set", "nodes.assore.capacity.-1.value=1000000000"],
            "1,000,000,000 places",
            "--limit capacity=",
        ),
    ],
    ids=["huge_count", "huge_n", "far_horizon", "huge_capacity"],
)
def test_an_implausible_size_stops_before_running(
    extra: list[str], figure: str, flag: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    result = CliRunner().invoke(main, ["run", str(BASE), "--out", str(out), *extra])
    assert time.monotonic() - started < HANG_GUARD
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert figure in line, line
    assert flag in line, line
    assert "--no-limits" in line, line
    assert not out.exists()


def test_a_raised_limit_lets_the_run_go(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(MMC), *QUICK, "--out", str(out), "--quiet"]
    refused = CliRunner().invoke(main, [*args, "--limit", "years=0.5"])
    assert refused.exit_code == 2
    assert "--limit years=" in refused.output
    assert CliRunner().invoke(main, [*args, "--limit", "years=2"]).exit_code == 0
    assert (out / "kpis.csv").exists()


# --- --force ----------------------------------------------------------------------------------


def run_args(out: Path | str) -> list[str]:
    return ["run", str(MMC), *QUICK, "--out", str(out), "--quiet"]


def test_force_never_deletes_a_folder_of_the_users_files(tmp_path: Path) -> None:
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    result = CliRunner().invoke(main, [*run_args(thesis), "--force"])
    assert result.exit_code == 2
    assert "not a results folder written by parcours" in one_error_line(result.output)
    assert (thesis / "chapter1.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # no temporary left


def test_force_refuses_the_current_folder_and_its_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    (here / "keep.txt").write_text("mine")
    monkeypatch.chdir(here)
    for target in (".", "..", str(tmp_path)):
        result = CliRunner().invoke(main, [*run_args(target), "--force"])
        assert result.exit_code == 2, result.output
        assert "current folder or one of its parents" in one_error_line(result.output)
    assert (here / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in here.parent.iterdir()) == ["b"]


def test_force_refuses_a_parcours_folder_holding_a_file_added_later(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(main, run_args(out)).exit_code == 0
    (out / "notes.md").write_text("my reading of the results")
    later = time.time() + 3600  # written after the manifest, however fast this test runs
    os.utime(out / "notes.md", (later, later))
    result = CliRunner().invoke(main, [*run_args(out), "--force"])
    assert result.exit_code == 2
    assert "notes.md, which parcours did not write" in one_error_line(result.output)
    assert (out / "notes.md").exists()
    (out / "notes.md").unlink()
    assert CliRunner().invoke(main, [*run_args(out), "--force"]).exit_code == 0


def test_force_refuses_a_file_and_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("mine")
    with pytest.raises(folders.OutputExistsError, match="not a folder"):
        folders.check_destination(target, force=True)
    real = tmp_path / "real"
    assert CliRunner().invoke(main, run_args(real)).exit_code == 0
    link = tmp_path / "link"
    link.symlink_to(real)
    assert "symbolic link" in one_error_line(
        CliRunner().invoke(main, [*run_args(link), "--force"]).output
    )
    assert (real / "manifest.json").exists()
    assert target.read_text() == "mine"


def test_a_failed_final_rename_leaves_no_temporary_and_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(main, run_args(out)).exit_code == 0
    before = (out / "manifest.json").read_text()
    real_rename = Path.rename

    def failing(self: Path, target: Path | str) -> Path:
        if ".tmp-" in self.name:
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="cross-device"), results.atomic_dir(out, True) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (out / "manifest.json").read_text() == before


# --- destinations that cannot be written ------------------------------------------------------


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``where`` (skip the test where mounting is not allowed)."""
    where.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(
            "mounting a tmpfs needs root (as in CI); a read-only or full disk is not simulated"
        )
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_destination_fails_before_any_work(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "ro", "size=4m,ro") as ro:
        started = time.monotonic()
        result = CliRunner().invoke(main, run_args(ro / "out"))
        assert time.monotonic() - started < HANG_GUARD
        assert result.exit_code == 2, result.output
        line = one_error_line(result.output)
        assert "cannot write in" in line, line
        assert "Read-only file system" in line, line


def test_a_full_destination_fails_before_any_work(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "full", "size=1m") as full:
        result = CliRunner().invoke(main, run_args(full / "out"))
        assert result.exit_code == 2, result.output
        line = one_error_line(result.output)
        assert "MB free in" in line or "No space left" in line, line
        assert not (full / "out").exists()
        assert [p.name for p in full.iterdir()] == []


def test_a_write_failure_at_the_end_keeps_the_results_in_a_named_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    real = results.write_run

    def disk_full_at_out(result: results.RunResult, target: Path, *a: object, **k: object) -> Path:
        if Path(target) == out:
            raise OSError(errno.ENOSPC, "No space left on device", str(out))
        return real(result, target, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(results, "write_run", disk_full_at_out)
    result = CliRunner().invoke(main, run_args(out))
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert "No space left on device" in line, line
    assert "kept in " in line, line
    rescue = Path(line.split("kept in ", 1)[1].strip())
    assert (rescue / "kpis.csv").exists()
    assert (rescue / "manifest.json").exists()
    assert not out.exists()


# --- concurrent writers -----------------------------------------------------------------------


@contextlib.contextmanager
def held_by_another_process(folder: Path) -> Iterator[int]:
    """Hold ``folder``'s lock in another process; yield that process's pid."""
    code = (
        "import sys, time\n"
        "from sim.running.folders import folder_lock\n"
        "with folder_lock(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_second_writer_is_refused_at_once_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with held_by_another_process(out) as pid:
        started = time.monotonic()
        result = CliRunner().invoke(main, run_args(out))
        assert time.monotonic() - started < HANG_GUARD
        assert result.exit_code == 2, result.output
        line = one_error_line(result.output)
        assert f"being written by another parcours process (pid {pid})" in line, line
    assert not out.exists()


def test_two_runs_to_one_folder_the_second_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(MMC),
            "--set",
            "end=2004-01-01",
            "-n",
            "8",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD
        while not folders.lock_path(out).exists() and first.poll() is None:
            assert time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.05)
        second = CliRunner().invoke(main, run_args(out))
        assert second.exit_code == 2, second.output
        assert f"pid {first.pid}" in one_error_line(second.output)
        _, stderr = first.communicate(timeout=300)
        assert first.returncode == 0, stderr
    finally:
        first.kill()
    assert (out / "kpis.csv").exists()
    assert "-n 8" in (out / "manifest.json").read_text()  # the first run's folder, whole
    assert not folders.lock_path(out).exists()


def test_two_resumes_of_one_sweep_the_second_fails(tmp_path: Path) -> None:
    from sim.cli.sweep import sweep

    out = tmp_path / "sweep"
    args = [str(MMC), "--set", "end=2001-01-01", "--set", "warmup=0", "-n", "1"]
    args += ["--grid", "nodes.queue.capacity=380,400", "--workers", "1", "--quiet"]
    made = CliRunner().invoke(sweep, [*args, "--out", str(out)])
    assert made.exit_code == 0, made.output
    before = (out / "manifest.json").read_text()
    with held_by_another_process(out) as pid:
        result = CliRunner().invoke(sweep, ["--resume", str(out), "--workers", "1", "--quiet"])
        assert result.exit_code == 2, result.output
        assert f"pid {pid}" in one_error_line(result.output)
    assert (out / "manifest.json").read_text() == before


# --- smaller points: tolerances, hints, --set blame -------------------------------------------


@pytest.mark.parametrize("second", ["0.499999", "0.500001"])
def test_routing_sums_are_allowed_the_same_slack_above_and_below_1(second: str) -> None:
    routing = f"nodes.street.exit_routing={{lost: 0.5, housed: {second}}}"
    assert load_scenario(BASE, [routing]).nodes["street"].exit_routing is not None


@pytest.mark.parametrize(("second", "total"), [("0.499998", "0.999998"), ("0.500002", "1.000002")])
def test_a_routing_sum_off_by_more_says_the_actual_sum(second: str, total: str) -> None:
    routing = f"nodes.street.exit_routing={{lost: 0.5, housed: {second}}}"
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, [routing])
    assert f"(they sum to {total}, off by" in str(info.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "nodes.assore.routing.housing=0.5",
            "--set:1: nodes.assore.routing: probabilities must sum to 1 (they sum to 0.5",
        ),
        (
            "nodes.assore.capacity.0.from=2030-01-01",
            "--set:1: nodes.assore.capacity: schedule dates must be strictly increasing",
        ),
    ],
)
def test_an_error_a_set_caused_points_at_the_set(override: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, [override])
    assert str(info.value).startswith(expected), str(info.value)
    assert f"of {BASE}" in str(info.value)  # and where the block itself is written


@pytest.mark.parametrize(
    ("written", "hint"),
    [("1e3", "write 1.0e+3 or 1000"), ("1.0e12", "write 1.0e+12 or 1000000000000")],
)
def test_the_exponent_hint_speaks_of_the_value_written(written: str, hint: str) -> None:
    import yaml

    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, [f"nodes.street.arrivals_per_year={written}"])
    assert f"YAML reads {written} as text; {hint}" in str(info.value)
    assert isinstance(yaml.safe_load(hint.split()[1]), float)  # the advice reads as a number


def test_report_on_a_folder_missing_its_series_says_so(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert CliRunner().invoke(main, run_args(out)).exit_code == 0
    (out / "timeseries.parquet").unlink()
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 2, result.output
    assert "timeseries.parquet is missing" in one_error_line(result.output)


@pytest.mark.parametrize("command", ["compare", "sweep", "calibrate"])
def test_every_command_that_runs_checks_the_limits_first(command: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    far = ["--set", "end=9999-12-31"]
    args = {
        "compare": ["compare", str(BASE), str(BASE), *far, "--out", str(out)],
        "sweep": [
            "sweep",
            str(MMC),
            *far,
            "--grid",
            "nodes.queue.capacity=400,410",
            "--out",
            str(out),
        ],
        "calibrate": [
            "calibrate",
            str(ROOT / "scenarios" / "history-2019-2023.yaml"),
            *far,
            "--out",
            str(out),
        ],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "--limit years=" in result.output
    assert not out.exists()


def test_a_calibration_holds_one_replication_per_worker_in_memory() -> None:
    """A calibration keeps observations only: its thousands of runs are not all in memory."""
    from sim.running import limits

    sc = load_scenario(ROOT / "scenarios" / "history-2019-2023.yaml")
    every = limits.figures(sc, 10_000, 2)
    held = limits.figures(sc, 10_000, 2, kept=2)
    assert held["memory"] * 4_000 < every["memory"]
    assert held["hours"] == every["hours"]
    limits.check([sc], 10_000, 2, kept=2)

"""The command line end to end on the shipped scenarios (click's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.main import main
from tests.conftest import SCENARIOS

SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "verification").glob("*.yaml"))


def test_validate_accepts_every_shipped_scenario() -> None:
    result = CliRunner().invoke(main, ["validate", *map(str, SHIPPED)])
    assert result.exit_code == 0, result.output
    assert f"{len(SHIPPED)} scenario file(s) valid" in result.output


def test_schema_is_json_with_the_node_kinds() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    kinds = {"StreetNode", "OutreachNode", "RestSpaceNode", "AccommodationNode", "DownstreamNode"}
    assert kinds <= set(schema["$defs"])


@pytest.mark.parametrize(
    "scenario",
    # etape2-610 also runs end to end in the fast tier (test_run_works_on_every_shipped_scenario)
    ["history-2019-2023.yaml", pytest.param("etape2-610.yaml", marks=pytest.mark.slow)],
)
def test_run_writes_a_complete_run_folder(scenario: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "run",
        str(SCENARIOS / scenario),
        "-n",
        "2",
        "--seed",
        "3",
        "--point",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    files = {p.name for p in out.iterdir()}
    expected = {
        "manifest.json",
        "timeseries.parquet",
        "episodes.parquet",
        "kpis.csv",
        "summary.csv",
        "scenario.yaml",
        "series-by-month.csv",
        "series-by-year.csv",
    }
    assert expected <= files
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["replications"] == 2
    assert len(manifest["scenarios"][0]["sha256"]) == 64
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(kpis["replication"]) == [0, 1]
    assert any(c.startswith("obs.") for c in kpis.columns)
    series = pd.read_parquet(out / "timeseries.parquet")
    assert {"street", "occupancy.assore", "waiting.assore", "blocked.assore"} <= set(series.columns)
    assert len(series) == 2 * series["day"].nunique()
    assert "ASSORE" in result.output  # the table names nodes by their display name


def _tiered(scenario: Path) -> object:
    """The étape-2 alternatives (the files extending etape2-610) each run about as long as
    their reference: the fast tier runs the reference, the full suite every file."""
    alternative = scenario.stem.startswith("etape2-") and scenario.stem != "etape2-610"
    marks = [pytest.mark.slow] if alternative else []
    return pytest.param(scenario, marks=marks, id=scenario.stem)


@pytest.mark.parametrize("scenario", [_tiered(p) for p in SHIPPED])
def test_run_works_on_every_shipped_scenario(scenario: Path, tmp_path: Path) -> None:
    """Each shipped file runs end to end; its daily series covers [start, end) exactly."""
    out = tmp_path / "run"
    args = ["run", str(scenario), "-n", "2", "--workers", "2", "--point", "--out", str(out)]
    args.append("--quiet")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    resolved = json.loads((out / "manifest.json").read_text())["scenarios"][0]["resolved"]
    start, end = (pd.Timestamp(resolved[k]) for k in ("start", "end"))
    series = pd.read_parquet(out / "timeseries.parquet")
    assert sorted(series["replication"].unique()) == [0, 1]
    assert series.groupby("replication")["day"].nunique().eq((end - start).days).all()
    summary = pd.read_csv(out / "summary.csv")
    street = summary.set_index("kpi").loc["street.mean"]
    assert street["n"] == 2
    kpis = pd.read_csv(out / "kpis.csv")
    assert street["mean"] == pytest.approx(kpis["street.mean"].mean())


def test_run_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    mmc = str(SCENARIOS / "verification" / "mmc.yaml")
    args = [
        "run",
        mmc,
        "-n",
        "1",
        "--set",
        "end=2001-01-01",
        "--set",
        "warmup=0",
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert (out / "keep.txt").read_text() == "precious"
    result = CliRunner().invoke(main, [*args, "--force"])
    assert result.exit_code == 2, result.output  # --force replaces only a parcours folder
    assert "not a results folder written by parcours" in result.output
    assert (out / "keep.txt").read_text() == "precious"
    (out / "keep.txt").unlink()
    out.rmdir()
    assert CliRunner().invoke(main, args).exit_code == 0
    first = (out / "kpis.csv").read_text()
    # a stale file --force must replace (the manifest's time has whole seconds: two runs in
    # one second write the same manifest, so it cannot show the replacement)
    (out / "kpis.csv").write_text("stale")
    result = CliRunner().invoke(main, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert (out / "kpis.csv").read_text() == first


def test_set_override_is_recorded_in_the_resolved_scenario(tmp_path: Path) -> None:
    out = tmp_path / "run"
    mmc = str(SCENARIOS / "verification" / "mmc.yaml")
    args = [
        "run",
        mmc,
        "-n",
        "1",
        "--set",
        "end=2001-01-01",
        "--set",
        "warmup=0",
        "--set",
        "nodes.queue.capacity=123",
        "--set",
        "nodes.queue.initial.occupancy=100",
        "--out",
        str(out),
        "--quiet",
    ]
    assert CliRunner().invoke(main, args).exit_code == 0
    resolved = json.loads((out / "manifest.json").read_text())["scenarios"][0]["resolved"]
    assert resolved["nodes"]["queue"]["capacity"] == 123
    assert resolved["nodes"]["queue"]["initial"]["occupancy"] == 100
    assert resolved["end"] == "2001-01-01"


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_a_parallel_run_at_once_and_writes_nothing(tmp_path: Path) -> None:
    """A real SIGINT to the command's process group (what Ctrl-C sends) while two workers
    have many replications queued: it stops promptly, says so, leaves no folder or worker."""
    import time

    from tests.processes import assert_nothing_left_running, press_ctrl_c, start_command

    out = tmp_path / "run"
    args = [
        "run",
        str(SCENARIOS / "history-2019-2023.yaml"),
        "-n",
        "2000",
        "--workers",
        "2",
        "--point",
    ]
    proc = start_command(*args, "--out", str(out))
    deadline = time.monotonic() + 60
    while len(children(proc.pid)) < 2:  # the two workers have started on the queue
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    time.sleep(1.0)  # into the queue: a few minutes of work for two workers
    stderr = press_ctrl_c(proc, within=30)  # a hang guard: waiting for the queue takes minutes
    assert proc.returncode == 130, stderr
    assert "interrupted: nothing written" in stderr
    assert "Traceback" not in stderr, stderr
    assert_nothing_left_running(proc)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command", ["run", "compare", "calibrate", "replications", "welch", "sweep", "sensitivity"]
)
def test_every_command_that_runs_replications_offers_every_executor(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--workers", "--dask-local", "--scheduler"):
        assert option in result.output, (command, option)


def _lang_options() -> dict[str, click.Option]:
    options = {}
    for name, command in main.commands.items():
        for param in command.params:
            if param.name == "lang" and isinstance(param, click.Option):
                options[name] = param
    return options


def test_every_command_that_writes_words_takes_lang_with_one_default() -> None:
    options = _lang_options()
    drawing = {"plot", "plot-sweep", "report", "diagram", "calibrate", "sensitivity"}
    assert drawing | {"compare", "table"} <= set(options)
    for name, option in options.items():
        assert (option.default, option.envvar) == ("en", "PARCOURS_LANG"), name


def test_the_language_can_be_set_once_for_a_session() -> None:
    path = SCENARIOS / "etape2-610.yaml"
    english = CliRunner().invoke(main, ["diagram", str(path), "--format", "mermaid"])
    french = CliRunner(env={"PARCOURS_LANG": "fr"}).invoke(
        main, ["diagram", str(path), "--format", "mermaid"]
    )
    assert english.exit_code == french.exit_code == 0, english.output + french.output
    assert "Street" in english.output
    assert "Street" not in french.output
    assert "Rue" in french.output

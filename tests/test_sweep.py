"""Sweeps: designs, up-front validation, identical results on every executor, resume after a
kill or Ctrl-C, failed points, output folders and charts. Runs are tiny M/M/c queues."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result
from matplotlib.figure import Figure

from sim.analysis.sweep import (
    RunOutcome,
    SweepProgress,
    SweepSpec,
    Task,
    load_points,
    load_rows,
    load_sweep,
    load_sweep_file,
    make_tasks,
    parse_bounds,
    parse_grid,
    parse_range,
    plan_from_folder,
    plan_sweep,
    resolve_point,
    run_sweep,
    run_task,
    with_values,
)
from sim.cli.sweep import plot_sweep, sweep
from sim.inputs import loading
from sim.inputs.loading import ScenarioError, load_scenario
from sim.outputs.sweep_plots import parameter_label, sweep_chart
from sim.running.executors import PoolExecutor, WorkerCrashedError, chunk_size
from sim.running.folders import read_manifest
from tests.conftest import ROOT, SCENARIOS

sweep_module = importlib.import_module("sim.analysis.sweep")
store_module = importlib.import_module("sim.running.sweep_store")

MMC = SCENARIOS / "verification" / "mmc.yaml"
TINY = (
    "end=2002-01-01",
    "warmup=180",
    "nodes.street.arrivals_per_year=36",
    "nodes.queue.initial.occupancy=0",
    "nodes.queue.capacity=40",
)
"""M/M/c with ~36 arrivals a year for two years: a few milliseconds per run."""
SLOW = ("end=2003-01-01", "warmup=365")
"""The full-size M/M/c over three years: about 0.1 s per run (for the kill test)."""


def sets(overrides: tuple[str, ...]) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(sweep, list(args))


def tiny_spec(**kw: object) -> SweepSpec:
    base = {
        "scenario": MMC,
        "overrides": TINY,
        "axes": (parse_range("nodes.queue.capacity=25:45:3"),),
        "replications": 3,
        "seed": 11,
    }
    base.update(kw)
    return SweepSpec(**base)  # type: ignore[arg-type]


# --- designs -----------------------------------------------------------------------------------


def test_grid_and_range_give_the_full_factorial_in_order() -> None:
    spec = tiny_spec(
        axes=(
            parse_range("nodes.queue.capacity=30:40:3"),
            parse_grid("nodes.queue.readiness.mean=300,365.25"),
        )
    )
    plan = plan_sweep(spec)
    assert plan.parameters == ("nodes.queue.capacity", "nodes.queue.readiness.mean")
    assert [tuple(p.values()) for p in plan.points] == [
        (30, 300),
        (30, 365.25),
        (35, 300),
        (35, 365.25),
        (40, 300),
        (40, 365.25),
    ]
    assert all(isinstance(p["nodes.queue.capacity"], int) for p in plan.points)
    assert plan.runs == 6 * 3


def test_range_kinds_follow_the_written_bounds_and_the_current_value() -> None:
    plan = plan_sweep(tiny_spec(axes=(parse_range("nodes.queue.readiness.mean=300:400:5"),)))
    assert [p["nodes.queue.readiness.mean"] for p in plan.points] == [300, 325, 350, 375, 400]
    assert all(isinstance(p["nodes.queue.readiness.mean"], float) for p in plan.points)
    arrivals = "nodes.street.arrivals_per_year"  # a decimal field, written 36 in TINY
    plan = plan_sweep(tiny_spec(axes=(parse_range(f"{arrivals}=30:40:3"),)))
    assert [repr(p[arrivals]) for p in plan.points] == ["30", "35", "40"]
    plan = plan_sweep(tiny_spec(axes=(parse_range(f"{arrivals}=30:40.0:3"),)))
    assert [repr(p[arrivals]) for p in plan.points] == ["30.0", "35.0", "40.0"]
    with pytest.raises(ScenarioError, match="repeat values"):
        plan_sweep(tiny_spec(axes=(parse_range("nodes.queue.capacity=0:2:5"),)))
    with pytest.raises(ScenarioError, match="hi must not be below lo"):
        parse_range("nodes.queue.capacity=5:1:3")


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_space_filling_designs_stay_in_bounds_and_are_seeded(design: str) -> None:
    bounds = (
        parse_bounds("nodes.queue.capacity=20:60", ("--bounds", 1)),
        parse_bounds("nodes.queue.readiness.mean=200:400", ("--bounds", 2)),
    )
    spec = tiny_spec(axes=(), design=design, samples=16, bounds=bounds)
    points = plan_sweep(spec).points
    assert len(points) == 16
    capacity = np.array([p["nodes.queue.capacity"] for p in points])
    stay = np.array([p["nodes.queue.readiness.mean"] for p in points])
    assert all(isinstance(c, int) for c in capacity.tolist())
    assert capacity.min() >= 20
    assert capacity.max() <= 60
    assert stay.min() >= 200
    assert stay.max() <= 400
    # Both designs put exactly one point in each of 16 equal slices of a continuous axis.
    strata = np.floor((stay - 200) / 200 * 16).astype(int)
    assert sorted(strata.tolist()) == list(range(16))
    assert plan_sweep(spec).points == points
    assert (
        plan_sweep(tiny_spec(axes=(), design=design, samples=16, bounds=bounds, seed=12)).points
        != points
    )


def test_a_sweep_file_holds_the_same_design_as_the_options(tmp_path: Path) -> None:
    file = tmp_path / "sweep.yaml"
    file.write_text(
        f"scenario: {MMC}\n"
        f"set: {json.dumps(list(TINY))}\n"
        "range:\n"
        "  nodes.queue.capacity: [25, 45, 3]\n"
        "grid:\n"
        "  nodes.queue.readiness.mean: [300, 365.25]\n"
        "replications: 3\n"
        "seed: 11\n",
        encoding="utf-8",
    )
    from_file = plan_sweep(load_sweep_file(file))
    from_options = plan_sweep(
        tiny_spec(
            axes=(
                parse_grid("nodes.queue.readiness.mean=300,365.25"),
                parse_range("nodes.queue.capacity=25:45:3"),
            )
        )
    )
    assert from_file.digest() == from_options.digest()


def test_sweep_file_errors_are_located(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(
        f"scenario: {MMC}\nrange:\n  nodes.queue.capacity: [45, 25, 3]\nreplicatons: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_sweep_file(file)
    text = str(err.value)
    assert f"{file}:3: nodes.queue.capacity: invalid range: hi must not be below lo" in text
    assert f"{file}:4: replicatons: unknown key (did you mean 'replications'?)" in text


def _described_points(file: Path) -> list[dict[str, object]]:
    """The points a sweep file describes, read straight from its YAML (grid x range)."""
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    axes: list[list[tuple[str, object]]] = []
    for path, values in (data.get("grid") or {}).items():
        axes.append([(path, v) for v in values])
    for path, (low, high, n) in (data.get("range") or {}).items():
        values = np.linspace(low, high, n)
        whole = all(isinstance(v, int) for v in (low, high))
        axes.append([(path, round(float(v)) if whole else float(v)) for v in values])
    return [dict(combo) for combo in itertools.product(*axes)]


@pytest.mark.parametrize(
    "file", sorted((SCENARIOS / "sweeps").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_sweep_files_plan_the_points_they_describe(file: Path) -> None:
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    plan = plan_sweep(load_sweep_file(file))
    expected = _described_points(file)
    assert len(expected) > 1
    assert len(plan.points) == len(expected)
    key = lambda p: json.dumps(p, sort_keys=True)  # noqa: E731
    assert sorted(map(key, plan.points)) == sorted(map(key, expected))
    assert plan.replications == data["replications"]
    assert plan.seed == data["seed"]
    assert plan.crn == data["crn"]


def test_the_assore_sweep_moves_only_the_2023_step_of_the_schedule() -> None:
    # ASSORE's schedule is addressed by its last step (-1): every other step keeps its value.
    plan = plan_sweep(load_sweep_file(SCENARIOS / "sweeps" / "assore-capacity.yaml"))
    base = resolve_point(plan.base, {})
    base_steps = [(s.start, s.value) for s in base.nodes["assore"].capacity]  # type: ignore[union-attr]
    assert base_steps[-1] == (dt.date(2023, 1, 1), 610.0)
    seen = set()
    for point in plan.points:
        scenario = resolve_point(plan.base, point)
        assore = [(s.start, s.value) for s in scenario.nodes["assore"].capacity]  # type: ignore[union-attr]
        lhss = [(s.start, s.value) for s in scenario.nodes["lhss"].capacity]  # type: ignore[union-attr]
        assert assore[:-1] == base_steps[:-1]
        assert assore[-1] == (dt.date(2023, 1, 1), point["nodes.assore.capacity.-1.value"])
        assert lhss == [
            (dt.date(2019, 5, 27), 0.0),
            (dt.date(2024, 7, 1), point["nodes.lhss.capacity.1.value"]),
        ]
        seen.add((assore[-1][1], lhss[-1][1]))
    assert len(seen) == 45


# --- dotted paths: suggestions, positions from the end, whole schedules replaced ----------------

ETAPE2 = SCENARIOS / "etape2-610.yaml"


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    loading._WARNED.clear()  # warnings are printed once per process; each test sees its own


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("downstream.lhss.capacity", "nodes.lhss.capacity"),  # a node kind, then the node
        ("downstream.lhs.capacity", "nodes.lhss.capacity"),  # ... with a typo in the node
        ("assore.capacity.-1.value", "nodes.assore.capacity.-1.value"),  # a node id
        ("nodes.downstream.lhss.capacity", "nodes.lhss.capacity"),  # the kind under nodes
    ],
)
def test_a_node_written_without_nodes_gets_its_path_suggested(
    tmp_path: Path, written: str, meant: str
) -> None:
    # The issue's own example: the second --range names the LHSS node by its kind.
    out = tmp_path / "out"
    result = invoke(
        str(ETAPE2),
        "--range",
        "nodes.assore.capacity.-1.value=400:800:9",
        "--range",
        f"{written}=0:100:5",
        "--replications",
        "20",
        "--out",
        str(out),
    )
    assert result.exit_code == 2, result.output
    head = written.split(".")[0] if not written.startswith("nodes.") else "nodes.downstream"
    assert f"--range:2: {head}: no such entry (did you mean '{meant}'?)" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    with pytest.raises(ScenarioError, match=f"did you mean '{meant}'"):
        load_scenario(ETAPE2, [f"{written}=3"])  # parcours run --set: the same message


def test_a_negative_position_addresses_the_last_step_of_a_schedule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = SweepSpec(
        scenario=ETAPE2, axes=(parse_range("nodes.assore.capacity.-1.value=400:800:3"),)
    )
    plan = plan_sweep(spec)
    base = [s.value for s in resolve_point(plan.base, {}).nodes["assore"].capacity]  # type: ignore[union-attr]
    for point, value in zip(plan.points, (400, 600, 800), strict=True):
        steps = resolve_point(plan.base, point).nodes["assore"].capacity
        assert [s.value for s in steps] == [*base[:-1], value]  # type: ignore[union-attr]
    run_set = load_scenario(ETAPE2, ["nodes.assore.capacity.-1.value=700"])
    assert [s.value for s in run_set.nodes["assore"].capacity] == [*base[:-1], 700]  # type: ignore[union-attr]
    assert capsys.readouterr().err == ""  # changing one step is not worth a warning
    with pytest.raises(ScenarioError, match=r"capacity\.-9: no such entry \(the list has 8"):
        load_scenario(ETAPE2, ["nodes.assore.capacity.-9.value=700"])
    # An invalid value at -1 is located at the option that swept it.
    bad = SweepSpec(
        scenario=ETAPE2,
        axes=(
            parse_range("nodes.lhss.capacity=0:100:2", ("--range", 1)),
            parse_range("nodes.assore.capacity.-1.value=-10:10:2", ("--range", 2)),
        ),
    )
    with pytest.raises(ScenarioError, match=r"^--range:2: nodes\.assore\.capacity\.7\.value: "):
        plan_sweep(bad)


def test_a_single_value_over_a_schedule_warns_once_per_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = SweepSpec(
        scenario=ETAPE2,
        overrides=("nodes.phase.capacity=30",),
        axes=(parse_range("nodes.assore.capacity=400:800:3", ("--range", 1)),),
    )
    plan = plan_sweep(spec)  # a flat capacity is a legitimate question: not an error
    assert resolve_point(plan.base, plan.points[0]).nodes["assore"].capacity == 400
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: --set:1: nodes.phase.capacity: replaces the whole schedule of 2 steps "
        "(2019-05-27 to 2021-01-01) with one value for the whole run; to change only the "
        "last step (from 2021-01-01) write nodes.phase.capacity.-1.value=30",
        "warning: --range:1: nodes.assore.capacity: replaces the whole schedule of 8 steps "
        "(2019-05-27 to 2023-01-01) with one value for the whole run; to change only the "
        "last step (from 2023-01-01) write nodes.assore.capacity.-1.value",
    ]
    plan_sweep(spec)
    load_scenario(ETAPE2, ["nodes.phase.capacity=30"])
    assert capsys.readouterr().err == ""  # once per path, not once per point or per load


def test_parcours_set_warns_on_a_replaced_schedule_only_when_valid() -> None:
    from sim.cli.main import main

    result = CliRunner().invoke(main, ["validate", str(ETAPE2), "--set", "nodes.uhs.capacity=9"])
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: --set:1: nodes.uhs.capacity: replaces the whole ")
    assert warnings[0].endswith("write nodes.uhs.capacity.-1.value=9")
    # An invalid value is an error only: no warning beside it.
    bad = CliRunner().invoke(main, ["validate", str(ETAPE2), "--set", "nodes.uhs.capacity=-9"])
    assert bad.exit_code == 2
    assert "warning" not in bad.output


# --- validation before anything runs --------------------------------------------------------------


def test_an_invalid_point_is_reported_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        str(MMC), *sets(TINY), "--range", "nodes.queue.capacity=-10:40:3", "--out", str(out)
    )
    assert result.exit_code == 2, result.output
    assert (
        "--range:1: nodes.queue.capacity: Input should be greater than or equal to 0 (got -10)"
        in result.output
    )
    assert "(point 0: nodes.queue.capacity=-10)" in result.output
    assert not out.exists()


def test_an_unknown_path_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    result = invoke(
        str(MMC), *sets(TINY), "--grid", "nodes.queue.capacty=1,2", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2
    assert "--grid:1: nodes.queue.capacty: unknown key (did you mean 'capacity'?)" in result.output


def test_an_invalid_point_in_a_sweep_file_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "sweep.yaml"
    file.write_text(
        f"scenario: {MMC}\nset: {json.dumps(list(TINY))}\n"
        "grid:\n  nodes.queue.capacity: [10, 20]\n  nodes.queue.readiness.mean: [100, -1]\n",
        encoding="utf-8",
    )
    result = invoke(str(file), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"{file}:5: nodes.queue.readiness.mean:" in result.output
    assert "and 1 more" in result.output  # two points share the bad value
    assert not (tmp_path / "out").exists()


def test_points_share_the_base_without_modifying_it() -> None:
    plan = plan_sweep(tiny_spec())
    before = json.dumps(plan.base, default=str)
    data = with_values(plan.base, {"nodes.queue.capacity": 1, "nodes.queue.readiness.mean": 2})
    assert data["nodes"]["queue"]["capacity"] == 1
    assert json.dumps(plan.base, default=str) == before
    assert data["nodes"]["street"] is plan.base["nodes"]["street"]  # untouched parts shared
    with pytest.raises(ScenarioError, match=r"cannot set .* which is a single value"):
        plan_sweep(tiny_spec(axes=(parse_grid("nodes.queue.capacity.3.value=1"),)))


# --- seeds and executors -------------------------------------------------------------------------


def test_common_random_numbers_make_a_point_a_plain_run() -> None:
    plan = plan_sweep(tiny_spec())
    assert {plan.seed_of(i) for i in range(len(plan.points))} == {11}
    scenario = load_scenario(MMC, [*TINY, "nodes.queue.capacity=35"])
    assert resolve_point(plan.base, plan.points[1]).digest() == scenario.digest()
    independent = plan_sweep(tiny_spec(crn=False))
    seeds = [independent.seed_of(i) for i in range(3)]
    assert len(set(seeds)) == 3
    assert 11 not in seeds
    assert seeds == [plan_sweep(tiny_spec(crn=False)).seed_of(i) for i in range(3)]


def test_chunks_cover_every_run_once() -> None:
    plan = plan_sweep(tiny_spec(replications=7))
    assert chunk_size(21, 1) == 1
    assert chunk_size(10_000, 2) == 50
    assert chunk_size(320, 2) == 10
    tasks = make_tasks(plan, [0, 2], 4)
    runs = [(p, r) for t in tasks for p, _, _, reps in t.items for r in reps]
    assert runs == [(p, r) for p in (0, 2) for r in range(7)]
    assert max(sum(len(i[3]) for i in t.items) for t in tasks) == 4


@pytest.mark.slow
@pytest.mark.parametrize("crn", ["--crn", "--no-crn"])
def test_serial_pool_and_dask_give_identical_tables(tmp_path: Path, crn: str) -> None:
    # Without common random numbers every point has its own seed: the pool and Dask workers
    # must each derive it from (sweep seed, point), never from the order tasks reach them.
    design = [
        "--range",
        "nodes.queue.capacity=25:45:3",
        "--grid",
        "nodes.queue.readiness.mean=300,400",
    ]
    common = [str(MMC), *sets(TINY), *design, "-n", "3", "--seed", "5", "--quiet", crn]
    runs = {
        "serial": ["--workers", "1"],
        "pool": ["--workers", "2", "--chunk", "1"],
        "dask": ["--dask-local", "2", "--chunk", "2"],
    }
    tables = {}
    for name, extra in runs.items():
        out = tmp_path / name
        result = invoke(*common, *extra, "--out", str(out))
        assert result.exit_code == 0, result.output
        tables[name] = (load_rows(out), pd.read_csv(out / "points.csv"))
        assert read_manifest(out)["executor"]["name"] == {"pool": "processes"}.get(name, name)
    rows, points = tables["serial"]
    assert len(rows) == 6 * 3
    assert rows["street.mean"].nunique() > 3
    assert rows["seed"].nunique() == (1 if crn == "--crn" else 6)
    for name in ("pool", "dask"):
        pd.testing.assert_frame_equal(tables[name][0], rows)
        pd.testing.assert_frame_equal(tables[name][1], points)


def test_pool_workers_start_from_a_fork_server_when_threads_are_running() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        executor = PoolExecutor(2)  # forking a threaded process could copy a held lock
    finally:
        stop.set()
        thread.join()
    try:
        assert executor._pool._mp_context.get_start_method() == "forkserver"  # type: ignore[attr-defined]
        assert sorted(executor.imap_unordered(abs, [-3, -1, -2])) == [(0, 3), (1, 1), (2, 2)]
        failures = dict(executor.imap_unordered(int, ["1", "x"]))
        assert failures[0] == 1
        assert isinstance(failures[1], ValueError)
    finally:
        executor.close()


@pytest.mark.slow
def test_a_running_dask_cluster_runs_every_point_even_identical_ones(tmp_path: Path) -> None:
    from distributed import LocalCluster

    from sim.running.executors import DaskExecutor

    # Points 1 and 2 have the same values: Dask must run both, not merge them into one key.
    args = [str(MMC), *sets(TINY), "--grid", "nodes.queue.capacity=25,30,30,45", "-n", "2"]
    args += ["--seed", "8", "--no-crn", "--quiet", "--chunk", "2"]
    assert invoke(*args, "--workers", "1", "--out", str(tmp_path / "serial")).exit_code == 0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = tmp_path / "cluster"
        result = invoke(*args, "--scheduler", cluster.scheduler_address, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "on dask (2 workers)" in result.output
        executor = DaskExecutor(cluster.scheduler_address)
        try:  # identical calls (same function, same argument) each run: pure=False
            draws = dict(executor.imap_unordered(os.urandom, [16, 16, 16]))
        finally:
            executor.close()
    assert sorted(draws) == [0, 1, 2]
    assert len(set(draws.values())) == 3
    rows = load_rows(out)
    pd.testing.assert_frame_equal(rows, load_rows(tmp_path / "serial"))
    assert rows["point"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert rows["seed"].nunique() == 4  # independent seeds per point
    twins = [rows[rows["point"] == p][rows.attrs["kpis"]].to_numpy() for p in (1, 2)]
    assert not np.allclose(twins[0], twins[1], equal_nan=True)  # their own random numbers


# --- streaming, interruption and resume ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"], ids=["serial", "pool"])
def test_a_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path: Path, workers: str) -> None:
    args = [str(MMC), *sets(SLOW), "--range", "nodes.queue.capacity=380:420:8", "-n", "2"]
    args += ["--seed", "3", "--checkpoint", "0", "--quiet"]
    killed = tmp_path / "killed"
    code = "import sys; from sim.cli.sweep import sweep; sys.exit(sweep())"
    process = subprocess.Popen(  # its own session: the kill takes the pool's workers too
        [sys.executable, "-c", code, *args, "--workers", workers, "--out", str(killed)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    finished: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if (killed / "manifest.json").exists():
                finished = read_manifest(killed)["finished"]
                if finished:
                    break
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
    assert 0 < len(finished) < 8, stderr.decode()
    assert read_manifest(killed)["status"] == "running"  # no chance to say goodbye

    resumed = invoke("--resume", str(killed), "--workers", workers, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(read_manifest(killed)['finished'])} points ok" in resumed.output
    assert "already done" in resumed.output
    whole = tmp_path / "whole"
    assert invoke(*args, "--workers", "1", "--out", str(whole)).exit_code == 0
    pd.testing.assert_frame_equal(load_rows(killed), load_rows(whole))
    pd.testing.assert_frame_equal(load_points(killed), load_points(whole))
    assert not (killed / "parts").exists()


class Crash(BaseException):
    """The process stopping dead at this line: nothing after it runs, no handler saves."""


def _crash_when(monkeypatch: pytest.MonkeyPatch, should_crash: Callable[[Path], bool]) -> None:
    """Make the sweep's text writer crash (from then on) once ``should_crash(path)`` holds."""
    write = store_module.write_text_atomic
    crashed: list[bool] = []

    def writer(path: Path, text: str) -> None:
        if crashed or should_crash(path):
            crashed.append(True)
            raise Crash
        write(path, text)

    monkeypatch.setattr(store_module, "write_text_atomic", writer)


def test_a_crash_between_a_part_and_the_manifest_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_sweep(tiny_spec(axes=(parse_range("nodes.queue.capacity=20:45:6"),)))
    out = tmp_path / "sweep"
    # The first part is on disk; the manifest that would list it (and its points) is not.
    _crash_when(monkeypatch, lambda path: bool(list((out / "parts").glob("*.parquet"))))
    with pytest.raises(Crash):
        run_sweep(plan, out, checkpoint_seconds=0)
    monkeypatch.undo()
    assert len(list((out / "parts").glob("*.parquet"))) == 1
    assert read_manifest(out)["finished"] == []
    assert len(load_rows(out)) == 0  # a part the manifest does not list is not a result

    result = run_sweep(plan_from_folder(out), out, resume=True, checkpoint_seconds=0)
    assert (result.resumed, result.finished, result.runs) == (0, 6, 6 * 3)
    whole = run_sweep(plan, tmp_path / "whole")
    pd.testing.assert_frame_equal(load_rows(out), load_rows(whole.out))
    pd.testing.assert_frame_equal(load_points(out), load_points(whole.out))
    assert not (out / "parts").exists()  # the unlisted part was removed at the end


def test_a_crash_after_merging_the_parts_drops_the_duplicate_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_sweep(tiny_spec(axes=(parse_range("nodes.queue.capacity=20:45:6"),)))
    out = tmp_path / "sweep"

    def point_2_fails(task: Task) -> list[RunOutcome]:
        if any(point == 2 for point, _, _, _ in task.items):
            raise RuntimeError("a passing failure")
        return run_task(task)

    monkeypatch.setattr(sweep_module, "run_task", point_2_fails)
    assert list(run_sweep(plan, out).failed) == [2]
    monkeypatch.undo()
    # The retry writes point 2 as a part beside sweep.parquet, then merges both into a new
    # sweep.parquet; a crash before the manifest is replaced leaves point 2 in both files.
    _crash_when(monkeypatch, lambda path: path.name == "points.csv")
    with pytest.raises(Crash):
        run_sweep(plan_from_folder(out), out, resume=True)
    monkeypatch.undo()
    listed = read_manifest(out)["parts"]
    assert listed[0] == "sweep.parquet"
    assert len(listed) == 2
    on_disk = pd.concat([pd.read_parquet(out / p) for p in listed])
    assert len(on_disk) == 6 * 3 + 3  # point 2's three rows twice

    whole = run_sweep(plan, tmp_path / "whole")
    pd.testing.assert_frame_equal(load_rows(out), load_rows(whole.out))  # read mid-crash
    result = run_sweep(plan_from_folder(out), out, resume=True)
    assert (result.finished, result.runs, result.failed) == (6, 0, {})
    pd.testing.assert_frame_equal(load_rows(out), load_rows(whole.out))
    pd.testing.assert_frame_equal(load_points(out), load_points(whole.out))
    assert read_manifest(out)["parts"] == ["sweep.parquet"]


def test_ctrl_c_saves_finished_points_and_resume_skips_them(tmp_path: Path) -> None:
    plan = plan_sweep(tiny_spec(axes=(parse_range("nodes.queue.capacity=20:45:6"),)))
    out = tmp_path / "sweep"

    def interrupt(p: SweepProgress) -> None:
        if p.points_done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, out, progress=interrupt, checkpoint_seconds=3600)
    info = read_manifest(out)
    assert info["status"] == "interrupted"
    assert info["finished"] == [0, 1]
    assert len(load_rows(out)) == 2 * 3  # readable while unfinished

    seen: list[SweepProgress] = []
    result = run_sweep(plan_from_folder(out), out, resume=True, progress=seen.append)
    assert result.resumed == 2
    assert result.runs == 4 * 3
    assert seen[-1].points_done == 6
    whole = run_sweep(plan, tmp_path / "whole")
    assert whole.finished == 6
    pd.testing.assert_frame_equal(load_rows(out), load_rows(whole.out))


def test_resume_refuses_a_different_design(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = [str(MMC), *sets(TINY), "--range", "nodes.queue.capacity=25:45:3", "-n", "2"]
    assert invoke(*args, "--workers", "1", "--out", str(out), "--quiet").exit_code == 0
    again = invoke(*args, "--workers", "1", "--resume", str(out), "--quiet")
    assert again.exit_code == 0
    assert "3 points ok" in again.output
    assert "0 runs" in again.output
    assert "on serial (1 worker)" in again.output
    assert "3 already done" in again.output
    other = invoke(*args[:-1], "3", "--workers", "1", "--resume", str(out), "--quiet")
    assert other.exit_code == 2
    assert "holds a different sweep" in other.output


def test_output_folders_are_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = [str(MMC), *sets(TINY), "--grid", "nodes.queue.capacity=30", "-n", "1", "--workers", "1"]
    assert invoke(*args, "--out", str(out), "--quiet").exit_code == 0
    before = (out / "sweep.parquet").read_bytes()
    second = invoke(*args, "--out", str(out), "--quiet")
    assert second.exit_code == 2
    assert "exists; use --force" in second.output
    assert (out / "sweep.parquet").read_bytes() == before
    assert invoke(*args, "--out", str(out), "--quiet", "--force", "--seed", "9").exit_code == 0
    assert read_manifest(out)["seed"] == 9
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- failures ---------------------------------------------------------------------------------

CYCLE = """\
name: cycle
start: 2000-01-01
end: 2001-01-01
nodes:
  street:
    kind: street
    name: {fr: Rue, en: Street}
    arrivals_per_year: 50
    referred_on_arrival: 1.0
    arrival_routing: {a: 1.0}
  a:
    kind: accommodation
    name: {fr: A, en: A}
    capacity: 1
    readiness: {dist: exponential, mean: 10}
    routing: {b: 1.0}
  b:
    kind: accommodation
    name: {fr: B, en: B}
    capacity: 1
    readiness: {dist: exponential, mean: 10}
    routing: {a: 1.0}
  done:
    kind: exit
    name: {fr: Fin, en: Done}
    positive: true
"""


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    scenario = tmp_path / "cycle.yaml"
    scenario.write_text(CYCLE, encoding="utf-8")  # two full places waiting on each other
    out = tmp_path / "sweep"
    result = invoke(
        str(scenario),
        "--grid",
        "on_deadlock=record,error,record",
        "-n",
        "2",
        "--workers",
        "1",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.exit_code == 1, result.output
    assert "2 points ok, 1 failed" in result.output
    assert (
        "point 1 (on_deadlock=error): replication 0: DeadlockError: deadlock on day"
        in result.output
    )
    info = read_manifest(out)
    assert info["status"] == "complete"
    assert list(info["failed"]) == ["1"]
    rows = load_rows(out)
    assert sorted(rows["point"].unique()) == [0, 2]
    assert (rows["deadlocks"] == 1).all()
    points = pd.read_csv(out / "points.csv")
    assert points["status"].tolist() == ["done", "failed", "done"]
    assert "DeadlockError" in points.loc[1, "error"]


CRASHING_CAPACITY = 31


def run_task_or_die(task: Task) -> list[RunOutcome]:
    """``run_task``, except that the worker running the point with 31 places dies on the spot
    (as after a segfault or an out-of-memory kill: no exception, no cleanup)."""
    if any(v.get("nodes.queue.capacity") == CRASHING_CAPACITY for _, v, _, _ in task.items):
        os._exit(70)
    return run_task(task)


def exit_on_five(x: int) -> int:
    if x == 5:
        os._exit(70)
    return 2 * x


def test_a_dead_worker_restarts_the_pool_and_only_its_task_fails() -> None:
    executor = PoolExecutor(2)
    try:
        results = dict(executor.imap_unordered(exit_on_five, range(10)))
        assert executor.restarts >= 2  # the batch it died in, then alone
        again = dict(executor.imap_unordered(exit_on_five, [1, 2]))  # the new pool works
    finally:
        executor.close()
    assert sorted(results) == list(range(10))
    assert {i: v for i, v in results.items() if i != 5} == {i: 2 * i for i in range(10) if i != 5}
    assert isinstance(results[5], WorkerCrashedError)
    assert "died 2 times" in str(results[5])
    assert again == {0: 2, 1: 4}


def die_soon_after_starting() -> None:
    """A worker initializer that dies a moment after start-up, whatever the worker runs."""
    import time

    time.sleep(0.2)
    os._exit(71)


def test_workers_that_die_at_start_stop_the_pool_with_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers that cannot stay up (a failing import, memory at start) are the pool's fault,
    not the tasks': one clear error, instead of every task recorded as a crash."""
    import sim.running.executors

    monkeypatch.setattr(sim.running.executors, "ignore_sigint", die_soon_after_starting)
    executor = PoolExecutor(2)
    try:
        with pytest.raises(RuntimeError, match="cannot keep its workers running"):
            dict(executor.imap_unordered(exit_on_five, range(6)))
    finally:
        executor.close()


def test_a_point_that_kills_its_worker_is_failed_and_the_others_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_sweep(
        tiny_spec(axes=(parse_grid("nodes.queue.capacity=25,28,31,34,37,40"),), replications=2)
    )
    serial = run_sweep(plan, tmp_path / "serial")
    monkeypatch.setattr(sweep_module, "run_task", run_task_or_die)
    executor = PoolExecutor(2)
    try:  # tasks of two points: 31 places shares its task with 34, which must not fail
        result = run_sweep(plan, tmp_path / "pool", executor=executor, chunk_runs=4)
    finally:
        executor.close()
    assert list(result.failed) == [2]
    assert "WorkerCrashedError: its worker process died 2 times" in result.failed[2]
    assert result.finished == 5
    rows = load_rows(result.out)
    expected = load_rows(serial.out)
    expected = expected[expected["point"] != 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, expected)
    points = load_points(result.out)
    assert points["status"].tolist() == ["done", "done", "failed", "done", "done", "done"]


# --- results and charts ---------------------------------------------------------------------------


def test_results_hold_every_kpi_per_replication_and_point_summaries(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    plan = plan_sweep(tiny_spec())
    run_sweep(plan, out)
    assert {p.name for p in out.iterdir()} >= {
        "manifest.json",
        "sweep.parquet",
        "points.csv",
        "scenario.yaml",
        "design.json",
    }
    rows = load_rows(out)
    assert rows.attrs["parameters"] == ["nodes.queue.capacity"]
    assert {"point", "replication", "seed", "street.mean", "waiting.queue.mean"} <= set(rows)
    assert rows[["point", "replication"]].values.tolist() == [
        [p, r] for p in range(3) for r in range(3)
    ]
    points = load_points(out)
    by_point = rows.groupby("point")["waiting.queue.mean"]
    assert np.allclose(points["waiting.queue.mean"], by_point.mean())
    sd = by_point.std(ddof=1).to_numpy()
    assert np.allclose(points["waiting.queue.mean.ci95"], 4.302652729749464 * sd / np.sqrt(3))


def test_plot_sweep_draws_lines_and_heatmaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sweep"
    design = [
        "--range",
        "nodes.queue.capacity=25:45:3",
        "--grid",
        "nodes.queue.readiness.mean=300,400",
    ]
    assert (
        invoke(
            str(MMC), *sets(TINY), *design, "-n", "2", "--workers", "1", "--out", str(out)
        ).exit_code
        == 0
    )
    import sim.outputs.sweep_plots

    drawn: list[Figure] = []
    save = sim.outputs.sweep_plots.save_figure

    def keep(figure: Figure, target: Path, force: bool = False) -> None:
        drawn.append(figure)
        save(figure, target, force)

    monkeypatch.setattr(sim.outputs.sweep_plots, "save_figure", keep)
    runner = CliRunner()
    kpi = "occupancy.queue.mean"
    heat = runner.invoke(plot_sweep, [str(out), "--kpi", kpi])
    assert heat.exit_code == 0, heat.output
    # The heatmap shows the point means of points.csv over the two swept parameters (the
    # first, --grid comes before --range, across; the second up).
    stay, capacity = "nodes.queue.readiness.mean", "nodes.queue.capacity"
    assert load_rows(out).attrs["parameters"] == [stay, capacity]
    points = pd.read_csv(out / "points.csv")
    grid = points.pivot(index=capacity, columns=stay)[kpi].sort_index().sort_index(axis=1)
    assert grid.shape == (3, 2)
    assert grid.to_numpy().std() > 0
    axes = drawn[0].axes[0]
    base = load_sweep(out).scenario
    named = (parameter_label(stay, base), parameter_label(capacity, base))
    assert (
        (axes.get_xlabel(), axes.get_ylabel())
        == named
        == ("Queue: readiness mean", "Queue: places")
    )
    assert np.allclose(np.asarray(axes.images[0].get_array()), grid.to_numpy())
    assert [t.get_text() for t in axes.get_xticklabels()] == ["300", "400"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["25", "35", "45"]
    line = tmp_path / "line.svg"
    args = [str(out), "--kpi", "street.mean", "--x", "nodes.queue.capacity", "--out", str(line)]
    assert runner.invoke(plot_sweep, args).exit_code == 0
    assert line.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert runner.invoke(plot_sweep, args).exit_code == 2  # exists, no --force
    pngs = list((out / "plots").glob("*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes()[:4] == b"\x89PNG"
    bad = runner.invoke(plot_sweep, [str(out), "--kpi", "nope"])
    assert bad.exit_code == 2
    assert "not in this sweep" in bad.output
    # --lang fr: the same chart, its words and numbers in French
    from matplotlib.text import Text

    def words(figure: Figure) -> list[str]:
        return sorted(t.get_text() for t in figure.findobj(Text) if t.get_text())

    english = words(drawn[0])
    drawn.clear()
    french = [str(out), "--kpi", kpi, "--lang", "fr", "--out", str(tmp_path / "fr.png")]
    assert runner.invoke(plot_sweep, french).exit_code == 0
    assert len(words(drawn[0])) == len(english)
    assert words(drawn[0]) != english


def test_sweep_axes_carry_display_names_from_the_base_scenario() -> None:
    scenario = load_scenario(SCENARIOS / "etape2-610.yaml")
    path = "nodes.assore.capacity.-1.value"
    assert parameter_label(path, scenario) == "ASSORE (hotels): places (from Jan 2023)"
    french = parameter_label(path, scenario, "fr").replace("\xa0", " ")
    assert french == "ASSORE (hôtels) : places (à partir de janv. 2023)"
    assert parameter_label("nodes.housing.releases_per_month", scenario, "en").endswith(
        ": releases per month"
    )
    assert parameter_label("seed_offset", scenario) == "seed_offset"  # no name: as written


def test_an_unfinished_sweep_marks_and_counts_its_missing_points(tmp_path: Path) -> None:
    axes = (
        parse_range("nodes.queue.capacity=25:45:3"),
        parse_grid("nodes.queue.readiness.mean=300,400"),
    )
    plan = plan_sweep(tiny_spec(axes=axes, replications=2))
    out = tmp_path / "sweep"

    def interrupt(p: SweepProgress) -> None:
        if p.points_done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, out, progress=interrupt, checkpoint_seconds=3600)
    loaded = load_sweep(out)
    assert (loaded.done, loaded.total, loaded.status) == (2, 6, "interrupted")
    assert len(loaded.long()) == len(loaded.rows) * len(loaded.kpis)
    kpi = "occupancy.queue.mean"
    heat = sweep_chart(loaded, kpi).axes[0]
    hatched = [p for p in heat.patches if p.get_gid() == "unfinished"]
    assert len(hatched) == 4
    assert heat.images[0].get_array().shape == (2, 3)  # the whole design's grid, not 2 cells
    assert "2/6 points done" in heat.get_title(loc="left")
    french = sweep_chart(loaded, kpi, lang="fr").axes[0]
    assert "2/6 combinaisons terminées" in french.get_title(loc="left")
    # over the capacity: 25 done, 35 and 45 not started (crosses on the axis)
    line = sweep_chart(loaded, kpi, x="nodes.queue.capacity").axes[0]
    assert "2/6 points done" in line.get_title(loc="left")
    crosses = [mark for mark in line.lines if mark.get_label() == "_missing"]
    assert list(crosses[0].get_xdata()) == [35, 45]
    assert not [mark for mark in line.lines if mark.get_label() == "_unfinished"]
    # over the stay: both values have a finished point and missing ones (open circles)
    line = sweep_chart(loaded, kpi, x="nodes.queue.readiness.mean").axes[0]
    circles = [mark for mark in line.lines if mark.get_label() == "_unfinished"]
    assert list(circles[0].get_xdata()) == [300, 400]


def test_sensitivity_charts_name_parameters_as_the_sweep_axes() -> None:
    from sim.outputs.sweep_plots import tornado_chart

    scenario = load_scenario(SCENARIOS / "etape2-610.yaml")
    path = "nodes.assore.capacity.-1.value"
    table = pd.DataFrame(
        [{"kpi": "street.mean", "parameter": path, "swing": 5.0, "kpi_base": 10.0,
          "kpi_low": 8.0, "kpi_high": 13.0, "low": 400, "high": 800}]
    )  # fmt: skip
    ax = tornado_chart(table, "street.mean", "en", scenario).axes[0]
    assert ax.get_yticklabels()[0].get_text().startswith(parameter_label(path, scenario))

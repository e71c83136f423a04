"""Sweeps: designs, up-front validation, identical results on every executor, resume after a
kill or Ctrl-C, failed points, output folders and charts. Runs are tiny M/M/c queues."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from sim.cli_sweep import plot_sweep, sweep
from sim.executors import PoolExecutor
from sim.loading import ScenarioError, load_scenario
from sim.sweep import (
    SweepProgress,
    SweepSpec,
    chunk_size,
    current_value,
    load_points,
    load_sweep,
    load_sweep_file,
    make_tasks,
    parse_bounds,
    parse_grid,
    parse_range,
    plan_from_folder,
    plan_sweep,
    read_manifest,
    resolve_point,
    run_sweep,
    with_values,
)
from tests.conftest import ROOT, SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
TINY = (
    "end=2002-01-01",
    "warmup=180",
    "nodes.street.arrivals_per_year=36",
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


@pytest.mark.parametrize(
    "file", sorted((SCENARIOS / "sweeps").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_sweep_files_resolve(file: Path) -> None:
    plan = plan_sweep(load_sweep_file(file))
    assert len(plan.points) > 1
    assert plan.parameters


def test_the_assore_sweep_moves_the_2023_step_of_the_schedule() -> None:
    # The sweep file addresses ASSORE's capacity schedule by position: catch a shifted step.
    plan = plan_sweep(load_sweep_file(SCENARIOS / "sweeps" / "assore-capacity.yaml"))
    assert current_value(plan.base, "nodes.assore.capacity.7.from") == dt.date(2023, 1, 1)
    assert current_value(plan.base, "nodes.assore.capacity.8") is None  # still the last step
    assert current_value(plan.base, "nodes.lhss.capacity.1.from") == dt.date(2024, 7, 1)
    assert len(plan.points) == 45


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
    with pytest.raises(ScenarioError, match="cannot set a value inside a single value"):
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


def test_serial_pool_and_dask_give_identical_tables(tmp_path: Path) -> None:
    design = [
        "--range",
        "nodes.queue.capacity=25:45:3",
        "--grid",
        "nodes.queue.readiness.mean=300,400",
    ]
    common = [str(MMC), *sets(TINY), *design, "-n", "3", "--seed", "5", "--quiet"]
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
        tables[name] = (load_sweep(out), pd.read_csv(out / "points.csv"))
        assert read_manifest(out)["executor"]["name"] == {"pool": "processes"}.get(name, name)
    rows, points = tables["serial"]
    assert len(rows) == 6 * 3
    assert rows["street.mean"].nunique() > 3
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


def test_a_running_dask_cluster_is_used_through_its_address(tmp_path: Path) -> None:
    from distributed import LocalCluster

    args = [str(MMC), *sets(TINY), "--range", "nodes.queue.capacity=25:45:4", "-n", "2"]
    args += ["--seed", "8", "--no-crn", "--quiet"]
    assert invoke(*args, "--workers", "1", "--out", str(tmp_path / "serial")).exit_code == 0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = tmp_path / "cluster"
        result = invoke(*args, "--scheduler", cluster.scheduler_address, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "on dask (2 workers)" in result.output
    pd.testing.assert_frame_equal(load_sweep(out), load_sweep(tmp_path / "serial"))
    assert load_sweep(out)["seed"].nunique() == 4  # independent seeds per point


# --- streaming, interruption and resume ---------------------------------------------------------


def test_a_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    args = [str(MMC), *sets(SLOW), "--range", "nodes.queue.capacity=380:420:8", "-n", "2"]
    args += ["--seed", "3", "--workers", "1", "--checkpoint", "0", "--quiet"]
    killed = tmp_path / "killed"
    code = "import sys; from sim.cli_sweep import sweep; sys.exit(sweep())"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args, "--out", str(killed)],
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

    resumed = invoke("--resume", str(killed), "--workers", "1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(read_manifest(killed)['finished'])} points ok" in resumed.output
    assert "already done" in resumed.output
    whole = tmp_path / "whole"
    assert invoke(*args, "--out", str(whole)).exit_code == 0
    pd.testing.assert_frame_equal(load_sweep(killed), load_sweep(whole))
    pd.testing.assert_frame_equal(load_points(killed), load_points(whole))
    assert not list((killed / "parts").glob("*.parquet"))


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
    assert len(load_sweep(out)) == 2 * 3  # readable while unfinished

    seen: list[SweepProgress] = []
    result = run_sweep(plan_from_folder(out), out, resume=True, progress=seen.append)
    assert result.resumed == 2
    assert result.runs == 4 * 3
    assert seen[-1].points_done == 6
    whole = run_sweep(plan, tmp_path / "whole")
    assert whole.finished == 6
    pd.testing.assert_frame_equal(load_sweep(out), load_sweep(whole.out))


def test_resume_refuses_a_different_design(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = [str(MMC), *sets(TINY), "--range", "nodes.queue.capacity=25:45:3", "-n", "2"]
    assert invoke(*args, "--workers", "1", "--out", str(out), "--quiet").exit_code == 0
    again = invoke(*args, "--workers", "1", "--resume", str(out), "--quiet")
    assert again.exit_code == 0
    assert "3 points ok" in again.output
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
    rows = load_sweep(out)
    assert sorted(rows["point"].unique()) == [0, 2]
    assert (rows["deadlocks"] == 1).all()
    points = pd.read_csv(out / "points.csv")
    assert points["status"].tolist() == ["done", "failed", "done"]
    assert "DeadlockError" in points.loc[1, "error"]


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
    rows = load_sweep(out)
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


def test_plot_sweep_draws_lines_and_heatmaps(tmp_path: Path) -> None:
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
    runner = CliRunner()
    heat = runner.invoke(plot_sweep, [str(out), "--kpi", "waiting.queue.mean"])
    assert heat.exit_code == 0, heat.output
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

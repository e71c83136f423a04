"""Sweep throughput: a 200-run sweep serial, on a 2-process pool and on a 2-worker Dask
LocalCluster; parallel efficiency; overhead of the sweep machinery against bare ``run`` calls;
and a paper projection of a 100,000-run sweep on a 64-core cluster.

``benchmarks/run.py`` calls :func:`bench_sweep` and pastes its ``markdown`` into report.md;
``python benchmarks/sweep_bench.py`` prints it alone.

The overhead is measured two ways: the serial sweep's wall-clock time against the same runs as
plain ``run`` calls (two measurements, so other jobs on the machine add noise), and, within the
serial sweep itself, the time spent outside replications against the time inside them (immune
to load changes between measurements; this one is judged against the 5% target).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.analysis.sweep import (  # noqa: E402
    SweepSpec,
    Task,
    parse_range,
    plan_sweep,
    resolve_point,
    run_sweep,
    run_task,
)
from sim.inputs.loading import load_scenario  # noqa: E402
from sim.running.executors import (  # noqa: E402
    DaskExecutor,
    Executor,
    PoolExecutor,
    SerialExecutor,
    chunk_size,
)
from sim.running.runner import default_workers, replicate, run  # noqa: E402

MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
SHORT = ("end=2003-01-01", "warmup=365")
"""The verification M/M/c over three years: about 0.1 s per run."""
POINTS = 10
TARGET_POOL = 1.8
TARGET_DASK = 1.6
TARGET_OVERHEAD = 0.05
PROJECTED_RUNS = 100_000
PROJECTED_CORES = 64
PROJECTED_SCENARIOS = ("history-2019-2023.yaml", "etape2-610.yaml")


def _spec(runs: int) -> SweepSpec:
    return SweepSpec(
        scenario=MMC,
        overrides=SHORT,
        axes=(parse_range(f"nodes.queue.capacity=370:460:{POINTS}"),),
        replications=max(1, runs // POINTS),
        seed=1,
    )


def _timed_sweep(executor: Executor, runs: int, folder: Path) -> tuple[float, float]:
    """Wall-clock seconds of a whole sweep (planning and writing included), and the seconds
    its runs spent inside replications."""
    started = time.perf_counter()
    result = run_sweep(plan_sweep(_spec(runs)), folder, executor=executor)
    return time.perf_counter() - started, result.run_seconds


def _dispatch_ms(executor: Executor, tasks: int = 200) -> float:
    """Milliseconds per empty task (the scenario data shipped, no run): the executor's cost."""
    empty = [Task(plan_sweep(_spec(POINTS)).base, ())] * tasks
    started = time.perf_counter()
    for _ in executor.imap_unordered(run_task, empty):
        pass
    return (time.perf_counter() - started) / tasks * 1000


def _bare(runs: int) -> float:
    """The same runs as plain ``run`` calls, one scenario per point: no sweep machinery."""
    plan = plan_sweep(_spec(runs))
    scenarios = [resolve_point(plan.base, p) for p in plan.points]
    started = time.perf_counter()
    for scenario in scenarios:
        run(scenario, plan.replications, plan.seed, 1, keep_timeseries=False, keep_episodes=False)
    return time.perf_counter() - started


def _per_run(name: str) -> float | None:
    """Seconds of one replication (KPIs only) of a shipped scenario, if it exists."""
    path = ROOT / "scenarios" / name
    if not path.exists():
        return None
    scenario = load_scenario(path)
    replicate(scenario, 0, 1, keep_timeseries=False, keep_episodes=False)  # warm
    started = time.perf_counter()
    for r in range(3):
        replicate(scenario, r, 1, keep_timeseries=False, keep_episodes=False)
    return (time.perf_counter() - started) / 3


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def bench_sweep(runs: int = 200, repeats: int = 2) -> dict[str, Any]:
    """Measure sweep throughput (best of ``repeats``); the figures and a ``markdown`` section."""
    runs = POINTS * max(1, runs // POINTS)
    load_before = os.getloadavg()[0]
    bare = serial = pool = dask = dask_start = pool_ms = dask_ms = math.inf
    inside = math.inf  # seconds inside replications, in the fastest serial sweep
    with tempfile.TemporaryDirectory() as tmp:
        _bare(POINTS)  # warm up: imports, caches
        for i in range(repeats):
            folder = Path(tmp) / str(i)
            bare = min(bare, _bare(runs))
            wall, spent = _timed_sweep(SerialExecutor(), runs, folder / "serial")
            if wall < serial:
                serial, inside = wall, spent
            pool_executor = PoolExecutor(2)
            try:
                pool_ms = min(pool_ms, _dispatch_ms(pool_executor))
                pool = min(pool, _timed_sweep(pool_executor, runs, folder / "pool")[0])
            finally:
                pool_executor.close()
            started = time.perf_counter()
            dask_executor = DaskExecutor(local_workers=2)
            dask_start = min(dask_start, time.perf_counter() - started)
            try:
                dask_ms = min(dask_ms, _dispatch_ms(dask_executor))
                dask = min(dask, _timed_sweep(dask_executor, runs, folder / "dask")[0])
            finally:
                dask_executor.close()
    load_after = os.getloadavg()[0]
    per_run = inside / runs
    speed_pool, speed_dask = serial / pool, serial / dask
    overhead = serial / inside - 1.0
    overhead_bare = serial / bare - 1.0
    efficiency = min(speed_pool, speed_dask) / 2
    chunk = chunk_size(runs, 2)
    figures: dict[str, Any] = {
        "runs": runs,
        "cores": default_workers(),
        "load_average": [load_before, load_after],
        "bare_s": bare,
        "serial_s": serial,
        "serial_inside_runs_s": inside,
        "pool2_s": pool,
        "dask2_s": dask,
        "dask_start_s": dask_start,
        "dispatch_ms_pool": pool_ms,
        "dispatch_ms_dask": dask_ms,
        "speedup_pool2": speed_pool,
        "speedup_dask2": speed_dask,
        "overhead": overhead,
        "overhead_vs_bare": overhead_bare,
        "per_run_s": per_run,
        "parallel_efficiency": efficiency,
    }
    projected = {"mmc (3 years)": per_run}
    for name in PROJECTED_SCENARIOS:
        seconds = _per_run(name)
        if seconds is not None:
            projected[name.removesuffix(".yaml")] = seconds
    figures["projection_s"] = {
        k: PROJECTED_RUNS * v / (PROJECTED_CORES * efficiency) for k, v in projected.items()
    }

    def row(label: str, seconds: float, speed: str = "", target: str = "") -> str:
        return f"| {label} | {seconds:.1f} | {runs / seconds:.1f} | {speed} | {target} |"

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "## Sweeps (benchmarks/sweep_bench.py)",
        "",
        f"A {runs}-run sweep: verification/mmc.yaml over 3 years ({', '.join(SHORT)}), "
        f"{POINTS} capacities x {runs // POINTS} replications, {per_run:.3f} s per run; "
        f"{default_workers()} cores, load average {load_before:.1f} before and "
        f"{load_after:.1f} after (above the cores used means other jobs shared them, and the "
        f"speed-ups below are then too low). Wall-clock times, best of {repeats}, include "
        "planning, validation and writing the results folder.",
        "",
        "| configuration | wall (s) | runs/s | speed-up vs serial sweep | target |",
        "|---|---|---|---|---|",
        row("bare `run` calls, serial (no sweep machinery)", bare),
        row("sweep, serial", serial, "1.00x"),
        row(
            "sweep, process pool, 2 workers",
            pool,
            f"{speed_pool:.2f}x",
            f">= {TARGET_POOL}x: {verdict(speed_pool >= TARGET_POOL)}",
        ),
        row(
            f"sweep, Dask LocalCluster, 2 workers (+{dask_start:.1f} s to start it)",
            dask,
            f"{speed_dask:.2f}x",
            f">= {TARGET_DASK}x: {verdict(speed_dask >= TARGET_DASK)}",
        ),
        "",
        f"- Overhead of the sweep machinery per run: **{overhead * 100:.1f}%** of the time inside "
        f"replications, in the serial sweep (target < {TARGET_OVERHEAD * 100:.0f}%: "
        f"{verdict(overhead < TARGET_OVERHEAD)}); serial sweep against bare `run` calls, "
        f"measured separately: {overhead_bare * 100:+.1f}%.",
        f"- Parallel efficiency per core (the lower of pool and Dask): {efficiency:.0%}. "
        f"Cost of dispatching one task (scenario data out, results back, no run): "
        f"{pool_ms:.1f} ms on the pool, {dask_ms:.1f} ms on Dask; a task holds up to 50 runs "
        f"(here {chunk}), so dispatch is {pool_ms / 1000 / (chunk * per_run):.1%} (pool) and "
        f"{dask_ms / 1000 / (chunk * per_run):.1%} (Dask) of a task's work.",
        f"- Projection, {PROJECTED_RUNS:,} runs on a {PROJECTED_CORES}-core cluster at that "
        "efficiency (runs x seconds per run / (cores x efficiency); cluster start-up, up-front "
        "validation of the points, about 3 ms each for étape 2, and data transfer aside):",
    ]
    for name, seconds in projected.items():
        total = figures["projection_s"][name]
        lines.append(f"  - {name}, {seconds:.2f} s per run: about **{_duration(total)}**")
    figures["markdown"] = "\n".join(lines)
    return figures


if __name__ == "__main__":
    print(bench_sweep()["markdown"])

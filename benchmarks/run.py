"""``make bench``: time parcours and write benchmarks/report.md.

In one run: the M/M/c of verification/mmc.yaml against a minimal heapq event loop of the same
queue, the leanest SimPy model and Ciw (when installed); a replication of history-2019-2023
as the model alone, with the calibration's observations only and with every KPI; the
calibration's simulations per second and the shipped calibration itself
(benchmarks/calibration_bench.py); peak memory when only observations are kept, on two
horizons; 100 replications on all cores; sweeps and notebooks. Timings belong here, never in
tests.

``python benchmarks/run.py --mmc`` times the M/M/c comparison alone and prints it with its
profile (seconds, not the half hour of the whole bench); nothing is written.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ciw_mmc import available as ciw_available  # noqa: E402
from benchmarks.ciw_mmc import mmc_ciw  # noqa: E402
from benchmarks.heapq_mmc import mmc_heapq  # noqa: E402
from benchmarks.simpy_mmc import mmc_simpy  # noqa: E402
from sim.analysis.abc_smc import fit_observations  # noqa: E402
from sim.engine.model import run_once  # noqa: E402
from sim.inputs.loading import load_scenario  # noqa: E402
from sim.inputs.scenario import Scenario  # noqa: E402
from sim.running.executors import make_executor  # noqa: E402
from sim.running.runner import default_workers, observe_only, replicate, run  # noqa: E402

HISTORY = ROOT / "scenarios" / "history-2019-2023.yaml"
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
REPEATS = 7
CALIBRATION_SIMULATIONS = 60
LONGER_END = "2043-11-30"  # assumption: 5x the history's horizon, to show memory flat in it
LONGER_YEARS = 25


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls."""
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def peak_memory_mb(scenario: Path) -> tuple[float, float]:
    """Peak resident memory of a fresh process running one replication (VmHWM, MB; not
    ru_maxrss, which Linux carries over from the parent through fork and exec), and the peak
    of Python allocations during the replication itself (tracemalloc, MB)."""
    code = (
        "import re,sys,tracemalloc; sys.path.insert(0, sys.argv[2]);"
        "from sim.inputs.loading import load_scenario; from sim.engine.model import run_once;"
        "sc = load_scenario(sys.argv[1]); tracemalloc.start(); run_once(sc, 0, 1);"
        "peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop();"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
        "print(hwm, peak)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(scenario), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    hwm, peak = out.stdout.split()
    return int(hwm) / 1024.0, int(peak) / 2**20


def profile_top(fn: Callable[[], object], lines: int = 12) -> str:
    """The hot path: cProfile's top functions by internal time."""
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).sort_stats("tottime")
    stats.print_stats(lines)
    text = stream.getvalue()
    body = text[text.find("ncalls") :]
    return body.replace(str(ROOT) + "/", "").rstrip()


def fmt_row(label: str, values: list[float], unit: str = "s") -> str:
    return (
        f"| {label} | {min(values):.3f} {unit} | {statistics.median(values):.3f} {unit} "
        f"| {max(values):.3f} {unit} |"
    )


def traced_peak_mb(fn: Callable[[], object]) -> float:
    """Peak of the Python allocations made while ``fn`` runs (tracemalloc, MB)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def _fit_figures(task: tuple[Scenario, int, int]) -> dict[str, float]:
    """One calibration particle's replication, whole: its fit figures only."""
    scenario, replication, seed = task
    return observe_only(scenario, replication, seed, list(fit_observations(scenario)))


def calibration_rate(scenario: Scenario, workers: int, simulations: int) -> float:
    """Simulations per second of a calibration particle's replication (the fit figures only,
    simulated to the end: no early rejection) on a process pool of ``workers``."""
    tasks = [(scenario, r, 1) for r in range(simulations)]
    executor = make_executor(workers)
    try:
        started = time.perf_counter()
        for _, result in executor.imap_unordered(_fit_figures, tasks):
            if isinstance(result, BaseException):
                raise result
        return simulations / (time.perf_counter() - started)
    finally:
        executor.close()


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "missed"


def ratio_of(numerator: list[float], denominator: list[float]) -> float:
    """Ratio of the fastest runs: on a shared machine the minimum is the least disturbed."""
    return min(numerator) / min(denominator)


def bench_mmc() -> tuple[list[str], dict[str, Any]]:
    """The M/M/c of verification/mmc.yaml against the heapq loop, the leanest SimPy model and
    Ciw (when installed), in one run: the table's rows and the figures."""
    mmc = load_scenario(MMC)
    street = mmc.nodes["street"]
    queue = mmc.nodes["queue"]
    per_day = float(street.arrivals_per_year) / 365.25  # type: ignore[union-attr, arg-type]
    mean_stay = queue.readiness.mean  # type: ignore[union-attr]
    servers = int(queue.capacity)  # type: ignore[union-attr, arg-type]
    initial = queue.initial.occupancy  # type: ignore[union-attr]
    same_queue = (per_day, mean_stay, servers, mmc.horizon, 1, initial)
    # Every contender runs once untimed, so that imports, first calls and CPython's
    # specialisation of hot bytecode (after a few calls) are out of every timing alike.
    run_once(mmc, 0, 1)
    mmc_heapq(*same_queue)
    mmc_simpy(*same_queue)
    parcours_mmc = timed(lambda: run_once(mmc, 0, 1))
    heap_mmc = timed(lambda: mmc_heapq(*same_queue))
    simpy_mmc = timed(lambda: mmc_simpy(*same_queue))
    ciw_mmc = timed(lambda: mmc_ciw(*same_queue), 3) if ciw_available() else None
    ratio = ratio_of(parcours_mmc, heap_mmc)
    floor = ratio_of(simpy_mmc, heap_mmc)
    events = run_once(mmc, 0, 1).events
    lines = [fmt_row("M/M/c (mmc.yaml, 400 places, 20 years): parcours", parcours_mmc)]
    lines.append(fmt_row("M/M/c: heapq event loop (benchmarks/heapq_mmc.py)", heap_mmc))
    lines.append(fmt_row("M/M/c: leanest SimPy, nothing recorded (simpy_mmc.py)", simpy_mmc))
    if ciw_mmc is not None:
        lines.append(fmt_row("M/M/c: Ciw (ciw_mmc.py, starts empty)", ciw_mmc))
    return lines, {
        "mmc_ratio": ratio,
        "mmc_simpy_floor_ratio": floor,
        "mmc_parcours_s": min(parcours_mmc),
        "mmc_ciw_over_parcours": ratio_of(ciw_mmc, parcours_mmc) if ciw_mmc else None,
        "mmc_events": events,
    }


def main() -> None:
    figures: dict[str, object] = {}
    load_before = os.getloadavg()
    lines = ["# parcours benchmarks", ""]
    lines.append(
        f"Machine: {platform.machine()}, {default_workers()} cores, Python "
        f"{platform.python_version()}. Each figure: min / median / max of {REPEATS} runs; "
        "ratios are taken between the fastest runs (the least disturbed)."
    )
    lines += ["", "| what | min | median | max |", "|---|---|---|---|"]

    mmc_lines, mmc_figures = bench_mmc()
    lines += mmc_lines
    figures.update(mmc_figures)
    ratio, floor = mmc_figures["mmc_ratio"], mmc_figures["mmc_simpy_floor_ratio"]
    events, ciw_over = mmc_figures["mmc_events"], mmc_figures["mmc_ciw_over_parcours"]

    history = load_scenario(HISTORY)
    targets = [n for n, o in history.observations.items() if o.target is not None]
    longer = load_scenario(HISTORY, [f"end={LONGER_END}"])
    run_once(history, 0, 1)
    model = timed(lambda: run_once(history, 0, 1))
    observed = timed(lambda: observe_only(history, 0, 1, targets))
    every = timed(lambda: replicate(history, 0, 1, keep_timeseries=False, keep_episodes=False))
    written = timed(lambda: run(history, 1), 3)
    lines.append(fmt_row("history-2019-2023, one replication: model only", model))
    lines.append(
        fmt_row(f"history: with the calibration's {len(targets)} observations only", observed)
    )
    lines.append(fmt_row("history: with every KPI (no frames)", every))
    lines.append(fmt_row("history: `run` of one replication, frames for the folder", written))
    hundred = timed(lambda: run(history, 100, workers=default_workers()), 1)
    lines.append(
        fmt_row(f"history-2019-2023: 100 replications, {default_workers()} workers", hundred)
    )
    workers = min(2, default_workers())
    rate = calibration_rate(history, workers, CALIBRATION_SIMULATIONS)
    record = run_once(history, 0, 1)
    memory = {
        "observations, 2019-2023": traced_peak_mb(lambda: observe_only(history, 0, 1, targets)),
        f"observations, to {LONGER_END}": traced_peak_mb(
            lambda: observe_only(longer, 0, 1, targets)
        ),
        "every KPI and frames, 2019-2023": traced_peak_mb(lambda: run(history, 1)),
        f"every KPI and frames, to {LONGER_END}": traced_peak_mb(lambda: run(longer, 1)),
    }
    obs_ratio = ratio_of(observed, model)
    every_ratio = ratio_of(every, model)
    figures.update(
        history_model_s=min(model),
        history_observations_s=min(observed),
        history_every_kpi_s=min(every),
        history_observations_ratio=obs_ratio,
        history_every_kpi_ratio=every_ratio,
        history_events_per_s=record.events / min(model),
        history_100_s=hundred[0],
        calibration_simulations_per_s=rate,
        calibration_workers=workers,
        peak_mb=memory,
        history_process_peak_mb=peak_memory_mb(HISTORY)[0],
    )
    load_after = os.getloadavg()

    lines += ["", "## Figures against the targets", ""]
    lines.append(
        f"- History with every KPI: **{every_ratio:.2f}x** the model alone (target 1.3x: "
        f"{verdict(every_ratio, 1.3)}); with only the calibration's observations: "
        f"**{obs_ratio:.2f}x** (target 1.1x: {verdict(obs_ratio, 1.1)}). The model alone "
        f"takes {min(model):.3f} s ({record.events / min(model):,.0f} SimPy events/s)."
    )
    lines.append(
        f"- M/M/c: parcours / heapq = **{ratio:.1f}x** (target 5x: {verdict(ratio, 5.0)}; "
        f"{events} SimPy events per replication). The leanest process-per-person SimPy model "
        f"of the same queue, recording nothing, runs at **{floor:.1f}x** the heapq loop: "
        f"parcours costs {ratio / floor:.1f}x that floor for routing, per-episode records, "
        "time-weighted series and named streams."
        + (
            f" Ciw takes **{ciw_over:.1f}x** parcours' time on the same queue."
            if ciw_over
            else " Ciw is not installed (`pip install -e '.[bench]'`): not measured."
        )
    )
    lines.append(
        f"- Calibration: **{rate:.1f} simulations/s** on {workers} cores (its own task: one "
        f"replication of history-2019-2023 reduced to its {len(targets)} targets; "
        f"{CALIBRATION_SIMULATIONS} simulations on a process pool)."
    )
    flat = memory[f"observations, to {LONGER_END}"] / memory["observations, 2019-2023"]
    lines.append(
        "- Peak memory of one replication (Python allocations, tracemalloc): "
        + ", ".join(f"{k}: **{v:.1f} MB**" for k, v in memory.items())
        + f". Observations only: {flat:.2f}x from a 5-year to a {LONGER_YEARS}-year horizon, "
        "with the same episodes kept (those outside the observations' windows, the people "
        "table and the series no observation reads are dropped as they come); what differs is "
        "the live state of the simulation (people present, hazard timers pending in SimPy's "
        "queue, garbage awaiting the collector), not records. The whole process peaks at "
        f"{figures['history_process_peak_mb']:.0f} MB, mostly its libraries."
    )
    lines.append(
        f"- 100 replications on {default_workers()} cores: **{hundred[0]:.1f} s** (every KPI, "
        "series and episodes kept for the folder)."
    )
    lines.append(
        f"- Load: the machine is shared; load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after these timings on {default_workers()} cores (above the "
        "cores means other jobs shared them: absolute times are then high, ratios less so)."
    )
    lines += ["", "## What remains (history-2019-2023, one replication with every KPI)", ""]
    lines.append("```")
    lines.append(
        profile_top(
            lambda: replicate(history, 0, 1, keep_timeseries=False, keep_episodes=False), 16
        )
    )
    lines.append("```")
    lines += ["", "## What remains (M/M/c, one replication, cProfile)", "", "```"]
    mmc = load_scenario(MMC)
    lines.append(profile_top(lambda: run_once(mmc, 0, 1), 16))
    lines.append("```")

    try:
        from benchmarks.sweep_bench import bench_sweep
    except ImportError:
        bench_sweep = None
    if bench_sweep is not None:
        sweep = bench_sweep()
        lines += ["", str(sweep.get("markdown", ""))]
        figures["sweep"] = {k: v for k, v in sweep.items() if k != "markdown"}

    from benchmarks.notebook_bench import bench_notebooks

    notebooks = bench_notebooks()
    lines += ["", str(notebooks["markdown"])]
    figures["notebooks_s"] = notebooks["seconds"]

    from benchmarks.calibration_bench import bench_calibration

    calibration = bench_calibration()
    if calibration.get("markdown"):
        lines += ["", str(calibration["markdown"])]
    figures["calibration"] = {k: v for k, v in calibration.items() if k != "markdown"}

    report = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "report.md"
    out.write_text(report, encoding="utf-8")
    (ROOT / "benchmarks" / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    print(report)
    print(f"written: {out}")


def main_mmc() -> None:
    """``--mmc``: the M/M/c comparison and its profile, printed only."""
    lines, figures = bench_mmc()
    print("| what | min | median | max |\n|---|---|---|---|\n" + "\n".join(lines))
    print(
        f"\nparcours / heapq = {figures['mmc_ratio']:.2f}x (target 5x: "
        f"{verdict(figures['mmc_ratio'], 5.0)}); leanest SimPy / heapq = "
        f"{figures['mmc_simpy_floor_ratio']:.2f}x; {figures['mmc_events']} SimPy events\n"
    )
    mmc = load_scenario(MMC)
    print(profile_top(lambda: run_once(mmc, 0, 1), 16))


if __name__ == "__main__":
    main_mmc() if "--mmc" in sys.argv[1:] else main()

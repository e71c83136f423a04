"""``make bench``: time parcours and write benchmarks/report.md.

Measures seconds per replication of the history scenario, events per second, peak memory,
100 replications on all cores, and the M/M/c of verification/mmc.yaml against a minimal heapq
event loop of the same queue (median of repeated runs). Timings belong here, never in tests.
"""

from __future__ import annotations

import cProfile
import io
import json
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.heapq_mmc import mmc_heapq  # noqa: E402
from benchmarks.simpy_mmc import mmc_simpy  # noqa: E402
from sim.engine.model import run_once  # noqa: E402
from sim.inputs.loading import load_scenario  # noqa: E402
from sim.running.runner import default_workers, run  # noqa: E402

HISTORY = ROOT / "scenarios" / "history-2019-2023.yaml"
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
REPEATS = 5


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


def main() -> None:
    figures: dict[str, object] = {}
    lines = ["# parcours benchmarks", ""]
    lines.append(
        f"Machine: {platform.machine()}, {default_workers()} cores, Python "
        f"{platform.python_version()}. Each figure: min / median / max of {REPEATS} runs."
    )
    lines += ["", "| what | min | median | max |", "|---|---|---|---|"]

    # M/M/c against the heapq loop
    mmc = load_scenario(MMC)
    street = mmc.nodes["street"]
    queue = mmc.nodes["queue"]
    per_day = float(street.arrivals_per_year) / 365.25  # type: ignore[union-attr, arg-type]
    mean_stay = queue.readiness.mean  # type: ignore[union-attr]
    servers = int(queue.capacity)  # type: ignore[union-attr, arg-type]
    initial = queue.initial.occupancy  # type: ignore[union-attr]
    same_queue = (per_day, mean_stay, servers, mmc.horizon, 1, initial)
    parcours_mmc = timed(lambda: run_once(mmc, 0, 1))
    heap_mmc = timed(lambda: mmc_heapq(*same_queue))
    simpy_mmc = timed(lambda: mmc_simpy(*same_queue))
    ratio = statistics.median(parcours_mmc) / statistics.median(heap_mmc)
    floor = statistics.median(simpy_mmc) / statistics.median(heap_mmc)
    events = run_once(mmc, 0, 1).events
    lines.append(fmt_row("M/M/c (mmc.yaml, 400 places, 20 years): parcours", parcours_mmc))
    lines.append(fmt_row("M/M/c: heapq event loop (benchmarks/heapq_mmc.py)", heap_mmc))
    lines.append(fmt_row("M/M/c: leanest SimPy, nothing recorded (simpy_mmc.py)", simpy_mmc))
    figures["mmc_ratio"] = ratio
    figures["mmc_simpy_floor_ratio"] = floor
    figures["mmc_parcours_s"] = statistics.median(parcours_mmc)

    history = load_scenario(HISTORY) if HISTORY.exists() else None
    if history is not None:
        one = timed(lambda: run_once(history, 0, 1))
        record = run_once(history, 0, 1)
        lines.append(fmt_row("history-2019-2023: one replication (model only)", one))
        full = timed(lambda: run(history, 1, keep_timeseries=True), 3)
        lines.append(fmt_row("history-2019-2023: one replication with KPIs", full))
        hundred = timed(lambda: run(history, 100, workers=default_workers()), 1)
        lines.append(
            fmt_row(f"history-2019-2023: 100 replications, {default_workers()} workers", hundred)
        )
        figures.update(
            history_one_s=statistics.median(one),
            history_events_per_s=record.events / statistics.median(one),
            history_100_s=hundred[0],
            history_peak_mb=peak_memory_mb(HISTORY)[0],
            history_run_mb=peak_memory_mb(HISTORY)[1],
        )

    lines += ["", "## Figures against the targets", ""]
    met = "met" if ratio <= 2.5 else "missed"
    lines.append(
        f"- M/M/c: parcours / heapq = **{ratio:.1f}x** (target 2.5x: {met}; {events} SimPy "
        f"events per replication, {events / statistics.median(parcours_mmc):,.0f} events/s). "
        f"The leanest SimPy model of the same queue with a process per person and nothing "
        f"recorded runs at **{floor:.1f}x** the heapq loop: that is the floor of a "
        f"process-per-person SimPy model, and parcours costs {ratio / floor:.1f}x that floor "
        "for routing, per-episode records, time-weighted series and named streams."
    )
    if history is not None:
        lines.append(
            f"- history-2019-2023: **{figures['history_one_s']:.3f} s** per replication "
            f"(target 0.3 s), {figures['history_events_per_s']:,.0f} events/s, peak memory "
            f"{figures['history_peak_mb']:.0f} MB for the process (mostly its libraries), "
            f"{figures['history_run_mb']:.1f} MB allocated by the replication itself"
        )
        lines.append(
            f"- 100 replications on {default_workers()} cores: **{figures['history_100_s']:.1f} s**"
            " (target 20 s)"
        )
        lines += ["", "## Hot path (history-2019-2023, one replication, cProfile)", "", "```"]
        lines.append(profile_top(lambda: run_once(history, 0, 1)))
        lines.append("```")
    lines += ["", "## Hot path (M/M/c, one replication, cProfile)", "", "```"]
    lines.append(profile_top(lambda: run_once(mmc, 0, 1)))
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

    report = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "report.md"
    out.write_text(report, encoding="utf-8")
    (ROOT / "benchmarks" / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    print(report)
    print(f"written: {out}")


if __name__ == "__main__":
    main()

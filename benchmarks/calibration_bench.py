"""The shipped calibration, timed: ``parcours calibrate`` of history-2019-2023 as shipped.

Runs the shipped ABC-SMC (seed 1, the scenario's calibration block, 2 local workers) from
scratch into a temporary folder and times each generation. The sampler is deterministic
whatever the executor, so every generation must reproduce the shipped run's epsilon, proposals
and effective sample size (``docs/calibration/generations.csv``) exactly: the bench says so, or
says where they part. ``PARCOURS_BENCH_CALIBRATION_GENERATIONS=K`` runs the first K
generations only (0 skips the bench); the total is then projected from the generations run,
at their speed-up over the shipped run's recorded times, and marked as a projection.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.calibrate import calibrate
from sim.inputs.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "scenarios" / "history-2019-2023.yaml"
SHIPPED = ROOT / "docs" / "calibration" / "generations.csv"
TARGET_MINUTES = 30.0  # issue 14: the shipped calibration in under 30 minutes on 2 cores
WORKERS = 2


def _generations_wanted(shipped: int) -> int:
    value = os.environ.get("PARCOURS_BENCH_CALIBRATION_GENERATIONS", "")
    return min(int(value), shipped) if value.strip() else shipped


def _same(ours: pd.DataFrame, shipped: pd.DataFrame) -> list[str]:
    """Where the generations run part from the shipped ones (empty: identical)."""
    problems = []
    for (_, a), (_, b) in zip(ours.iterrows(), shipped.iterrows(), strict=False):
        g = int(a["generation"])
        if int(a["proposals"]) != int(b["proposals"]):
            problems.append(f"generation {g}: {a['proposals']} proposals, shipped {b['proposals']}")
        same_eps = a["epsilon"] == b["epsilon"] or (
            math.isinf(a["epsilon"]) and math.isinf(b["epsilon"])
        )
        if not same_eps:
            problems.append(f"generation {g}: epsilon {a['epsilon']!r}, shipped {b['epsilon']!r}")
        if not math.isclose(a["ess"], b["ess"], rel_tol=1e-9):
            problems.append(f"generation {g}: ESS {a['ess']:.3f}, shipped {b['ess']:.3f}")
    return problems


def bench_calibration() -> dict[str, Any]:
    """Time the shipped calibration (or its first generations); markdown and figures."""
    shipped = pd.read_csv(SHIPPED)
    wanted = _generations_wanted(len(shipped))
    if wanted <= 0:
        return {"markdown": "", "skipped": True}
    scenario = load_scenario(HISTORY)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="parcours-calibration-bench-") as tmp:
        started = time.perf_counter()
        result = calibrate(
            scenario, Path(tmp) / "calibration", seed=1, generations=wanted, workers=WORKERS
        )
        wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    ours = result.generations
    recorded = shipped.iloc[: len(ours)]
    problems = _same(ours, recorded)
    sampled = float(ours["seconds"].sum())
    recorded_done = float(recorded["seconds"].sum())
    recorded_all = float(shipped["seconds"].sum())
    speed_up = recorded_done / sampled if sampled > 0 else math.nan
    whole = len(ours) == len(shipped)
    total_minutes = (wall if whole else wall + (recorded_all - recorded_done) / speed_up) / 60
    verdict = "met" if total_minutes <= TARGET_MINUTES else "missed"
    rows = [
        "| generation | epsilon | proposals | seconds (this run) | seconds (shipped run) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for (_, a), (_, b) in zip(ours.iterrows(), recorded.iterrows(), strict=True):
        rows.append(
            f"| {int(a['generation'])} | {a['epsilon']:.3f} | {int(a['proposals']):,} | "
            f"{a['seconds']:.0f} | {b['seconds']:.0f} |"
        )
    what = (
        f"the whole shipped calibration ({len(ours)} generations)"
        if whole
        else f"its first {len(ours)} of {len(shipped)} generations"
    )
    reproduced = (
        "every generation reproduces the shipped run's epsilon, proposals and ESS exactly"
        if not problems
        else "it parts from the shipped run: " + "; ".join(problems)
    )
    total_text = (
        f"**{total_minutes:.1f} min** wall-clock"
        if whole
        else (
            f"{wall / 60:.1f} min for these; the whole run projected at **{total_minutes:.1f} "
            f"min** (the other generations at the shipped run's recorded times divided by the "
            f"{speed_up:.2f}x speed-up measured on these: a projection, not a measurement)"
        )
    )
    markdown = "\n".join(
        [
            "## Calibration (the shipped ABC-SMC run, benchmarks/calibration_bench.py)",
            "",
            f"`parcours calibrate scenarios/history-2019-2023.yaml --seed 1 --workers {WORKERS}` "
            f"from scratch, {what}: {total_text} (target {TARGET_MINUTES:.0f} min: {verdict}). "
            f"The shipped run's history recorded {recorded_all / 60:.1f} min (its own machine and "
            f"load). Sampling took {sampled:.0f} s of it here, against "
            f"{recorded_done:.0f} s recorded for the same generations ({speed_up:.2f}x); "
            f"{reproduced}. Load average {load_before:.1f} before and {load_after:.1f} after, "
            f"on {os.cpu_count()} cores.",
            "",
            *rows,
        ]
    )
    return {
        "markdown": markdown,
        "generations": len(ours),
        "wall_s": wall,
        "sampling_s": sampled,
        "speed_up_over_shipped": speed_up,
        "total_minutes": total_minutes,
        "projected": not whole,
        "reproduces_shipped": not problems,
    }


if __name__ == "__main__":
    print(bench_calibration()["markdown"])

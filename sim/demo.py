"""The demo job behind ``make demo``: the shipped étape 2 scenarios, run and written out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from sim.loading import load_scenario
from sim.results import write_run
from sim.runner import default_workers, run

SCENARIO_DIR = Path("scenarios")
DEMO_SCENARIOS = ("etape2-610.yaml", "etape2-610-downstream.yaml")


def run_demo(out: Path, replications: int = 20, workers: int | None = None) -> Iterator[str]:
    """Run each étape 2 scenario into ``out/etape2-demo-<timestamp>/``; yield what was written."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = out / f"etape2-demo-{stamp}"
    workers = workers or default_workers()
    for name in DEMO_SCENARIOS:
        scenario = load_scenario(SCENARIO_DIR / name)
        result = run(scenario, replications, workers=workers)
        folder = write_run(result, root / scenario.name)
        yield f"{scenario.name}: {replications} replications in {result.seconds:.1f} s -> {folder}"

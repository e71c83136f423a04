"""The demo job behind ``make demo``: the étape 2 scenarios compared (common random numbers),
then their charts and report for presenters, in French."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from sim.compare import compare_files, readme_table, update_markdown, write_comparison
from sim.runner import default_workers

SCENARIO_DIR = Path("scenarios")
DEMO_METRICS = ("street", "waiting", "occupancy", "blocked", "entries-exits")


def run_demo(
    out: Path,
    replications: int = 20,
    workers: int | None = None,
    readme: Path | None = None,
) -> Iterator[str]:
    """Compare ``scenarios/etape2-*.yaml`` into ``out/etape2-compare-<timestamp>/`` with charts
    and an HTML report (and regenerate the comparison table of ``readme`` when given); yield a
    line per thing written."""
    from sim.plots import plot_folder
    from sim.report import write_report

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = out / f"etape2-compare-{stamp}"
    files = sorted(SCENARIO_DIR.glob("etape2-*.yaml"))
    comp = compare_files(files, replications, workers=workers or default_workers())
    write_comparison(comp, folder, lang="fr")
    yield f"comparison of {len(files)} étape 2 scenarios, {replications} replications: {folder}"
    yield readme_table(folder)
    if readme is not None:
        update_markdown(readme, folder)
        yield f"table regenerated in {readme}"
    charts = plot_folder(folder, lang="fr", metrics=list(DEMO_METRICS), nodes=["assore"])
    yield f"charts ({len(charts)}): {folder / 'charts'}"
    for chart in charts:
        yield f"  {chart}"
    yield f"report: {write_report(folder, lang='fr')}"

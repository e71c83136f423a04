"""A sensitivity folder as ``parcours sensitivity`` writes it: the analysis, then its charts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sim.analysis.sensitivity import SensitivityResult, SensitivitySpec, sensitivity
from sim.analysis.sweep import SweepProgress
from sim.inputs.loading import load_scenario
from sim.outputs.i18n import Lang
from sim.running.executors import Executor


def run_sensitivity(
    spec: SensitivitySpec,
    out: Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[str, SweepProgress], None] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    chunk_runs: int | None = None,
    lang: Lang = "en",
) -> SensitivityResult:
    """Run the design and the tornado points, compute indices, write tables and charts (in
    ``lang``)."""
    from sim.outputs.sweep_plots import indices_chart, save_figure, tornado_chart  # matplotlib

    result = sensitivity(
        spec,
        out,
        executor=executor,
        resume=resume,
        force=force,
        progress=progress,
        chunk_runs=chunk_runs,
    )
    base = load_scenario(spec.scenario, spec.overrides)  # names the parameters on the charts
    for kpi in spec.kpis:
        slug = kpi.replace("/", "_")
        for fmt in formats:
            save_figure(
                tornado_chart(result.tornado, kpi, lang, base),
                result.out / f"tornado-{slug}.{fmt}",
                force=True,
            )
            save_figure(
                indices_chart(result.indices, kpi, spec.method, lang, base),
                result.out / f"indices-{slug}.{fmt}",
                force=True,
            )
    return result

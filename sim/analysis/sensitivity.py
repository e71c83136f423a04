"""Which parameters drive a KPI: Morris screening, Sobol' indices (SALib) and a one-at-a-time
tornado around the scenario's own values.

Both methods run through the sweep machinery (so they use every core or a Dask cluster, stream
their runs to disk and can be resumed): the method's design in ``OUT/design`` and the tornado's
one-at-a-time points in ``OUT/oat``. A point's response is the mean of its replications; with
common random numbers (the default) every point sees the same random numbers, so a parameter
the KPI does not depend on gets an index of exactly zero rather than one of noise.

- **Morris** (``samples`` trajectories of ``D + 1`` points, ``levels`` grid levels): ``mu_star``
  (mean absolute elementary effect, in KPI units, with a bootstrap 95% CI) ranks parameters;
  ``sigma`` large against ``mu_star`` flags interactions or non-linearity.
- **Sobol'** (Saltelli's scheme, ``samples`` = N, a power of 2, ``N (D + 2)`` points): first-order
  ``S1`` and total ``ST`` indices with bootstrap 95% CIs (shares of the KPI's variance).
- **Tornado**: each parameter at its low then high bound, the others at the scenario's values.

Integer parameters (see :mod:`sim.sweep`) are rounded in the scenarios; the indices are computed
on the design as sampled.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.analysis.sweep import (
    SweepProgress,
    SweepResult,
    design_rng,
    plan_sweep,
    run_sweep,
    value_in,
)
from sim.inputs.loading import Problem, ScenarioError, load_raw, load_scenario
from sim.inputs.sweep_plan import SweepPlan, current_value, resolve_point
from sim.inputs.sweep_spec import Bound, SweepSpec
from sim.running import catalogue
from sim.running.executors import Executor, SerialExecutor
from sim.running.results import OutputExistsError, manifest, write_text_atomic
from sim.running.runner import DEFAULT_SEED
from sim.running.statistics import grouped_mean_ci
from sim.running.sweep_store import load_rows

Method = Literal["morris", "sobol"]
DEFAULT_KPIS = ("street.mean", "exits.positive.per_month")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}


@dataclasses.dataclass(frozen=True)
class SensitivitySpec:
    """A sensitivity analysis as asked."""

    scenario: Path
    bounds: tuple[Bound, ...]
    kpis: tuple[str, ...] = DEFAULT_KPIS
    method: Method = "morris"
    samples: int | None = None
    levels: int = 4
    replications: int = 3
    seed: int = DEFAULT_SEED
    crn: bool = True
    overrides: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return self.samples or DEFAULT_SAMPLES[self.method]


@dataclasses.dataclass(frozen=True)
class SensitivityResult:
    """Indices per KPI and parameter, the tornado table and where everything was written."""

    method: Method
    kpis: tuple[str, ...]
    parameters: tuple[str, ...]
    indices: pd.DataFrame
    tornado: pd.DataFrame
    out: Path
    failed: dict[str, dict[int, str]]
    seconds: float


def _problem(bounds: Sequence[Bound]) -> dict[str, Any]:
    return {
        "num_vars": len(bounds),
        "names": [b.path for b in bounds],
        "bounds": [[float(b.low), float(b.high)] for b in bounds],
    }


def _salib_seed(seed: int, purpose: str) -> int:
    """A non-zero integer seed for SALib (it falls back to global state on 0 or None)."""
    return int(design_rng(seed, purpose).integers(1, 2**31 - 1))


def design_matrix(spec: SensitivitySpec) -> np.ndarray[Any, Any]:
    """The method's sample of parameter values (one row per point, one column per bound)."""
    problem = _problem(spec.bounds)
    if spec.method == "morris":
        from SALib.sample import morris  # type: ignore[import-untyped]

        seed = _salib_seed(spec.seed, "morris")
        out: np.ndarray[Any, Any] = morris.sample(
            problem, spec.n, num_levels=spec.levels, seed=seed
        )
        return out
    from SALib.sample import sobol

    seed = _salib_seed(spec.seed, "sobol")
    out = sobol.sample(problem, spec.n, calc_second_order=False, seed=seed)
    return out


def _check(spec: SensitivitySpec) -> None:
    problems = []
    if not spec.bounds:
        problems.append(Problem("--bounds", 1, "<option>", "give at least one --bounds path=lo:hi"))
    if spec.method == "sobol" and spec.n & (spec.n - 1):
        problems.append(
            Problem("--samples", 1, "sobol", f"{spec.n}: Sobol' needs a power of 2 (e.g. 64)")
        )
    if spec.method == "morris" and (spec.levels < 2 or spec.levels % 2):
        problems.append(Problem("--levels", 1, "morris", "levels must be even and at least 2"))
    if spec.n < 2 and spec.method == "morris":
        problems.append(Problem("--samples", 1, "morris", "at least 2 trajectories"))
    if problems:
        raise ScenarioError(problems)


def plan_sensitivity(spec: SensitivitySpec) -> tuple[SweepPlan, SweepPlan, np.ndarray[Any, Any]]:
    """The method's sweep, the tornado's sweep, and the design matrix; all points validated."""
    _check(spec)
    scenario = load_scenario(spec.scenario, spec.overrides)  # located errors of the base first
    base = load_raw(spec.scenario, spec.overrides)
    matrix = design_matrix(spec)
    design_points = tuple(
        {b.path: value_in(b, float(x), base) for b, x in zip(spec.bounds, row, strict=True)}
        for row in matrix
    )
    oat: list[dict[str, Any]] = [{}]
    for b in spec.bounds:
        oat += [{b.path: value_in(b, b.low, base)}, {b.path: value_in(b, b.high, base)}]
    common = SweepSpec(
        scenario=spec.scenario,
        overrides=spec.overrides,
        replications=spec.replications,
        seed=spec.seed,
        crn=spec.crn,
        points_origin=("--bounds", 1),
    )
    # the runs compute the KPIs asked for and the observations, nothing else
    kpis = (*spec.kpis, *(f"obs.{name}" for name in scenario.observations))
    kpis = tuple(dict.fromkeys(kpis))
    design = plan_sweep(dataclasses.replace(common, points=design_points))
    design = dataclasses.replace(design, kpis=kpis)
    tornado = plan_sweep(dataclasses.replace(common, points=tuple(oat)))
    tornado = dataclasses.replace(tornado, kpis=kpis)
    check_kpis(spec.kpis, design)
    return design, tornado, matrix


def check_kpis(kpis: Sequence[str], plan: SweepPlan) -> None:
    """Raise a located :class:`ScenarioError` for a KPI the runs of ``plan`` would not give.

    The names come from one-day runs of the base scenario and of the plan's first point (a
    parameter can make a KPI exist, such as a cost), so nothing long runs for a typo.
    """
    try:
        probes = [resolve_point(plan.base, {}), resolve_point(plan.base, plan.points[0])]
        known = list(dict.fromkeys(k for sc in probes for k in catalogue.names(sc)))
    except Exception:  # a run that fails is reported with its point when the sweep runs
        return
    problems = [
        Problem("--kpi", i + 1, kpi, _unknown_kpi(kpi, known))
        for i, kpi in enumerate(kpis)
        if kpi not in known
    ]
    if problems:
        raise ScenarioError(problems)


def _unknown_kpi(kpi: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(kpi, known, n=1)
    if close:
        return f"unknown KPI (did you mean '{close[0]}'?)"
    return f"unknown KPI (some known ones: {', '.join(known[:12])}, ...)"


def responses(result: SweepResult, kpis: Sequence[str]) -> pd.DataFrame:
    """Mean and CI of each KPI per point (NaN for failed points), indexed by point."""
    table = load_rows(result.out)
    known = list(table.attrs.get("kpis", []))
    missing = [(i, k) for i, k in enumerate(kpis) if k not in table.columns]
    if missing and len(table):
        raise ScenarioError(
            [Problem("--kpi", i + 1, k, _unknown_kpi(k, known)) for i, k in missing]
        )
    frame = grouped_mean_ci(table, ["point"], list(kpis)) if len(table) else pd.DataFrame()
    index = pd.RangeIndex(len(result.plan.points), name="point")
    if frame.empty:
        return pd.DataFrame(index=index, columns=list(kpis), dtype=float)
    return frame.set_index("point").reindex(index)


def analyse(spec: SensitivitySpec, matrix: np.ndarray[Any, Any], y: pd.DataFrame) -> pd.DataFrame:
    """Indices of every parameter for every KPI (NaN where a KPI is undefined somewhere)."""
    problem = _problem(spec.bounds)
    rows = []
    for kpi in spec.kpis:
        values = y[kpi].to_numpy(dtype=float)
        names = [b.path for b in spec.bounds]
        if not np.isfinite(values).all():
            result = {}
        elif spec.method == "morris":
            from SALib.analyze import morris  # type: ignore[import-untyped]

            result = morris.analyze(
                problem,
                matrix,
                values,
                num_levels=spec.levels,
                conf_level=0.95,
                seed=_salib_seed(spec.seed, "morris.analyze"),
            )
        else:
            from SALib.analyze import sobol

            result = sobol.analyze(
                problem,
                values,
                calc_second_order=False,
                conf_level=0.95,
                seed=_salib_seed(spec.seed, "sobol.analyze"),
            )
        keys = (
            ("mu", "mu_star", "mu_star_conf", "sigma")
            if spec.method == "morris"
            else ("S1", "S1_conf", "ST", "ST_conf")
        )
        for i, name in enumerate(names):
            row: dict[str, Any] = {"kpi": kpi, "parameter": name}
            for key in keys:
                row[key] = float(np.asarray(result[key])[i]) if key in result else math.nan
            rows.append(row)
    frame = pd.DataFrame(rows)
    rank_by = "mu_star" if spec.method == "morris" else "ST"
    frame["rank"] = frame.groupby("kpi")[rank_by].rank(ascending=False, method="min")
    return frame.sort_values(["kpi", "rank"], kind="stable", ignore_index=True)


def tornado_table(spec: SensitivitySpec, base: dict[str, Any], y: pd.DataFrame) -> pd.DataFrame:
    """One row per KPI and parameter: the KPI at the low and high bound and at the base."""
    rows = []
    for kpi in spec.kpis:
        at_base = float(y[kpi].iloc[0])
        for i, b in enumerate(spec.bounds):
            low, high = y.iloc[1 + 2 * i], y.iloc[2 + 2 * i]
            current = current_value(base, b.path)
            rows.append(
                {
                    "kpi": kpi,
                    "parameter": b.path,
                    "low": b.low,
                    "high": b.high,
                    "base_value": current if isinstance(current, (int, float)) else None,
                    "kpi_base": at_base,
                    "kpi_low": float(low[kpi]),
                    "kpi_high": float(high[kpi]),
                    "kpi_low.ci95": float(low[f"{kpi}.ci95"]),
                    "kpi_high.ci95": float(high[f"{kpi}.ci95"]),
                    "swing": abs(float(high[kpi]) - float(low[kpi])),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.sort_values(
        ["kpi", "swing"], ascending=[True, False], kind="stable", ignore_index=True
    )


def sensitivity(
    spec: SensitivitySpec,
    out: Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[str, SweepProgress], None] | None = None,
    chunk_runs: int | None = None,
) -> SensitivityResult:
    """Run the design and the tornado points (their sweep folders under ``out``), compute the
    indices and write ``indices.csv``, ``tornado.csv`` and the manifest; charts are drawn by
    :func:`sim.outputs.sensitivity_output.run_sensitivity`."""
    out = Path(out)
    started = time.perf_counter()
    design_plan, oat_plan, matrix = plan_sensitivity(spec)
    if out.exists() and not (resume or force):
        raise OutputExistsError(f"{out} exists; use --force to replace it or --resume")
    if force and not resume and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    executor = executor or SerialExecutor()
    results: dict[str, SweepResult] = {}
    y: dict[str, pd.DataFrame] = {}
    # The tornado's few points first: its results come back early.
    for label, plan in (("oat", oat_plan), ("design", design_plan)):
        sub = out / label

        def report(p: SweepProgress, label: str = label) -> None:
            if progress is not None:
                progress(label, p)

        results[label] = run_sweep(
            plan,
            sub,
            executor=executor,
            resume=resume and sub.exists(),
            progress=report,
            chunk_runs=chunk_runs,
        )
        y[label] = responses(results[label], spec.kpis)
    y_design, y_oat = y["design"], y["oat"]
    indices = analyse(spec, matrix, y_design)
    tornado = tornado_table(spec, design_plan.base, y_oat)
    write_text_atomic(out / "indices.csv", indices.to_csv(index=False))
    write_text_atomic(out / "tornado.csv", tornado.to_csv(index=False))
    seconds = time.perf_counter() - started
    failed = {k: dict(r.failed) for k, r in results.items() if r.failed}
    scenario = load_scenario(spec.scenario, spec.overrides)
    info = manifest(
        "sensitivity",
        [scenario],
        spec.seed,
        spec.replications,
        seconds,
        {
            "method": spec.method,
            "kpis": list(spec.kpis),
            "samples": spec.n,
            "levels": spec.levels if spec.method == "morris" else None,
            "crn": spec.crn,
            "bounds": [{"path": b.path, "low": b.low, "high": b.high} for b in spec.bounds],
            "points": {"design": len(design_plan.points), "oat": len(oat_plan.points)},
            "failed": {k: {str(p): e for p, e in v.items()} for k, v in failed.items()},
            "executor": {"name": executor.name, "workers": executor.workers},
        },
    )
    write_text_atomic(out / "manifest.json", json.dumps(info, indent=2, default=str))
    return SensitivityResult(
        method=spec.method,
        kpis=spec.kpis,
        parameters=tuple(b.path for b in spec.bounds),
        indices=indices,
        tornado=tornado,
        out=out,
        failed=failed,
        seconds=seconds,
    )

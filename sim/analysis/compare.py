"""Comparing scenarios with common random numbers: paired differences, CIs, variance reduction.

**Pairing.** Every scenario runs with the same seed, so replication ``r`` of each uses the same
named random streams (:mod:`sim.engine.streams`): the same arrivals, durations and choices
wherever the scenarios agree. The difference of a KPI between an alternative and the reference
is therefore computed replication by replication, ``d_r = alt_r - ref_r``, and its 95%
confidence interval is the Student t interval on those paired differences: ``mean(d) ± t(0.975,
n-1) sd(d) / sqrt(n)``. A difference is marked significant when that interval excludes zero.

**Variance reduction.** With independent runs (different seeds) the variance of a difference of
means is ``(var(ref) + var(alt)) / n``; with common random numbers it is ``var(d) / n =
(var(ref) + var(alt) - 2 cov(ref, alt)) / n``. Each scenario on its own is still an ordinary
random sample under CRN (only the pairing changes), so both variances are estimated from the same
runs, without re-running anything: the reported *variance reduction* is ``1 - var(d) /
(var(ref) + var(alt))`` (1 = the noise cancels entirely, 0 = no gain, negative = CRN hurt), and
``diff_ci_independent`` is the Welch half-width that independent runs of the same size would
have given. Their ratio to ``diff_ci`` says how much CRN narrowed the interval.

**Parameter draws.** With ``parameter_sets`` (``--parameters posterior.parquet --draws K``),
each of the ``K`` draws is replicated ``n`` times. The ``n`` replications of a draw share its
parameters, so the ``K x n`` values are not independent: treating them as iid would shrink
the intervals as ``n`` grows even though the parameter uncertainty does not. The estimates are
therefore two-stage: values (and paired differences) are averaged per draw, and the mean and
CI are those of the ``K`` per-draw means (Student t, ``K - 1`` degrees of freedom). For draws
sampled from the posterior this is the right variance of the posterior-averaged KPI whatever
the split between parameter and stochastic noise; with a single draw the replications are
independent again and the interval is conditional on that draw.

The long table (:attr:`Comparison.table`) has one row per scenario and KPI: ``mean`` and ``ci``
(95% half-width) across replications, and for alternatives ``diff``, ``diff_ci``, ``significant``,
``diff_ci_independent``, ``variance_reduction`` and ``n`` (pairs used). Writers turn it into
``comparison.csv``, ``comparison.md``, ``comparison.xlsx`` and a terminal table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.loading import Problem, ScenarioError, load_scenario, peek
from sim.inputs.scenario import DAYS_PER_MONTH, ExitNode, FreeParameter, Scenario
from sim.running import catalogue
from sim.running.executors import Executor, make_executor
from sim.running.folders import FolderError, read_manifest
from sim.running.periods import Period, series_table
from sim.running.results import load_run, run_paths
from sim.running.runner import DEFAULT_SEED, RunResult, run
from sim.running.statistics import mean_ci, paired_difference

ID_COLUMNS = ("replication", "draw", "seed")

GENERIC_HEADLINE: tuple[str, ...] = (
    "street.mean",
    "contact_to_housing.mean",
    "exits.positive.per_month",
    "cost.total.per_year",
    "cost.per_person_year_housed",
    "cost.per_positive_exit",
)
"""The table's rows when the reference scenario declares no ``headline`` (those it has)."""


class CompareError(ValueError):
    """Scenarios or run folders that cannot be compared; the message is one line for the user."""


# --- statistics -------------------------------------------------------------------------------


# --- KPIs ---------------------------------------------------------------------------------------


def kpi_table(result: RunResult) -> pd.DataFrame:
    """One row per replication (indexed by it): every KPI, plus rates derived for the table.

    Added columns: ``obs.<name>.per_week`` for each ``entries`` observation and
    ``obs.<name>.per_month`` for each ``exits`` one (count / window length), and
    ``entries.<node>.per_week`` beside each ``entries.<node>.per_month``.
    """
    table = result.kpis.copy()
    sc = result.scenario
    extra: dict[str, pd.Series] = {}
    for name, obs in sc.observations.items():
        column = f"obs.{name}"
        if column not in table or obs.metric not in ("entries", "exits"):
            continue
        assert obs.start is not None and obs.end is not None
        days = min(sc.day(obs.end) + 1.0, sc.horizon) - max(sc.day(obs.start), 0.0)
        if days <= 0:
            continue
        if obs.metric == "entries":
            extra[f"{column}.per_week"] = table[column] / days * 7.0
        else:
            extra[f"{column}.per_month"] = table[column] / days * DAYS_PER_MONTH
    for column in list(table.columns):
        match = re.fullmatch(r"entries\.(.+)\.per_month", str(column))
        if match:
            extra[f"entries.{match.group(1)}.per_week"] = table[column] * 7.0 / DAYS_PER_MONTH
    if extra:
        table = pd.concat([table, pd.DataFrame(extra, index=table.index)], axis=1)
    return table.set_index("replication", drop=True).sort_index()


def _pick_kpis(tables: Mapping[str, pd.DataFrame], reference: str, scenario: Scenario) -> list[str]:
    """The reference scenario's ``headline`` KPIs (checked), else the generic rows it has."""
    if scenario.headline:
        try:
            return _check_kpis(scenario.headline, tables)
        except CompareError as err:
            raise CompareError(f"{scenario.name}: headline: {err}") from None
    ref = tables[reference]
    return [k for k in GENERIC_HEADLINE if k in ref.columns and ref[k].notna().any()]


def _check_kpis(requested: Sequence[str], tables: Mapping[str, pd.DataFrame]) -> list[str]:
    known: list[str] = []
    for table in tables.values():
        known += [str(c) for c in table.columns if c not in known]
    unknown = [k for k in requested if k not in known]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, known, n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise CompareError("unknown KPI " + ", ".join(hints) + "; see the runs' kpis.csv")
    return list(dict.fromkeys(requested))


# --- the comparison ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Scenarios run (or loaded) with the same seeds, and their paired comparison."""

    runs: dict[str, RunResult]
    """The runs by scenario name, the reference first."""
    tables: dict[str, pd.DataFrame]
    """Per-replication KPI tables (with derived rates), indexed by replication."""
    table: pd.DataFrame
    """The long table: one row per KPI and scenario (see the module docstring)."""
    kpis: tuple[str, ...]
    """The KPIs shown in the printed, Markdown and spreadsheet tables, in order."""
    seed: int
    replications: int
    seconds: float
    sources: dict[str, Path] = dataclasses.field(default_factory=dict)
    """Run folders the runs were read from (empty when they were run here)."""
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The parameter draws propagated (``draws``, ``parameter_sets``; empty without)."""

    @property
    def reference(self) -> str:
        """Name of the reference scenario."""
        return next(iter(self.runs))

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, the reference first."""
        return list(self.runs)

    def series_long(self) -> pd.DataFrame:
        """Every run's daily series in tidy long form: ``scenario``, then the columns of
        :meth:`RunResult.series_long` (``replication, day, date, series, value``)."""
        frames = [r.series_long().assign(scenario=n) for n, r in self.runs.items()]
        long = pd.concat(frames, ignore_index=True)
        return long[["scenario", *[c for c in long.columns if c != "scenario"]]]

    def by_period(self, by: Period = "month") -> pd.DataFrame:
        """Every daily series by month or year: each scenario's mean, 95% interval and paired
        difference to the reference (:func:`sim.running.periods.series_table`, the table of
        ``series-by-month.csv``)."""
        return series_table(self.runs, by)

    def headline(self) -> pd.DataFrame:
        """The long table restricted to the shown KPIs, in their order."""
        return self.table[self.table["headline"]].reset_index(drop=True)

    def meta(self) -> dict[str, Any]:
        """What the writers print beside the table."""
        sc = self.runs[self.reference].scenario
        first = sc.start + dt.timedelta(days=sc.warmup_days)
        return {
            "reference": self.reference,
            "scenario_names": self.scenarios,
            "seed": self.seed,
            "replications": self.replications,
            "kpi_window": [first.isoformat(), (sc.end - dt.timedelta(days=1)).isoformat()],
            "draws": self.draws,
        }

    @property
    def draws(self) -> int:
        """Parameter draws the replications are clustered by (0: independent replications)."""
        groups = draw_groups(self.tables[self.reference])
        return 0 if groups is None else len(pd.unique(groups))


def build(
    runs: Mapping[str, RunResult],
    kpis: Sequence[str] | None = None,
    seconds: float = 0.0,
    sources: Mapping[str, Path] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare runs already made with the same seed (the first is the reference)."""
    if len(runs) < 2:
        raise CompareError("compare needs a reference and at least one alternative")
    results = list(runs.values())
    seeds = {r.seed for r in results}
    if len(seeds) > 1:
        found = ", ".join(f"{name}: {r.seed}" for name, r in runs.items())
        raise CompareError(
            f"the runs have different seeds ({found}); common random numbers need the same "
            "seed: re-run them with the same --seed"
        )
    tables = {name: kpi_table(r) for name, r in runs.items()}
    reference = next(iter(runs))
    ids = {name: tuple(t.index) for name, t in tables.items()}
    if len(set(ids.values())) > 1:
        found = ", ".join(f"{name}: {len(i)}" for name, i in ids.items())
        raise CompareError(
            f"the runs have different replications ({found}); compare needs the same "
            "replications of every scenario: re-run them with the same -n"
        )
    draws = {name: _draw_column(t) for name, t in tables.items()}
    if len(set(draws.values())) > 1:
        found = ", ".join(f"{name}: {len(set(d)) if d else 0}" for name, d in draws.items())
        raise CompareError(
            f"the runs propagate different parameter draws (draws per run: {found}); compare "
            "needs the same draws for every scenario: re-run them with the same --parameters "
            "and --draws"
        )
    _same_windows({f"'{name}'": r.scenario for name, r in runs.items()})
    shown = (
        _check_kpis(kpis, tables)
        if kpis
        else _pick_kpis(tables, reference, runs[reference].scenario)
    )
    table = long_table(tables, {n: r.scenario for n, r in runs.items()}, shown)
    return Comparison(
        runs=dict(runs),
        tables=tables,
        table=table,
        kpis=tuple(shown),
        seed=results[0].seed,
        replications=results[0].replications,
        seconds=seconds,
        sources=dict(sources or {}),
        parameters=dict(parameters or {}),
    )


def _draw_column(table: pd.DataFrame) -> tuple[int, ...]:
    if "draw" not in table.columns:
        return ()
    return tuple(int(d) for d in table["draw"].fillna(-1))


def windows(sc: Scenario) -> dict[str, str]:
    """What fixes the time windows of a scenario's KPIs: start, end, warm-up, and the window
    of every observation (``obs.<name>``), as text to compare and print."""
    first = sc.start + dt.timedelta(days=sc.warmup_days)
    out = {"start": sc.start.isoformat(), "end": sc.end.isoformat(), "warmup": first.isoformat()}
    for name, obs in sc.observations.items():
        parts = [
            f"{k} {v.isoformat()}"
            for k, v in (("from", obs.start), ("to", obs.end), ("on", obs.on))
            if v
        ]
        out[f"obs.{name}"] = ", ".join(parts + ([f"{obs.days:g} days"] if obs.days else []))
    return out


def _same_windows(
    scenarios: Mapping[str, Scenario],
    advice: str = "compare scenarios with the same start, end, warmup and observation windows",
) -> None:
    """Refuse scenarios (keyed by what to call them) whose dates or KPI windows differ: their
    KPIs would not pair."""
    names = list(scenarios)
    reference = windows(scenarios[names[0]])
    for name in names[1:]:
        other = windows(scenarios[name])
        for key, value in reference.items():
            if key in other and other[key] != value:
                what = "window of " + key if key.startswith("obs.") else key
                raise CompareError(
                    f"{names[0]} and {name} have a different {what} ({value} vs "
                    f"{other[key]}): their KPIs cover different time windows; {advice}"
                )


def _draws_of(info: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter draws a run folder's manifest records (empty without)."""
    keys = ("parameters", "draws", "parameter_sets")
    return {k: info[k] for k in keys if info.get(k) is not None}


def _same_draws(infos: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse run folders (keyed by path) made with different parameter draws."""
    names = list(infos)
    reference = _draws_of(infos[names[0]])
    for name in names[1:]:
        other = _draws_of(infos[name])
        both_sets = "parameter_sets" in reference and "parameter_sets" in other
        keys = ("draws", "parameter_sets") if both_sets else ("parameters", "draws")
        for key in keys:
            if reference.get(key) != other.get(key):
                raise CompareError(
                    f"{names[0]} and {name} were made with different parameter draws "
                    f"({key}: {_shown(reference, key)} vs {_shown(other, key)}); common random "
                    "numbers need the same draws: re-run them with the same --parameters and "
                    "--draws"
                )


def _shown(draws: Mapping[str, Any], key: str) -> str:
    value = draws.get(key)
    if value is None:
        return "none"
    return "different values" if key == "parameter_sets" else str(value)


def draw_groups(table: pd.DataFrame) -> np.ndarray | None:
    """The parameter draw of each replication when the runs propagate two draws or more
    (their replications are then clustered by draw), else None (independent replications)."""
    if "draw" not in table.columns:
        return None
    draws = table["draw"].to_numpy()
    return draws if len(pd.unique(draws)) >= 2 else None


def long_table(
    tables: Mapping[str, pd.DataFrame],
    scenarios: Mapping[str, Scenario],
    headline: Sequence[str] = (),
) -> pd.DataFrame:
    """The long table from per-replication KPI tables (the first is the reference).

    Every KPI of any scenario appears, the ``headline`` ones first and in their order; a KPI a
    scenario lacks has NaN values there.
    """
    names = list(tables)
    reference = names[0]
    columns: list[str] = list(headline)
    for t in tables.values():
        columns += [str(c) for c in t.columns if c not in ID_COLUMNS and c not in columns]
    ref_scenario = scenarios[reference]
    rows: list[dict[str, Any]] = []
    index = tables[reference].index
    empty = pd.Series(math.nan, index=index, dtype=float)
    groups = draw_groups(tables[reference])
    for kpi in columns:
        ref_values = tables[reference].get(kpi, empty)
        for name in names:
            values = tables[name].get(kpi, empty).reindex(index)
            mean, ci, n = mean_ci(values, groups=groups)
            row: dict[str, Any] = {
                "scenario": name,
                "kpi": kpi,
                "mean": mean,
                "ci": ci,
                "diff": math.nan,
                "diff_ci": math.nan,
                "significant": pd.NA,
                "diff_ci_independent": math.nan,
                "variance_reduction": math.nan,
                "n": n,
            }
            if name != reference:
                p = paired_difference(ref_values.to_numpy(), values.to_numpy(), groups=groups)
                row.update(
                    diff=p.mean,
                    diff_ci=p.ci,
                    significant=p.significant if p.n >= 2 else pd.NA,
                    diff_ci_independent=p.ci_independent,
                    variance_reduction=p.variance_reduction,
                    n=p.n,
                )
            row["headline"] = kpi in headline
            row["kind"] = catalogue.unit(kpi, ref_scenario)
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["significant"] = frame["significant"].astype("boolean")
    return frame


def _unique_names(scenarios: Sequence[Scenario]) -> None:
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise CompareError(
                f"two scenarios are named '{sc.name}'; give each its own `name:` "
                "(or --set name=...)"
            )
        seen.add(sc.name)


def compare(
    scenarios: Sequence[Scenario],
    replications: int = 20,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    kpis: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    parameter_sets: Sequence[Mapping[str, float]] | None = None,
    parameter_spec: Mapping[str, FreeParameter] | None = None,
    executor: Executor | None = None,
) -> Comparison:
    """Run every scenario with the same seed and compare them to the first (the reference).

    With ``parameter_sets`` (draws from a calibration posterior), every scenario runs each set
    ``replications`` times with the same draws and seeds, so the intervals include parameter
    uncertainty and the differences stay paired.

    >>> from sim import load_scenario
    >>> short = ["end=2004-01-01"]
    >>> ref = load_scenario("scenarios/verification/mmc.yaml", short)
    >>> fewer = ["name=mmc-360", "nodes.queue.capacity=360", *short]
    >>> comp = compare([ref, load_scenario("scenarios/verification/mmc.yaml", fewer)], 3)
    >>> table = comp.headline()  # one row per scenario and headline KPI
    >>> sorted(table["scenario"].unique())
    ['mmc', 'mmc-360']
    """
    if len(scenarios) < 2:
        raise CompareError("compare needs a reference and at least one alternative")
    _unique_names(scenarios)
    started = time.perf_counter()
    owned = executor is None
    executor = executor or make_executor(workers)
    try:
        runs = {
            sc.name: run(
                sc,
                replications,
                seed,
                progress=progress,
                parameter_sets=parameter_sets,
                parameter_spec=parameter_spec,
                executor=executor,
            )
            for sc in scenarios
        }
    finally:
        if owned:
            executor.close()
    info: dict[str, Any] = {}
    if parameter_sets:
        info = {"draws": len(parameter_sets), "parameter_sets": [dict(p) for p in parameter_sets]}
    return build(runs, kpis, time.perf_counter() - started, parameters=info)


def _ancestors(path: Path) -> list[Path]:
    """The files ``path`` extends, nearest first (following ``extends:`` keys)."""
    chain: list[Path] = []
    current = path.resolve()
    while True:
        data = peek(current)  # with the scenario files' limits: a bomb is reported later
        parent = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(parent, str):
            return chain
        current = (current.parent / parent).resolve()
        if current in chain or current == path.resolve():
            return chain
        chain.append(current)


def default_reference(files: Sequence[Path]) -> int:
    """Index of the reference among scenario files: the file every other one extends (directly
    or not), if exactly one is; otherwise the first."""
    resolved = [f.resolve() for f in files]
    ancestors = [set(_ancestors(f)) for f in files]
    common = [
        i
        for i, f in enumerate(resolved)
        if all(f in ancestors[j] for j in range(len(files)) if j != i)
    ]
    return common[0] if len(common) == 1 else 0


def load_files(files: Sequence[Path], overrides: Sequence[str] = ()) -> list[Scenario]:
    """Load scenario files, reporting the problems of all of them at once (ScenarioError)."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for file in files:
        try:
            scenarios.append(load_scenario(file, overrides))
        except ScenarioError as err:
            problems += err.problems
    if problems:
        raise ScenarioError(problems)
    return scenarios


def compare_files(
    files: Sequence[Path | str],
    replications: int = 20,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    kpis: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    reference: str | None = None,
    progress: Callable[[int], None] | None = None,
    parameter_sets: Sequence[Mapping[str, float]] | None = None,
    parameter_spec: Mapping[str, FreeParameter] | None = None,
    executor: Executor | None = None,
) -> Comparison:
    """Load scenario files (a file listed twice runs once), put the reference first (the
    scenario named ``reference``, else :func:`default_reference`) and :func:`compare` them.

    >>> comp = compare_files(sorted(Path("scenarios").glob("etape2-*.yaml")))  # doctest: +SKIP
    """
    paths = list(dict.fromkeys(Path(f) for f in files))
    scenarios = load_files(paths, overrides)
    names = [sc.name for sc in scenarios]
    if reference is not None and reference not in names:
        raise CompareError(
            f"no scenario named '{reference}' to use as reference (have: {', '.join(names)})"
        )
    first = names.index(reference) if reference is not None else default_reference(paths)
    scenarios.insert(0, scenarios.pop(first))
    return compare(
        scenarios,
        replications,
        seed,
        workers,
        kpis,
        progress,
        parameter_sets,
        parameter_spec,
        executor,
    )


def run_folders(folder: Path) -> list[Path]:
    """A run folder itself, or the runs of a comparison folder (``runs/<name>``) in order."""
    try:
        read_manifest(folder, ("run", "compare"))
        return run_paths(folder)
    except FolderError as err:
        raise CompareError(str(err)) from None


def compare_runs(
    folders: Sequence[Path | str],
    kpis: Sequence[str] | None = None,
    reference: str | None = None,
) -> Comparison:
    """Compare run folders made with the same seed and replications, without re-running.

    A comparison folder stands for its runs. The first run is the reference unless
    ``reference`` names another.
    """
    paths: list[Path] = []
    for folder in folders:
        paths += run_folders(Path(folder))
    runs: dict[str, RunResult] = {}
    sources: dict[str, Path] = {}
    infos: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            result = load_run(path)
            info = read_manifest(path, ("run",))
        except (OSError, ValueError, KeyError) as err:
            raise CompareError(f"{path}: cannot read the run folder ({err})") from None
        name = result.scenario.name
        if name in runs:
            raise CompareError(f"{sources[name]} and {path} are both runs of '{name}'")
        runs[name] = result
        sources[name] = path
        infos[name] = info
    if reference is not None:
        runs = reorder(runs, reference)
    seeds = {str(sources[n]): r.seed for n, r in runs.items()}
    if len(set(seeds.values())) > 1:
        found = ", ".join(f"{path}: {seed}" for path, seed in seeds.items())
        raise CompareError(
            f"the run folders have different seeds ({found}); common random numbers need the "
            "same seed: re-run them with the same --seed"
        )
    _same_draws({str(sources[n]): infos[n] for n in runs})
    _same_windows(
        {str(sources[n]): r.scenario for n, r in runs.items()},
        "re-run them with the same dates (start, end, warmup) and observations",
    )
    return build(runs, kpis, 0.0, sources, _draws_of(infos[next(iter(runs))]))


def load_compare(folder: Path | str) -> Comparison:
    """A comparison folder read back (its runs, paired again with the same KPIs shown):
    ``sim.load_compare("results/etape2-compare").headline()``."""
    try:
        info = read_manifest(folder, ("compare",))
    except FolderError as err:
        raise CompareError(str(err)) from None
    shown = info.get("kpis") or None
    return compare_runs([folder], kpis=shown)


def reorder(runs: Mapping[str, RunResult], reference: str) -> dict[str, RunResult]:
    """The runs with ``reference`` first."""
    if reference not in runs:
        raise CompareError(
            f"no scenario named '{reference}' to use as reference (have: {', '.join(runs)})"
        )
    return {reference: runs[reference], **{k: v for k, v in runs.items() if k != reference}}


# --- mechanisms: how fast added places fill, where positive exits come from -------------------


@dataclasses.dataclass(frozen=True)
class CapacityRise:
    """How the replications of a run filled one rise of a node's capacity."""

    date: dt.date
    before: float
    after: float
    waiting_before: tuple[float, float]
    """Least and most people on the waiting list the day before the rise."""
    days_to_fill: tuple[float, ...]
    """Per replication that filled the step before its next change: days from the rise to the
    first day the occupancy reached the capacity (0 = the same day)."""
    days_available: float
    """Days from the rise to the next capacity change or the end of the run."""
    replications: int


def capacity_rises(result: RunResult, node: str) -> list[CapacityRise]:
    """For every rise of ``node``'s capacity during ``result``'s runs: how long each replication
    took to fill it (from the daily time series)."""
    from sim.engine.schedule import Steps

    sc = result.scenario
    capacity = getattr(sc.nodes[node], "capacity", None)
    if capacity is None:
        raise CompareError(f"node '{node}' has no capacity")
    steps = Steps.of(capacity, sc.start)
    ts = result.timeseries
    if ts.empty:
        raise CompareError("the runs kept no time series")
    rises: list[CapacityRise] = []
    for i in range(1, len(steps.days)):
        day, before, after = steps.days[i], steps.values[i - 1], steps.values[i]
        if after <= before or not 0 < day < sc.horizon:
            continue
        until = steps.days[i + 1] if i + 1 < len(steps.days) else sc.horizon
        window = ts[(ts["day"] >= day) & (ts["day"] < until)]
        full = window[window[f"occupancy.{node}"] >= window[f"capacity.{node}"]]
        first = full.groupby("replication")["day"].min() - day
        waiting = ts.loc[ts["day"] == day - 1, f"waiting.{node}"]
        rises.append(
            CapacityRise(
                date=sc.start + dt.timedelta(days=day),
                before=before,
                after=after,
                waiting_before=(float(waiting.min()), float(waiting.max())),
                days_to_fill=tuple(float(d) for d in first.sort_index()),
                days_available=until - day,
                replications=int(ts["replication"].nunique()),
            )
        )
    return rises


def positive_exits_by_node(result: RunResult) -> pd.DataFrame:
    """Positive pathway exits per month over the KPI window, by the node people left from:
    one row per replication, one column ``exits.positive.from.<node>.per_month`` per node."""
    sc = result.scenario
    ep = result.episodes
    a, b = min(sc.warmup_days, sc.horizon), sc.horizon
    months = max(b - a, 1e-9) / DAYS_PER_MONTH
    exits = set(sc.nodes_of(ExitNode))
    positive = ep["positive"].fillna(False).astype(bool)
    window = ep[(ep["exit"] >= a) & (ep["exit"] < b) & ep["outcome"].isin(exits) & positive]
    counts = window.groupby(["replication", "node"]).size().unstack("node", fill_value=0)
    counts = counts.reindex(sorted(result.kpis["replication"]), fill_value=0)
    counts.columns = [f"exits.positive.from.{c}.per_month" for c in counts.columns]
    return (counts / months).rename_axis("replication").reset_index()


def with_exit_channels(result: RunResult) -> RunResult:
    """``result`` with :func:`positive_exits_by_node` added to its KPIs (to compare them)."""
    extra = positive_exits_by_node(result)
    kpis = result.kpis.merge(extra, on="replication", how="left")
    return dataclasses.replace(result, kpis=kpis)

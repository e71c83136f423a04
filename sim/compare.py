"""Comparing scenarios with common random numbers: paired differences, CIs, variance reduction.

**Pairing.** Every scenario runs with the same seed, so replication ``r`` of each uses the same
named random streams (:mod:`sim.streams`): the same arrivals, durations and choices wherever the
scenarios agree. The difference of a KPI between an alternative and the reference is therefore
computed replication by replication, ``d_r = alt_r - ref_r``, and its 95% confidence interval is
the Student t interval on those paired differences: ``mean(d) ± t(0.975, n-1) sd(d) / sqrt(n)``.
A difference is marked significant when that interval excludes zero.

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
import json
import math
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from sim.i18n import LABELS, Lang, node_name
from sim.loading import Problem, ScenarioError, load_scenario
from sim.metrics import DAYS_PER_MONTH
from sim.results import atomic_dir, load_run, manifest, write_run
from sim.runner import DEFAULT_SEED, RunResult, run
from sim.scenario import ExitNode, FreeParameter, Scenario

CONFIDENCE = 0.95
NNBSP = "\u202f"  # French thousands separator
MINUS = "\u2212"
ID_COLUMNS = ("replication", "draw", "seed")

DEFAULT_KPIS: tuple[tuple[str, ...], ...] = (
    ("obs.street_2025", "street.mean"),
    ("contact_to_housing.mean",),
    ("obs.assore_intakes_2025.per_week", "entries.assore.per_week"),
    ("obs.assore_exits_2025.per_month", "exits.assore.per_month"),
    ("obs.assore_positive_exits_2025.per_month",),
    ("obs.assore_blocked_2025", "blocked.assore.mean"),
    ("exits.positive.per_month",),
    ("cost.total.per_year",),
    ("cost.per_person_year_housed",),
    ("cost.per_positive_exit",),
)
"""The table's rows by default: the first KPI of each tuple that the reference has (the
``obs.*_2025`` ones are the étape-2 report observations of ``scenarios/etape2-610.yaml``)."""

_SHARE_METRICS = ("positive_share", "share_stay_over", "share_street_time_over")


def _t(key: str, lang: Lang) -> str:
    """A text of the comparison tables, from the one translation table (``sim.i18n``)."""
    return LABELS[f"table.{key}"][lang]


class CompareError(ValueError):
    """Scenarios or run folders that cannot be compared; the message is one line for the user."""


# --- statistics -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Paired:
    """A paired difference ``alternative - reference`` with its intervals."""

    mean: float
    """Mean of the paired differences."""
    ci: float
    """Half-width of its Student t confidence interval (paired)."""
    n: int
    """Pairs used (replications where both values are defined)."""
    ci_independent: float
    """Welch half-width that independent runs of the same size would have given."""
    variance_reduction: float
    """``1 - var(d) / (var(ref) + var(alt))``: the share of the variance CRN removed."""

    @property
    def significant(self) -> bool:
        """Whether the confidence interval excludes zero."""
        return self.n >= 2 and math.isfinite(self.ci) and abs(self.mean) > self.ci


def _group_means(groups: np.ndarray | None, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns averaged per group (parameter draw), in group order; unchanged without."""
    if groups is None:
        return columns
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    frame["group"] = groups
    means = frame.groupby("group", sort=True).mean()
    return tuple(means[f"c{i}"].to_numpy(float) for i in range(len(columns)))


def paired_difference(
    reference: Iterable[float],
    alternative: Iterable[float],
    confidence: float = CONFIDENCE,
    groups: Iterable[Any] | None = None,
) -> Paired:
    """Paired difference of two replication-aligned samples, keeping pairs where both are finite.

    With ``groups`` (the parameter draw of each replication), the replications of a draw are
    not independent of each other: the pairs are first averaged per draw and the interval is
    the Student t interval on those per-draw means (``K - 1`` degrees of freedom for ``K``
    draws), the variance reduction and the Welch width likewise.

    >>> p = paired_difference([1, 2, 3, 4], [2, 2, 5, 4])
    >>> round(p.mean, 2), round(p.ci, 4), round(p.variance_reduction, 4)
    (0.75, 1.5235, 0.766)
    """
    a = np.asarray(list(reference), dtype=float)
    b = np.asarray(list(alternative), dtype=float)
    if a.shape != b.shape:
        raise ValueError("the two samples must be paired (same length)")
    g = None if groups is None else np.asarray(list(groups))
    if g is not None and g.shape != a.shape:
        raise ValueError("groups must give one draw per replication")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n == 0:
        return Paired(math.nan, math.nan, 0, math.nan, math.nan)
    a, b = _group_means(None if g is None else g[keep], a, b)
    units = int(a.size)  # replications, or draws
    d = b - a
    mean = float(d.mean())
    if units < 2:
        return Paired(mean, math.nan, n, math.nan, math.nan)
    q = 0.5 + confidence / 2
    var_d, var_a, var_b = (float(x.var(ddof=1)) for x in (d, a, b))
    half = float(stats.t.ppf(q, units - 1)) * math.sqrt(var_d / units)
    pooled = var_a + var_b
    scale = max(1.0, abs(float(a.mean())), abs(float(b.mean())))
    if math.sqrt(pooled) > 1e-9 * scale:  # else constant up to rounding: nothing to reduce
        welch_df = pooled**2 * (units - 1) / (var_a**2 + var_b**2)
        half_ind = float(stats.t.ppf(q, welch_df)) * math.sqrt(pooled / units)
        reduction = 1.0 - var_d / pooled
    else:
        half_ind, reduction = 0.0, math.nan
    return Paired(mean, half, n, half_ind, reduction)


def mean_ci(
    values: Iterable[float], confidence: float = CONFIDENCE, groups: Iterable[Any] | None = None
) -> tuple[float, float, int]:
    """Mean, Student t half-width and count of the finite values; with ``groups`` (parameter
    draws), the mean and interval of the per-draw means (see :func:`paired_difference`)."""
    x = np.asarray(list(values), dtype=float)
    g = None if groups is None else np.asarray(list(groups))
    keep = np.isfinite(x)
    x = x[keep]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    (x,) = _group_means(None if g is None else g[keep], x)
    if x.size < 2:
        return float(x.mean()), math.nan, n
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * float(x.std(ddof=1))
    return float(x.mean()), half / math.sqrt(x.size), n


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


def kpi_kind(kpi: str, scenario: Scenario | None = None) -> Literal["share", "euro", "number"]:
    """How to show a KPI: a share (as %), euros, or a plain number."""
    if kpi.startswith("cost."):
        return "euro"
    if kpi.startswith(("positive_share", "utilisation")):
        return "share"
    if kpi.startswith("obs.") and scenario is not None:
        obs = scenario.observations.get(kpi.removeprefix("obs."))
        if obs is not None and obs.metric in _SHARE_METRICS:
            return "share"
    return "number"


def kpi_label(kpi: str, scenario: Scenario, lang: Lang = "en") -> str:
    """A KPI's label in the tables: its ``table.kpi.*`` text, a node KPI named after its node,
    or an observation's own label."""
    if f"table.kpi.{kpi}" in LABELS:
        return LABELS[f"table.kpi.{kpi}"][lang]
    if kpi.startswith("obs."):
        name, _, rate = kpi.removeprefix("obs.").partition(".")
        obs = scenario.observations.get(name)
        base = (obs.label if obs is not None else None) or name
        suffix = f"table.obs.{rate}"
        return base + (LABELS[suffix][lang] if suffix in LABELS else "")
    parts = kpi.split(".")
    if (
        len(parts) == 5
        and parts[:3] == ["exits", "positive", "from"]
        and parts[3] in scenario.nodes
    ):
        node = node_name(scenario.nodes[parts[3]].name, lang)
        return LABELS["table.kpi.exits.positive.from"][lang].format(node=node)
    if len(parts) in (2, 3) and parts[1] in scenario.nodes:
        key = f"table.node.{parts[0]}" + (f".{parts[2]}" if len(parts) == 3 else "")
        if key in LABELS:
            node = node_name(scenario.nodes[parts[1]].name, lang)
            return LABELS[key][lang].format(node=node)
    return kpi


def _pick_kpis(tables: Mapping[str, pd.DataFrame], reference: str) -> list[str]:
    ref = tables[reference]
    chosen: list[str] = []
    for options in DEFAULT_KPIS:
        for kpi in options:
            if kpi in ref.columns and ref[kpi].notna().any():
                chosen.append(kpi)
                break
    return chosen


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
    shown = _check_kpis(kpis, tables) if kpis else _pick_kpis(tables, reference)
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
            row["kind"] = kpi_kind(kpi, ref_scenario)
            row["label_en"] = kpi_label(kpi, ref_scenario, "en")
            row["label_fr"] = kpi_label(kpi, ref_scenario, "fr")
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
    runs = {
        sc.name: run(
            sc,
            replications,
            seed,
            workers,
            progress=progress,
            parameter_sets=parameter_sets,
            parameter_spec=parameter_spec,
        )
        for sc in scenarios
    }
    info: dict[str, Any] = {}
    if parameter_sets:
        info = {"draws": len(parameter_sets), "parameter_sets": [dict(p) for p in parameter_sets]}
    return build(runs, kpis, time.perf_counter() - started, parameters=info)


def _ancestors(path: Path) -> list[Path]:
    """The files ``path`` extends, nearest first (following ``extends:`` keys)."""
    chain: list[Path] = []
    current = path.resolve()
    while True:
        try:
            data = yaml.safe_load(current.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return chain
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
        scenarios, replications, seed, workers, kpis, progress, parameter_sets, parameter_spec
    )


def run_folders(folder: Path) -> list[Path]:
    """A run folder itself, or the runs of a comparison folder (``runs/<name>``) in order."""
    info_path = folder / "manifest.json"
    if not info_path.is_file():
        raise CompareError(f"{folder}: not a results folder (no manifest.json)")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    if info.get("kind") == "compare":
        return [folder / "runs" / name for name in info.get("run_folders", [])]
    if info.get("kind") not in (None, "run"):
        raise CompareError(f"{folder}: a '{info.get('kind')}' folder, not a run folder")
    return [folder]


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
            info = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
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
    from sim.schedule import Steps

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


# --- formatting ---------------------------------------------------------------------------------


def _decimals(x: float) -> int:
    magnitude = abs(x)
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2


def format_number(
    x: float | None,
    kind: str = "number",
    lang: Lang = "en",
    decimals: int | None = None,
    signed: bool = False,
    millions: bool = False,
) -> str:
    """A number for a table: shares in %, euros whole (or in millions, ``12.34 M``), French
    separators under ``fr``; NaN as a dash."""
    if x is None or pd.isna(x) or not math.isfinite(float(x)):
        return "–"
    value = float(x) * 100 if kind == "share" else float(x)
    if millions:
        value /= 1e6
        decimals = 2 if decimals is None else decimals
    if decimals is None:
        decimals = 1 if kind == "share" else 0 if kind == "euro" else _decimals(value)
    value = round(value, decimals) + 0.0  # no "-0"
    text = f"{abs(value):,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    if kind == "share":
        text += f"{NNBSP}%" if lang == "fr" else "%"
    if millions:
        text += f"{NNBSP}M"
    if value < 0:
        return MINUS + text
    return "+" + text if signed and value > 0 else text


def _zero(text: str) -> bool:
    """Whether a formatted number shows zero (or nothing)."""
    return text == "–" or text.lstrip("+" + MINUS).strip(f"0.,%M{NNBSP}") == ""


def _row_style(kind: str, reference_mean: float) -> tuple[int | None, bool]:
    """Decimals and scale of a table row, set by the reference's value."""
    if pd.isna(reference_mean):
        return None, False
    if kind == "euro":
        return None, abs(reference_mean) >= 1e6
    return (None if kind == "share" else _decimals(reference_mean)), False


def _cell(
    row: pd.Series,
    lang: Lang,
    reference: bool,
    newline: str,
    star: str,
    style: tuple[int | None, bool] = (None, False),
) -> str:
    kind = str(row["kind"])
    decimals, millions = style
    value = format_number(row["mean"], kind, lang, decimals, millions=millions)
    ci = format_number(row["ci"], kind, lang, decimals, millions=millions)
    text = value if _zero(ci) else f"{value} ± {ci}"
    if reference:
        return text
    diff = format_number(row["diff"], kind, lang, decimals, signed=True, millions=millions)
    dci = format_number(row["diff_ci"], kind, lang, decimals, millions=millions)
    mark = star if _is_true(row["significant"]) and not _zero(diff) else ""
    delta = f"Δ {diff}" if _zero(dci) else f"Δ {diff} ± {dci}"
    return f"{text}{newline}{delta}{mark}"


def _number(rows: pd.DataFrame, name: str, column: str = "mean") -> float:
    value = _plain(rows.loc[name, column]) if name in rows.index else None
    return math.nan if value is None else value


def _is_true(value: Any) -> bool:
    return not pd.isna(value) and bool(value)


def _crn_summary(head: pd.DataFrame, lang: Lang) -> str | None:
    alt = head[head["diff_ci"] > 0]
    if alt.empty:
        return None
    ratio = (alt["diff_ci_independent"] / alt["diff_ci"]).replace([np.inf, -np.inf], np.nan)
    reduction = alt["variance_reduction"].dropna()
    if ratio.dropna().empty or reduction.empty:
        return None
    factor = format_number(float(ratio.median()), "number", lang, 1)
    return _t("crn_line", lang).format(
        factor=factor, reduction=format_number(float(reduction.median()), "share", lang, 0)
    )


def _window(meta: Mapping[str, Any], lang: Lang) -> str:
    a, b = meta.get("kpi_window", ["?", "?"])
    return _t("window", lang).format(a=a, b=b)


def _notes(meta: Mapping[str, Any], head: pd.DataFrame, lang: Lang) -> str:
    """The lines under a table: what a cell is, parameter draws, the CRN gain."""
    text = _t("meta", lang).format(
        n=meta["replications"], seed=meta["seed"], window=_window(meta, lang)
    )
    draws = int(meta.get("draws") or 0)
    if draws >= 2:
        per_draw = format_number(int(meta["replications"]) / draws, "number", lang, 0)
        text += "\n" + _t("draws_line", lang).format(draws=draws, per_draw=per_draw, df=draws - 1)
    crn = _crn_summary(head, lang)
    return text + ("\n" + crn if crn else "")


def markdown(table: pd.DataFrame, meta: Mapping[str, Any], lang: Lang = "en") -> str:
    """The headline rows of a long table as a Markdown table, with the CRN summary below."""
    head = table[table["headline"].astype(bool)]
    names = list(meta["scenario_names"])
    reference = str(meta["reference"])
    label = "label_fr" if lang == "fr" else "label_en"
    kpis = list(dict.fromkeys(head["kpi"]))
    columns = [f"{reference} ({_t('reference', lang)})", *names[1:]]
    lines = [
        "| " + " | ".join([_t("kpi", lang), *columns, _t("crn", lang)]) + " |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for kpi in kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        cells = [str(rows[label].iloc[0])]
        style = _row_style(str(rows["kind"].iloc[0]), _number(rows, reference))
        for name in names:
            if name not in rows.index:
                cells.append("–")
                continue
            row = cast(pd.Series, rows.loc[name])
            cell = _cell(row, lang, name == reference, "<br>", "\\*", style)
            cells.append(cell)
        reduction = rows["variance_reduction"].drop(reference, errors="ignore").dropna()
        cells.append(
            format_number(float(reduction.median()), "share", lang, 0) if len(reduction) else "–"
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + _notes(meta, head, lang) + "\n"


def rich_table(comp: Comparison, lang: Lang = "en") -> Any:
    """The headline table for the terminal (a :class:`rich.table.Table`)."""
    from rich.table import Table

    head = comp.headline()
    meta = comp.meta()
    label = "label_fr" if lang == "fr" else "label_en"
    title = _t("title", lang).format(ref=comp.reference)
    table = Table(
        title=title,
        title_justify="left",
        caption=_notes(meta, head, lang),
        caption_justify="left",
        show_lines=True,
    )
    table.add_column(_t("kpi", lang), ratio=3)
    for name in comp.scenarios:
        header = f"{name}\n({_t('reference', lang)})" if name == comp.reference else name
        table.add_column(header, justify="right", ratio=2)
    table.add_column(_t("crn", lang), justify="right")
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        cells = [str(rows[label].iloc[0])]
        style = _row_style(str(rows["kind"].iloc[0]), _number(rows, comp.reference))
        for name in comp.scenarios:
            row = cast(pd.Series, rows.loc[name])
            cell = _cell(row, lang, name == comp.reference, "\n", "[bold] *[/]", style)
            cells.append(cell)
        reduction = rows["variance_reduction"].drop(comp.reference).dropna()
        cells.append(
            format_number(float(reduction.median()), "share", lang, 0) if len(reduction) else "–"
        )
        table.add_row(*cells)
    return table


# --- writing ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "scenario",
    "kpi",
    "mean",
    "ci",
    "diff",
    "diff_ci",
    "significant",
    "diff_ci_independent",
    "variance_reduction",
    "n",
    "headline",
    "kind",
    "label_en",
    "label_fr",
)


def _folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "scenario"


def write_comparison(
    comp: Comparison, out: Path | str, force: bool = False, lang: Lang = "en"
) -> Path:
    """Write a comparison folder atomically: ``comparison.csv`` (long), ``comparison.md``,
    ``comparison.xlsx``, ``queues.png``, ``manifest.json`` and ``runs/<scenario>/`` (full run
    folders, copied when the runs were read from folders)."""
    from sim.compare_chart import plot_queues

    out = Path(out)
    folders = {name: _folder_name(name) for name in comp.scenarios}
    if len(set(folders.values())) < len(folders):
        raise CompareError("two scenario names map to the same folder name; rename one")
    with atomic_dir(out, force) as tmp:
        comp.table.loc[:, list(CSV_COLUMNS)].to_csv(tmp / "comparison.csv", index=False)
        meta = comp.meta()
        title = "# " + _t("title", lang).format(ref=comp.reference) + "\n\n"
        (tmp / "comparison.md").write_text(title + markdown(comp.table, meta, lang), "utf-8")
        write_xlsx(comp, tmp / "comparison.xlsx", lang)
        for name, result in comp.runs.items():
            target = tmp / "runs" / folders[name]
            source = comp.sources.get(name)
            if source is not None:
                shutil.copytree(source, target)
            else:
                write_run(result, target, extra=comp.parameters or None)
        charts = plot_queues(comp, tmp / "queues.png", lang)
        extra = {
            **meta,
            **comp.parameters,
            "kpis": list(comp.kpis),
            "lang": lang,
            "run_folders": [folders[n] for n in comp.scenarios],
            "sources": {n: str(p) for n, p in comp.sources.items()},
            "files": ["comparison.csv", "comparison.md", "comparison.xlsx"]
            + ([charts.name] if charts else []),
        }
        info = manifest(
            "compare",
            [r.scenario for r in comp.runs.values()],
            comp.seed,
            comp.replications,
            comp.seconds,
            extra,
        )
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
    return out


_SHEETS: dict[str, tuple[str, str]] = {
    "values": ("Values", "Valeurs"),
    "differences": ("Differences", "Écarts"),
    "all": ("All KPIs", "Tous les indicateurs"),
    "replications": ("Replications", "Réplications"),
    "scenarios": ("Scenarios", "Scénarios"),
}

_HEADERS: dict[str, tuple[str, str]] = {
    "label": ("KPI", "Indicateur"),
    "kpi": ("key", "clé"),
    "mean": ("mean", "moyenne"),
    "ci": ("± 95% CI", "± IC 95 %"),
    "diff": ("Δ", "Δ"),
    "diff_ci": ("Δ ± 95% CI", "Δ ± IC 95 %"),
    "significant": ("significant", "significatif"),
    "diff_ci_independent": ("Δ ± CI without CRN", "Δ ± IC sans NAC"),
    "variance_reduction": ("CRN variance reduction", "réduction de variance NAC"),
    "n": ("pairs", "paires"),
    "scenario": ("scenario", "scénario"),
    "replication": ("replication", "réplication"),
    "question": ("question", "question"),
    "description": ("description (as written in the file)", "description (telle qu'écrite)"),
    "sha256": ("SHA-256", "SHA-256"),
    "source": ("run folder", "dossier de simulation"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
}


def _h(key: str, lang: Lang) -> str:
    en, fr = _HEADERS[key]
    return fr if lang == "fr" else en


def number_format(kind: str, lang: Lang, value: float | None = None) -> str:
    """An Excel number format for a KPI kind: percent, euros or a plain number.

    Format codes always use ``,`` for the thousands and ``.`` for the decimal separator, and
    the spreadsheet shows them with the *reader's* system separators: no code can force
    ``1 234,5`` on a reader whose system is set to English (a locale tag such as ``[$-40C]``
    only changes month and day names). What ``fr`` changes is the French layout the code
    controls: a space before ``%`` (``12,3 %``) and ``€`` after the amount (``1 234 €``);
    a reader with French system settings then sees French numbers throughout.
    """
    if kind == "share":
        return "0.0\\ %" if lang == "fr" else "0.0%"
    if kind == "euro":
        return '#,##0\\ "€"' if lang == "fr" else '"€"#,##0'
    decimals = 2 if value is None or not math.isfinite(value) else _decimals(value)
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def question(sc: Scenario, lang: Lang = "en") -> str:
    """The question a scenario answers, in ``lang``: its title (the one text a scenario carries
    in both languages), else its description, else its name."""
    if sc.title is not None:
        return sc.title.fr if lang == "fr" else sc.title.en
    return (sc.description or sc.name).strip()


def write_xlsx(comp: Comparison, path: Path, lang: Lang = "en") -> None:
    """A workbook with one sheet per view: values, differences, all KPIs, replications,
    scenarios. Numbers stay numbers, formatted per KPI (French formats under ``fr``)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = Workbook()
    bold = Font(bold=True)
    head = comp.headline()
    label = "label_fr" if lang == "fr" else "label_en"
    names = comp.scenarios
    alternatives = names[1:]

    def sheet(key: str, header: list[str], first: bool = False) -> Any:
        ws = wb.active if first else wb.create_sheet()
        ws.title = _SHEETS[key][1 if lang == "fr" else 0]
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "B2"
        return ws

    def widths(ws: Any, first: int = 60, rest: int = 16) -> None:
        for i in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(i)].width = first if i == 1 else rest

    # values: one row per KPI, mean and CI per scenario
    header = [_h("label", lang), _h("kpi", lang)]
    for name in names:
        header += [f"{name}: {_h('mean', lang)}", f"{name}: {_h('ci', lang)}"]
    ws = sheet("values", header, first=True)
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        kind = str(rows["kind"].iloc[0])
        fmt = number_format(kind, lang, _plain(rows.loc[comp.reference, "mean"]))
        values: list[Any] = [rows[label].iloc[0], kpi]
        for name in names:
            values += [_plain(rows.loc[name, "mean"]), _plain(rows.loc[name, "ci"])]
        ws.append(values)
        for cell in ws[ws.max_row][2:]:
            cell.number_format = fmt
    widths(ws)

    # differences: one row per KPI, paired difference per alternative
    header = [_h("label", lang), _h("kpi", lang)]
    for name in alternatives:
        header += [
            f"{name}: {_h(k, lang)}"
            for k in ("diff", "diff_ci", "significant", "diff_ci_independent", "variance_reduction")
        ]
    ws = sheet("differences", header)
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        kind = str(rows["kind"].iloc[0])
        fmt = number_format(kind, lang, _plain(rows.loc[comp.reference, "mean"]))
        values = [rows[label].iloc[0], kpi]
        for name in alternatives:
            r = rows.loc[name]
            sig = r["significant"]
            values += [
                _plain(r["diff"]),
                _plain(r["diff_ci"]),
                "" if pd.isna(sig) else _h("yes" if sig else "no", lang),
                _plain(r["diff_ci_independent"]),
                _plain(r["variance_reduction"]),
            ]
        ws.append(values)
        cells = ws[ws.max_row]
        for j in range(len(alternatives)):
            base = 2 + 5 * j
            for k in (0, 1, 3):
                cells[base + k].number_format = fmt
            cells[base + 4].number_format = number_format("share", lang)
    widths(ws)

    # all KPIs: the long table
    columns = ["scenario", "kpi", "mean", "ci", "diff", "diff_ci", "significant"]
    columns += ["diff_ci_independent", "variance_reduction", "n"]
    ws = sheet("all", [_h(c, lang) for c in columns])
    ws.freeze_panes = "C2"
    for _, r in comp.table.iterrows():
        sig = r["significant"]
        ws.append(
            [
                r["scenario"],
                r["kpi"],
                *(_plain(r[c]) for c in ("mean", "ci", "diff", "diff_ci")),
                "" if pd.isna(sig) else _h("yes" if sig else "no", lang),
                _plain(r["diff_ci_independent"]),
                _plain(r["variance_reduction"]),
                int(r["n"]),
            ]
        )
        fmt = number_format(str(r["kind"]), lang, _plain(r["mean"]))
        cells = ws[ws.max_row]
        for k in (2, 3, 4, 5, 7):
            cells[k].number_format = fmt
        cells[8].number_format = number_format("share", lang)
    widths(ws, 24, 14)

    # replications: the shown KPIs per scenario and replication (the pairs)
    ws = sheet("replications", [_h("scenario", lang), _h("replication", lang), *comp.kpis])
    formats = [
        number_format(
            kpi_kind(k, comp.runs[comp.reference].scenario),
            lang,
            float(head.loc[head["kpi"] == k, "mean"].iloc[0]),
        )
        for k in comp.kpis
    ]
    for name in names:
        t = comp.tables[name]
        for rep, row in t.iterrows():
            ws.append([name, int(str(rep)), *(_plain(row.get(k)) for k in comp.kpis)])
            for cell, fmt in zip(ws[ws.max_row][2:], formats, strict=True):
                cell.number_format = fmt
    widths(ws, 24, 16)

    # scenarios: what was compared, and the question each one answers
    header = [_h(k, lang) for k in ("scenario", "question", "description", "sha256", "source")]
    ws = sheet("scenarios", header)
    for name, result in comp.runs.items():
        sc = result.scenario
        source = comp.sources.get(name)
        ws.append([name, question(sc, lang), sc.description or "", sc.digest(), str(source or "")])
    widths(ws, 24, 60)
    wb.save(path)


def _plain(x: Any) -> float | None:
    """A cell value: a float, or None (an empty cell) for NaN and missing values."""
    if x is None or pd.isna(x):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


# --- generated blocks of Markdown files (README, docs) -------------------------------------------

README_START = "<!-- compare-table:start -->"
README_END = "<!-- compare-table:end -->"
_MARKER = re.compile(r"<!-- compare-([a-z0-9-]+):(start|end) -->")


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the generated block ``name``."""
    return f"<!-- compare-{name}:start -->", f"<!-- compare-{name}:end -->"


def block_names(text: str) -> list[str]:
    """Names of the generated blocks a Markdown text holds, in order."""
    return list(dict.fromkeys(m.group(1) for m in _MARKER.finditer(text)))


def read_block(text: str, name: str = "table") -> str:
    """The content of block ``name`` (without its markers and surrounding blank lines)."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"no {start} ... {end} block in the text")
    return text[i + len(start) : j].strip()


def replace_block(text: str, block: str, name: str = "table") -> str:
    """``text`` with the part between the markers of block ``name`` replaced by ``block``."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"no {start} ... {end} block in the text")
    return text[: i + len(start)] + "\n" + block.strip() + "\n" + text[j:]


def update_markdown(path: Path | str, blocks: Mapping[str, str]) -> list[str]:
    """Regenerate every marked block of a Markdown file from ``blocks`` (name -> content),
    atomically; refuse a file with no block, or with a block that ``blocks`` lacks (it would
    stay stale). Returns the names replaced."""
    from sim.results import write_text_atomic

    path = Path(path)
    text = path.read_text("utf-8")
    names = block_names(text)
    if not names:
        raise ValueError(f"{path}: no <!-- compare-NAME:start --> block to regenerate")
    missing = [n for n in names if n not in blocks]
    if missing:
        raise ValueError(f"{path}: no generator for the block(s) {', '.join(missing)}")
    for name in names:
        text = replace_block(text, blocks[name], name)
    write_text_atomic(path, text)
    return names


def readme_table(folder: Path | str, lang: Lang = "en") -> str:
    """The Markdown table of a comparison folder (from its ``comparison.csv`` and manifest):
    the same text as :func:`markdown` on the comparison that wrote the folder."""
    folder = Path(folder)
    table = pd.read_csv(folder / "comparison.csv", keep_default_na=True)
    table["significant"] = table["significant"].map(lambda v: str(v).lower() == "true")
    info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return markdown(table, info, lang)

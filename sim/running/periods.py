"""Series by month or year: the table a planner asks for ("the ASSORE waiting list month by
month"), with each period's mean across replications and its 95% interval, and, for a
comparison, the paired difference to the reference.

A replication's value for a period is the mean of its daily values in that period; the interval
is over replications (over per-draw means when the runs propagate parameter draws), with the
Student t interval of :mod:`sim.running.statistics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sim.running.runner import RunResult
from sim.running.statistics import columns_mean_ci

Period = Literal["month", "year"]
_FREQUENCY = {"month": "M", "year": "Y"}


class PeriodError(ValueError):
    """A series or period the runs cannot give; the message is one line for the user."""


def series_names(result: RunResult) -> list[str]:
    """The daily series a run kept (``street``, ``waiting.<node>``, ``occupancy.<node>``, ...)."""
    ids = {"replication", "day", "date", "draw"}
    return [str(c) for c in result.timeseries.columns if c not in ids]


def period_means(
    result: RunResult, by: Period, series: Sequence[str] | None = None
) -> pd.DataFrame:
    """The mean of each series (every one, or those named) per replication and period: one
    row per ``(replication, period)``, one column per series."""
    ts = result.timeseries
    if ts.empty:
        raise PeriodError("the runs kept no daily series (run without --no-timeseries)")
    names = series_names(result) if series is None else list(series)
    missing = [s for s in names if s not in ts.columns]
    if missing:
        known = ", ".join(series_names(result))
        raise PeriodError(f"no series '{missing[0]}' in the runs; they have: {known}")
    start = pd.Timestamp(result.scenario.start)
    dates = start + pd.to_timedelta(ts["day"].to_numpy(dtype=float), unit="D")
    frame = ts[names].astype(float)
    frame.insert(0, "period", pd.PeriodIndex(dates, freq=_FREQUENCY[by]).astype(str))
    frame.insert(0, "replication", ts["replication"].to_numpy())
    return frame.groupby(["replication", "period"], sort=True).mean()


def per_replication(result: RunResult, series: str, by: Period) -> pd.DataFrame:
    """One row per replication, one column per period: the mean of ``series`` in it."""
    means = period_means(result, by, [series])[series]
    wide = means.unstack("period")
    wide.columns.name = "period"
    return wide.sort_index()


def _draws(result: RunResult) -> np.ndarray | None:
    kpis = result.kpis
    if "draw" not in kpis.columns or kpis["draw"].nunique() < 2:
        return None
    return kpis.set_index("replication").sort_index()["draw"].to_numpy()


def period_table(runs: Mapping[str, RunResult], series: str, by: Period = "month") -> pd.DataFrame:
    """Rows ``period, scenario, mean, ci95, n`` (and ``diff, diff_ci`` to the first run, the
    reference, paired by replication) for ``series`` by ``by``."""
    tables = {name: per_replication(result, series, by) for name, result in runs.items()}
    return _table(runs, tables)


def _table(runs: Mapping[str, RunResult], tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of :func:`period_table` from each run's per-replication table (replications
    paired with the first run's, periods as the first run's)."""
    names = list(runs)
    reference = tables[names[0]]
    periods = [str(p) for p in reference.columns]
    groups = _draws(runs[names[0]])
    ref = reference.to_numpy(dtype=float)
    stats = {}
    for name in names:
        aligned = tables[name].reindex(index=reference.index, columns=reference.columns)
        x = aligned.to_numpy(dtype=float)
        stats[name] = (*columns_mean_ci(x, groups), columns_mean_ci(x - ref, groups)[:2])
    rows = []
    for k, period in enumerate(periods):
        for name in names:
            mean, ci, n, (diff, diff_ci) = stats[name]
            row = {"period": period, "scenario": name, "mean": mean[k], "ci95": ci[k], "n": n[k]}
            if name != names[0]:
                row.update(diff=diff[k], diff_ci=diff_ci[k])
            rows.append(row)
    columns = ["period", "scenario", "mean", "ci95", "n"]
    if len(names) > 1:
        columns += ["diff", "diff_ci"]
    return pd.DataFrame(rows).reindex(columns=columns)


def series_table(runs: Mapping[str, RunResult], by: Period = "month") -> pd.DataFrame:
    """Every daily series by ``by``: the rows of :func:`period_table` for each series, with a
    first column ``series`` (series in the reference's order, then those only other runs
    have). A series a run lacks (a node it does not have) leaves that run out of its rows;
    differences are to the first run, and left empty for a series the first run lacks."""
    means = {name: period_means(result, by) for name, result in runs.items()}
    order: list[str] = []
    for frame in means.values():
        order += [str(c) for c in frame.columns if c not in order]
    frames = []
    for series in order:
        having = {n: r for n, r in runs.items() if series in means[n].columns}
        tables = {n: means[n][series].unstack("period").sort_index() for n in having}
        table = _table(having, tables)
        if len(runs) > 1 and (next(iter(runs)) not in having or "diff" not in table.columns):
            table = table.assign(diff=np.nan, diff_ci=np.nan)  # no reference to differ from
        frames.append(table.assign(series=series))
    columns = ["series", "period", "scenario", "mean", "ci95", "n"]
    if len(runs) > 1:
        columns += ["diff", "diff_ci"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)

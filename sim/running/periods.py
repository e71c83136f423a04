"""Series by month or year: the table a planner asks for ("the ASSORE waiting list month by
month"), with each period's mean across replications and its 95% interval, and, for a
comparison, the paired difference to the reference.

A replication's value for a period is the mean of its daily values in that period; the interval
is over replications (over per-draw means when the runs propagate parameter draws), with the
Student t interval of :mod:`sim.running.statistics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from sim.running.runner import RunResult
from sim.running.statistics import mean_ci, paired_difference

Period = Literal["month", "year"]
_FREQUENCY = {"month": "M", "year": "Y"}


class PeriodError(ValueError):
    """A series or period the runs cannot give; the message is one line for the user."""


def series_names(result: RunResult) -> list[str]:
    """The daily series a run kept (``street``, ``waiting.<node>``, ``occupancy.<node>``, ...)."""
    ids = {"replication", "day", "date", "draw"}
    return [str(c) for c in result.timeseries.columns if c not in ids]


def per_replication(result: RunResult, series: str, by: Period) -> pd.DataFrame:
    """One row per replication, one column per period: the mean of ``series`` in it."""
    ts = result.timeseries
    if ts.empty:
        raise PeriodError("the runs kept no daily series (run without --no-timeseries)")
    if series not in ts.columns:
        known = ", ".join(series_names(result))
        raise PeriodError(f"no series '{series}' in the runs; they have: {known}")
    start = pd.Timestamp(result.scenario.start)
    dates = start + pd.to_timedelta(ts["day"].to_numpy(dtype=float), unit="D")
    period = pd.PeriodIndex(dates, freq=_FREQUENCY[by]).astype(str)
    frame = pd.DataFrame({"replication": ts["replication"].to_numpy(), "period": period})
    frame["value"] = ts[series].to_numpy(dtype=float)
    wide = frame.pivot_table(index="replication", columns="period", values="value", aggfunc="mean")
    return wide.sort_index()


def _draws(result: RunResult) -> np.ndarray | None:
    kpis = result.kpis
    if "draw" not in kpis.columns or kpis["draw"].nunique() < 2:
        return None
    return kpis.set_index("replication").sort_index()["draw"].to_numpy()


def period_table(runs: Mapping[str, RunResult], series: str, by: Period = "month") -> pd.DataFrame:
    """Rows ``period, scenario, mean, ci95, n`` (and ``diff, diff_ci`` to the first run, the
    reference, paired by replication) for ``series`` by ``by``."""
    names = list(runs)
    tables = {name: per_replication(result, series, by) for name, result in runs.items()}
    reference = tables[names[0]]
    groups = _draws(runs[names[0]])
    rows = []
    for period in reference.columns:
        ref = reference[period].to_numpy(dtype=float)
        for name in names:
            values = tables[name].reindex(reference.index)
            column = values[period] if period in values else pd.Series(np.nan, values.index)
            x = column.to_numpy(dtype=float)
            mean, ci, n = mean_ci(x, groups=groups)
            row = {"period": str(period), "scenario": name, "mean": mean, "ci95": ci, "n": n}
            if name != names[0]:
                paired = paired_difference(ref, x, groups=groups)
                row.update(diff=paired.mean, diff_ci=paired.ci)
            rows.append(row)
    columns = ["period", "scenario", "mean", "ci95", "n"]
    if len(names) > 1:
        columns += ["diff", "diff_ci"]
    return pd.DataFrame(rows).reindex(columns=columns)

"""How many replications, and how long a warm-up: the confidence-interval width method and
Welch's moving-average plot."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from sim.runner import replicate
from sim.scenario import Scenario


@dataclasses.dataclass(frozen=True)
class ReplicationCount:
    """The KPI's running mean and relative CI half-width after each replication."""

    kpi: str
    precision: float
    needed: int | None
    table: pd.DataFrame


def replications_needed(
    scenario: Scenario,
    kpi: str,
    precision: float = 0.05,
    seed: int = 1,
    minimum: int = 5,
    maximum: int = 200,
    progress: Callable[[int], None] | None = None,
) -> ReplicationCount:
    """Add replications until the 95% CI half-width of ``kpi`` is within ``precision`` of its
    mean (relative), and stays so for the next replications checked; stop at ``maximum``."""
    values: list[float] = []
    rows = []
    needed: int | None = None
    for r in range(maximum):
        result = replicate(scenario, r, seed, keep_timeseries=False, keep_episodes=False)
        if kpi not in result.kpis:
            raise KeyError(f"unknown KPI '{kpi}'")
        values.append(result.kpis[kpi])
        if progress:
            progress(1)
        n = len(values)
        mean = float(np.mean(values))
        half = (
            float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
            if n > 1
            else math.nan
        )
        relative = half / abs(mean) if mean else math.inf
        rows.append({"replications": n, "mean": mean, "ci95": half, "relative": relative})
        if n >= minimum and relative <= precision:
            if needed is None:
                needed = n
            if n >= needed + 2:  # confirm it holds a little longer before stopping
                break
        else:
            needed = None
    return ReplicationCount(kpi, precision, needed, pd.DataFrame(rows))


def welch_figure(timeseries: pd.DataFrame, series: str, window: int = 30) -> Figure:
    """Welch's method: the mean across replications of ``series`` by day, smoothed by a
    centred moving average of ``window`` days; warm-up ends where the curve levels off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = timeseries.groupby("day")[series].mean()
    smooth = mean.rolling(window, center=True, min_periods=1).mean()
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    ax.plot(mean.index, mean.to_numpy(), color="#bbbbbb", lw=0.8, label="mean across replications")
    ax.plot(
        smooth.index,
        smooth.to_numpy(),
        color="#0072B2",
        lw=1.5,
        label=f"moving average ({window} days)",
    )
    ax.set_xlabel("day")
    ax.set_ylabel(series)
    ax.set_title(f"Welch plot: {series}")
    ax.legend()
    return fig

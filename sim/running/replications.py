"""How many replications, and how long a warm-up: the confidence-interval width method and
Welch's moving-average plot."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.inputs.scenario import Scenario
from sim.running import statistics
from sim.running.executors import Executor, SerialExecutor
from sim.running.runner import replicate


@dataclasses.dataclass(frozen=True)
class ReplicationCount:
    """The KPI's running mean and relative CI half-width after each replication; ``needed``
    is the count reported (``None``: not reached within the maximum)."""

    kpi: str
    precision: float
    needed: int | None
    table: pd.DataFrame


def running_table(values: Sequence[float]) -> pd.DataFrame:
    """Mean, 95% CI half-width and half-width relative to the mean after 1, 2, ... values."""
    rows = []
    for n in range(1, len(values) + 1):
        mean = float(np.mean(values[:n]))
        half = statistics.describe(values[:n])[2]
        relative = half / abs(mean) if mean else math.inf
        rows.append({"replications": n, "mean": mean, "ci95": half, "relative": relative})
    return pd.DataFrame(rows)


def sustained_from(relative: Sequence[float], precision: float, minimum: int) -> int | None:
    """The first count of the final run of counts (at least ``minimum``) whose relative
    half-width is within ``precision``; ``None`` when the last count is not within it."""
    start: int | None = None
    for n in range(len(relative), 0, -1):
        if n < minimum or not relative[n - 1] <= precision:  # NaN is not within
            break
        start = n
    return start


def count_needed(
    relative: Sequence[float], precision: float, minimum: int = 5, confirm: int = 2
) -> int | None:
    """The count :func:`replications_needed` reports for these relative half-widths: it stops
    once the precision has held for ``confirm`` more replications (or the values run out)."""
    needed: int | None = None
    for n in range(1, len(relative) + 1):
        needed = sustained_from(relative[:n], precision, minimum)
        if needed is not None and n >= needed + confirm:
            break
    return needed


def _kpis(task: tuple[Scenario, int, int]) -> dict[str, float]:
    scenario, replication, seed = task
    return replicate(scenario, replication, seed, keep_timeseries=False, keep_episodes=False).kpis


def replications_needed(
    scenario: Scenario,
    kpi: str,
    precision: float = 0.05,
    seed: int = 1,
    minimum: int = 5,
    maximum: int = 200,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> ReplicationCount:
    """Add replications until the 95% CI half-width of ``kpi`` is within ``precision`` of its
    mean (relative) and stays so for the next two; stop at ``maximum``.

    The count reported is the first of that final run of successes (at least ``minimum``): its
    half-width is within the precision and, above ``minimum``, one fewer's is not. On an
    ``executor``, replications run a batch (one per worker) at a time and are read in
    replication order, so the count is the same as serially."""
    executor = executor or SerialExecutor()
    values: list[float] = []
    relative: list[float] = []
    needed: int | None = None
    r = 0
    while r < maximum:
        batch = list(range(r, min(maximum, r + max(1, executor.workers))))
        found: dict[int, dict[str, float]] = {}
        for index, kpis in executor.imap_unordered(_kpis, [(scenario, b, seed) for b in batch]):
            if isinstance(kpis, BaseException):
                raise kpis
            found[batch[index]] = kpis
        for b in batch:
            r = b + 1
            if kpi not in found[b]:
                raise KeyError(f"unknown KPI '{kpi}'")
            values.append(found[b][kpi])
            if progress:
                progress(1)
            mean = float(np.mean(values))
            relative.append(statistics.describe(values)[2] / abs(mean) if mean else math.inf)
            needed = sustained_from(relative, precision, minimum)
            if needed is not None and len(values) >= needed + 2:  # it held a little longer
                return ReplicationCount(kpi, precision, needed, running_table(values))
    return ReplicationCount(kpi, precision, needed, running_table(values))


def welch_average(timeseries: pd.DataFrame, series: str, window: int = 30) -> pd.DataFrame:
    """Welch's method (Law & Kelton): the mean across replications of ``series`` by day, and
    its moving average over ``window`` days centred on each day (``window // 2`` each side;
    near the ends the window shrinks symmetrically to what is available)."""
    mean = timeseries.groupby("day")[series].mean().sort_index()
    values = mean.to_numpy(dtype=float)
    half = window // 2
    smooth = np.empty_like(values)
    for i in range(values.size):
        reach = min(half, i, values.size - 1 - i)
        smooth[i] = values[i - reach : i + reach + 1].mean()
    return pd.DataFrame({"day": mean.index, "mean": values, "moving_average": smooth})

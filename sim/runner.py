"""Replications on an executor. Replication ``r`` always runs with streams keyed by
``(seed, r)``, so results are identical whatever the number of workers or completion order."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from sim.metrics import daily_frame, episodes_frame, replication_kpis, summarise
from sim.model import run_once
from sim.scenario import Scenario

DEFAULT_SEED = 20190527  # the plan's signature date; any integer works


@dataclasses.dataclass(frozen=True)
class ReplicationResult:
    """What one replication returns to the runner (small, picklable)."""

    replication: int
    kpis: dict[str, float]
    timeseries: pd.DataFrame | None
    episodes: pd.DataFrame | None
    events: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class RunResult:
    """The replications of one scenario: KPIs per replication, summary, series, episodes."""

    scenario: Scenario
    seed: int
    replications: int
    kpis: pd.DataFrame
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    episodes: pd.DataFrame
    events: int
    seconds: float

    def value(self, kpi: str) -> float:
        """Mean across replications of ``kpi``."""
        row = self.summary.loc[self.summary["kpi"] == kpi, "mean"]
        if row.empty:
            raise KeyError(kpi)
        return float(row.iloc[0])


def replicate(
    scenario: Scenario,
    replication: int,
    seed: int,
    keep_timeseries: bool = True,
    keep_episodes: bool = True,
) -> ReplicationResult:
    """Run one replication and reduce it to KPIs (and optionally its frames)."""
    started = time.perf_counter()
    record = run_once(scenario, replication, seed)
    ep = episodes_frame(record)
    values = replication_kpis(scenario, record)
    series = daily_frame(scenario, record) if keep_timeseries else None
    if keep_episodes:
        ep.insert(0, "replication", replication)
    return ReplicationResult(
        replication,
        values,
        series,
        ep if keep_episodes else None,
        record.events,
        time.perf_counter() - started,
    )


def _replicate_many(
    args: tuple[Scenario, Sequence[int], int, bool, bool],
) -> list[ReplicationResult]:
    scenario, reps, seed, keep_ts, keep_ep = args
    return [replicate(scenario, r, seed, keep_ts, keep_ep) for r in reps]


def default_workers() -> int:
    """Cores available to this process."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(
    scenario: Scenario,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    keep_timeseries: bool = True,
    keep_episodes: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``replications`` replications of ``scenario``; same numbers whatever ``workers``.

    >>> from sim import load_scenario, run                      # doctest: +SKIP
    >>> result = run(load_scenario("scenarios/etape2-610.yaml"), replications=5)
    >>> result.summary.set_index("kpi").loc["street.mean", "mean"]
    """
    if replications < 1:
        raise ValueError("replications must be at least 1")
    started = time.perf_counter()
    reps = list(range(replications))
    results: list[ReplicationResult] = []
    if workers <= 1 or replications == 1:
        for r in reps:
            results.append(replicate(scenario, r, seed, keep_timeseries, keep_episodes))
            if progress:
                progress(1)
    else:
        chunks = _chunks(reps, workers)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            jobs = [(scenario, c, seed, keep_timeseries, keep_episodes) for c in chunks]
            for batch in pool.map(_replicate_many, jobs):
                results.extend(batch)
                if progress:
                    progress(len(batch))
    return collect(scenario, seed, results, time.perf_counter() - started)


def _chunks(items: list[int], workers: int) -> list[list[int]]:
    """Split into about four chunks per worker, keeping order."""
    size = max(1, len(items) // (workers * 4))
    return [items[i : i + size] for i in range(0, len(items), size)]


def collect(
    scenario: Scenario, seed: int, results: Iterable[ReplicationResult], seconds: float
) -> RunResult:
    """Assemble replication results (in replication order) into a :class:`RunResult`."""
    ordered = sorted(results, key=lambda r: r.replication)
    table = pd.DataFrame([{"replication": r.replication, **r.kpis} for r in ordered])
    series = [r.timeseries for r in ordered if r.timeseries is not None]
    episodes = [r.episodes for r in ordered if r.episodes is not None]
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=len(ordered),
        kpis=table,
        summary=summarise(table),
        timeseries=pd.concat(series, ignore_index=True) if series else pd.DataFrame(),
        episodes=pd.concat(episodes, ignore_index=True) if episodes else pd.DataFrame(),
        events=sum(r.events for r in ordered),
        seconds=seconds,
    )

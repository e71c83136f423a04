"""Replications on an executor. Replication ``r`` always runs with streams keyed by
``(seed, r)``, so results are identical whatever the number of workers or completion order."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd

from sim.engine.model import run_once
from sim.inputs.scenario import DEFAULT_SEED as DEFAULT_SEED
from sim.inputs.scenario import FreeParameter, Scenario
from sim.running.executors import Executor, chunk_size, make_executor
from sim.running.metrics import (
    daily_frame,
    episodes_frame,
    observation_filter,
    observations,
    replication_kpis,
    summarise,
)


@dataclasses.dataclass(frozen=True)
class ReplicationResult:
    """What one replication returns to the runner (small, picklable)."""

    replication: int
    draw: int | None
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

    def series_long(self) -> pd.DataFrame:
        """The daily series in tidy long form: ``replication, day, date, series, value``."""
        ts = self.timeseries
        ids = [c for c in ("replication", "draw", "day", "date") if c in ts.columns]
        return ts.melt(id_vars=ids, var_name="series", value_name="value")

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
    draw: int | None = None,
    kpis: Sequence[str] | None = None,
) -> ReplicationResult:
    """Run one replication and reduce it to KPIs (every one, or only ``kpis``), and
    optionally its frames (built here, once). Without episodes, a replication asked only for
    observations (``obs.<name>``) keeps no person-episode outside their windows."""
    started = time.perf_counter()
    keep = None
    if kpis is not None and not keep_episodes and all(k.startswith("obs.") for k in kpis):
        keep = observation_filter(scenario, [k.removeprefix("obs.") for k in kpis])
    record = run_once(scenario, replication, seed, keep)
    values = replication_kpis(scenario, record, kpis)
    series = daily_frame(scenario, record) if keep_timeseries else None
    episodes = None
    if keep_episodes:
        episodes = episodes_frame(record)
        episodes.insert(0, "replication", replication)
    return ReplicationResult(
        replication,
        draw,
        values,
        series,
        episodes,
        record.events,
        time.perf_counter() - started,
    )


def observe_only(
    scenario: Scenario, replication: int, seed: int, names: Sequence[str] | None = None
) -> dict[str, float]:
    """One replication's observations (by name, without ``obs.``): those named, or every
    one of the scenario. Only the person-episodes they read are kept, no frame is built."""
    chosen = list(scenario.observations) if names is None else list(names)
    record = run_once(scenario, replication, seed, observation_filter(scenario, chosen))
    return observations(scenario, record, chosen)


Job = tuple[Scenario, int, int | None]  # scenario, replication, parameter draw


def _replicate_many(args: tuple[Sequence[Job], int, bool, bool]) -> list[ReplicationResult]:
    jobs, seed, keep_ts, keep_ep = args
    return [replicate(sc, r, seed, keep_ts, keep_ep, d) for sc, r, d in jobs]


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
    parameter_sets: Sequence[Mapping[str, float]] | None = None,
    parameter_spec: Mapping[str, FreeParameter] | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Run ``replications`` replications of ``scenario``; same numbers whatever ``workers``
    or ``executor`` (serial, a process pool or Dask; one made from ``workers`` when None, and
    closed at the end).

    With ``parameter_sets`` (e.g. draws from a calibration posterior), each set is applied to
    the scenario and replicated ``replications`` times: draw ``d``'s replication ``r`` runs as
    replication ``d * replications + r``, so two scenarios given the same draws and seed share
    both the parameters and the random numbers.

    >>> from sim import load_scenario, run
    >>> sc = load_scenario("scenarios/verification/mmc.yaml", ["end=2004-01-01"])
    >>> result = run(sc, replications=5)
    >>> len(result.kpis), result.kpis["replication"].tolist()
    (5, [0, 1, 2, 3, 4])
    >>> bool(result.summary.set_index("kpi").loc["occupancy.queue.mean", "mean"] > 300)
    True
    """
    if replications < 1:
        raise ValueError("replications must be at least 1")
    started = time.perf_counter()
    jobs: list[Job]
    if parameter_sets:
        from sim.inputs.parameters import apply

        variants = [apply(scenario, values, parameter_spec) for values in parameter_sets]
        jobs = [
            (sc, d * replications + r, d)
            for d, sc in enumerate(variants)
            for r in range(replications)
        ]
    else:
        jobs = [(scenario, r, None) for r in range(replications)]
    results: list[ReplicationResult] = []
    owned = executor is None
    executor = executor or make_executor(workers if len(jobs) > 1 else 1)
    try:
        size = chunk_size(len(jobs), executor.workers)
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        tasks = [(c, seed, keep_timeseries, keep_episodes) for c in chunks]
        for _, batch in executor.imap_unordered(_replicate_many, tasks):
            if isinstance(batch, BaseException):  # a failed replication fails the run
                raise batch
            results.extend(batch)
            if progress:
                progress(len(batch))
    finally:
        if owned:  # Ctrl-C or a failure: the workers stop now, not after the queue
            executor.close()
    return collect(scenario, seed, results, time.perf_counter() - started)


def collect(
    scenario: Scenario, seed: int, results: Iterable[ReplicationResult], seconds: float
) -> RunResult:
    """Assemble replication results (in replication order) into a :class:`RunResult`."""
    ordered = sorted(results, key=lambda r: r.replication)
    table = pd.DataFrame(
        [
            {"replication": r.replication, **({} if r.draw is None else {"draw": r.draw}), **r.kpis}
            for r in ordered
        ]
    )
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

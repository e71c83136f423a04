"""Parameter sweeps: the design, its runs on any executor, and the tables of their results.

**Designs.** A sweep (:class:`SweepSpec`, read from options or a sweep file by
:mod:`sim.inputs.sweep_spec`) sets scenario values addressed by dotted paths, as ``--set``
does: list positions count from 0, and from the end when negative
(``nodes.assore.capacity.-1.value`` is the last step of a capacity schedule;
``nodes.assore.capacity`` alone replaces the whole schedule with one value, with a warning).
Its points are the full factorial of the grid axes (``--grid path=v1,v2``, ``--range
path=lo:hi:n``), crossed with ``samples`` space-filling points (Latin hypercube or scrambled
Sobol') inside ``--bounds path=lo:hi``, crossed with any explicit ``points`` (used by
sensitivity analyses). A numeric range or bound is *integer* (values rounded) when both ends
are written as integers and the scenario's current value there is not a decimal number, so
``capacity=400:800`` gives whole places and ``readiness.mean=300:400.0`` gives decimals. Every
point is resolved and validated before anything runs (:mod:`sim.inputs.sweep_plan`); invalid
points are reported as ``origin:line: path: message (point i: ...)`` and nothing starts.

**Seeds and common random numbers.** Replication ``r`` of a point runs with the streams of
``(point seed, r)`` (see :mod:`sim.engine.streams`). With common random numbers (the default)
every point uses the sweep seed itself: replication ``r`` of every point sees the same
arrivals, stays and choices wherever the scenarios agree, so differences between points are
paired and far less noisy than with independent seeds (a sweep point is then exactly
``parcours run --seed S --set path=value``). Without them (``crn=False``) each point's seed
derives from ``(sweep seed, point index)`` through :class:`numpy.random.SeedSequence`, which
gives independent replications per point (what a variance estimate across points assumes).
Either way seeds depend only on (sweep seed, point, replication): never on the executor, the
number of workers or the completion order, and no random generator is shared between processes.

**Execution and results.** Runs are grouped into tasks of a few runs (``chunk_runs``) so that
scheduling costs little. As points complete they go to the sweep folder
(:mod:`sim.running.sweep_store`), which writes them every ``checkpoint_seconds`` so that a
sweep killed at any moment resumes with only the missing points. A point whose run raises is
recorded with its error and the sweep goes on; so is a point that kills its worker process
twice (the pool is restarted, and a task of several points is split to find the one). At the
end the folder holds ``sweep.parquet`` (one row per point x replication) and ``points.csv``
(:func:`summarise_points`: one row per point, mean and 95% CI half-width of every KPI).
Names of the two modules below are re-exported here, where callers have always found them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.streams import stream_key
from sim.inputs.loading import Problem, ScenarioError, load_raw, load_scenario
from sim.inputs.scenario import DEFAULT_SEED, Scenario
from sim.inputs.sweep_plan import (
    SweepPlan,
    check_points,
    current_value,
    point_seed,
    resolve_point,
    warn_replaced_schedules,
    with_values,
)
from sim.inputs.sweep_spec import (
    SWEEP_KEYS,
    Axis,
    Bound,
    DesignKind,
    Origin,
    SweepSpec,
    is_sweep_file,
    load_sweep_file,
    parse_bounds,
    parse_grid,
    parse_range,
)
from sim.running import catalogue
from sim.running.executors import Executor, SerialExecutor, WorkerCrashedError, chunk_size
from sim.running.folders import read_manifest
from sim.running.runner import replicate
from sim.running.statistics import grouped_mean_ci
from sim.running.sweep_store import (
    DESIGN_FILE,
    EXTRA_COLUMNS,
    META_COLUMNS,
    PARTS,
    POINTS_FILE,
    SCENARIO_FILE,
    TABLE_FILE,
    RunOutcome,
    SweepError,
    SweepStore,
    column_kinds,
    column_value,
    kpi_columns,
    load_rows,
    open_store,
    plan_from_folder,
)

# Every name this module has offered, wherever it is now defined.
__all__ = [
    "DEFAULT_SEED",
    "DESIGN_FILE",
    "EXTRA_COLUMNS",
    "META_COLUMNS",
    "PARTS",
    "POINTS_FILE",
    "SCENARIO_FILE",
    "SWEEP_KEYS",
    "TABLE_FILE",
    "Axis",
    "Bound",
    "DesignKind",
    "Origin",
    "RunOutcome",
    "SweepData",
    "SweepError",
    "SweepPlan",
    "SweepProgress",
    "SweepResult",
    "SweepSpec",
    "Task",
    "check_points",
    "current_value",
    "design_points",
    "design_rng",
    "is_sweep_file",
    "kpi_columns",
    "load_points",
    "load_rows",
    "load_sweep",
    "load_sweep_file",
    "make_tasks",
    "parse_bounds",
    "parse_grid",
    "parse_range",
    "plan_from_folder",
    "plan_sweep",
    "point_seed",
    "resolve_point",
    "run_sweep",
    "run_task",
    "scale",
    "space_filling",
    "summarise_points",
    "sweep",
    "value_in",
    "warn_replaced_schedules",
    "with_values",
]

# --- the design -------------------------------------------------------------------------------


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """Resolve a sweep: load the base, build the design and validate every point up front.

    Raises :class:`ScenarioError` listing every problem (base file, design, invalid points).
    """
    scenario = load_scenario(spec.scenario, spec.overrides)  # located errors of the base
    base = load_raw(spec.scenario, spec.overrides)
    parameters, points, origins = design_points(spec, base)
    check_points(base, points, origins)
    warn_replaced_schedules(base, points, origins)
    return SweepPlan(
        name=spec.name or scenario.name,
        base=base,
        base_digest=scenario.digest(),
        parameters=parameters,
        points=tuple(points),
        replications=spec.replications,
        seed=spec.seed,
        crn=spec.crn,
        request=spec.request(),
    )


def design_points(
    spec: SweepSpec, base: dict[str, Any]
) -> tuple[tuple[str, ...], list[dict[str, Any]], dict[str, Origin]]:
    """The parameters, the points (path -> value) and where each parameter was given."""
    origins: dict[str, Origin] = {}
    problems: list[Problem] = []

    def claim(path: str, origin: Origin) -> None:
        if path in origins:
            first = origins[path]
            problems.append(Problem(*origin, path, f"swept twice (first at {first[0]}:{first[1]})"))
        origins.setdefault(path, origin)

    grid: list[list[tuple[str, Any]]] = []
    for axis in spec.axes:
        claim(axis.path, axis.origin)
        try:
            values = axis.values if axis.span is None else _expand(axis, base)
        except ValueError as err:
            problems.append(Problem(*axis.origin, axis.path, str(err)))
            continue
        grid.append([(axis.path, v) for v in values])
    samples: list[dict[str, Any]] = [{}]
    if spec.design in ("lhs", "sobol"):
        for b in spec.bounds:
            claim(b.path, b.origin)
        if not spec.bounds:
            problems.append(Problem("--design", 1, spec.design, "needs --bounds path=lo:hi"))
        if spec.samples < 1:
            problems.append(Problem("--samples", 1, spec.design, "needs --samples N (N >= 1)"))
        if not problems:
            samples = space_filling(spec.bounds, spec.samples, spec.design, spec.seed, base)
    elif spec.bounds:
        problems.append(
            Problem(*spec.bounds[0].origin, spec.bounds[0].path, "bounds need --design lhs|sobol")
        )
    explicit: list[dict[str, Any]] = list(spec.points) or [{}]
    for path in dict.fromkeys(k for p in spec.points for k in p):
        claim(path, spec.points_origin)
    if problems:
        raise ScenarioError(problems)
    points = []
    for combo in itertools.product(*grid):
        for sample in samples:
            for extra in explicit:
                points.append({**dict(combo), **sample, **extra})
    return tuple(origins), points, origins


def _is_integer(base: dict[str, Any], path: str, low: Any, high: Any, kind: str = "auto") -> bool:
    if kind != "auto":
        return kind == "int"
    current = current_value(base, path)
    return isinstance(low, int) and isinstance(high, int) and not isinstance(current, float)


def _expand(axis: Axis, base: dict[str, Any]) -> tuple[Any, ...]:
    assert axis.span is not None
    low, high, n = axis.span
    if n == 1:
        return (low,)
    raw = [low + (high - low) * i / (n - 1) for i in range(n)]
    if _is_integer(base, axis.path, low, high):
        values = [round(v) for v in raw]
        if len(set(values)) != len(values):
            raise ValueError(
                f"invalid range: {n} whole numbers from {low} to {high} repeat values "
                "(use fewer values, or write a bound with a decimal point)"
            )
        return tuple(values)
    return tuple(float(f"{v:.12g}") for v in raw)


def space_filling(
    bounds: Sequence[Bound], samples: int, design: str, seed: int, base: dict[str, Any]
) -> list[dict[str, Any]]:
    """``samples`` points of a Latin hypercube or a scrambled Sobol' sequence in ``bounds``."""
    from scipy.stats import qmc

    rng = design_rng(seed, design)
    d = len(bounds)
    unit: np.ndarray[Any, Any]
    if design == "lhs":
        unit = qmc.LatinHypercube(d, rng=rng).random(samples)
    else:
        m = max(0, math.ceil(math.log2(samples)))
        unit = qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)[:samples]
    return [scale(bounds, row, base) for row in unit]


def design_rng(seed: int, purpose: str) -> np.random.Generator:
    """The generator of a design, derived from the sweep seed (never global state)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(stream_key(f"sweep.design.{purpose}"),))
    return np.random.Generator(np.random.PCG64(sequence))


def scale(bounds: Sequence[Bound], unit: Iterable[float], base: dict[str, Any]) -> dict[str, Any]:
    """Map a point of the unit cube into ``bounds`` (integers uniform over low..high)."""
    out: dict[str, Any] = {}
    for b, u in zip(bounds, unit, strict=True):
        if _is_integer(base, b.path, b.low, b.high, b.kind):
            lo, hi = math.ceil(b.low), math.floor(b.high)
            out[b.path] = int(min(hi, lo + math.floor(float(u) * (hi - lo + 1))))
        else:
            out[b.path] = float(b.low + float(u) * (b.high - b.low))
    return out


def value_in(bound: Bound, x: float, base: dict[str, Any]) -> int | float:
    """A value of ``bound``'s parameter (rounded if the parameter is an integer)."""
    if _is_integer(base, bound.path, bound.low, bound.high, bound.kind):
        return round(x)
    return float(x)


# --- running ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Task:
    """Runs for a worker: the base data once, and (point, values, seed, replications) items."""

    base: dict[str, Any]
    items: tuple[tuple[int, dict[str, Any], int, tuple[int, ...]], ...]
    kpis: tuple[str, ...] | None = None


def run_task(task: Task) -> list[RunOutcome]:
    """Run a task's replications (in a worker); an error is returned, never raised."""
    out: list[RunOutcome] = []
    for point, values, seed, reps in task.items:
        try:
            scenario = resolve_point(task.base, values)
        except Exception as err:
            out += [RunOutcome(point, r, None, _describe_error(err)) for r in reps]
            continue
        kpis = None
        if task.kpis is not None:  # a point's scenario may lack one (a cost set to none)
            known = set(catalogue.names(scenario))
            kpis = [k for k in task.kpis if k in known]
        for r in reps:
            try:
                result = replicate(
                    scenario,
                    r,
                    seed,
                    keep_timeseries=False,
                    keep_episodes=False,
                    kpis=kpis,
                )
            except Exception as err:
                out.append(RunOutcome(point, r, None, _describe_error(err)))
            else:
                out.append(RunOutcome(point, r, result.kpis, None, result.events, result.seconds))
    return out


def _worker_died(result: object) -> bool:
    """Whether a task came back as the death of its worker process (pool or Dask)."""
    return isinstance(result, WorkerCrashedError) or type(result).__name__ == "KilledWorker"


def _describe_error(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def make_tasks(plan: SweepPlan, todo: Sequence[int], size: int) -> list[Task]:
    """Contiguous groups of ``size`` runs, in point order (points complete roughly in order)."""
    runs = [(p, r) for p in todo for r in range(plan.replications)]
    tasks = []
    for start in range(0, len(runs), size):
        block = runs[start : start + size]
        items = []
        for point, group in itertools.groupby(block, key=lambda pr: pr[0]):
            reps = tuple(r for _, r in group)
            items.append((point, plan.points[point], plan.seed_of(point), reps))
        tasks.append(Task(plan.base, tuple(items), plan.kpis))
    return tasks


@dataclasses.dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep stands (given to the progress callback)."""

    points_done: int
    points_total: int
    points_failed: int
    runs_done: int
    runs_total: int
    elapsed: float

    @property
    def runs_per_second(self) -> float:
        return self.runs_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first run)."""
        rate = self.runs_per_second
        return (self.runs_total - self.runs_done) / rate if rate > 0 else None


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What a sweep did: counts, failed points and where its results are."""

    out: Path
    plan: SweepPlan
    finished: int
    resumed: int
    failed: dict[int, str]
    runs: int
    seconds: float
    executor: str
    workers: int
    run_seconds: float = 0.0
    """Sum over runs of the time spent inside replications (workers' time, not wall-clock)."""

    @property
    def ok(self) -> bool:
        return not self.failed


def run_sweep(
    plan: SweepPlan,
    out: Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
    chunk_runs: int | None = None,
    checkpoint_seconds: float = 10.0,
) -> SweepResult:
    """Run the points of ``plan`` not yet finished in ``out`` and write the results there.

    ``resume=True`` continues the sweep in ``out`` (which must hold the same plan): finished
    points are skipped, failed ones are tried again. Without it ``out`` must not exist, unless
    ``force`` (then it is replaced). A Ctrl-C saves the finished points before stopping.
    The folder is locked meanwhile: a second writer or resumer gets a ``FolderBusyError``.
    """
    out = Path(out)
    executor = executor or SerialExecutor()
    extra = {"executor": {"name": executor.name, "workers": executor.workers}}
    with open_store(out, plan, resume=resume, force=force, extra=extra) as store:
        return _sweep_into(plan, store, executor, progress, chunk_runs, checkpoint_seconds)


def _sweep_into(
    plan: SweepPlan,
    store: SweepStore,
    executor: Executor,
    progress: Callable[[SweepProgress], None] | None,
    chunk_runs: int | None,
    checkpoint_seconds: float,
) -> SweepResult:
    resumed = len(store.finished)
    todo = [p for p in range(len(plan.points)) if p not in store.finished]
    size = chunk_size(len(todo) * plan.replications, executor.workers, chunk_runs)
    tasks = make_tasks(plan, todo, size)
    total_runs = len(todo) * plan.replications
    started = last_flush = time.perf_counter()
    waiting: dict[int, list[RunOutcome]] = {p: [] for p in todo}
    runs_done = 0
    run_seconds = 0.0
    completed = 0

    def report() -> None:
        if progress is not None:
            progress(
                SweepProgress(
                    points_done=resumed + completed,
                    points_total=len(plan.points),
                    points_failed=len(store.failed),
                    runs_done=runs_done,
                    runs_total=total_runs,
                    elapsed=time.perf_counter() - started,
                )
            )

    report()
    # Resuming a finished sweep runs nothing and rewrites nothing.
    done_before = not todo and store.complete
    try:
        while tasks:
            retry: list[Task] = []
            for index, result in executor.imap_unordered(run_task, tasks):
                task = tasks[index]
                if _worker_died(result) and len(task.items) > 1:
                    # One task per point, to tell which point kills its worker.
                    retry += [Task(task.base, (item,), task.kpis) for item in task.items]
                    continue
                if isinstance(result, BaseException):
                    message = f"task failed: {_describe_error(result)}"
                    result = [
                        RunOutcome(point, r, None, message)
                        for point, _, _, reps in task.items
                        for r in reps
                    ]
                for outcome in result:
                    waiting[outcome.point].append(outcome)
                    runs_done += 1
                    run_seconds += outcome.seconds
                    if len(waiting[outcome.point]) == plan.replications:
                        store.add(outcome.point, waiting.pop(outcome.point))
                        completed += 1
                if time.perf_counter() - last_flush >= checkpoint_seconds and store.rows:
                    store.flush()
                    last_flush = time.perf_counter()
                report()
            tasks = retry
    except BaseException:
        store.flush("interrupted", time.perf_counter() - started)
        raise
    seconds = time.perf_counter() - started
    if not done_before:
        store.finish(seconds, lambda rows, failed: summarise_points(rows, plan, failed))
    return SweepResult(
        out=store.out,
        plan=plan,
        finished=len(store.finished),
        resumed=resumed,
        failed=dict(store.failed),
        runs=runs_done,
        seconds=seconds,
        executor=executor.name,
        workers=executor.workers,
        run_seconds=run_seconds,
    )


# --- tables and loading -----------------------------------------------------------------------


def summarise_points(
    table: pd.DataFrame, plan: SweepPlan, failed: dict[int, str] | None = None
) -> pd.DataFrame:
    """One row per point: parameters, status, error, and mean and CI of every KPI."""
    failed = failed or {}
    kinds = column_kinds(plan)
    design: dict[str, Any] = {
        "point": np.arange(len(plan.points)),
        "seed": [plan.seed_of(i) for i in range(len(plan.points))],
    }
    for p in plan.parameters:
        design[p] = [column_value(kinds[p], pt.get(p)) for pt in plan.points]
    done = set(table["point"].unique()) if len(table) else set()
    design["status"] = [
        "failed" if i in failed else ("done" if i in done else "missing")
        for i in range(len(plan.points))
    ]
    design["error"] = [failed.get(i, "") for i in range(len(plan.points))]
    frame = pd.DataFrame(design)
    columns = kpi_columns(table, plan.parameters)
    if not len(table) or not columns:
        return frame
    stats_ = grouped_mean_ci(table, ["point"], columns).rename(columns={"n": "replications"})
    return frame.merge(stats_, on="point", how="left")


@dataclasses.dataclass(frozen=True)
class SweepData:
    """A sweep folder read back (finished, running or interrupted): its rows, one per point
    and replication, its points with their status, and the base scenario the paths edit."""

    folder: Path
    rows: pd.DataFrame
    """One row per finished point and replication: ``point, replication, seed``, the swept
    parameters, every KPI (``rows.attrs`` as :func:`load_rows`)."""
    points: pd.DataFrame
    """One row per point of the design: parameters, ``status`` (done, failed, missing),
    ``error``, mean and 95% CI of every KPI over the finished replications."""
    parameters: tuple[str, ...]
    kpis: tuple[str, ...]
    status: str
    """``complete``, ``running`` or ``interrupted`` (the manifest's)."""
    scenario: Scenario
    """The base scenario (with the sweep's fixed ``--set``) that the parameter paths edit."""

    @property
    def done(self) -> int:
        """Points whose replications all finished."""
        return int((self.points["status"] == "done").sum())

    @property
    def total(self) -> int:
        """Points in the design."""
        return len(self.points)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def long(self) -> pd.DataFrame:
        """The rows in tidy long form: ``point, replication``, the parameters, ``kpi, value``."""
        ids = ["point", "replication", *self.parameters]
        return self.rows.melt(
            id_vars=ids, value_vars=list(self.kpis), var_name="kpi", value_name="value"
        )


def load_sweep(folder: Path | str) -> SweepData:
    """A sweep folder read back as :class:`SweepData` (:class:`SweepError` naming the kind of
    folder it is when it is not a sweep).

    >>> s = sim.load_sweep("results/sweep-etape2-610")                  # doctest: +SKIP
    >>> s.rows.groupby("nodes.assore.capacity")["street.mean"].mean()   # doctest: +SKIP
    >>> f"{s.done}/{s.total} points done"                                # doctest: +SKIP
    """
    folder = Path(folder)
    rows = load_rows(folder)
    return SweepData(
        folder=folder,
        rows=rows,
        points=load_points(folder),
        parameters=tuple(rows.attrs["parameters"]),
        kpis=tuple(rows.attrs["kpis"]),
        status=str(rows.attrs.get("status") or ""),
        scenario=load_scenario(folder / SCENARIO_FILE),
    )


def load_points(folder: Path | str) -> pd.DataFrame:
    """One row per point (``points.csv``; computed from the finished rows while running)."""
    folder = Path(folder)
    if (folder / POINTS_FILE).exists() and read_manifest(folder, ("sweep",)).get(
        "status"
    ) == "complete":
        return pd.read_csv(folder / POINTS_FILE)
    return summarise_points(load_rows(folder), plan_from_folder(folder, check=False))


def sweep(
    scenario: Path | str,
    out: Path | str,
    *,
    grid: dict[str, Sequence[Any]] | None = None,
    ranges: dict[str, tuple[float, float, int]] | None = None,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    overrides: Sequence[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    force: bool = False,
) -> SweepData:
    """The Python face of ``parcours sweep``: run a full-factorial design and return
    :func:`load_sweep` of the results folder (its ``rows`` one per point and replication).

    >>> sweep("scenarios/etape2-610.yaml", "results/s",
    ...       ranges={"nodes.housing.releases_per_month": (1, 6, 6)}, workers=2)  # doctest: +SKIP
    """
    from sim.running.executors import make_executor
    from sim.running.runner import default_workers

    axes = [parse_grid(f"{p}={','.join(map(str, v))}") for p, v in (grid or {}).items()]
    axes += [parse_range(f"{p}={lo}:{hi}:{n}") for p, (lo, hi, n) in (ranges or {}).items()]
    spec = SweepSpec(
        scenario=Path(scenario),
        overrides=tuple(overrides),
        axes=tuple(axes),
        replications=replications,
        seed=seed,
    )
    plan = plan_sweep(spec)
    executor = make_executor(workers or default_workers(), scheduler, dask_local)
    try:
        run_sweep(plan, Path(out), executor=executor, resume=resume, force=force)
    finally:
        executor.close()
    return load_sweep(out)

"""Calibration: fit a scenario's free parameters to its ``fit`` observations.

The search is deterministic for a given seed:

1. a scrambled Sobol design over the prior box (uniform, or uniform in log for ``loguniform``
   parameters), exploring; its size is a power of two (:func:`design_size`), which keeps it
   balanced;
2. Nelder-Mead (with bounds) from the best design points, refining the fit;
3. an approximate-Bayesian-computation rejection sample: a second, larger Sobol sample from
   the prior with fewer replications per point; the points whose every fit target lies within
   its tolerance are accepted. Their spread says which parameters the targets identify, and
   they are the posterior that ``run --parameters`` propagates.

Every evaluation runs the same replications with the same seeds (common random numbers), so
the objective is a smooth-enough function of the parameters. The distance is the root mean
square of ``(simulated mean - target) / tolerance`` over the fit observations; validation
observations are computed and reported, never fitted.

Each evaluation's index is its place in that deterministic sequence, whatever order the
parallel replications finish in; an evaluation is handed to ``on_evaluation`` (which appends it
to the output folder) as soon as its replications are done. Ctrl-C cancels the queued
replications and stops the worker processes at once; ``resume`` replays the same search and
takes finished evaluations from disk instead of simulating them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.stats import qmc

from sim.analysis.abc_smc import tolerance
from sim.inputs.parameters import apply, prior_value, write_parameter_sets
from sim.inputs.scenario import Calibration, FreeParameter, Observation, Scenario
from sim.running.executors import Executor, make_executor
from sim.running.results import summary_with_targets
from sim.running.runner import RunResult, observe_only
from sim.running.statistics import finite_mean

ACCEPT_WIDTH = 0.75  # accepted 5-95% range above this share of the prior's: not identified


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One evaluation: parameter values, simulated observation means, distance."""

    index: int
    stage: str
    replications: int
    unit: tuple[float, ...]
    values: dict[str, float]
    means: dict[str, float]
    distance: float


def _observations(scenario: Scenario, rep: int, seed: int) -> dict[str, float]:
    """Simulate one replication and return its observations with a target (only those are
    computed, and only the episodes they read are kept)."""
    targets = [name for name, obs in scenario.observations.items() if obs.target is not None]
    return observe_only(scenario, rep, seed, targets)


def _observation_task(task: tuple[Scenario, int, int]) -> dict[str, float]:
    return _observations(*task)


def fit_distance(means: dict[str, float], observations: dict[str, Observation]) -> float:
    """Root mean square of tolerance-scaled misses over the ``fit`` observations."""
    terms = []
    for name, obs in observations.items():
        if obs.role != "fit" or obs.target is None:
            continue
        scale = tolerance(obs)
        value = means.get(name, math.nan)
        terms.append(((value - obs.target) / scale) ** 2 if value == value else 1e6)
    return math.sqrt(sum(terms) / len(terms)) if terms else math.nan


def within_tolerance(means: dict[str, float], observations: dict[str, Observation]) -> bool:
    """Whether every fit observation is within its tolerance of its target."""
    for name, obs in observations.items():
        if obs.role != "fit" or obs.target is None:
            continue
        value = means.get(name, math.nan)
        tolerance = obs.tolerance or abs(obs.target) * 0.1
        if math.isnan(value) or abs(value - obs.target) > tolerance:
            return False
    return True


class ParameterSpace:
    """Maps the unit cube to parameter values through each parameter's prior."""

    def __init__(self, parameters: dict[str, FreeParameter]) -> None:
        self.parameters = parameters
        self.names = list(parameters)

    def values(self, unit: Sequence[float]) -> dict[str, float]:
        out = {}
        for name, u in zip(self.names, unit, strict=True):
            out[name] = prior_value(self.parameters[name], min(max(float(u), 0.0), 1.0))
        return out


Key = tuple[float, ...]
OnEvaluation = Callable[[Evaluation, bool], None]
"""Called with each evaluation as it completes, and whether it was taken from disk (resume)."""


class Calibrator:
    """Runs evaluations (in parallel over replications), caches them, records them."""

    def __init__(
        self,
        scenario: Scenario,
        spec: Calibration,
        replications: int,
        seed: int,
        executor: Executor | None,
        known: Iterable[Evaluation] = (),
        on_evaluation: OnEvaluation | None = None,
    ) -> None:
        self.scenario = scenario
        self.space = ParameterSpace(spec.parameters)
        self.replications = replications
        self.seed = seed
        self.executor = executor
        self.known = {self._key(e.unit, e.replications): e for e in known}
        self.cache: dict[Key, Evaluation] = {}
        self.indices: dict[Key, int] = {}
        self.evaluations: list[Evaluation] = []
        self.on_evaluation = on_evaluation
        self.targeted = {n: o for n, o in scenario.observations.items() if o.target is not None}

    @staticmethod
    def _key(unit: Sequence[float], replications: int) -> Key:
        return (*(round(float(u), 12) for u in unit), float(replications))

    def scenario_at(self, values: dict[str, float]) -> Scenario:
        return apply(self.scenario, values, self.space.parameters)

    def evaluate(
        self, units: Sequence[Sequence[float]], stage: str, replications: int | None = None
    ) -> list[Evaluation]:
        """Evaluate points of the unit cube (cached ones are not simulated again)."""
        n = replications or self.replications
        keys = [self._key(u, n) for u in units]
        todo = []
        for key in dict.fromkeys(keys):
            if key in self.cache:
                continue
            self.indices.setdefault(key, len(self.indices))  # its place in the search
            if key in self.known:  # finished by an interrupted run: same numbers
                found = dataclasses.replace(self.known[key], index=self.indices[key], stage=stage)
                self.cache[key] = found
                if self.on_evaluation is not None:
                    self.on_evaluation(found, True)
            else:
                todo.append(key)
        if self.executor is not None and self.executor.workers > 1 and len(todo) * n > 1:
            self._simulate_parallel(self.executor, todo, stage, n)
        else:
            for key in todo:
                scenario = self.scenario_at(self.space.values(key[:-1]))
                chunk = [_observations(scenario, r, self.seed) for r in range(n)]
                self._store(key, stage, n, self._means(chunk))
        out = []
        for key in keys:
            evaluation = self.cache[key]
            if evaluation not in self.evaluations:
                self.evaluations.append(evaluation)
            out.append(evaluation)
        return out

    def _simulate_parallel(self, executor: Executor, todo: list[Key], stage: str, n: int) -> None:
        """Run every replication of ``todo``; store each evaluation when its last one ends."""
        tasks: list[tuple[Scenario, int, int]] = []
        owner: list[tuple[Key, int]] = []
        for key in todo:
            scenario = self.scenario_at(self.space.values(key[:-1]))
            for r in range(n):
                tasks.append((scenario, r, self.seed))
                owner.append((key, r))
        chunks: dict[Key, list[dict[str, float]]] = {key: [{}] * n for key in todo}
        left = dict.fromkeys(todo, n)
        for index, observed in executor.imap_unordered(_observation_task, tasks):
            if isinstance(observed, BaseException):
                raise observed
            key, r = owner[index]
            chunks[key][r] = observed
            left[key] -= 1
            if left[key] == 0:  # means in replication order: the same whatever finished first
                self._store(key, stage, n, self._means(chunks[key]))

    @staticmethod
    def _means(chunk: list[dict[str, float]]) -> dict[str, float]:
        return {k: finite_mean([c[k] for c in chunk]) for k in chunk[0]}

    def _store(self, key: Key, stage: str, replications: int, means: dict[str, float]) -> None:
        unit = key[:-1]
        evaluation = Evaluation(
            index=self.indices[key],
            stage=stage,
            replications=replications,
            unit=unit,
            values=self.space.values(unit),
            means=means,
            distance=fit_distance(means, self.targeted),
        )
        self.cache[key] = evaluation
        if self.on_evaluation is not None:
            self.on_evaluation(evaluation, False)


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """The fit, the accepted parameter sets and every evaluation."""

    scenario: Scenario
    calibrated: Scenario
    best: Evaluation
    evaluations: list[Evaluation]
    accepted: list[Evaluation]
    identification: pd.DataFrame
    seed: int
    replications: int
    seconds: float

    def evaluations_frame(self) -> pd.DataFrame:
        return evaluations_frame(self.evaluations)


def evaluations_frame(evaluations: Iterable[Evaluation]) -> pd.DataFrame:
    """One row per evaluation: index, stage, parameter values, observation means, distance."""
    rows = []
    for e in evaluations:
        row: dict[str, Any] = {
            "index": e.index,
            "stage": e.stage,
            "replications": e.replications,
            "distance": e.distance,
        }
        row.update({f"u.{i}": u for i, u in enumerate(e.unit)})
        row.update(e.values)
        row.update({f"obs.{k}": v for k, v in e.means.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def evaluations_from_frame(frame: pd.DataFrame, names: list[str]) -> list[Evaluation]:
    """Evaluations read back from :func:`evaluations_frame` output (for resuming)."""
    out = []
    for _, row in frame.iterrows():
        unit = tuple(float(row[f"u.{i}"]) for i in range(len(names)))
        means = {c[4:]: float(row[c]) for c in frame.columns if c.startswith("obs.")}
        out.append(
            Evaluation(
                index=int(row["index"]),
                stage=str(row["stage"]),
                replications=int(row["replications"]),
                unit=unit,
                values={n: float(row[n]) for n in names},
                means=means,
                distance=float(row["distance"]),
            )
        )
    return out


def design_size(budget: int, dimensions: int) -> int:
    """Sobol points for the first stage: the largest power of two within 60% of the budget
    that leaves the local search room for a simplex per start (at least 4 points).

    A power of two keeps the scrambled Sobol design balanced (scipy warns otherwise)."""
    room = min(0.6 * budget, budget - 2 * (dimensions + 1))
    return int(2 ** max(2, math.floor(math.log2(max(4.0, room)))))


def sobol_sample(dimensions: int, count: int, seed: int | list[int]) -> list[tuple[float, ...]]:
    """The first ``count`` points of a scrambled Sobol sequence, drawn as the next power of two
    and cut (so scipy does not warn; balanced exactly when ``count`` is a power of two)."""
    if count <= 0:
        return []
    sobol = qmc.Sobol(d=dimensions, scramble=True, seed=np.random.default_rng(seed))
    points = sobol.random_base2(max(0, math.ceil(math.log2(count))))
    return [tuple(float(x) for x in u) for u in points[:count]]


def calibrate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int = 1,
    budget: int | None = None,
    workers: int = 1,
    known: Iterable[Evaluation] = (),
    on_evaluation: OnEvaluation | None = None,
    executor: Executor | None = None,
) -> CalibrationResult:
    """Fit ``scenario``'s ``calibration`` parameters to its fit observations.

    >>> sc = load_scenario("scenarios/history-2019-2023.yaml")  # doctest: +SKIP
    >>> calibrate(sc, seed=1, workers=2).best.values  # doctest: +SKIP
    """
    spec = scenario.calibration
    if spec is None:
        raise ValueError(f"scenario {scenario.name} has no calibration block")
    if not any(o.role == "fit" and o.target is not None for o in scenario.observations.values()):
        raise ValueError(f"scenario {scenario.name} has no fit observation with a target")
    reps = replications or spec.replications
    total = budget or spec.budget
    started = time.perf_counter()
    dims = len(spec.parameters)
    owned = executor is None
    executor = executor or make_executor(workers)
    try:
        cal = Calibrator(scenario, spec, reps, seed, executor, known, on_evaluation)
        n_design = design_size(total, dims)
        design_evals = cal.evaluate(sobol_sample(dims, n_design, seed), "design")
        remaining = total - n_design
        starts = sorted(design_evals, key=lambda e: e.distance)[:2]
        for k, start in enumerate(starts):
            share = remaining // (len(starts) - k) if remaining > 0 else 0
            if share < dims + 2:
                continue
            used = _nelder_mead(cal, start.unit, share)
            remaining -= used
        best = min((e for e in cal.evaluations if e.stage != "abc"), key=lambda e: e.distance)
        sample = sobol_sample(dims, spec.abc_samples, [seed, 1])
        abc_evals = cal.evaluate(sample, "abc", spec.abc_replications) if sample else []
        accepted = [e for e in abc_evals if within_tolerance(e.means, cal.targeted)]
        identification = identify(cal.space, accepted, len(sample))
        calibrated = cal.scenario_at(best.values)
    finally:
        if owned:  # interrupted (Ctrl-C) or failed: what finished is already recorded
            executor.close()
    return CalibrationResult(
        scenario=scenario,
        calibrated=calibrated,
        best=best,
        evaluations=cal.evaluations,
        accepted=accepted,
        identification=identification,
        seed=seed,
        replications=reps,
        seconds=time.perf_counter() - started,
    )


def _nelder_mead(cal: Calibrator, start: Sequence[float], budget: int) -> int:
    """Refine from ``start`` with at most ``budget`` evaluations; return how many it used."""
    used = 0
    x0 = np.clip(np.asarray(start, float), 0.0, 1.0)
    dims = x0.size
    simplex = [x0]
    for i in range(dims):
        point = x0.copy()
        point[i] = point[i] + 0.1 if point[i] <= 0.9 else point[i] - 0.1
        simplex.append(point)
    cal.evaluate([tuple(p) for p in simplex], "search")  # the simplex in one parallel batch

    def objective(x: np.ndarray) -> float:
        nonlocal used
        used += 1
        return cal.evaluate([tuple(np.clip(x, 0.0, 1.0))], "search")[0].distance

    optimize.minimize(
        objective,
        x0,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * dims,
        options={
            "maxfev": max(1, budget - dims - 1),
            "initial_simplex": np.asarray(simplex),
            "xatol": 1e-3,
            "fatol": 1e-3,
        },
    )
    return int(used + dims + 1)


def identify(space: ParameterSpace, accepted: Sequence[Evaluation], design: int) -> pd.DataFrame:
    """Per parameter: the accepted 5-95% range, its width against the prior's, a verdict."""
    rows = []
    for i, name in enumerate(space.names):
        p = space.parameters[name]
        row: dict[str, Any] = {
            "parameter": name,
            "path": ", ".join(p.paths),
            "lower": p.lower,
            "upper": p.upper,
            "prior": p.prior,
            "accepted": len(accepted),
            "design": design,
        }
        if len(accepted) >= 5:
            units = np.array([e.unit[i] for e in accepted])
            lo, hi = np.quantile(units, [0.05, 0.95])
            width = float((hi - lo) / 0.9)
            row.update(
                q05=space.values([lo if j == i else 0.5 for j in range(len(space.names))])[name],
                q95=space.values([hi if j == i else 0.5 for j in range(len(space.names))])[name],
                width_ratio=width,
                verdict="not identified by the targets" if width > ACCEPT_WIDTH else "constrained",
            )
        else:
            row.update(
                q05=math.nan,
                q95=math.nan,
                width_ratio=math.nan,
                verdict="too few accepted sets to say",
            )
        rows.append(row)
    return pd.DataFrame(rows)


def correlations(space: ParameterSpace, accepted: Sequence[Evaluation]) -> pd.DataFrame:
    """Spearman correlations between parameters among the accepted sets."""
    if len(accepted) < 5:
        return pd.DataFrame()
    units = np.array([e.unit for e in accepted])
    dims = units.shape[1]
    with warnings.catch_warnings():  # a parameter constant among the accepted sets: NaN
        warnings.simplefilter("ignore")
        return _spearman(units, dims, space.names)


def _spearman(units: np.ndarray, dims: int, names: list[str]) -> pd.DataFrame:
    if dims == 1:
        rho = np.ones((1, 1))
    elif dims == 2:
        r = float(stats.spearmanr(units[:, 0], units[:, 1]).statistic)
        rho = np.array([[1.0, r], [r, 1.0]])
    else:
        rho = np.asarray(stats.spearmanr(units).statistic)
    return pd.DataFrame(rho, index=names, columns=names)


def posterior_frame(result: CalibrationResult) -> pd.DataFrame:
    """Accepted parameter sets in a fixed shuffled order (so the first K are a fair draw)."""
    rows = [{**e.values, "distance": e.distance, "evaluation": e.index} for e in result.accepted]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = np.random.default_rng(result.seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def save_posterior(result: CalibrationResult, path: Path) -> None:
    """Write ``posterior.parquet`` (accepted sets with the parameters' paths as metadata)."""
    spec = result.scenario.calibration
    assert spec is not None
    write_parameter_sets(posterior_frame(result), spec.parameters, path)


def to_json(result: CalibrationResult) -> dict[str, Any]:
    """A summary of the fit for manifests."""
    return {
        "best": {
            "values": result.best.values,
            "distance": result.best.distance,
            "evaluation": result.best.index,
        },
        "evaluations": len(result.evaluations),
        "accepted": len(result.accepted),
        "identification": json.loads(result.identification.to_json(orient="records")),
    }


def targets_table(check: RunResult) -> pd.DataFrame:
    """Observations with a target: role, target, tolerance, simulated mean and CI, met."""
    summary = summary_with_targets(check)
    rows = []
    for name, obs in check.scenario.observations.items():
        if obs.target is None:
            continue
        row = summary[summary["kpi"] == f"obs.{name}"].iloc[0]
        rows.append(
            {
                "observation": name,
                "label": obs.label or name,
                "role": obs.role,
                "target": obs.target,
                "tolerance": obs.tolerance,
                "mean": row["mean"],
                "ci95": row["ci95"],
                "met": None if row["mean"] != row["mean"] else bool(row["target_met"]),
                "source": obs.source or "",
            }
        )
    return pd.DataFrame(rows)

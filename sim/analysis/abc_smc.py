"""Approximate Bayesian computation by sequential Monte Carlo (pyabc), reproducible and resumable.

The scenario's ``calibration:`` block gives the free parameters and their priors; the ``fit``
observations give the distance: the Euclidean norm of ``(simulated - target) / tolerance``, so a
particle at distance 1 misses by one tolerance in all. ``validate`` observations are never
simulated inside the fit, so they cannot enter the distance.

Reproducibility: pyabc's own parallel samplers reseed every worker from the operating system,
so :class:`DeterministicMapSampler` draws one seed per proposal in the main process, runs the
proposals in chunks on any :class:`~sim.running.executors.Executor` (serial, local processes,
Dask) and keeps them in proposal order, cutting at the n-th accepted one. The global numpy
generator is reseeded from ``(seed, generation)`` at the start of each generation
(:class:`SeededABCSMC`), so a run resumed from its SQLite history after a kill replays the same
draws as an uninterrupted one. The result is the same whatever the executor.

Parameters are sampled, perturbed and stored in the history as ``z_<name>``: the logit of
their place in the prior range (on the log scale for a ``loguniform`` prior), whose prior is
exactly the standard logistic distribution. Proposals then live on an unbounded scale:
they are never thrown away at a bound, and the importance weights do not pile up near the
bounds and on the small values of wide log-uniform ranges, which a kernel on the parameters'
own scale under-proposes (the effective sample size fell to 12 of 500 that way). Proposals are
drawn from :class:`~sim.analysis.abc_proposal.DefensiveStudentT`, not pyabc's kernel density
estimate, whose weights degenerate with 14 parameters.
:class:`AbcResult` gives every parameter on its own scale.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.kernel import collector_paused
from sim.engine.model import Simulation, run_once
from sim.inputs.parameters import apply, prior_place, prior_value, write_parameter_sets
from sim.inputs.scenario import FreeParameter, Observation, Scenario
from sim.running.executors import Executor, SerialExecutor
from sim.running.metrics import observation_end, observation_filter, observations
from sim.running.statistics import finite_mean

HISTORY = "history.db"
MAX_WAVE = 64
"""Proposals sent out at most before the sampler looks at what came back: little is simulated
beyond the n-th accepted particle. Waves only split the sequence of proposal seeds, which the
generator gives the same however it is split, and each generation reseeds it: the posterior
depends on neither the waves nor the chunks (tested)."""


@dataclasses.dataclass(frozen=True)
class AbcSettings:
    """How large and how long the sequential Monte Carlo runs."""

    population: int = 500
    """Accepted particles per generation (the final posterior sample)."""
    generations: int = 6
    """Generations at most (the first samples the prior)."""
    replications: int = 1
    """Replications averaged per particle."""
    seed: int = 1
    """Seeds the whole run: proposals, simulations, perturbations."""
    minimum_epsilon: float = 0.0
    """Stop once the acceptance threshold is at or below this distance."""
    first_population: int | None = None
    """A smaller first generation (from the prior), or None for ``population``."""
    intermediate_population: int | None = None
    """Particles in the generations between the first and the last, or None for
    ``population`` (the last generation always has ``population``)."""
    chunk_size: int = 2
    """Proposals per task sent to the executor: small, so that the workers finish a wave
    together (simulated with the shipped run's costs, 2 workers are busy 98% of a wave with
    2 proposals a task, 94% with 8); a task's overhead is about a millisecond. The posterior
    does not depend on it."""
    early_rejection: bool = True
    """Stop simulating a particle once the figures complete so far reject it (the posterior
    is the same either way: :class:`SimulatedObservations`)."""


def fit_observations(scenario: Scenario) -> dict[str, Observation]:
    """The observations that enter the distance: ``role: fit`` with a target."""
    return {
        name: obs
        for name, obs in scenario.observations.items()
        if obs.role == "fit" and obs.target is not None
    }


def tolerance(obs: Observation) -> float:
    """The scale of one target in the distance (its tolerance, else 10% of the target)."""
    assert obs.target is not None
    return obs.tolerance or max(abs(obs.target) * 0.1, 1e-9)


def sampled_name(name: str) -> str:
    """The parameter's name in the pyabc history (``z_<name>``: see :func:`sampled_values`)."""
    return f"z_{name}"


def model_values(parameters: dict[str, FreeParameter], sampled: Any) -> dict[str, float]:
    """Sampled values (a pyabc parameter or a history row) on each parameter's own scale."""
    out = {}
    for name, p in parameters.items():
        z = float(sampled[sampled_name(name)])
        u = 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else 0.0
        out[name] = prior_value(p, u)
    return out


def sampled_values(parameters: dict[str, FreeParameter], values: Any) -> dict[str, float]:
    """Values on each parameter's own scale as pyabc samples them: ``z = logit(u)``, where
    ``u`` is the value's place in the prior range (on the log scale for a log-uniform prior).
    A uniform ``u`` makes ``z`` standard logistic, so the prior is exactly the same, and the
    perturbation kernel works on an unbounded scale. The inverse of :func:`model_values`."""
    out = {}
    for name, p in parameters.items():
        u = prior_place(p, float(values[name]))
        out[sampled_name(name)] = math.log(u / (1.0 - u))
    return out


def population_sizes(settings: AbcSettings) -> list[int]:
    """Accepted particles wanted in each generation, first to last."""
    g = settings.generations
    first = settings.first_population or settings.population
    middle = settings.intermediate_population or settings.population
    if g == 1:
        return [settings.population]
    return [first] + [middle] * (g - 2) + [settings.population]


class SimulatedObservations:
    """The pyabc model: sampled parameter values (:func:`sampled_values`) -> mean of each fit
    observation over replications.

    The replications' seed is drawn from the global numpy generator, which the sampler sets
    per proposal, so each particle is a pure function of its proposal seed.

    :meth:`simulate` rejects early: the distance is a root sum of squares, so the fit figures
    whose windows have closed bound it from below. Once they alone miss by more than the
    threshold, the particle is rejected without simulating the rest of the history. Once every
    figure has closed, the days left to the horizon are not simulated either. The figures and
    the accepted particles are exactly those of the whole simulation."""

    def __init__(self, scenario: Scenario, replications: int) -> None:
        assert scenario.calibration is not None
        self.scenario = scenario
        self.parameters = scenario.calibration.parameters
        self.replications = replications
        self.fit = fit_observations(scenario)
        self.keep = observation_filter(scenario, self.fit)
        self.checkpoints = checkpoints(scenario, self.fit)

    def __call__(self, values: dict[str, float]) -> dict[str, float]:
        result = self.simulate(values, math.inf)
        assert result is not None
        return result

    def simulate(self, values: dict[str, float], threshold: float) -> dict[str, float] | None:
        """The fit observations' means, or None once the figures complete so far put the
        particle further than ``threshold`` from the targets."""
        sc = apply(self.scenario, model_values(self.parameters, values), self.parameters)
        seed = int(np.random.randint(0, 2**31 - 1))
        with collector_paused():  # the runs, closed at the end, leave nothing to collect
            runs = [Simulation(sc, rep, seed, self.keep) for rep in range(self.replications)]
            try:
                return self._figures(sc, runs, threshold)
            finally:
                for simulation in runs:
                    simulation.close()

    def _figures(
        self, sc: Scenario, runs: list[Simulation], threshold: float
    ) -> dict[str, float] | None:
        """What :meth:`simulate` returns, from its replications ``runs``."""
        checks = self.checkpoints if threshold < math.inf else self.checkpoints[-1:]
        for day, names in checks:
            for simulation in runs:
                simulation.advance(day)
            means = _means([observations(sc, r.snapshot(), names) for r in runs], names)
            if partial_distance(means, self.fit) > threshold * (1.0 + 1e-9):
                return None
            if len(names) == len(self.fit):  # every figure closed: nothing left to simulate
                return {name: means[name] for name in self.fit}
        records = []
        for simulation in runs:
            simulation.advance(sc.horizon)
            records.append(simulation.finish())
        return _means([observations(sc, record, self.fit) for record in records], list(self.fit))


def _means(values: list[dict[str, float]], names: Sequence[str]) -> dict[str, float]:
    """Each observation's mean over replications, NaN ones left out (NaN if all are)."""
    return {name: finite_mean([v[name] for v in values]) for name in names}


def checkpoints(scenario: Scenario, fit: dict[str, Observation]) -> list[tuple[float, list[str]]]:
    """The days on which early rejection looks at the fit figures, each with the figures
    complete by then: one day after each figure's window closes (so every event of its last
    day is done), before the end of the run."""
    ends: dict[float, list[str]] = {}
    for name, obs in fit.items():
        day = observation_end(scenario, obs) + 1.0
        if day < scenario.horizon:
            ends.setdefault(day, []).append(name)
    out: list[tuple[float, list[str]]] = []
    complete: list[str] = []
    for day in sorted(ends):
        complete = [*complete, *ends[day]]
        out.append((day, complete))
    return out


def partial_distance(means: dict[str, float], fit: dict[str, Observation]) -> float:
    """The distance over the figures in ``means`` alone (NaN ones left out): a lower bound of
    the distance over every fit figure."""
    total = 0.0
    for name, value in means.items():
        if value == value:
            target = fit[name].target
            assert target is not None
            total += ((value - target) / tolerance(fit[name])) ** 2
    return math.sqrt(total)


def _model(observations: SimulatedObservations, early: bool = True) -> Any:
    """The pyabc model that rejects early (:meth:`SimulatedObservations.simulate`) and
    otherwise accepts as pyabc does."""
    import pyabc
    from pyabc.model import ModelResult

    class EarlyRejection(pyabc.Model):  # type: ignore[misc]
        def sample(self, pars: Any) -> dict[str, float]:
            return observations(pars)

        def accept(
            self,
            t: int,
            pars: Any,
            sum_stat_calculator: Callable[[Any], Any],
            distance_calculator: Any,
            eps_calculator: Any,
            acceptor: Any,
            x_0: dict[str, float],
        ) -> Any:
            stats = observations.simulate(pars, float(eps_calculator(t)) if early else math.inf)
            if stats is None:
                return ModelResult(sum_stat={}, distance=math.inf, accepted=False)
            result = ModelResult(sum_stat=sum_stat_calculator(stats))
            verdict = acceptor(
                distance_function=distance_calculator,
                eps=eps_calculator,
                x=result.sum_stat,
                x_0=x_0,
                t=t,
                par=pars,
            )
            result.distance = verdict.distance
            result.accepted = verdict.accept
            result.weight = verdict.weight
            return result

    return EarlyRejection()


def _run_chunk(task: tuple[bytes, list[int]]) -> list[Any]:
    """Run the proposals of one chunk, each with its own seed (in a worker or in process)."""
    import cloudpickle

    payload, seeds = task
    simulate_one = cloudpickle.loads(payload)
    np_state, py_state = np.random.get_state(), random.getstate()
    out = []
    try:
        for s in seeds:
            np.random.seed(s)
            random.seed(s)
            out.append(simulate_one())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return out


def _sampler_class() -> type:
    from pyabc.sampler import Sampler

    class DeterministicMapSampler(Sampler):  # type: ignore[misc]
        """Samples proposals in waves of seeded chunks over an executor, in proposal order."""

        def __init__(
            self,
            executor: Executor,
            chunk_size: int,
            on_accepted: Callable[[int], None] | None = None,
        ) -> None:
            super().__init__()
            self.executor = executor
            self.chunk_size = chunk_size
            self.on_accepted = on_accepted
            self.max_wave = MAX_WAVE

        def __getstate__(self) -> dict[str, Any]:
            state = dict(self.__dict__)
            state["executor"] = None  # executors hold processes and clients
            state["on_accepted"] = None
            return state

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            import cloudpickle

            payload = cloudpickle.dumps(simulate_one)
            sample = self._create_empty_sample()
            n_acc = n_eval = 0
            rate = 1.0 if all_accepted else 0.5  # a fixed first guess keeps waves deterministic
            while n_acc < n and n_eval < max_eval:
                wave = max(math.ceil((n - n_acc) / max(rate, 1e-3) * 1.2), 2 * self.chunk_size)
                wave = min(wave, self.max_wave)  # small waves: little simulated beyond the cut
                if max_eval < np.inf:
                    wave = min(wave, int(max_eval) - n_eval)
                seeds = np.random.randint(0, 2**32 - 1, size=wave, dtype=np.uint64).tolist()
                chunks = [
                    (payload, seeds[i : i + self.chunk_size])
                    for i in range(0, wave, self.chunk_size)
                ]
                results: list[list[Any]] = [[] for _ in chunks]
                for index, result in self.executor.imap_unordered(_run_chunk, chunks):
                    if isinstance(result, BaseException):
                        raise result
                    results[index] = result
                wave_acc = 0
                flat = [p for chunk in results for p in chunk]
                for particle in flat:
                    sample.append(particle)
                    n_eval += 1
                    if particle.accepted:
                        n_acc += 1
                        wave_acc += 1
                        if n_acc == n:
                            break
                rate = max(wave_acc / len(flat), 1e-3)
                if self.on_accepted is not None:
                    self.on_accepted(wave_acc)
            self.nr_evaluations_ = n_eval
            if sample.n_accepted < n:
                sample.ok = False
            return sample

    return DeterministicMapSampler


def _prior(parameters: dict[str, FreeParameter]) -> Any:
    import pyabc

    rvs = {sampled_name(name): pyabc.RV("logistic", 0.0, 1.0) for name in parameters}
    return pyabc.Distribution(**rvs)


def _abc(
    scenario: Scenario,
    settings: AbcSettings,
    executor: Executor,
    on_accepted: Callable[[int], None] | None = None,
) -> Any:
    import pyabc

    from sim.analysis.abc_proposal import DefensiveStudentT

    logging.getLogger("ABC").setLevel(logging.WARNING)
    # Ctrl-C can land while SQLAlchemy closes a connection to the history; its pool then logs
    # the KeyboardInterrupt with a traceback, although the finished generations are safe and
    # the command says how to resume. Nothing a user can act on: keep it off the terminal.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    assert scenario.calibration is not None

    class SeededABCSMC(pyabc.ABCSMC):  # type: ignore[misc]
        """Reseeds the global numpy generator from (seed, generation) before each one."""

        def run_generation(self, t: int) -> Any:
            np.random.seed([settings.seed, t])
            random.seed(settings.seed * 1_000_003 + t)
            return super().run_generation(t)

    class MedianThreshold(pyabc.QuantileEpsilon):  # type: ignore[misc]
        """The first generation of a new run accepts every prior draw (no separate prior
        sample to set a threshold); every later one, resumed or not, the median distance of
        the previous generation."""

        def initialize(self, t: int, get_weighted_distances: Any, **kwargs: Any) -> None:
            if t == 0:
                self._look_up = {0: math.inf}
                return
            super().initialize(t, get_weighted_distances, **kwargs)

    class FinalPopulation(pyabc.populationstrategy.ListPopulationSize):  # type: ignore[misc]
        """The sizes of :func:`population_sizes`, except that a generation whose threshold is
        at or below ``minimum_epsilon`` (pyabc then stops after it) takes the final size."""

        def __call__(self, t: int | None = None) -> int:
            if t is not None and t >= 0 and threshold(t) <= settings.minimum_epsilon:
                return settings.population
            return int(super().__call__(t))

    fit = fit_observations(scenario)
    threshold = MedianThreshold(initial_epsilon="from_sample", alpha=0.5)
    return SeededABCSMC(
        _model(SimulatedObservations(scenario, settings.replications), settings.early_rejection),
        _prior(scenario.calibration.parameters),
        distance_function=pyabc.PNormDistance(
            p=2, fixed_weights={name: 1.0 / tolerance(obs) for name, obs in fit.items()}
        ),
        population_size=FinalPopulation(population_sizes(settings)),
        eps=threshold,
        transitions=DefensiveStudentT(),
        sampler=_sampler_class()(executor, settings.chunk_size, on_accepted),
    )


@dataclasses.dataclass
class AbcResult:
    """The posterior of the last generation and what each generation did."""

    scenario: Scenario
    settings: AbcSettings
    posterior: pd.DataFrame
    """Parameter values and weights (``weight`` sums to 1), one row per particle."""
    generations: pd.DataFrame
    """Per generation: epsilon, proposals, accepted, acceptance rate, effective sample size."""
    history: Path


def abc_calibrate(
    scenario: Scenario,
    folder: Path,
    settings: AbcSettings,
    executor: Executor | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> AbcResult:
    """Run (or, with ``resume``, continue) ABC-SMC; the SQLite history is ``folder/history.db``.

    A resumed run continues from the last complete generation; since every generation reseeds
    from ``(seed, generation)``, it ends with the same posterior as an uninterrupted run.
    ``progress`` is called with the particles accepted so far (finished generations count in
    full) and the total to accept."""
    import pyabc

    if scenario.calibration is None or not scenario.calibration.parameters:
        raise ValueError("the scenario has no calibration: parameters block")
    if not fit_observations(scenario):
        raise ValueError("the scenario has no observation with role: fit and a target")
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / HISTORY
    url = f"sqlite:///{db.resolve()}"
    executor = executor or SerialExecutor()
    sizes = population_sizes(settings)
    accepted = [0]

    def on_accepted(n: int) -> None:
        accepted[0] += n
        if progress is not None:
            progress(min(accepted[0], sum(sizes)), sum(sizes))

    abc = _abc(scenario, settings, executor, on_accepted)
    if resume and db.exists():
        history = pyabc.History(url)
        done = history.max_t + 1 if history.max_t is not None else 0
        abc.load(url, history.id)
        on_accepted(sum(sizes[:done]))
    else:
        if db.exists():
            raise FileExistsError(f"{db} exists: continue it with --resume, or use a new folder")
        observed = {n: float(o.target or 0.0) for n, o in fit_observations(scenario).items()}
        abc.new(url, observed)
        done = 0
    remaining = settings.generations - done
    if remaining > 0:
        np.random.seed([settings.seed, 1_000_000 + done])  # the prior sample that sets epsilon
        random.seed(settings.seed)
        with warnings.catch_warnings():  # pyabc's stop test subtracts the first, infinite
            warnings.simplefilter("ignore", RuntimeWarning)  # threshold from itself
            abc.run(
                max_nr_populations=remaining,
                minimum_epsilon=settings.minimum_epsilon,
                min_acceptance_rate=0.0,
            )
    return _result(scenario, settings, db)


def _result(scenario: Scenario, settings: AbcSettings, db: Path) -> AbcResult:
    import pyabc

    history = pyabc.History(f"sqlite:///{db.resolve()}")
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    assert scenario.calibration is not None
    parameters = scenario.calibration.parameters
    posterior = pd.DataFrame(
        [model_values(parameters, row) for _, row in frame.iterrows()], columns=list(parameters)
    )
    posterior["weight"] = np.asarray(weights, float)
    return AbcResult(scenario, settings, posterior, generations_frame(history), db)


def generations_frame(history: Any) -> pd.DataFrame:
    """Per generation: epsilon, proposals, accepted, acceptance rate, effective sample size
    and wall-clock seconds (as the history recorded them, across resumed runs)."""
    import pyabc

    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    rows = []
    for t, eps, samples, particles, wall in zip(
        pops.t, pops.epsilon, pops.samples, pops.particles, pops.wall_time, strict=True
    ):
        weights = history.get_distribution(m=0, t=int(t))[1]
        rows.append(
            {
                "generation": int(t),
                "epsilon": float(eps),
                "proposals": int(samples),
                "accepted": int(particles),
                "acceptance_rate": float(particles) / float(samples) if samples else math.nan,
                "ess": float(pyabc.effective_sample_size(weights)),
                "seconds": float(wall) if wall is not None else math.nan,
            }
        )
    return pd.DataFrame(rows)


def resample(result: AbcResult, count: int, seed: int) -> pd.DataFrame:
    """``count`` parameter sets drawn from the weighted posterior (with replacement)."""
    rng = np.random.default_rng(seed)
    weights = result.posterior["weight"].to_numpy()
    rows = rng.choice(len(weights), size=count, replace=True, p=weights / weights.sum())
    names = [c for c in result.posterior.columns if c != "weight"]
    return result.posterior.iloc[rows][names].reset_index(drop=True)


def save_posterior(result: AbcResult, path: Path, count: int | None = None) -> None:
    """Write ``posterior.parquet``: equally weighted draws that ``--parameters`` reads."""
    assert result.scenario.calibration is not None
    n = count or len(result.posterior)
    write_parameter_sets(
        resample(result, n, result.settings.seed), result.scenario.calibration.parameters, path
    )


IDENTIFIED_WIDTH = 0.75
"""A parameter whose posterior 90% interval is wider than this share of its prior's 90%
interval (on the scale its prior is uniform on) is not identified by the fit figures."""


def intervals(result: AbcResult, levels: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Weighted posterior quantiles per parameter, with the prior bounds beside them and the
    identification verdict (:func:`identification`)."""
    assert result.scenario.calibration is not None
    return posterior_intervals(result.posterior, result.scenario.calibration.parameters, levels)


def posterior_intervals(
    posterior: pd.DataFrame,
    parameters: dict[str, FreeParameter],
    levels: Sequence[float] = (0.05, 0.5, 0.95),
) -> pd.DataFrame:
    """Quantiles per parameter of posterior draws (a ``weight`` column, else equal weights),
    the prior bounds, and :func:`identification`'s columns."""
    rows = []
    w = (
        posterior["weight"].to_numpy(float)
        if "weight" in posterior
        else np.ones(len(posterior), float)
    )
    for name, p in parameters.items():
        x = posterior[name].to_numpy(float)
        order = np.argsort(x, kind="stable")
        cdf = np.cumsum(w[order]) / w.sum()
        qs = {
            f"q{round(q * 100):02d}": float(x[order][min(int(np.searchsorted(cdf, q)), len(x) - 1)])
            for q in levels
        }
        rows.append({"parameter": name, "prior_lower": p.lower, "prior_upper": p.upper, **qs})
    return identification(pd.DataFrame(rows), parameters)


def width_ratio(q05: float, q95: float, parameter: FreeParameter) -> float:
    """The posterior 90% interval over the prior's 90% interval, on the scale the prior is
    uniform on (the log scale for a log-uniform prior)."""
    lo, hi, low, high = q05, q95, parameter.lower, parameter.upper
    if parameter.prior == "loguniform":
        lo, hi, low, high = (math.log(max(x, 1e-300)) for x in (lo, hi, low, high))
    return (hi - lo) / (0.9 * (high - low))


def identification(table: pd.DataFrame, parameters: dict[str, FreeParameter]) -> pd.DataFrame:
    """``table`` (a row per parameter with ``q05`` and ``q95``, as ``intervals.csv``) with
    ``width_ratio`` (:func:`width_ratio`) and ``identified``: at most
    :data:`IDENTIFIED_WIDTH`. Parameters the spec does not know get NaN and False."""
    ratios = [
        width_ratio(float(q05), float(q95), parameters[str(name)])
        if str(name) in parameters
        else math.nan
        for name, q05, q95 in zip(table["parameter"], table["q05"], table["q95"], strict=True)
    ]
    out = table.drop(columns=["width_ratio", "identified"], errors="ignore")
    return out.assign(width_ratio=ratios, identified=[bool(r <= IDENTIFIED_WIDTH) for r in ratios])


def _predict_task(task: tuple[Scenario, int, int]) -> dict[str, float]:
    """Every observation with a target (fit, validate, report) in one replication."""
    sc, rep, seed = task
    record = run_once(sc, rep, seed)
    return observations(sc, record, [n for n, o in sc.observations.items() if o.target is not None])


def predictive(result: AbcResult, draws: int, executor: Executor | None = None) -> pd.DataFrame:
    """Posterior predictive check: ``draws`` parameter sets from the posterior, one replication
    each (seed = the run's seed, replication = the draw's index), every targeted observation.
    Returns one row per observation: target, tolerance, role, mean, q05, q95 over the draws,
    and whether the mean is within tolerance."""
    sc = result.scenario
    assert sc.calibration is not None
    sets = resample(result, draws, result.settings.seed + 1)
    tasks = [
        (
            apply(sc, {str(k): float(v) for k, v in row.items()}, sc.calibration.parameters),
            i,
            result.settings.seed,
        )
        for i, (_, row) in enumerate(sets.iterrows())
    ]
    values: list[dict[str, float]] = [{} for _ in tasks]
    for index, got in (executor or SerialExecutor()).imap_unordered(_predict_task, tasks):
        if isinstance(got, BaseException):
            raise got
        values[index] = got
    frame = pd.DataFrame(values)
    rows = []
    for name, obs in sc.observations.items():
        if obs.target is None or name not in frame:
            continue
        x = frame[name].dropna().to_numpy()
        mean = float(x.mean()) if x.size else math.nan
        tol = tolerance(obs)
        rows.append(
            {
                "observation": name,
                "label": obs.label or name,
                "role": obs.role,
                "target": obs.target,
                "tolerance": tol,
                "mean": mean,
                "q05": float(np.quantile(x, 0.05)) if x.size else math.nan,
                "q95": float(np.quantile(x, 0.95)) if x.size else math.nan,
                "met": abs(mean - obs.target) <= tol if x.size else False,
                "source": obs.source or "",
            }
        )
    return pd.DataFrame(rows)


def correlations(result: AbcResult) -> pd.DataFrame:
    """Weighted Pearson correlations between the parameters in the posterior."""
    names = [c for c in result.posterior.columns if c != "weight"]
    w = result.posterior["weight"].to_numpy()
    x = result.posterior[names].to_numpy(float)
    cov = np.cov(x, rowvar=False, aweights=w)
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    return pd.DataFrame(corr, index=names, columns=names)

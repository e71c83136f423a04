"""Calibration: ABC-SMC (:mod:`sim.analysis.abc_smc`) with the effort a scenario's
``calibration:`` block sets, each setting overridable as on the command line.

``parcours calibrate`` and ``sim.calibrate`` both go through :func:`settings_for`, so the same
scenario, options and seed give the same posterior from the API and from the command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sim.analysis.abc_smc import AbcResult, AbcSettings, abc_calibrate
from sim.inputs.scenario import Scenario
from sim.running.executors import Executor, make_executor


def settings_for(
    scenario: Scenario,
    seed: int = 1,
    population: int | None = None,
    generations: int | None = None,
    replications: int | None = None,
) -> AbcSettings:
    """The run's settings: the options given, else the scenario's calibration block. A
    ``population`` given applies to every generation (the block's smaller first and
    intermediate populations are for its own ``population``)."""
    spec = scenario.calibration
    if spec is None:
        raise ValueError(f"scenario {scenario.name} has no calibration block")
    return AbcSettings(
        population=population or spec.population,
        generations=generations or spec.generations,
        replications=replications or spec.particle_replications,
        seed=seed,
        first_population=spec.first_population if population is None else None,
        intermediate_population=spec.intermediate_population if population is None else None,
        minimum_epsilon=spec.minimum_epsilon,
    )


def calibrate(
    scenario: Scenario,
    folder: Path | str,
    seed: int = 1,
    population: int | None = None,
    generations: int | None = None,
    replications: int | None = None,
    *,
    resume: bool = False,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AbcResult:
    """Fit ``scenario``'s calibration parameters to its ``fit`` observations by ABC-SMC, keeping
    pyabc's SQLite history in ``folder/history.db`` (``resume`` continues it).

    ``population``, ``generations`` (at most) and ``replications`` per particle default to the
    calibration block; ``workers`` local processes unless an ``executor`` is given (the
    posterior is the same on any executor). ``progress`` gets the particles accepted so far
    and the total. The result holds the weighted posterior and, per generation, epsilon,
    acceptance rate and effective sample size.

    >>> sc = load_scenario("scenarios/history-2019-2023.yaml")  # doctest: +SKIP
    >>> calibrate(sc, "results/quick", population=50, generations=2).generations  # doctest: +SKIP
    """
    settings = settings_for(scenario, seed, population, generations, replications)
    owned = executor is None
    executor = executor or make_executor(workers)
    try:
        return abc_calibrate(scenario, Path(folder), settings, executor, resume, progress)
    finally:
        if owned:
            executor.close()

"""A replication run in steps, looked at on the way, is the replication run in one go."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.analysis.abc_smc import checkpoints, fit_observations
from sim.engine.model import Simulation, run_once
from sim.engine.record import EPISODE_COLUMNS, RunRecord
from sim.inputs.loading import load_scenario
from sim.running.metrics import observation_filter, observations

HISTORY = Path(__file__).resolve().parents[1] / "scenarios" / "history-2019-2023.yaml"


def _same(a: RunRecord, b: RunRecord) -> None:
    for column in EPISODE_COLUMNS:
        np.testing.assert_array_equal(getattr(a.episodes, column), getattr(b.episodes, column))
    assert a.episodes.names == b.episodes.names
    assert a.series.keys() == b.series.keys()
    for name, series in a.series.items():
        np.testing.assert_array_equal(series.times, b.series[name].times)
        np.testing.assert_array_equal(series.values, b.series[name].values)
    assert a.people == b.people
    assert a.visits.keys() == b.visits.keys()
    for node, arrays in a.visits.items():
        for x, y in zip(arrays, b.visits[node], strict=True):
            np.testing.assert_array_equal(x, y)


def test_steps_and_snapshots_change_nothing() -> None:
    sc = load_scenario(HISTORY)
    whole = run_once(sc, 1, 7)
    stepped = Simulation(sc, 1, 7)
    for day in (100.0, 400.5, 401.0, 900.0):
        stepped.advance(day)
        snap = stepped.snapshot()
        assert snap.horizon == day
        assert np.all(snap.episodes.entry <= day)
    stepped.advance(sc.horizon)
    _same(stepped.finish(), whole)


def test_figures_complete_at_a_checkpoint_are_final() -> None:
    """The calibration's early rejection reads each fit figure at the checkpoint after its
    window: the value there is the one the whole replication gives."""
    sc = load_scenario(HISTORY)
    fit = fit_observations(sc)
    keep = observation_filter(sc, fit)
    steps = checkpoints(sc, fit)
    assert len(steps) >= 3
    assert len(steps[0][1]) < len(fit)  # some figures close early
    for rep in range(2):
        final = observations(sc, run_once(sc, rep, 3, keep=keep), fit)
        stepped = Simulation(sc, rep, 3, keep)
        for day, names in steps:
            stepped.advance(day)
            assert observations(sc, stepped.snapshot(), names) == {n: final[n] for n in names}

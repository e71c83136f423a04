"""ABC-SMC on a small queue with known parameters (fixed seeds)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.analysis import abc_smc
from sim.analysis.abc_smc import (
    AbcSettings,
    SimulatedObservations,
    abc_calibrate,
    intervals,
    model_values,
    population_sizes,
    sampled_values,
    save_posterior,
)
from sim.engine.model import Simulation
from sim.inputs.loading import validate_data
from sim.inputs.parameters import read_parameter_sets
from sim.inputs.scenario import Scenario
from sim.running.metrics import observations
from tests.builders import START, queue_data

pytest.importorskip("pyabc")

TRUTH = {"arrivals": 730.0, "stay": 20.0}
SMALL = AbcSettings(population=30, generations=3, replications=1, seed=4, chunk_size=10)


def _scenario(
    targets: dict[str, float] | None = None,
    extra: dict[str, Any] | None = None,
    last_day: int = 399,
) -> Scenario:
    data: dict[str, Any] = queue_data(
        TRUTH["arrivals"] / 365.25, 1000, {"dist": "exponential", "mean": TRUTH["stay"]}, 400
    )
    window = {"from": START + dt.timedelta(days=100), "to": START + dt.timedelta(days=last_day)}
    targets = targets or {"entries": 600.0, "occupancy": 40.0, "held_out": 600.0}
    data["observations"] = {
        "entries": {
            "metric": "entries",
            "node": "queue",
            **window,
            "target": targets["entries"],
            "tolerance": 40,
            "role": "fit",
        },
        "occupancy": {
            "metric": "mean",
            "series": "occupancy.queue",
            **window,
            "target": targets["occupancy"],
            "tolerance": 4,
            "role": "fit",
        },
        "held_out": {
            "metric": "exits",
            "node": "queue",
            **window,
            "target": targets["held_out"],
            "tolerance": 40,
            "role": "validate",
        },
        **(extra or {}),
    }
    data["calibration"] = {
        "parameters": {
            "arrivals": {
                "path": "nodes.street.arrivals_per_year",
                "lower": 200,
                "upper": 2000,
                "prior": "loguniform",
            },
            "stay": {"path": "nodes.queue.readiness.mean", "lower": 5, "upper": 60},
        }
    }
    return validate_data(data)


def _truth_targets() -> dict[str, float]:
    """The observations at the true parameters (mean of 8 replications, fixed seed)."""
    sc = _scenario()
    model = SimulatedObservations(sc, 8)
    np.random.seed(0)
    assert sc.calibration is not None
    got = model(sampled_values(sc.calibration.parameters, TRUTH))
    return {"entries": got["entries"], "occupancy": got["occupancy"], "held_out": 1e9}


def test_validation_figures_never_enter_the_distance() -> None:
    sc = _scenario()
    model = SimulatedObservations(sc, 1)
    np.random.seed(1)
    assert sc.calibration is not None
    assert set(model(sampled_values(sc.calibration.parameters, TRUTH))) == {"entries", "occupancy"}


def test_parameters_are_sampled_as_the_logit_of_their_place_in_the_prior() -> None:
    """``z_<name>`` in the history: the logit of the value's place in the prior range (on the
    log scale for a log-uniform prior), standard logistic under the prior; back on its scale."""
    sc = _scenario()
    assert sc.calibration is not None
    parameters = sc.calibration.parameters
    sampled = sampled_values(parameters, TRUTH)
    assert set(sampled) == {"z_arrivals", "z_stay"}
    u = np.log(730.0 / 200.0) / np.log(2000.0 / 200.0)
    assert sampled["z_arrivals"] == pytest.approx(np.log(u / (1 - u)))
    assert sampled["z_stay"] == pytest.approx(np.log(15.0 / 40.0))  # 20 in [5, 60]
    assert model_values(parameters, sampled) == pytest.approx(TRUTH)
    # the prior is exact: a standard logistic z maps to a uniform place in the range
    z = np.random.default_rng(0).logistic(size=4000)
    values = [model_values(parameters, {"z_arrivals": v, "z_stay": v}) for v in z]
    stays = np.array([v["stay"] for v in values])
    arrivals = np.array([v["arrivals"] for v in values])
    assert abs(np.mean(stays < 32.5) - 0.5) < 0.03
    assert abs(np.mean(arrivals < np.sqrt(200.0 * 2000.0)) - 0.5) < 0.03
    assert stays.min() >= 5.0
    assert stays.max() <= 60.0


@pytest.mark.slow
def test_recovers_known_parameters(tmp_path: Path) -> None:
    """Each 90% posterior interval covers the truth and is narrower than the prior. The held-out
    target is absurd (1e9): were it in the distance, nothing would be accepted near the truth."""
    sc = _scenario(_truth_targets())
    result = abc_calibrate(sc, tmp_path, AbcSettings(population=150, generations=5, seed=2))
    table = intervals(result).set_index("parameter")
    for name, truth in TRUTH.items():
        row = table.loc[name]
        assert row["q05"] <= truth <= row["q95"], (name, row.to_dict())
        assert row["q95"] - row["q05"] < 0.5 * (row["prior_upper"] - row["prior_lower"])
    gens = result.generations
    assert list(gens["generation"]) == [0, 1, 2, 3, 4]
    assert (gens["epsilon"].diff().dropna() < 0).all()
    assert (gens["ess"] > 0).all()
    assert (gens["acceptance_rate"] <= 1).all()
    save_posterior(result, tmp_path / "posterior.parquet", 50)
    frame, spec = read_parameter_sets(tmp_path / "posterior.parquet")
    assert len(frame) == 50
    assert set(spec) == set(TRUTH)


@pytest.mark.slow
def test_serial_fixed_seed_is_identical_run_to_run(tmp_path: Path) -> None:
    sc = _scenario()
    a = abc_calibrate(sc, tmp_path / "a", SMALL).posterior
    b = abc_calibrate(sc, tmp_path / "b", SMALL).posterior
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_posterior_does_not_depend_on_chunks_or_waves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 10 proposals in waves of 64 against chunks of 1 in waves of 7: the seeds are
    the same sequence however it is split, so the particles and the thresholds are too."""
    sc = _scenario()
    a = abc_calibrate(sc, tmp_path / "a", SMALL)
    monkeypatch.setattr(abc_smc, "MAX_WAVE", 7)
    b = abc_calibrate(sc, tmp_path / "b", AbcSettings(**{**SMALL.__dict__, "chunk_size": 1}))
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    pd.testing.assert_frame_equal(
        a.generations.drop(columns="seconds"), b.generations.drop(columns="seconds")
    )


@pytest.mark.slow
def test_resume_after_an_interruption_gives_the_same_posterior(tmp_path: Path) -> None:
    sc = _scenario()
    whole = abc_calibrate(sc, tmp_path / "whole", SMALL).posterior
    # an interrupted run: the history holds the first two generations only
    short = AbcSettings(**{**SMALL.__dict__, "generations": 2})
    abc_calibrate(sc, tmp_path / "cut", short)
    resumed = abc_calibrate(sc, tmp_path / "cut", SMALL, resume=True).posterior
    pd.testing.assert_frame_equal(whole, resumed)


def test_an_existing_history_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "history.db").write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        abc_calibrate(_scenario(), tmp_path, SMALL)
    assert (tmp_path / "history.db").read_bytes() == b"mine"
    shutil.rmtree(tmp_path)


def test_run_draws_the_posterior_its_calibration_names_unless_point(tmp_path: Path) -> None:
    """A scenario whose calibration block names a posterior is run over its draws by default
    (the intervals include parameter uncertainty); --point runs its own values."""
    import json

    import yaml
    from click.testing import CliRunner

    from sim.cli.main import main
    from sim.inputs.parameters import write_parameter_sets

    sc = _scenario()
    assert sc.calibration is not None
    sets = pd.DataFrame({"arrivals": [500.0, 900.0, 700.0], "stay": [10.0, 30.0, 20.0]})
    write_parameter_sets(sets, sc.calibration.parameters, tmp_path / "post.parquet")
    data = sc.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["calibration"]["posterior"] = "post.parquet"
    data["calibration"]["draws"] = 2
    path = tmp_path / "queue.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    for extra, draws in (([], 2), (["--point"], None)):
        out = tmp_path / f"run{len(extra)}"
        args = ["run", str(path), "-n", "1", "--quiet", "--out", str(out), *extra]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        info = json.loads((out / "manifest.json").read_text())
        assert info.get("draws") == draws


def test_population_sizes_first_intermediate_and_final() -> None:
    settings = AbcSettings(population=500, generations=4, first_population=200,
                           intermediate_population=300)  # fmt: skip
    assert population_sizes(settings) == [200, 300, 300, 500]
    assert population_sizes(AbcSettings(population=50, generations=3)) == [50, 50, 50]
    assert population_sizes(AbcSettings(population=50, generations=1)) == [50]


@pytest.mark.slow
def test_a_run_stopped_by_minimum_epsilon_ends_with_the_final_population(
    tmp_path: Path,
) -> None:
    """Smaller intermediate generations, and a minimum epsilon every generation after the
    first reaches: the run stops after generation 1, which has the final population."""
    settings = AbcSettings(population=40, generations=4, first_population=20,
                           intermediate_population=10, seed=4, chunk_size=5,
                           minimum_epsilon=1e6)  # fmt: skip
    gens = abc_calibrate(_scenario(), tmp_path, settings).generations
    assert list(gens["generation"]) == [0, 1]
    assert list(gens["accepted"]) == [20, 40]


@pytest.mark.slow
def test_calibrate_writes_a_folder_with_its_verdict(tmp_path: Path) -> None:
    """`parcours calibrate` leaves the posterior, the per-generation table and a report
    that counts the figures met and says how far off the others are."""
    import yaml
    from click.testing import CliRunner

    from sim.cli.main import main

    data = _scenario().model_dump(mode="python", by_alias=True, exclude_none=True)
    path = tmp_path / "queue.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "calib"
    args = ["calibrate", str(path), "--population", "12", "--generations", "2",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name in ("history.db", "posterior.parquet", "generations.csv", "predictive.csv"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "12, 12 particles" in report
    assert "Fitted figures within tolerance at the predictive mean:" in report
    assert "Width ratio: the posterior 90% interval over the prior's 90% interval" in report
    assert "## Limits" in report
    widths = report.split("## Parameters")[1].split("## Posterior correlations")[0]
    assert "| arrivals |" in widths
    assert "| stay |" in widths


def test_identification_compares_the_posterior_90_interval_with_the_priors() -> None:
    """The width ratio is on the scale the prior is uniform on (log for log-uniform; a uniform
    prior may start at 0, a share); above IDENTIFIED_WIDTH a parameter is not identified."""
    from sim.analysis.abc_smc import IDENTIFIED_WIDTH, identification
    from sim.inputs.scenario import FreeParameter

    spec = {
        "arrivals": FreeParameter(path="a", lower=200, upper=2000, prior="loguniform"),
        "share": FreeParameter(path="b", lower=0.0, upper=0.15),
        "wide": FreeParameter(path="c", lower=0.0, upper=10.0),
    }
    table = pd.DataFrame(
        {"parameter": ["arrivals", "share", "wide"], "q05": [400.0, 0.0, 0.5],
         "q95": [800.0, 0.045, 9.5]}
    )  # fmt: skip
    out = identification(table, spec)
    assert out["width_ratio"].tolist() == pytest.approx(
        [np.log(2.0) / (0.9 * np.log(10.0)), 0.045 / (0.9 * 0.15), 9.0 / 9.0]
    )
    assert IDENTIFIED_WIDTH == 0.75
    assert out["identified"].tolist() == [True, True, False]


def _early_scenario() -> Scenario:
    """The small queue with a fit figure whose window closes early (day 120 of 400), so
    early rejection has a checkpoint."""
    early = {
        "metric": "entries",
        "node": "queue",
        "from": START + dt.timedelta(days=20),
        "to": START + dt.timedelta(days=119),
        "target": 200.0,
        "tolerance": 20,
        "role": "fit",
    }
    return _scenario(extra={"early_entries": early})


def test_early_rejection_checks_the_figures_whose_windows_have_closed() -> None:
    sc = _early_scenario()
    model = SimulatedObservations(sc, 2)
    assert [(day, names) for day, names in model.checkpoints] == [(121.0, ["early_entries"])]
    assert sc.calibration is not None
    values = sampled_values(sc.calibration.parameters, TRUTH)
    np.random.seed(5)
    whole = model(values)
    np.random.seed(5)
    assert model.simulate(values, 1e9) == whole  # same figures when not rejected
    np.random.seed(5)
    assert model.simulate(values, 1e-6) is None  # rejected on the early figure alone


def test_nothing_is_simulated_once_every_fit_figure_has_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows closing on day 299 of 400: the particle stops the day after, with the figures a
    simulation to the horizon gives."""
    sc = _scenario(last_day=299)
    model = SimulatedObservations(sc, 2)
    [(stop, names)] = model.checkpoints
    assert names == list(model.fit)
    assert stop < sc.horizon
    assert sc.calibration is not None
    values = sampled_values(sc.calibration.parameters, TRUTH)
    np.random.seed(5)
    seed = int(np.random.randint(0, 2**31 - 1))
    runs = [Simulation(sc, rep, seed, model.keep) for rep in range(2)]
    for run in runs:
        run.advance(sc.horizon)
    full = [observations(sc, run.finish(), model.fit) for run in runs]
    whole = {name: float(np.mean([f[name] for f in full])) for name in model.fit}
    reached: list[float] = []

    class Recorded(Simulation):
        def advance(self, until: float) -> None:
            reached.append(until)
            super().advance(until)

    monkeypatch.setattr(abc_smc, "Simulation", Recorded)
    for threshold in (np.inf, 1e9):
        np.random.seed(5)
        assert model.simulate(values, threshold) == whole
        assert max(reached) == stop


def test_early_rejection_leaves_the_posterior_unchanged(tmp_path: Path) -> None:
    """The same seeds give the same particles, weights and thresholds with and without early
    rejection: it only skips simulating particles that would be rejected anyway."""
    sc = _early_scenario()
    results = {}
    for early in (True, False):
        settings = AbcSettings(**{**SMALL.__dict__, "early_rejection": early})
        results[early] = abc_calibrate(sc, tmp_path / str(early), settings)
    pd.testing.assert_frame_equal(results[True].posterior, results[False].posterior)
    pd.testing.assert_frame_equal(
        results[True].generations.drop(columns="seconds"),
        results[False].generations.drop(columns="seconds"),
    )

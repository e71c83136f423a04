"""Calibration end to end on a tiny queue whose answer is known, resume, and posterior draws."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.calibrate import calibrate, fit_distance, within_tolerance
from sim.calibration_output import EvaluationLog, partial_folder, run_calibration
from sim.cli import main
from sim.loading import load_scenario, validate_data
from sim.parameters import apply, draws
from sim.runner import run
from sim.scenario import FreeParameter
from tests.builders import queue_data


def tiny_data() -> dict[str, Any]:
    """A 20-place queue, arrivals unknown: the occupancy target says 15 busy places, i.e.
    arrivals of 15 / 30 days = 0.5 a day (Little's law), about 183 a year."""
    data = queue_data(0.5, 20, {"dist": "exponential", "mean": 30.0}, 720, 120)
    data["nodes"]["queue"]["cost_per_place_day"] = 55.0
    data["observations"] = {
        "busy": {
            "metric": "mean",
            "series": "occupancy.queue",
            "from": "2000-05-01",
            "to": "2001-12-01",
            "target": 15.0,
            "tolerance": 1.0,
            "role": "fit",
        },
        "exits": {
            "metric": "exits",
            "node": "queue",
            "from": "2000-05-01",
            "to": "2001-04-30",
            "target": 182.0,
            "tolerance": 20.0,
            "role": "validate",
        },
    }
    data["calibration"] = {
        "replications": 3,
        "budget": 24,
        "abc_samples": 32,
        "abc_replications": 2,
        "parameters": {
            "arrivals": {"path": "nodes.street.arrivals_per_year", "lower": 60.0, "upper": 360.0},
            "unused": {"path": "nodes.queue.cost_per_place_day", "lower": 50.0, "upper": 60.0},
        },
    }
    import datetime as dt

    for obs in data["observations"].values():
        for key in ("from", "to"):
            obs[key] = dt.date.fromisoformat(obs[key])
    return data


def test_calibration_recovers_the_known_arrival_rate() -> None:
    sc = validate_data(tiny_data())
    result = calibrate(sc, seed=3)
    # the fit meets its target, and lands near the analytic answer (3 replications of noise)
    assert abs(result.best.means["busy"] - 15.0) <= 1.0
    assert result.best.values["arrivals"] == pytest.approx(182.6, rel=0.15)
    assert result.best.distance < 1.0
    worst = max(e.distance for e in result.evaluations)
    assert worst > 3.0, "the design explored far from the target too"
    # the validation target was computed but never entered the distance
    assert "exits" in result.best.means
    assert result.best.distance == pytest.approx(
        fit_distance({"busy": result.best.means["busy"]}, sc.observations)
    )
    # same seed, same result
    again = calibrate(sc, seed=3)
    assert again.best.values == result.best.values
    assert [e.distance for e in again.evaluations] == [e.distance for e in result.evaluations]


def test_within_tolerance_is_about_fit_targets_only() -> None:
    sc = validate_data(tiny_data())
    assert within_tolerance({"busy": 15.5, "exits": 0.0}, sc.observations)
    assert not within_tolerance({"busy": 17.0, "exits": 182.0}, sc.observations)


def test_interrupted_calibration_resumes_to_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    import yaml

    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    whole, _, _ = run_calibration(path, tmp_path / "whole", seed=5, workers=1)
    seen = 0

    def stop_after_ten(_evaluation: object) -> None:
        nonlocal seen
        seen += 1
        if seen == 10:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_calibration(path, out, seed=5, workers=1, progress=stop_after_ten)
    assert not out.exists()
    assert len(EvaluationLog.load(partial_folder(out), ["arrivals", "unused"])) == 10
    run_calibration(path, out, seed=5, workers=1, resume=True)
    a = pd.read_parquet(whole / "evaluations.parquet")
    b = pd.read_parquet(out / "evaluations.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert (whole / "calibrated.yaml").read_text().split("extends")[1] == (
        out / "calibrated.yaml"
    ).read_text().split("extends")[1]


def test_calibrate_command_writes_every_output(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    out = tmp_path / "cal"
    result = CliRunner().invoke(
        main, ["calibrate", str(path), "--budget", "12", "--workers", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "calibrated.yaml",
        "evaluations.parquet",
        "posterior.parquet",
        "targets.csv",
        "report.md",
        "manifest.json",
        "charts/targets.png",
        "charts/traces.png",
        "runs/best/kpis.csv",
    ):
        assert (out / name).exists(), name
    assert json.loads((out / "manifest.json").read_text())["kind"] == "calibrate"
    calibrated = load_scenario(out / "calibrated.yaml")
    evaluations = pd.read_parquet(out / "evaluations.parquet")
    fitted = evaluations[evaluations["stage"] != "abc"].sort_values("distance").iloc[0]
    assert calibrated.nodes["street"].arrivals_per_year == pytest.approx(fitted["arrivals"])
    assert "# calibrated: arrivals" in (out / "calibrated.yaml").read_text()
    again = CliRunner().invoke(main, ["calibrate", str(path), "--budget", "12", "--out", str(out)])
    assert again.exit_code == 2
    assert "--force" in again.output


def test_posterior_draws_propagate_parameter_uncertainty(tmp_path: Path) -> None:
    import yaml

    data = tiny_data()
    data["observations"]["busy"]["tolerance"] = 2.5  # a loose target: several sets accepted
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out, result, _ = run_calibration(path, tmp_path / "cal", seed=2, budget=16, workers=1)
    assert len(result.accepted) >= 2, "the tiny design should accept a few sets"
    sets, spec = draws(out / "posterior.parquet", 2)
    sc = load_scenario(path)
    both = run(sc, 2, seed=9, parameter_sets=sets, parameter_spec=spec, keep_timeseries=False)
    assert list(both.kpis["draw"]) == [0, 0, 1, 1]
    assert list(both.kpis["replication"]) == [0, 1, 2, 3]
    # draw 1 alone equals the rows of draw 1 in the combined run (same replication numbers)
    single = apply(sc, sets[1], spec)
    alone = run(single, 4, seed=9, keep_timeseries=False).kpis.iloc[2:]
    pd.testing.assert_series_equal(
        alone["occupancy.queue.mean"].reset_index(drop=True),
        both.kpis["occupancy.queue.mean"].iloc[2:].reset_index(drop=True),
    )
    cli = CliRunner().invoke(
        main,
        [
            "run",
            str(path),
            "-n",
            "2",
            "--parameters",
            str(out / "posterior.parquet"),
            "--draws",
            "2",
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["draws"] == 2


def test_a_routing_share_parameter_keeps_the_routing_summing_to_one() -> None:
    sc = load_scenario(Path("scenarios/history-2019-2023.yaml"))
    spec = {
        "f": FreeParameter(
            path="nodes.assore.routing.family_or_country",
            lower=0.0,
            upper=0.2,
            rescale_siblings=True,
        )
    }
    out = apply(sc, {"f": 0.12}, spec)
    routing = out.nodes["assore"].routing
    assert routing["family_or_country"] == pytest.approx(0.12)
    assert sum(routing.values()) == pytest.approx(1.0)
    ratio = routing["housing"] / routing["phase"]
    assert ratio == pytest.approx(
        sc.nodes["assore"].routing["housing"] / sc.nodes["assore"].routing["phase"]
    )


def test_shipped_history_reproduces_the_audit_targets() -> None:
    """The calibrated values committed in the shipped scenarios reproduce T1-T3: for each, the
    95% CI covers the target or the mean lies within the target's tolerance."""
    from sim.results import summary_with_targets

    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "history-2019-2023.yaml")
    result = run(sc, 8, seed=20190527, workers=2, keep_timeseries=False, keep_episodes=False)
    summary = summary_with_targets(result).set_index("kpi")
    fit = [n for n, o in sc.observations.items() if o.role == "fit"]
    assert len(fit) == 3
    for name in fit:
        row = summary.loc[f"obs.{name}"]
        assert bool(row["target_met"]), (name, row["mean"], row["ci95"], row["target"])


def test_compare_propagates_the_same_draws_to_every_scenario(tmp_path: Path) -> None:
    import yaml

    from sim.compare import compare

    data = tiny_data()
    data["observations"]["busy"]["tolerance"] = 2.5
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out, _, _ = run_calibration(path, tmp_path / "cal", seed=2, budget=16, workers=1)
    sets, spec = draws(out / "posterior.parquet", 2)
    sc = load_scenario(path)
    twin = sc.model_copy(update={"name": "twin"})
    bigger = load_scenario(path, ["name=bigger", "nodes.queue.capacity=30"])
    comp = compare([sc, twin, bigger], 2, seed=4, parameter_sets=sets, parameter_spec=spec)
    assert len(comp.tables["twin"]) == 4  # 2 draws x 2 replications
    row = comp.table[
        (comp.table["scenario"] == "twin") & (comp.table["kpi"] == "waiting.queue.mean")
    ]
    assert float(row["diff"].iloc[0]) == 0.0  # same draws and seeds: identical
    big = comp.table[
        (comp.table["scenario"] == "bigger") & (comp.table["kpi"] == "waiting.queue.mean")
    ]
    assert float(big["diff"].iloc[0]) < 0

"""Calibration end to end on a tiny queue whose answer is known, resume, and posterior draws."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.analysis.calibrate import calibrate, fit_distance, within_tolerance
from sim.cli.main import main
from sim.inputs.loading import load_scenario, validate_data
from sim.inputs.parameters import apply, draws
from sim.inputs.scenario import FreeParameter
from sim.outputs.calibration_output import EvaluationLog, partial_folder, run_calibration
from sim.running.runner import run
from tests.builders import queue_data
from tests.conftest import SCENARIOS


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


@pytest.mark.slow
def test_calibration_recovers_the_known_arrival_rate() -> None:
    sc = validate_data(tiny_data())
    result = calibrate(sc, seed=3)
    # the fit meets its target, and lands near the analytic answer (3 replications of noise)
    assert abs(result.best.means["busy"] - 15.0) <= 1.0
    assert result.best.values["arrivals"] == pytest.approx(182.6, rel=0.15)
    assert result.best.distance < 1.0
    worst = max(e.distance for e in result.evaluations)
    assert worst > 3.0, "the design explored far from the target too"
    # the validation target was simulated: in steady state a year's exits are about the year's
    # arrivals (Poisson, 3 replications: sd about sqrt(183 / 3) = 8)...
    arrivals = result.best.values["arrivals"]
    assert abs(result.best.means["exits"] - arrivals) < 4 * math.sqrt(arrivals / 3)
    # ...but never entered the distance: changing it changes nothing
    assert result.best.distance == pytest.approx(
        fit_distance({**result.best.means, "exits": 0.0}, sc.observations)
    )
    # same seed, same result
    again = calibrate(sc, seed=3)
    assert again.best.values == result.best.values
    assert [e.distance for e in again.evaluations] == [e.distance for e in result.evaluations]


def test_within_tolerance_is_about_fit_targets_only() -> None:
    sc = validate_data(tiny_data())
    assert within_tolerance({"busy": 15.5, "exits": 0.0}, sc.observations)
    assert not within_tolerance({"busy": 17.0, "exits": 182.0}, sc.observations)


@pytest.mark.slow
def test_interrupted_calibration_resumes_to_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    import yaml

    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    whole, _, _ = run_calibration(path, tmp_path / "whole", seed=5, workers=1)
    seen = 0

    def stop_after_ten(_evaluation: object, _reloaded: bool) -> None:
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
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


@pytest.mark.slow
def test_shipped_history_reproduces_the_audit_targets() -> None:
    """The point values committed in the shipped history reproduce T1-T3 (the figures they were
    first fitted to): for each, the mean lies within the target's tolerance."""
    from sim.running.results import summary_with_targets

    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "history-2019-2023.yaml")
    result = run(sc, 8, seed=20190527, workers=2, keep_timeseries=False, keep_episodes=False)
    summary = summary_with_targets(result).set_index("kpi")
    fit = [n for n, o in sc.observations.items() if o.role == "fit"]
    assert len(fit) == 8
    for name in fit[:3]:
        row = summary.loc[f"obs.{name}"]
        assert bool(row["target_met"]), (name, row["mean"], row["ci95"], row["target"])


@pytest.mark.slow
def test_compare_propagates_the_same_draws_to_every_scenario(tmp_path: Path) -> None:
    import yaml

    from sim.analysis.compare import compare

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


def heavy_data() -> dict[str, Any]:
    """A 400-place queue with about 5,000 arrivals per replication, a short search and a
    rejection sample of 48 draws x 6 replications, which keeps two workers busy for seconds."""
    import datetime as dt

    data = queue_data(10.0, 400, {"dist": "exponential", "mean": 30.0}, 600, 100)
    data["nodes"]["queue"]["cost_per_place_day"] = 55.0
    data["observations"] = {
        "busy": {
            "metric": "mean",
            "series": "occupancy.queue",
            "from": dt.date(2000, 6, 1),
            "to": dt.date(2001, 8, 1),
            "target": 300.0,
            "tolerance": 10.0,
            "role": "fit",
        }
    }
    data["calibration"] = {
        "replications": 2,
        "budget": 8,
        "abc_samples": 48,
        "abc_replications": 6,
        "parameters": {
            "arrivals": {"path": "nodes.street.arrivals_per_year", "lower": 1500, "upper": 4000},
            "unused": {"path": "nodes.queue.cost_per_place_day", "lower": 50.0, "upper": 60.0},
        },
    }
    return data


@pytest.mark.slow
def test_ctrl_c_stops_at_once_keeps_finished_evaluations_and_resumes(tmp_path: Path) -> None:
    """A real SIGINT to the command's process group (what Ctrl-C sends), with 2 workers."""
    import time

    import yaml

    from tests.processes import assert_nothing_left_running, press_ctrl_c, start_command

    path = tmp_path / "heavy.yaml"
    path.write_text(yaml.safe_dump(heavy_data(), sort_keys=False), encoding="utf-8")
    out = tmp_path / "cal"
    args = ["calibrate", str(path), "--workers", "2", "--seed", "4", "--out", str(out)]
    proc = start_command(*args)
    saved = partial_folder(out) / "evaluations"
    deadline = time.monotonic() + 120

    def rejection_draws_done() -> int:
        files = sorted(saved.glob("eval-*.parquet"))
        return sum(pd.read_parquet(f, columns=["stage"])["stage"].iloc[0] == "abc" for f in files)

    while rejection_draws_done() < 2:  # interrupt early in the rejection sample
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no rejection draw finished in 2 minutes"
        time.sleep(0.05)
    # a hang guard, not a speed test: it stops in a fraction of a second, while waiting for the
    # ~280 rejection-sample replications still queued took about 12 s before the fix
    stderr = press_ctrl_c(proc, within=10)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert_nothing_left_running(proc)
    kept = EvaluationLog.load(partial_folder(out), ["arrivals", "unused"])
    assert len(kept) >= 2
    assert not out.exists()

    resumed = CliRunner().invoke(main, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    whole, _, _ = run_calibration(path, tmp_path / "whole", seed=4, workers=2)
    a = pd.read_parquet(whole / "evaluations.parquet")
    b = pd.read_parquet(out / "evaluations.parquet")
    pd.testing.assert_frame_equal(a, b)
    # what was on disk after the interruption is what the uninterrupted run computed
    by_index = a.set_index("index")
    for evaluation in kept:
        assert by_index.loc[evaluation.index, "distance"] == evaluation.distance
    assert (whole / "calibrated.yaml").read_text() == (out / "calibrated.yaml").read_text()


# --- posterior draws on the étape 2 family --------------------------------------------------
def test_a_drawn_value_keeps_the_relative_changes_of_the_etape2_alternatives() -> None:
    """A schedule keeps its shape (fluid doubles housing from 2024) and a node tied to a
    parameter follows the draw (outreach's Chapelle extension)."""
    from sim.inputs.loading import load_scenario as load

    history = load(SCENARIOS / "history-2019-2023.yaml")
    assert history.calibration is not None
    spec = history.calibration.parameters  # what posterior.parquet carries
    draw = {"housing_releases": 3.5, "rest_space_referral": 0.004}

    fluid = apply(load(SCENARIOS / "etape2-610-fluid.yaml"), draw, spec)
    steps = fluid.nodes["housing"].releases_per_month
    assert isinstance(steps, list)
    assert steps[0].value == pytest.approx(3.5)
    assert steps[1].value == pytest.approx(2 * steps[0].value)

    outreach = apply(load(SCENARIOS / "etape2-610-outreach.yaml"), draw, spec)
    for node in ("chapelle", "sleep_in"):
        assert outreach.nodes[node].referral_probability_per_visit == pytest.approx(0.004), node
    assert outreach.nodes["housing"].releases_per_month == pytest.approx(3.5)

    for name in ("etape2-610", "etape2-610-downstream", "etape2-400-downstream"):
        other = apply(load(SCENARIOS / f"{name}.yaml"), draw, spec)
        assert other.nodes["housing"].releases_per_month == pytest.approx(3.5), name
        assert other.nodes["chapelle"].referral_probability_per_visit == pytest.approx(0.004)


def test_the_etape2_copies_of_calibrated_values_match_the_history() -> None:
    from sim.inputs.loading import load_scenario as load

    history = load(SCENARIOS / "history-2019-2023.yaml")
    fluid = load(SCENARIOS / "etape2-610-fluid.yaml").nodes["housing"].releases_per_month
    assert isinstance(fluid, list)
    assert fluid[0].value == history.nodes["housing"].releases_per_month


def test_a_draw_follows_the_one_schedule_rule() -> None:
    """A number on a schedule replaces it, as --set does; a parameter declaring
    ``on_schedule: scale`` scales it instead, which a schedule starting at 0 cannot take."""
    from sim.inputs.loading import ScenarioError
    from sim.inputs.scenario import FreeParameter

    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    path = "nodes.out_of_region.releases_per_month"
    replaced = apply(sc, {path: 3.0})
    assert replaced.nodes["out_of_region"].releases_per_month == 3.0  # type: ignore[union-attr]
    assert replaced == load_scenario(SCENARIOS / "history-2019-2023.yaml", [f"{path}=3.0"])
    scaled = {"rate": FreeParameter(path=path, lower=0, upper=9, on_schedule="scale")}
    with pytest.raises(ScenarioError, match=r"out_of_region.releases_per_month: .*name a step"):
        apply(sc, {"rate": 3.0}, scaled)
    fluid = load_scenario(SCENARIOS / "etape2-610-fluid.yaml")  # doubles releases from 2024
    housing = fluid.calibration.parameters["housing_releases"]  # type: ignore[union-attr]
    assert housing.on_schedule == "scale"
    fitted = apply(fluid, {"housing_releases": 4.0})
    before = [s.value for s in fluid.nodes["housing"].releases_per_month]  # type: ignore[union-attr]
    after = [s.value for s in fitted.nodes["housing"].releases_per_month]  # type: ignore[union-attr]
    assert after[0] == 4.0
    assert after == pytest.approx([v * 4.0 / before[0] for v in before])
    with pytest.raises(ScenarioError, match="no such number"):
        apply(sc, {"nodes.assore.readiness": 3.0})  # a distribution, not a number


# --- search design, progress, provenance ----------------------------------------------------
@pytest.mark.parametrize("budget", [4, 12, 20, 32, 33, 100, 160, 1000])
def test_the_design_is_a_power_of_two_and_scipy_does_not_warn(budget: int) -> None:
    import warnings

    from sim.analysis.calibrate import design_size, sobol_sample

    size = design_size(budget, 8)
    assert size & (size - 1) == 0
    assert size >= 4
    assert size <= max(4, 0.6 * budget)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(sobol_sample(8, size, 1)) == size
        assert len(sobol_sample(8, 100, 1)) == 100  # not a power of two: cut, no warning


@pytest.mark.slow
def test_parallel_and_serial_searches_give_the_same_evaluations() -> None:
    sc = validate_data(tiny_data())
    serial = calibrate(sc, seed=3, budget=12)
    parallel = calibrate(sc, seed=3, budget=12, workers=2)
    pd.testing.assert_frame_equal(serial.evaluations_frame(), parallel.evaluations_frame())


@pytest.mark.slow
def test_progress_counts_search_and_rejection_draws_apart_and_reloaded_ones(
    tmp_path: Path,
) -> None:
    import io

    import yaml
    from rich.console import Console
    from rich.progress import Progress

    from sim.analysis.calibrate import Evaluation
    from sim.cli.calibrate import CalibrationProgress

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.calibration is not None

    def bar() -> tuple[Progress, CalibrationProgress]:
        progress = Progress(console=Console(file=io.StringIO()))
        assert sc.calibration is not None
        return progress, CalibrationProgress(progress, sc, sc.calibration.budget)

    seen = 0

    def stop_after_ten(evaluation: Evaluation, reloaded: bool) -> None:
        nonlocal seen
        first(evaluation, reloaded)
        seen += 1
        if seen == 10:
            raise KeyboardInterrupt

    _, first = bar()
    out = tmp_path / "cal"
    with pytest.raises(KeyboardInterrupt):
        run_calibration(path, out, seed=5, workers=1, progress=stop_after_ten)
    progress, second = bar()
    _, result, _ = run_calibration(path, out, seed=5, workers=1, resume=True, progress=second)
    search = [e for e in result.evaluations if e.stage != "abc"]
    abc = [e for e in result.evaluations if e.stage == "abc"]
    tasks = {t.description: t for t in progress.tasks}
    assert tasks["search"].completed == tasks["search"].total == len(search)
    assert len(search) <= sc.calibration.budget
    assert tasks["rejection sample"].completed == tasks["rejection sample"].total == len(abc)
    assert second.reloaded == 10
    assert second.simulated == len(result.evaluations) - 10
    best_search = min(e.distance for e in search)
    assert tasks["search"].fields["note"].startswith(f"best distance {best_search:.3f}")
    assert f"{len(result.accepted)} accepted" in tasks["rejection sample"].fields["note"]


@pytest.mark.slow
def test_calibrated_yaml_says_how_to_reproduce_the_fit(tmp_path: Path) -> None:
    import yaml

    from sim.outputs.calibration_output import command_line

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    out = tmp_path / "cal"
    overrides = ("nodes.queue.capacity=21",)
    run_calibration(path, out, 2, seed=6, budget=12, workers=1, overrides=overrides)
    text = (out / "calibrated.yaml").read_text(encoding="utf-8")
    command = command_line(path, 6, 12, 2, overrides)
    assert command.endswith("--set nodes.queue.capacity=21 --budget 12 -n 2 --seed 6")
    assert f"#   {command} (" in text
    assert "32 draws x 2 replications" in text
    assert "git commit" in text
    assert "scenario sha256" in text
    # the file holds what --set changed, so it is the scenario that was fitted
    assert load_scenario(out / "calibrated.yaml").nodes["queue"].capacity == 21
    # the command written is the one that reproduces the evaluations
    again = CliRunner().invoke(main, [*command.split()[1:], "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "evaluations.parquet"),
        pd.read_parquet(tmp_path / "again" / "evaluations.parquet"),
    )


# --- the committed calibration summary ------------------------------------------------------
DOCS = Path(__file__).parent.parent / "docs"


def _markdown_table(text: str, heading: str) -> list[str]:
    """The lines of the first table after ``heading``."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def _significant(written: float) -> int:
    digits = f"{written:.10g}".lstrip("-0.").replace(".", "").rstrip("0")
    return max(1, len(digits))


def test_committed_fit_files_match_the_scenarios() -> None:
    """docs/calibration/*.csv came from the shipped ABC-SMC run: its parameters and priors are
    the history's calibration block, its checked figures the history's targets and roles."""
    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "history-2019-2023.yaml")
    assert sc.calibration is not None
    table = pd.read_csv(DOCS / "calibration" / "intervals.csv")
    assert list(table["parameter"]) == list(sc.calibration.parameters)
    for _, row in table.iterrows():
        parameter = sc.calibration.parameters[row["parameter"]]
        assert (row["prior_lower"], row["prior_upper"]) == (parameter.lower, parameter.upper)
        assert parameter.lower <= row["q05"] <= row["q50"] <= row["q95"] <= parameter.upper
    check = pd.read_csv(DOCS / "calibration" / "predictive.csv")
    with_target = {n: o for n, o in sc.observations.items() if o.target is not None}
    assert list(check["observation"]) == list(with_target)
    for _, row in check.iterrows():
        obs = with_target[row["observation"]]
        assert (row["role"], row["target"]) == (obs.role, obs.target)
    generations = pd.read_csv(DOCS / "calibration" / "generations.csv")
    assert int(generations["accepted"].iloc[-1]) >= 500
    assert (generations["epsilon"].diff().dropna() < 0).all()


def test_calibration_page_shows_the_committed_files() -> None:
    """docs/calibration.md carries the committed run's report tables as written there."""
    report = (DOCS / "calibration" / "report.md").read_text(encoding="utf-8")
    text = (DOCS / "calibration.md").read_text(encoding="utf-8")
    for heading in ("## Generations", "## Parameters: prior and posterior"):
        assert _markdown_table(text, heading) == _markdown_table(report, heading), heading
    check = pd.read_csv(DOCS / "calibration" / "predictive.csv")
    table = _markdown_table(text, "## Posterior predictive against every figure")
    assert len(table) == len(check) + 2


@pytest.mark.slow
def test_blocked_residents_quoted_on_the_calibration_page() -> None:
    import re

    from sim.running.results import summary_with_targets

    text = (DOCS / "calibration.md").read_text(encoding="utf-8")
    quoted = re.search(r"about (\d+) of the 400 ASSORE\s+residents of 2021", text)
    assert quoted is not None
    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "history-2019-2023.yaml")
    result = run(sc, 16, seed=1, workers=2, keep_timeseries=False, keep_episodes=False)
    mean = summary_with_targets(result).set_index("kpi").loc["obs.assore_blocked_2021", "mean"]
    assert abs(mean - int(quoted.group(1))) <= 0.05 * mean  # "about": within 5%


def test_model_description_tabulates_every_shipped_scenario() -> None:
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    shipped = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
    assert len(shipped) >= 7
    for path in shipped:
        assert f"### `{path.name}`" in text, path.name


@pytest.mark.slow
def test_the_shipped_posterior_propagates_through_run(tmp_path: Path) -> None:
    """The shipped ABC-SMC draws hold the history's parameters, named as its calibration block,
    inside their priors; `parcours run --parameters` draws them. The history does not name them
    as its default until the run converges (docs/calibration.md)."""
    from sim.inputs.parameters import read_parameter_sets

    history = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    assert history.calibration is not None
    posterior = SCENARIOS / "history-2019-2023-posterior.parquet"
    frame, spec = read_parameter_sets(posterior)
    assert set(spec) == set(history.calibration.parameters)
    assert len(frame) >= 500
    for name, parameter in history.calibration.parameters.items():  # inside the priors
        assert frame[name].between(parameter.lower, parameter.upper).all(), name
    out = tmp_path / "run"
    args = ["run", str(SCENARIOS / "etape2-610.yaml"), "-n", "2", "--quiet", "--out", str(out)]
    args += ["--set", "end=2024-06-01", "--parameters", str(posterior), "--draws", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    info = json.loads((out / "manifest.json").read_text())
    assert info["draws"] == 2
    assert len(info["parameter_sets"]) == 2
    kpis = pd.read_csv(out / "kpis.csv")
    assert sorted(kpis["draw"].unique()) == [0, 1]
    per_draw = kpis.groupby("draw")["street.mean"].mean()
    assert per_draw.iloc[0] != per_draw.iloc[1]  # the draws change the model


def test_parameters_and_calibrated_files_read_negative_positions_as_set_does() -> None:
    """`-1` is the last step everywhere a dotted path is read (--set, sweeps, parameters)."""
    history = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    path = "nodes.street.arrivals_per_year.-1.value"
    changed = apply(history, {path: 300.0})
    steps = changed.nodes["street"].arrivals_per_year
    assert isinstance(steps, list)
    assert steps[-1].value == 300.0
    assert changed.model_dump(exclude={"nodes"}) == history.model_dump(exclude={"nodes"})
    by_set = load_scenario(SCENARIOS / "history-2019-2023.yaml", [f"{path}=300"])
    assert by_set.digest() == changed.digest()

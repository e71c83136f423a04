"""Calibration (ABC-SMC) from the command line: its folder, bad input, Ctrl-C and --resume, the
hidden --abc, the retired search's settings; posterior draws carried into run and compare."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sim.cli.main import main
from sim.inputs.loading import load_scenario
from sim.inputs.parameters import apply, draws
from sim.inputs.scenario import FreeParameter
from sim.outputs.abc_output import run_calibration
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
        "population": 12,
        "generations": 2,
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


def _write(tmp_path: Path, data: dict[str, Any], name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_calibrate_command_writes_every_output(tmp_path: Path) -> None:
    """ABC-SMC is what `calibrate` runs, with no option; an existing folder is not replaced
    without --force, which starts it again (the same seed: the same posterior)."""
    path = _write(tmp_path, tiny_data())
    out = tmp_path / "cal"
    args = ["calibrate", str(path), "--workers", "1", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "fit figures within tolerance at the predictive mean" in result.output
    for name in (
        "history.db",
        "posterior.parquet",
        "generations.csv",
        "intervals.csv",
        "correlations.csv",
        "predictive.csv",
        "report.md",
        "charts/parameters.png",
        "charts/correlations.png",
        "charts/predictive.png",
    ):
        assert (out / name).exists(), name
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["accepted"]) == [12, 12]  # the calibration block's effort
    predictive = pd.read_csv(out / "predictive.csv").set_index("observation")
    assert predictive.loc["exits", "role"] == "validate"  # held out, reported
    posterior = pd.read_parquet(out / "posterior.parquet")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    assert "Traceback" not in again.output
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)


def test_the_search_options_are_gone_and_abc_is_a_hidden_no_op(tmp_path: Path) -> None:
    helped = CliRunner().invoke(main, ["calibrate", "--help"])
    assert helped.exit_code == 0
    for gone in ("--budget", "--abc", "search", "Nelder", "Sobol"):
        assert gone not in helped.output, gone
    for option in ("--population", "--generations", "--resume", "--force", "--seed"):
        assert option in helped.output, option
    path = _write(tmp_path, tiny_data())
    budget = CliRunner().invoke(main, ["calibrate", str(path), "--budget", "8"])
    assert budget.exit_code == 2
    assert "No such option '--budget'" in budget.output
    # --abc is accepted as before and changes nothing: here it meets the same existing folder
    out = tmp_path / "cal"
    out.mkdir()
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    for extra in ([], ["--abc"]):
        args = ["calibrate", str(path), "--out", str(out), *extra]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "exists" in result.output
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("key", ["budget", "abc_samples", "abc_replications", "replications"])
def test_a_retired_search_setting_is_one_clear_line(tmp_path: Path, key: str) -> None:
    """An old scenario with a setting of the retired search: exit 2, one line naming the
    file, line and key, saying it can be deleted; never a traceback."""
    data = tiny_data()
    data["calibration"] = {key: 16, **data["calibration"]}
    path = _write(tmp_path, data)
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith(f"  {key}:")
    )
    for command in (["calibrate", str(path)], ["run", str(path), "-n", "1"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        errors = [e for e in result.output.splitlines() if e.strip()]
        assert errors == [
            f"{path}:{line}: calibration.{key}: a setting of the retired search calibration "
            "(Sobol design, Nelder-Mead, rejection sample) that nothing reads any more: delete "
            "the line (calibrate runs ABC-SMC, set by population, generations and "
            "particle_replications)"
        ]
    # an unknown key that was never a setting is still an unknown key
    data["calibration"] = {"budgets": 16, **tiny_data()["calibration"]}
    result = CliRunner().invoke(main, ["run", str(_write(tmp_path, data)), "-n", "1"])
    assert result.exit_code == 2
    assert "calibration.budgets: unknown key" in result.output


def test_calibrate_without_a_fit_figure_is_a_usage_error(tmp_path: Path) -> None:
    data = tiny_data()
    data["observations"]["busy"]["role"] = "validate"
    result = CliRunner().invoke(main, ["calibrate", str(_write(tmp_path, data))])
    assert result.exit_code == 2
    assert "no observation with role: fit" in result.output
    assert "Traceback" not in result.output
    del data["calibration"]
    result = CliRunner().invoke(main, ["calibrate", str(_write(tmp_path, data))])
    assert result.exit_code == 2
    assert "has no calibration block" in result.output


@pytest.mark.slow
def test_posterior_draws_propagate_parameter_uncertainty(tmp_path: Path) -> None:
    path = _write(tmp_path, tiny_data())
    out = tmp_path / "cal"
    run_calibration(load_scenario(path), out, seed=2)  # 2 generations of 12
    assert len(pd.read_parquet(out / "posterior.parquet").drop_duplicates()) > 1
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


def test_routing_shares_drawn_together_are_the_values_drawn_whatever_the_file_says() -> None:
    """Two share parameters of one routing: each share is its drawn value, in either order,
    and the same when the file's own values of those shares change (point values written back
    into a scenario must not change what a calibration's parameters mean)."""
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")

    def share(key: str) -> FreeParameter:
        return FreeParameter(
            path=f"nodes.assore.routing.{key}", lower=0.0, upper=0.5, rescale_siblings=True
        )

    spec = {"f": share("family_or_country"), "o": share("out_of_region")}
    drawn = {"f": 0.12, "o": 0.3}
    moved = apply(sc, {"m": 0.01}, {"m": share("family_or_country")})
    results = [
        apply(base, dict(order), spec).nodes["assore"].routing
        for base in (sc, moved)
        for order in (drawn.items(), reversed(list(drawn.items())))
    ]
    for routing in results:
        assert routing["family_or_country"] == 0.12
        assert routing["out_of_region"] == 0.3
        assert sum(routing.values()) == pytest.approx(1.0)
    file = sc.nodes["assore"].routing
    for key in ("housing", "lhss"):  # the others keep their proportions in the file
        assert results[0][key] / results[0]["phase"] == pytest.approx(file[key] / file["phase"])


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
    from sim.analysis.compare import compare

    path = _write(tmp_path, tiny_data())
    out = tmp_path / "cal"
    run_calibration(load_scenario(path), out, seed=2)  # 2 generations of 12
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
    """A 400-place queue with about 5,000 arrivals per replication and three generations of
    40 particles x 2 replications, which keeps two workers busy for a while."""
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
        "population": 40,
        "generations": 3,
        "particle_replications": 2,
        "parameters": {
            "arrivals": {"path": "nodes.street.arrivals_per_year", "lower": 1500, "upper": 4000},
            "unused": {"path": "nodes.queue.cost_per_place_day", "lower": 50.0, "upper": 60.0},
        },
    }
    return data


def _generations_done(history: Path) -> int:
    """Generations complete in a pyabc history (0 while it is being created)."""
    if not history.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{history}?mode=ro", uri=True, timeout=0.1) as db:
            found = db.execute("SELECT MAX(t) FROM populations").fetchone()[0]
    except sqlite3.Error:  # being created or written
        return 0
    return 0 if found is None else int(found) + 1


@pytest.mark.slow
def test_ctrl_c_stops_at_once_keeps_finished_generations_and_resumes(tmp_path: Path) -> None:
    """A real SIGINT to the command's process group (what Ctrl-C sends), with 2 workers,
    during the second generation; --resume then ends with the posterior of a run never
    interrupted."""
    import datetime as dt
    import time

    from tests.processes import assert_nothing_left_running, press_ctrl_c, start_command

    data = heavy_data()  # shorter, and two generations of 20
    data["end"] = dt.date(2000, 10, 27)
    data["observations"]["busy"].update({"from": dt.date(2000, 5, 1), "to": dt.date(2000, 10, 1)})
    data["calibration"].update(population=20, generations=2, particle_replications=1)
    path = _write(tmp_path, data, "heavy.yaml")
    out = tmp_path / "cal"
    args = ["calibrate", str(path), "--workers", "2", "--seed", "4", "--out", str(out)]
    proc = start_command(*args)
    deadline = time.monotonic() + 300
    while _generations_done(out / "history.db") < 1:  # interrupt in the second generation
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no generation finished in 5 minutes"
        time.sleep(0.05)
    # a hang guard, not a speed test: the workers are stopped at once
    stderr = press_ctrl_c(proc, within=20)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert_nothing_left_running(proc)
    assert _generations_done(out / "history.db") == 1
    assert not (out / "posterior.parquet").exists()

    again = CliRunner().invoke(main, args)  # not without --resume or --force
    assert again.exit_code == 2, again.output
    resumed = CliRunner().invoke(main, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    whole = tmp_path / "whole"
    run_calibration(load_scenario(path), whole, seed=4)  # in one process: the same draws
    for name in ("posterior.parquet", "intervals.csv", "predictive.csv"):
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(
                pd.read_parquet(whole / name), pd.read_parquet(out / name)
            )
        else:
            assert (whole / name).read_text() == (out / name).read_text(), name
    a, b = (pd.read_csv(f / "generations.csv").drop(columns="seconds") for f in (whole, out))
    pd.testing.assert_frame_equal(a, b)


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


def test_an_error_raised_while_handling_ctrl_c_counts_as_the_interrupt() -> None:
    """pyabc can turn a Ctrl-C that lands in a history query into another error (SQLAlchemy's
    PendingRollbackError while it cleans up): the command still exits 130 with the resume hint."""
    from sim.cli.calibrate import _from_ctrl_c

    def cleanup_fails() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("Can't reconnect until invalid transaction is rolled back") from None

    with pytest.raises(RuntimeError) as caught:
        cleanup_fails()
    assert _from_ctrl_c(caught.value)  # the interrupt is its context, even with "from None"
    assert _from_ctrl_c(KeyboardInterrupt())
    assert not _from_ctrl_c(RuntimeError("a real failure"))
    assert not _from_ctrl_c(SystemExit(2))

"""The app's Python side, without a browser: the folders it may touch, "Save as" (a file that
``extends`` its parent with only the differences, checked with the messages of ``parcours
validate``), and jobs (progress, cancel, one folder each, the same numbers as the command
line). The browser test is tests/test_app_browser.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip(
    "nicegui", reason="the app extra is not installed (pip install 'parcours[app]')"
)

from sim.app import edits
from sim.app.jobs import start_job
from sim.app.workspace import PathRefusedError, Workspace
from sim.cli.main import main
from sim.inputs.loading import ScenarioError, load_raw, load_scenario
from tests.conftest import SCENARIOS

SHORT = """\
# A short M/M/c queue for the app's job tests (every number a test choice).
extends: mmc.yaml
name: {name}
end: 2001-07-01   # assumption: 18 months keep the test short
warmup: 365   # assumption: one year of warm-up
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A copy of the shipped scenarios and an empty results folder."""
    scenarios = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, scenarios, ignore=shutil.ignore_patterns("sweeps"))
    return Workspace(scenarios, tmp_path / "results")


@pytest.fixture
def queues(tmp_path: Path) -> Workspace:
    """Two short queues, the second with fewer places, for fast jobs."""
    folder = tmp_path / "queues"
    folder.mkdir()
    shutil.copy(SCENARIOS / "verification" / "mmc.yaml", folder / "mmc.yaml")
    (folder / "short.yaml").write_text(SHORT.format(name="short"), encoding="utf-8")
    text = SHORT.format(name="short-380").replace("extends: mmc.yaml", "extends: short.yaml")
    text += "nodes:\n  queue:\n    capacity: 380   # assumption: 20 places fewer\n"
    (folder / "short-380.yaml").write_text(text, encoding="utf-8")
    text = text.replace("380", "420").replace("20 places fewer", "20 places more")
    (folder / "short-420.yaml").write_text(text, encoding="utf-8")
    return Workspace(folder, tmp_path / "results")


# --- the folders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../etape2-610.yaml",
        "/etc/passwd",
        "sweeps/x.yaml",
        ".hidden.yaml",
        "..",
        "etape2-610.yaml/../../x.yaml",
        "etape2-610.yml",
        "",
        "a\\..\\b.yaml",
    ],
)
def test_names_that_leave_the_scenarios_folder_are_refused(workspace: Workspace, name: str) -> None:
    with pytest.raises(PathRefusedError):
        workspace.scenario(name)
    if not name.endswith(".yml"):  # "Save as" adds .yaml: a plain new name
        with pytest.raises(PathRefusedError):
            workspace.new_scenario(name)


def test_a_link_out_of_the_folders_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: secret\n", encoding="utf-8")
    (workspace.scenarios / "link.yaml").symlink_to(secret)
    with pytest.raises(PathRefusedError):
        workspace.scenario("link.yaml")
    workspace.results.mkdir()
    (workspace.results / "out").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(PathRefusedError):
        workspace.folder("out")


def test_downloads_stay_inside_a_results_folder(workspace: Workspace, tmp_path: Path) -> None:
    folder = workspace.results / "compare-x"
    (folder / "runs" / "a").mkdir(parents=True)
    (folder / "manifest.json").write_text('{"kind": "compare"}', encoding="utf-8")
    (folder / "comparison.csv").write_text("x\n", encoding="utf-8")
    (folder / "runs" / "a" / "kpis.csv").write_text("x\n", encoding="utf-8")
    assert (
        workspace.download("compare-x", "comparison.csv") == (folder / "comparison.csv").resolve()
    )
    assert workspace.download("compare-x", "runs/a/kpis.csv").name == "kpis.csv"
    for bad in ("../../secret", "runs/../manifest.json", "/etc/passwd", "runs/a/../../x", "a/b"):
        with pytest.raises(PathRefusedError):
            workspace.download("compare-x", bad)
    with pytest.raises(PathRefusedError):
        workspace.download("../compare-x", "comparison.csv")
    with pytest.raises(PathRefusedError):
        workspace.posterior("../..")


def test_new_results_folders_are_unique(workspace: Workspace) -> None:
    names = {workspace.new_folder("compare").name for _ in range(50)}
    assert len(names) == 50
    assert all(workspace.new_folder("../../x").parent == workspace.results.resolve() for _ in "ab")


def test_the_list_has_titles_and_questions(workspace: Workspace) -> None:
    entries = {e.file: e for e in workspace.scenario_list()}
    assert "etape2-610.yaml" in entries
    ref = entries["etape2-610.yaml"]
    assert ref.title["en"].startswith("Stage 2: 610 ASSORE places")
    assert "Reference scenario for étape 2" in ref.description["en"]
    assert "Scénario de référence de l'étape 2" in ref.description["fr"]
    assert entries["etape2-610-downstream.yaml"].extends == "etape2-610.yaml"


# --- save as -------------------------------------------------------------------------------------


def _last_assore_step(draft: edits.Draft) -> str:
    return f"nodes.assore.capacity.{len(draft.get('nodes.assore.capacity')) - 1}.value"


def test_save_as_writes_only_the_differences(workspace: Workspace) -> None:
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    draft.set(_last_assore_step(draft), "800")
    path = edits.save_as(workspace, draft, "etape2-800", "ASSORE at 800")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Written from the parcours app")
    assert "extends: etape2-610.yaml" in text
    assert "value: 800}   # assumption: set in the parcours app" in text
    assert text.count("set in the parcours app") == 2  # the header and the one changed step
    assert "readiness" not in text  # nothing unchanged is written
    assert "observations" not in text
    done = CliRunner().invoke(main, ["validate", str(path)])
    assert done.exit_code == 0, done.output
    saved = load_raw(path)
    for key in ("name", "title", "legend"):
        saved.pop(key, None)
        draft.data.pop(key, None)
    assert saved == draft.data
    assert load_scenario(path).nodes["assore"].capacity[-1].value == 800  # type: ignore[union-attr,index]


def test_save_as_never_overwrites(workspace: Workspace) -> None:
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    before = (workspace.scenarios / "etape2-610-fluid.yaml").read_bytes()
    for name in ("etape2-610-fluid", "etape2-610"):
        with pytest.raises(PathRefusedError, match="exists"):
            edits.save_as(workspace, draft, name)
    assert (workspace.scenarios / "etape2-610-fluid.yaml").read_bytes() == before
    with pytest.raises(PathRefusedError):
        edits.save_as(workspace, draft, "../outside")
    assert not (workspace.scenarios.parent / "outside.yaml").exists()


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("capacity", "-5", "Input should be greater than or equal to 0 (got -5)"),
        ("capacity", "many", "Input should be a valid number (got 'many')"),
        ("capacity", "12.5", "places must be whole numbers"),
        ("date", "2024-13-01", "invalid date '2024-13-01': month must be in 1..12"),
        ("cost", "-1", "Input should be greater than or equal to 0 (got -1)"),
        ("routing", "0.5", "probabilities must sum to 1"),
        ("warmup", "2031-01-01", "a warm-up date must lie between start and end"),
    ],
)
def test_bad_values_get_the_messages_of_validate(
    workspace: Workspace, field: str, text: str, message: str
) -> None:
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    last = _last_assore_step(draft)
    path = {
        "capacity": last,
        "date": last.replace(".value", ".from"),
        "cost": "nodes.assore.cost_per_place_day",
        "routing": "nodes.assore.routing.lhss",
        "warmup": "warmup",
    }[field]
    draft.set(path, text)
    result = edits.check(workspace, draft, "bad")
    assert not result.ok
    problems = [f"{p.path}: {p.message}" for p in result.problems]
    assert any(message in p for p in problems), problems
    if field != "capacity" or text != "12.5":  # that one is about the whole schedule
        expected = path if field not in ("routing",) else "nodes.assore.routing"
        assert any(p.startswith(f"{expected}: ") for p in problems), problems
    # the same file, written out, gives the same lines with parcours validate
    written = workspace.scenarios / "bad.yaml"
    written.write_text(result.text, encoding="utf-8")
    done = CliRunner().invoke(main, ["validate", str(written)])
    assert done.exit_code == 2
    assert sorted(done.output.strip().splitlines()) == sorted(
        f"{written}:{p.line}: {p.path}: {p.message}" for p in result.problems
    )
    with pytest.raises(ScenarioError):
        edits.save_as(workspace, draft, "bad-again")
    assert not (workspace.scenarios / "bad-again.yaml").exists()


def test_steps_can_be_added_and_removed(workspace: Workspace) -> None:
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    steps = len(draft.get("nodes.assore.capacity"))
    draft.add_step("nodes.assore.capacity")
    assert len(draft.get("nodes.assore.capacity")) == steps + 1
    assert draft.get(f"nodes.assore.capacity.{steps}.from").isoformat() == "2024-01-01"
    draft.remove_step("nodes.assore.capacity")
    assert draft.changes() == {}
    assert draft.get("nodes.lhss.capacity") == 0  # a constant becomes a schedule from start
    draft.add_step("nodes.lhss.capacity")
    assert draft.get("nodes.lhss.capacity") == [
        {"from": draft.scenario.start, "value": 0},
        {"from": draft.scenario.start.replace(year=draft.scenario.start.year + 1), "value": 0},
    ]


# --- jobs ----------------------------------------------------------------------------------------


def _folder_scenarios(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "runs").iterdir())


@pytest.mark.slow
def test_two_jobs_at_once_keep_their_own_results(queues: Workspace) -> None:
    a = [queues.scenario("short.yaml"), queues.scenario("short-380.yaml")]
    b = [queues.scenario("short.yaml"), queues.scenario("short-420.yaml")]
    jobs = [
        start_job(files, 3, queues.new_folder("compare"), reference="short")
        for files in (a, b)
        for _ in range(2)
    ]
    states = [job.wait(120) for job in jobs]
    assert states == ["done"] * 4, [j.message for j in jobs]
    assert len({job.out for job in jobs}) == 4
    assert [_folder_scenarios(job.out) for job in jobs] == [
        ["short", "short-380"],
        ["short", "short-380"],
        ["short", "short-420"],
        ["short", "short-420"],
    ]
    same = [pd.read_csv(job.out / "comparison.csv") for job in jobs[:2]]
    pd.testing.assert_frame_equal(same[0], same[1])  # the same job twice: the same numbers
    assert all(job.done == job.total == 6 for job in jobs)


def test_a_cancelled_job_writes_nothing(queues: Workspace) -> None:
    files = [queues.scenario("short.yaml"), queues.scenario("short-380.yaml")]
    job = start_job(files, 200, queues.new_folder("compare"))
    job.cancel()
    assert job.wait(120) == "cancelled"
    assert job.done < job.total
    assert not queues.results.exists() or os.listdir(queues.results) == []


def test_a_bad_file_fails_the_job_with_its_problem_lines(queues: Workspace) -> None:
    bad = queues.scenarios / "bad.yaml"
    bad.write_text("extends: mmc.yaml\nend: 1999-01-01\n", encoding="utf-8")
    job = start_job([bad], 2, queues.new_folder("bad"))
    assert job.wait(60) == "failed"
    assert "bad.yaml:2: end: must be after start" in job.message
    assert "Traceback" not in job.message
    assert not job.out.exists()


@pytest.mark.slow
def test_100_lhss_beds_in_2025_match_parcours_compare(workspace: Workspace) -> None:
    """The planner's question, answered as in the app (a schedule step added on the LHSS form,
    "Save as", then run and compare with the "point values" choice), gives the numbers
    `parcours compare --point` gives on the file the app wrote. The default, the scenario's
    posterior: test_the_app_draws_the_scenarios_posterior_by_default_as_the_command_line."""
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    path = "nodes.lhss.capacity"
    draft.add_step(path)
    last = len(draft.get(path)) - 1
    draft.set(f"{path}.{last}.from", "2025-01-01")
    draft.set(f"{path}.{last}.value", "100")
    written = edits.save_as(workspace, draft, "lhss-100-2025", "100 LHSS beds from 2025")
    assert "{from: 2025-01-01, value: 100}" in written.read_text(encoding="utf-8")
    files = [workspace.scenario("etape2-610.yaml"), written]
    job = start_job(files, 3, workspace.new_folder("compare"), reference="etape2-610")
    assert job.wait(600) == "done", job.message
    out = workspace.results / "cli"
    done = CliRunner().invoke(
        main,
        ["compare", str(files[0]), str(written), "-n", "3", "--workers", "1", "--point",
         "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    app_table = pd.read_csv(job.out / "comparison.csv")
    cli_table = pd.read_csv(out / "comparison.csv")
    pd.testing.assert_frame_equal(app_table, cli_table)
    street = app_table[(app_table["kpi"] == "obs.street_window")].set_index("scenario")
    assert street.loc["lhss-100-2025", "diff"] < 0  # more beds downstream: fewer on the street


@pytest.mark.slow
def test_a_job_propagates_the_parameter_draws_of_a_posterior(workspace: Workspace) -> None:
    """A calibration folder in results/ is offered, and its draws go into the comparison as
    with `parcours compare --parameters ... --draws K`."""
    calibration = workspace.results / "calibrate-history"
    calibration.mkdir(parents=True)
    shutil.copy(SCENARIOS.parent / "docs" / "calibration" / "posterior.parquet", calibration)
    assert workspace.posteriors() == ["calibrate-history"]
    files = [workspace.scenario("etape2-610.yaml"), workspace.scenario("etape2-610-fluid.yaml")]
    job = start_job(
        files,
        2,
        workspace.new_folder("compare"),
        posterior=workspace.posterior("calibrate-history"),
        draws=2,
    )
    assert job.total == 8
    assert job.wait(600) == "done", job.message
    info = json.loads((job.out / "manifest.json").read_text(encoding="utf-8"))
    assert info["draws"] == 2
    assert len(info["parameter_sets"]) == 2
    kpis = pd.read_csv(job.out / "runs" / "etape2-610" / "kpis.csv")
    assert sorted(kpis["draw"].unique()) == [0, 1]


def test_the_run_panel_defaults_to_the_posterior_the_first_scenario_names(
    workspace: Workspace,
) -> None:
    """As `parcours run`/`compare`: the posterior the scenario names, with its draws, unless
    "point values" is chosen; a scenario that names none runs its point values."""
    from sim.app.pages import POINT_VALUES, SCENARIO_POSTERIOR, Session

    history = load_scenario(workspace.scenario("etape2-610.yaml")).calibration
    assert history is not None
    assert history.posterior is not None
    session = Session(workspace, workers=1)
    session.picked = ["etape2-610.yaml", "etape2-610-fluid.yaml"]
    session._default_parameters()
    assert (session.posterior, session.draws) == (SCENARIO_POSTERIOR, history.draws)
    assert session.parameters() == (workspace.scenarios / history.posterior, history.draws)
    options = session._posterior_options()
    assert list(options)[:2] == [POINT_VALUES, SCENARIO_POSTERIOR]  # point values offered
    session.posterior = POINT_VALUES  # chosen: it stays while the first scenario does
    session.picked = ["etape2-610.yaml"]
    session._default_parameters()
    assert session.parameters() == (None, 0)
    session.picked = ["paris-2019.yaml"]  # names no posterior
    session._default_parameters()
    assert session.posterior == POINT_VALUES
    assert SCENARIO_POSTERIOR not in session._posterior_options()


@pytest.mark.slow
def test_the_app_draws_the_scenarios_posterior_by_default_as_the_command_line(
    workspace: Workspace,
) -> None:
    """The app's default job (the first scenario's posterior, here 2 of its draws x 2
    replications) gives the comparison `parcours compare` gives without --point."""
    from sim.app.pages import Session

    session = Session(workspace, workers=1)
    session.picked = ["etape2-610.yaml", "etape2-610-fluid.yaml"]
    session._default_parameters()
    session.draws = 2
    posterior, draws = session.parameters()
    assert posterior is not None
    assert draws == 2
    files = [workspace.scenario(f) for f in session.picked]
    job = start_job(files, 2, workspace.new_folder("compare"), posterior=posterior, draws=draws)
    assert job.wait(600) == "done", job.message
    out = workspace.results / "cli"
    done = CliRunner().invoke(
        main,
        ["compare", str(files[0]), str(files[1]), "-n", "2", "--draws", "2", "--workers", "1",
         "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads((out / "manifest.json").read_text())["draws"] == 2
    pd.testing.assert_frame_equal(
        pd.read_csv(job.out / "comparison.csv"), pd.read_csv(out / "comparison.csv")
    )


def test_the_questions_window_moves_the_headline_rows(workspace: Workspace) -> None:
    draft = edits.open_draft(workspace, "etape2-610.yaml")
    assert [f.path for f in edits.groups(draft)[0].fields] == [
        "end",
        "warmup",
        "window.from",
        "window.to",
    ]
    draft.set("window.from", "2026-01-01")
    draft.set("window.to", "2027-12-31")
    path = edits.save_as(workspace, draft, "etape2-610-2026")
    assert "observations" not in path.read_text(encoding="utf-8")  # they follow the window
    street = load_scenario(path).observations["street_window"]
    assert (street.start.isoformat(), street.end.isoformat()) == ("2026-01-01", "2027-12-31")  # type: ignore[union-attr]
    draft.set("window.to", "2025-06-30")
    problems = [f"{p.path}: {p.message}" for p in edits.check(workspace, draft, "x").problems]
    assert "window: the window ends before it starts" in problems


def test_a_job_checks_the_plausibility_limits_first(queues: Workspace) -> None:
    job = start_job([queues.scenario("short.yaml")], 200_000, queues.new_folder("big"))
    assert job.wait(60) == "failed"
    assert "short: runs of one scenario" in job.message
    assert job.done == 0
    assert not job.out.exists()

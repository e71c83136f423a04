"""The calibration folder as a results folder: its manifest (running, then complete), what
--force may delete and what --resume must match, and `plot`/`report` on it in both languages.

One tiny calibration (2 generations of 12 particles on a queue, in French) is shared by the
module (its tests are marked slow); the checks of --force on folders that are not
calibrations fail before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sim.cli.main import main
from sim.inputs.loading import load_scenario
from sim.outputs.abc_output import (
    CHARTS,
    calibration_chart,
    load_calibration,
    report_markdown,
    run_calibration,
)
from sim.outputs.caveats import identification_limit, parameter_label
from sim.outputs.report import write_report
from sim.running.folders import OutputExistsError, calibration_files, clear_calibration_folder
from tests.test_calibrate import tiny_data


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny calibration written in French; the manifest's state as sampling started."""
    root = tmp_path_factory.mktemp("abc")
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    out = root / "cal"
    seen: list[str] = []

    def progress(done: int, total: int) -> None:
        if not seen:
            seen.append(json.loads((out / "manifest.json").read_text())["state"])

    run_calibration(load_scenario(path), out, seed=2, progress=progress, lang="fr")
    return {"scenario": path, "out": out, "state_while_sampling": seen[0]}


def _copy(calibrated: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "cal"
    shutil.copytree(calibrated["out"], out)
    return out


# --- the manifest --------------------------------------------------------------------------------
@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_the_manifest_records_what_produced_the_folder(calibrated: dict[str, Any]) -> None:
    info = json.loads((calibrated["out"] / "manifest.json").read_text())
    assert calibrated["state_while_sampling"] == "running"  # written before sampling
    assert info["kind"] == "calibrate"
    assert info["state"] == "complete"
    sc = load_scenario(calibrated["scenario"])
    assert info["scenarios"][0]["sha256"] == sc.digest()
    abc = info["abc"]
    assert (abc["population"], abc["generations"], abc["replications"], abc["seed"]) == (
        12,
        2,
        1,
        2,
    )
    assert abc["minimum_epsilon"] == 0.0
    assert info["executor"] == {"name": "serial", "workers": 1}
    assert info["fit"] == ["busy"]
    assert info["held_out"] == ["exits"]
    assert "pyabc" in info["versions"]
    generations = pd.read_csv(calibrated["out"] / "generations.csv")
    outcome = info["outcome"]
    assert outcome["generations_done"] == len(generations) == 2
    assert outcome["final_epsilon"] == pytest.approx(float(generations["epsilon"].iloc[-1]))
    assert outcome["final_ess"] == pytest.approx(float(generations["ess"].iloc[-1]))
    # written last: nothing in the folder is newer than the complete manifest
    written = (calibrated["out"] / "manifest.json").stat().st_mtime
    assert all(p.stat().st_mtime <= written for p in calibrated["out"].rglob("*") if p.is_file())


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_an_unfinished_folder_is_recognised(calibrated: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(calibrated, tmp_path)
    info = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**info, "state": "running"}))
    result = CliRunner().invoke(main, ["plot", str(out), "--force"])
    assert result.exit_code == 2
    assert "an unfinished calibration" in result.output
    assert "--resume" in result.output


# --- --force and --resume --------------------------------------------------------------------
@pytest.mark.parametrize("content", ["user file", "run manifest", "empty history and a file"])
def test_force_refuses_a_folder_that_is_not_a_calibration(tmp_path: Path, content: str) -> None:
    """Any other non-empty folder: exit 2, one line, nothing deleted."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data(), sort_keys=False), encoding="utf-8")
    out = tmp_path / "mine"
    out.mkdir()
    if content == "run manifest":
        (out / "manifest.json").write_text(json.dumps({"kind": "run"}))
    else:
        (out / "notes.txt").write_text("mine")
    if content == "empty history and a file":
        (out / "history.db").write_bytes(b"")
    before = sorted(p.name for p in out.iterdir())
    result = CliRunner().invoke(main, ["calibrate", str(path), "--out", str(out), "--force"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "not a calibration folder; choose another --out" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_force_deletes_only_what_a_calibration_wrote(
    calibrated: dict[str, Any], tmp_path: Path
) -> None:
    out = _copy(calibrated, tmp_path)
    (out / "charts" / "extra.svg").write_text("<svg/>")  # drawn by parcours plot --format svg
    (out / "report-en.html").write_text("<html/>")
    (out / "mine.csv").write_text("a\n")
    with pytest.raises(OutputExistsError, match=r"holds mine\.csv"):
        clear_calibration_folder(out)
    assert (out / "history.db").is_file()  # nothing deleted
    (out / "mine.csv").unlink()
    clear_calibration_folder(out)
    assert [p for p in out.rglob("*") if p.is_file()] == []
    # a folder from before the manifest: a history.db and calibration files only
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "history.db").write_bytes(b"")
    (legacy / "report.md").write_text("# old")
    assert {p.name for p in calibration_files(legacy)} == {"history.db", "report.md"}


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_resume_refuses_another_scenario_or_settings(
    calibrated: dict[str, Any], tmp_path: Path
) -> None:
    out = _copy(calibrated, tmp_path)
    scenario = str(calibrated["scenario"])
    base = ["calibrate", scenario, "--out", str(out), "--resume", "--workers", "1"]
    seed = CliRunner().invoke(main, [*base, "--seed", "3"])
    assert seed.exit_code == 2, seed.output
    assert [line for line in seed.output.splitlines() if line] == [
        f"error: {out}: --resume needs the settings it was started with (seed 2 -> 3); use "
        "the same options, or choose another --out"
    ]
    other = CliRunner().invoke(main, [*base, "--seed", "2", "--set", "nodes.queue.capacity=30"])
    assert other.exit_code == 2, other.output
    assert "--resume continues the same scenario" in other.output
    assert "Traceback" not in seed.output + other.output
    assert json.loads((out / "manifest.json").read_text())["state"] == "complete"


# --- plot and report ---------------------------------------------------------------------------
def _texts(fig: Any) -> str:
    fig.draw_without_rendering()
    return "\n".join(str(t.get_text()) for t in fig.findobj(lambda a: hasattr(a, "get_text")))


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_plot_draws_the_calibration_charts_in_either_language(
    calibrated: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "charts"
    result = CliRunner().invoke(main, ["plot", str(calibrated["out"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{c}.png" for c in CHARTS)
    again = CliRunner().invoke(main, ["plot", str(calibrated["out"])])  # its own charts exist
    assert again.exit_code == 2
    assert "use --force" in again.output
    refused = CliRunner().invoke(main, ["plot", str(calibrated["out"]), "--metric", "street"])
    assert refused.exit_code == 2
    assert "a calibration folder's charts are parameters, correlations, predictive" in (
        refused.output
    )
    folder = load_calibration(calibrated["out"])
    french = _texts(calibration_chart(folder, "predictive", "fr"))
    assert "réservé, jamais calé" in french  # the held-out figure, marked
    assert "Prédictive a posteriori" in french
    english = _texts(calibration_chart(folder, "parameters", "en"))
    assert "Prior (grey) and posterior (bars)" in english
    assert "a priori" not in english


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_report_md_follows_the_language(calibrated: dict[str, Any]) -> None:
    french = (calibrated["out"] / "report.md").read_text(encoding="utf-8")  # calibrate, fr
    assert french.startswith("# Calibrage ABC-SMC de queue")
    assert "## Générations" in french
    assert "Width ratio" not in french
    english = report_markdown(load_calibration(calibrated["out"]), "en")
    assert english.startswith("# ABC-SMC calibration of queue")
    limits = english.split("## Limits")[1]
    assert "Not identified by the fit figures" in limits
    assert "unused" in limits  # its prior is all the figures say about it
    intervals = pd.read_csv(calibrated["out"] / "intervals.csv").set_index("parameter")
    assert not bool(intervals.loc["unused", "identified"])
    assert intervals.loc["unused", "width_ratio"] > 0.75


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_report_html_of_a_calibration_folder(calibrated: dict[str, Any], tmp_path: Path) -> None:
    out = calibrated["out"]
    english = write_report(out, tmp_path / "en.html", "en").read_text(encoding="utf-8")
    for section in ("generations", "parameters", "correlations", "predictive", "limits"):
        assert f'<section id="{section}">' in english, section
    assert english.count("<svg ") == len(CHARTS)
    generations = pd.read_csv(out / "generations.csv")
    table = english.split('id="generations"')[1].split("</table>")[0]
    assert table.count("<tr>") == len(generations) + 1
    assert "<th>ESS</th>" in table
    assert "acceptance rate" in table
    predictive = english.split('id="predictive"')[1].split("</table>")[0]
    assert "held out, never fitted" in predictive
    assert "Every parameter is identified" not in english
    assert calibrated["out"].name in english.split('id="provenance"')[1]
    french = write_report(out, tmp_path / "fr.html", "fr").read_text(encoding="utf-8")
    assert '<html lang="fr">' in french
    assert "Générations" in french
    assert "taux d'acceptation" in french
    cli = CliRunner().invoke(
        main, ["report", str(out), "--lang", "fr", "--out", str(tmp_path / "c")]
    )
    assert cli.exit_code == 0, cli.output


@pytest.mark.slow  # the shared tiny calibration takes about 8 s
def test_the_caveats_take_the_not_identified_verdict_from_the_abc_intervals(
    calibrated: dict[str, Any],
) -> None:
    """A run that drew this posterior: the report's limits name the parameters the
    calibration's intervals.csv does not identify, whatever the few draws of the run say."""
    sc = load_scenario(calibrated["scenario"])
    posterior = str(calibrated["out"] / "posterior.parquet")
    folder = SimpleNamespace(scenario=sc, manifest={"parameters": posterior, "draws": 2})
    text = identification_limit(cast(Any, folder), "en")
    assert text.startswith("Not identified by the public figures (the ABC calibration's")
    assert text.endswith(
        ": queue: cost per place-day. Scenarios that depend on these settings need care."
    )


def test_the_shipped_posterior_carries_its_calibrations_verdict() -> None:
    """A run of the shipped scenarios draws scenarios/history-2019-2023-posterior.parquet; the
    report's limits name the parameters the shipped calibration's intervals do not identify,
    from its intervals.csv, not from the draws."""
    from sim.analysis.abc_smc import identification
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    assert sc.calibration is not None
    posterior = SCENARIOS / "history-2019-2023-posterior.parquet"
    table = identification(
        pd.read_csv(SCENARIOS / "history-2019-2023-intervals.csv"), sc.calibration.parameters
    )
    open_names = int((~table["identified"]).sum())
    assert 0 < open_names < len(table)
    folder = SimpleNamespace(scenario=sc, manifest={"parameters": str(posterior), "draws": 10})
    text = identification_limit(cast(Any, folder), "fr")
    assert text.startswith("Non identifiés par les chiffres publics (intervalles du calibrage ABC")
    assert len(text.split(")\u00a0: ", 1)[1].split("; ")) == open_names
    named = text.split(")\u00a0: ", 1)[1].split(". ")[0].split("; ")
    for name, identified in zip(table["parameter"], table["identified"], strict=True):
        label = parameter_label(name, sc.calibration.parameters[name], sc, "fr")
        assert (label in named) == (not identified), (name, label)

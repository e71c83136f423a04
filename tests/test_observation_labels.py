"""Observation labels in the reader's language: ``label: {fr: ..., en: ...}`` or one plain text,
a French label for every shipped observation, and French outputs free of the English ones."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli.main import main
from sim.inputs.loading import load_scenario
from sim.inputs.scenario import DisplayName
from sim.outputs.comparison import kpi_label

from .conftest import SCENARIOS

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def _extending(tmp_path: Path, observation: str) -> Path:
    path = tmp_path / "labelled.yaml"
    path.write_text(
        f"extends: {(SCENARIOS / 'paris-2019.yaml').as_posix()}\nobservations:\n{observation}",
        encoding="utf-8",
    )
    return path


def test_a_plain_string_label_serves_both_languages(tmp_path: Path) -> None:
    path = _extending(tmp_path, '  street_end_2019:\n    label: "Street, end 2019"\n')
    obs = load_scenario(path).observations["street_end_2019"]
    assert obs.labels == "Street, end 2019"
    assert obs.labelled("fr") == obs.labelled("en") == obs.label == "Street, end 2019"


def test_a_label_in_both_languages(tmp_path: Path) -> None:
    path = _extending(
        tmp_path, "  street_end_2019:\n    label: {fr: Rue fin 2019, en: Street end 2019}\n"
    )
    obs = load_scenario(path).observations["street_end_2019"]
    assert obs.labelled("fr") == "Rue fin 2019"
    assert obs.labelled("en") == obs.label == "Street end 2019"  # what data files carry
    dumped = load_scenario(path).model_dump(mode="json", by_alias=True)
    assert dumped["observations"]["street_end_2019"]["label"] == {
        "fr": "Rue fin 2019",
        "en": "Street end 2019",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_observation_has_a_french_label(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.observations
    for name, obs in sc.observations.items():
        assert isinstance(obs.labels, DisplayName), name
        assert obs.labelled("fr"), name
        assert obs.labelled("fr") != obs.labelled("en"), name


def test_comparison_labels_follow_the_language() -> None:
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    kpi = "obs.T7_chapelle_visitors_2021"
    assert kpi_label(kpi, sc, "fr").startswith("T7 « file active » de l'espace de repos")
    assert kpi_label(kpi, sc, "en").startswith("T7 Porte de la Chapelle rest space")


@pytest.mark.slow
def test_the_french_etape2_report_shows_no_english_observation_label(tmp_path: Path) -> None:
    """The shipped étape 2 comparison, reported in French (about 35 s)."""
    names = ["etape2-610.yaml", "etape2-610-downstream.yaml"]
    out = tmp_path / "cmp"
    paths = [str(SCENARIOS / n) for n in names]
    compare = ["compare", *paths, "-n", "2", "--seed", "7", "--workers", "1", "--point"]
    for args in ([*compare, "--quiet", "--out", str(out)], ["report", str(out), "--lang", "fr"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    text = html.unescape((out / "report-fr.html").read_text(encoding="utf-8"))
    known = {
        "Personnes à la rue au 31 décembre 2027": "People on the street, 31 Dec 2027",
        "Part des sorties d'ASSORE qui sont positives, 2024-2027": (
            "Share of ASSORE exits that are positive, 2024-2027"
        ),
        "T7 « file active » de l'espace de repos de la Porte de la Chapelle": (
            "T7 Porte de la Chapelle rest space 'active queue'"
        ),
        "Décès du 1er janvier au 30 novembre 2023": "Deaths, 1 Jan - 30 Nov 2023",
    }
    for french, english in known.items():
        assert french in text
        assert english not in text
    for name in names:
        for key, obs in load_scenario(SCENARIOS / name).observations.items():
            assert obs.labelled("en") not in text, key

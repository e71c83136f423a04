"""'What differs' in words: the settings an alternative changes, labelled by node and field,
each side a readable value or schedule, in French and English (no dotted path, no JSON)."""

from __future__ import annotations

from sim.inputs.diff import resolved
from sim.inputs.loading import load_scenario
from sim.outputs.differences import changes
from sim.outputs.formats import NNBSP
from tests.conftest import SCENARIOS


def _changes(alternative: str, lang: str) -> dict[str, tuple[str, str]]:
    reference = resolved(load_scenario(SCENARIOS / "etape2-610.yaml"))
    other = resolved(load_scenario(SCENARIOS / alternative))
    return {c.label: (c.reference, c.alternative) for c in changes(reference, other, lang)}  # type: ignore[arg-type]


def test_a_schedule_reads_from_the_step_before_the_change() -> None:
    rows = _changes("etape2-400-downstream.yaml", "en")
    assert rows["ASSORE (hotels): places"] == (
        "… 610 places from 1 January 2023",
        "… 610 places from 1 January 2023, then 400 from 1 January 2024",
    )
    assert rows["LHSS (health-care stopover beds): places"] == (
        "0 places",
        "0 places, then 25 from 1 January 2024",
    )
    assert not any("." in label.split(":")[0] for label in rows)  # no dotted path
    assert all("{" not in a + b and "[" not in a + b for a, b in rows.values())  # no JSON


def test_french_words_plurals_and_numbers() -> None:
    rows = _changes("etape2-400-downstream.yaml", "fr")
    assert rows["LAM (lits d'accueil médicalisés)\u00a0: places"] == (
        "0 place",  # French singular below 2
        "0 place, puis 25 à partir du 1er janvier 2024",
    )
    outreach = _changes("etape2-610-outreach.yaml", "fr")
    assert outreach["Maraudes\u00a0: coût annuel"] == (
        f"2{NNBSP}211{NNBSP}702{NNBSP}€",
        f"3{NNBSP}317{NNBSP}553{NNBSP}€",
    )  # not 2211702.0


def test_titles_descriptions_and_observations_are_not_differences() -> None:
    rows = _changes("etape2-610-downstream.yaml", "en")
    assert rows  # the downstream places differ...
    assert all(
        not label.lower().startswith(("title", "description", "legend", "observations"))
        for label in rows
    )  # ...not the words about them or what is measured
    assert _changes("etape2-610.yaml", "en") == {}

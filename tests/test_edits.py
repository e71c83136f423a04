"""Schedule edits: a schedule changed from a date without retyping its history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sim.inputs.edits import EditError, apply_edit
from sim.inputs.loading import ScenarioError, load_scenario
from tests.conftest import SCENARIOS

START = dt.date(2019, 5, 27)
HISTORY = [{"from": START, "value": 128}, {"from": dt.date(2020, 1, 1), "value": 158}]


def values(steps: list[dict[str, object]]) -> list[tuple[str, object]]:
    return [(str(s["from"]), s["value"]) for s in steps]


def test_scale_from_a_date_adds_a_step_and_keeps_the_history() -> None:
    edited = apply_edit(HISTORY, {"scale": 1.5, "from": dt.date(2026, 1, 1)}, START)
    assert values(edited) == [("2019-05-27", 128), ("2020-01-01", 158), ("2026-01-01", 237)]


def test_scale_from_a_step_date_scales_that_step_and_later_ones_only() -> None:
    edited = apply_edit(HISTORY, {"scale": 2, "from": dt.date(2020, 1, 1)}, START)
    assert values(edited) == [("2019-05-27", 128), ("2020-01-01", 316)]
    assert values(apply_edit(HISTORY, {"scale": 0.5}, START)) == [
        ("2019-05-27", 64),
        ("2020-01-01", 79),
    ]


def test_add_step_replaces_a_step_on_its_date_and_turns_a_value_into_steps() -> None:
    step = {"from": dt.date(2020, 1, 1), "value": 200}
    assert values(apply_edit(HISTORY, {"add_step": step}, START)) == [
        ("2019-05-27", 128),
        ("2020-01-01", 200),
    ]
    opened = apply_edit(0, {"add_step": {"from": dt.date(2025, 1, 1), "value": 100}}, START)
    assert values(opened) == [("2019-05-27", 0), ("2025-01-01", 100)]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"scale": "x"}, "scale: 'x' is not a number"),
        ({"scale": 2, "from": "soon"}, "from: 'soon' is not a date"),
        ({"add_step": {"from": "2025-01-01"}}, r"a step is written \{from: date, value: number\}"),
        ({"add_step": {"from": "2025-01-01", "value": 1}, "from": "2025-01-01"}, "from goes"),
    ],
)
def test_bad_edits_say_what_is_wrong(edit: dict[str, object], message: str) -> None:
    with pytest.raises(EditError, match=message):
        apply_edit(HISTORY, edit, START)


def test_an_extending_file_and_a_set_give_the_same_scenario(tmp_path: Path) -> None:
    """The planner's '+30% street arrivals from 2026' in one line, in a file or a --set."""
    child = tmp_path / "plus30.yaml"
    child.write_text(
        f"extends: {SCENARIOS / 'etape2-610.yaml'}\n"
        "nodes:\n  street:\n    arrivals_per_year: {scale: 1.3, from: 2026-01-01}\n",
        encoding="utf-8",
    )
    from_file = load_scenario(child)
    edit = "nodes.street.arrivals_per_year={scale: 1.3, from: 2026-01-01}"
    from_set = load_scenario(SCENARIOS / "etape2-610.yaml", [edit])
    assert from_file.nodes == from_set.nodes
    base = load_scenario(SCENARIOS / "etape2-610.yaml")
    before = base.nodes["street"].arrivals_per_year  # type: ignore[union-attr]
    after = from_file.nodes["street"].arrivals_per_year  # type: ignore[union-attr]
    assert isinstance(before, list)
    assert isinstance(after, list)
    assert after[: len(before)] == before
    assert after[-1].start == dt.date(2026, 1, 1)
    assert after[-1].value == pytest.approx(before[-1].value * 1.3)


def test_a_bad_edit_in_a_file_points_at_its_line(tmp_path: Path) -> None:
    child = tmp_path / "bad.yaml"
    child.write_text(
        f"extends: {SCENARIOS / 'etape2-610.yaml'}\n"
        "nodes:\n  street:\n    arrivals_per_year: {scale: 1.3, from: someday}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(child)
    (problem,) = err.value.problems
    assert str(problem).startswith(f"{child}:4: nodes.street.arrivals_per_year: from:")

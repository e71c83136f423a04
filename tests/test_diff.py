"""``parcours diff``: the differences between two resolved scenarios as dotted paths."""

from __future__ import annotations

from click.testing import CliRunner

from sim.cli.compare import diff_command
from sim.inputs.diff import ABSENT, format_diff, scenario_diff
from sim.inputs.loading import load_scenario
from tests.conftest import SCENARIOS


def test_nested_mappings_give_dotted_paths_with_both_values() -> None:
    a = {"name": "a", "nodes": {"x": {"capacity": 10, "kind": "k"}, "gone": {"v": 1}}}
    b = {"name": "b", "nodes": {"x": {"capacity": 12, "kind": "k"}, "new": {"v": 2}}}
    assert scenario_diff(a, b) == [
        ("name", "a", "b"),
        ("nodes.x.capacity", 10, 12),
        ("nodes.gone", {"v": 1}, ABSENT),
        ("nodes.new", ABSENT, {"v": 2}),
    ]
    assert scenario_diff(a, a) == []


def test_schedules_are_compared_step_by_step_by_date() -> None:
    a = {"c": [{"from": "2019-01-01", "value": 1.0}, {"from": "2020-01-01", "value": 2.0}]}
    b = {"c": [{"from": "2019-01-01", "value": 1.0}, {"from": "2020-01-01", "value": 3.0}]}
    b["c"].append({"from": "2024-01-01", "value": 4.0})
    assert scenario_diff(a, b) == [("c[2020-01-01]", 2.0, 3.0), ("c[2024-01-01]", ABSENT, 4.0)]
    # a constant turned into a schedule is shown whole
    assert scenario_diff({"c": 3.0}, a) == [("c", 3.0, a["c"])]
    assert "c: 3 -> [2019-01-01: 1, 2020-01-01: 2]" in format_diff(scenario_diff({"c": 3.0}, a))


def test_other_lists_compare_by_position_or_whole() -> None:
    assert scenario_diff({"p": ["x", "y"]}, {"p": ["x", "z"]}) == [("p.1", "y", "z")]
    assert scenario_diff({"p": ["x"]}, {"p": ["x", "z"]}) == [("p", ["x"], ["x", "z"])]


def test_diff_command_lists_what_an_alternative_changes() -> None:
    ref = str(SCENARIOS / "etape2-610.yaml")
    result = CliRunner().invoke(diff_command, [ref, str(SCENARIOS / "etape2-400-downstream.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  nodes.assore.capacity[2024-01-01]: (absent) -> 400" in lines
    assert "  nodes.uhs.capacity[2024-01-01]: (absent) -> 68" in lines
    assert "  nodes.lhss.capacity: 0 -> [2019-05-27: 0, 2024-01-01: 25]" in lines
    assert not any("nodes.street" in line for line in lines)

    fluid = str(SCENARIOS / "etape2-610-fluid.yaml")
    result = CliRunner().invoke(diff_command, [ref, fluid])
    rate = load_scenario(SCENARIOS / "etape2-610.yaml").nodes["housing"].releases_per_month
    shown = f"{float(rate):g}"  # type: ignore[arg-type]
    twice = f"{2 * float(rate):g}"  # type: ignore[arg-type]
    line = (
        f"  nodes.housing.releases_per_month: {shown} -> [2019-05-27: {shown}, 2024-01-01: {twice}]"
    )
    assert line in result.output.splitlines()


def test_diff_command_applies_set_and_reports_no_difference() -> None:
    ref = str(SCENARIOS / "etape2-610.yaml")
    result = CliRunner().invoke(diff_command, [ref, ref])
    assert result.exit_code == 0
    assert result.output.startswith("no differences")
    args = [ref, ref, "--set-b", "nodes.court_places.capacity=8"]
    result = CliRunner().invoke(diff_command, args)
    assert "  nodes.court_places.capacity: 6 -> 8" in result.output.splitlines()


def test_diff_command_reports_bad_files_one_line_each() -> None:
    bad = SCENARIOS.parent / "tests" / "bad_inputs" / "duplicate_key.yaml"
    result = CliRunner().invoke(diff_command, [str(SCENARIOS / "etape2-610.yaml"), str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().startswith(str(bad))

"""Unit tests of scenario loading: ``extends`` merging, ``--set`` overrides, YAML details."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sim.inputs.loading import ScenarioError, load_raw, load_scenario, parse_override

BASE = Path(__file__).resolve().parent / "bad_inputs" / "_base.yaml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def child(tmp_path: Path, body: str, name: str = "child.yaml") -> Path:
    return write(tmp_path, name, f"extends: {BASE}\n{body}")


def only_line(err: pytest.ExceptionInfo[ScenarioError]) -> str:
    lines = str(err.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --- extends ---------------------------------------------------------------------------------


def test_child_overrides_a_scalar_and_keeps_the_rest(tmp_path: Path) -> None:
    sc = load_scenario(
        child(tmp_path, "end: 2023-01-01\nnodes:\n  street:\n    arrivals_per_year: 80\n")
    )
    assert sc.end == dt.date(2023, 1, 1)
    assert sc.start == dt.date(2020, 1, 1)
    assert sc.nodes["street"].arrivals_per_year == 80
    assert sc.nodes["street"].exit_rate_per_year == 0.1  # mappings merge key by key


def test_child_name_defaults_to_its_own_file_name(tmp_path: Path) -> None:
    assert load_scenario(child(tmp_path, "", "variant_a.yaml")).name == "variant_a"
    assert load_scenario(child(tmp_path, "name: given\n")).name == "given"


def test_child_replaces_a_list(tmp_path: Path) -> None:
    sc = load_scenario(
        child(tmp_path, "nodes:\n  assore:\n    capacity:\n      - {from: 2019-01-01, value: 7}\n")
    )
    capacity = sc.nodes["assore"].capacity
    assert isinstance(capacity, list)
    assert [(s.start, s.value) for s in capacity] == [(dt.date(2019, 1, 1), 7.0)]


def test_a_duration_whose_dist_changes_is_replaced_not_merged(tmp_path: Path) -> None:
    """The parent's gamma ``sd`` must not leak into the child's empirical distribution."""
    body = "nodes:\n  assore:\n    readiness: {dist: empirical, values: [30, 90]}\n"
    readiness = load_scenario(child(tmp_path, body)).nodes["assore"].readiness  # type: ignore[union-attr]
    assert readiness.dist == "empirical"
    assert readiness.mean == 60.0


def test_a_duration_with_the_same_dist_still_merges(tmp_path: Path) -> None:
    base = load_scenario(BASE).nodes["assore"].readiness  # type: ignore[union-attr]
    body = f"nodes:\n  assore:\n    readiness: {{dist: {base.dist}, mean: 77}}\n"
    readiness = load_scenario(child(tmp_path, body)).nodes["assore"].readiness  # type: ignore[union-attr]
    assert readiness.mean == 77.0
    assert base.dist == "gamma"
    assert readiness.sd == base.sd  # the parent's sd is kept beside the new mean


def test_null_deletes_a_key(tmp_path: Path) -> None:
    raw = load_raw(child(tmp_path, "observations:\n  assore_exits: null\nattributes: null\n"))
    assert raw["observations"] == {}
    assert "attributes" not in raw
    sc = load_scenario(child(tmp_path, "nodes:\n  street:\n    initial: null\n"))
    assert sc.nodes["street"].initial.count == 0  # back to the schema default


def test_null_deleting_a_required_key_points_at_the_null(tmp_path: Path) -> None:
    bad = child(tmp_path, "nodes:\n  assore:\n    readiness: null\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert only_line(err) == f"{bad}:4: nodes.assore.readiness: required field is missing"


def test_extends_chains_and_resolves_relative_to_each_file(tmp_path: Path) -> None:
    write(tmp_path, "shared/parent.yaml", f"extends: {BASE}\nend: 2024-01-01\n")
    leaf = write(
        tmp_path, "variants/leaf.yaml", "extends: ../shared/parent.yaml\nend: 2025-01-01\n"
    )
    middle = load_scenario(tmp_path / "shared" / "parent.yaml")
    assert middle.end == dt.date(2024, 1, 1)
    assert load_scenario(leaf).end == dt.date(2025, 1, 1)


def test_error_lines_point_into_the_right_file(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.yaml", f"extends: {BASE}\n\nend: 2019-01-01\n")
    leaf = write(
        tmp_path, "leaf.yaml", "extends: parent.yaml\nnodes:\n  assore:\n    capacity: -1\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(leaf)
    assert only_line(err) == (
        f"{leaf}:4: nodes.assore.capacity: Input should be greater than or equal to 0 (got -1)"
    )
    # cross checks run once every field is valid
    leaf = write(
        tmp_path, "leaf.yaml", "extends: parent.yaml\nnodes:\n  assore:\n    capacity: 1\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(leaf)
    lines = str(err.value).splitlines()
    assert f"{parent}:3: end: must be after start" in lines
    # observation dates after the end are allowed (they give NaN): not reported
    assert not any("observations" in line for line in lines)


def test_error_in_a_grandparent_is_reported_there(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.yaml", "start: 2020-01-01\nstart: 2020-01-02\n")
    leaf = write(tmp_path, "leaf.yaml", "extends: parent.yaml\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(leaf)
    assert only_line(err) == f"{parent}:2: start: duplicate key (first on line 1)"


def test_circular_extends_names_the_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "a.yaml")
    assert only_line(err) == f"{b}:2: extends: circular extends: a.yaml -> b.yaml -> a.yaml"


def test_missing_parent_is_reported_on_the_extends_line(tmp_path: Path) -> None:
    leaf = write(tmp_path, "leaf.yaml", "# comment\nextends: nothere.yaml\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(leaf)
    assert only_line(err) == f"{leaf}:2: extends: no such file: nothere.yaml"


# --- --set -------------------------------------------------------------------------------------


def test_set_a_scalar() -> None:
    sc = load_scenario(BASE, ["end=2023-01-01", "nodes.street.arrivals_per_year=75.5"])
    assert sc.end == dt.date(2023, 1, 1)
    assert sc.nodes["street"].arrivals_per_year == 75.5


def test_set_a_list_entry_by_index() -> None:
    sc = load_scenario(BASE, ["nodes.assore.capacity.1.value=55"])
    capacity = sc.nodes["assore"].capacity
    assert isinstance(capacity, list)
    assert [s.value for s in capacity] == [20.0, 55.0]


def test_set_applies_after_extends_and_in_order(tmp_path: Path) -> None:
    leaf = child(tmp_path, "end: 2023-01-01\n")
    assert load_scenario(leaf, ["end=2024-01-01", "end=2025-01-01"]).end == dt.date(2025, 1, 1)
    assert load_raw(leaf, ["end=2024-01-01"])["end"] == dt.date(2024, 1, 1)


def test_set_unknown_path_suggests_the_closest_name() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, ["end=2023-01-01", "nodes.asore.capacity=3"])
    assert only_line(err) == "--set:2: nodes.asore: no such entry (did you mean 'assore'?)"


def test_set_unknown_last_key_is_an_unknown_key() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, ["nodes.assore.capcity=3"])
    assert only_line(err) == "--set:1: nodes.assore.capcity: unknown key (did you mean 'capacity'?)"


def test_set_list_index_out_of_range() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, ["nodes.assore.capacity.5.value=3"])
    assert only_line(err) == (
        "--set:1: nodes.assore.capacity.5: no such entry (the list has 2 entries, numbered from 0)"
    )


def test_set_inside_a_scalar() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, ["start.year=2021"])
    assert "start.year: cannot set 'year' inside start" in only_line(err)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("end", "expected dotted.path=value"),
        ("=3", "empty name"),
        ("nodes..capacity=3", "empty name"),
        ("name=[1, 2", "invalid YAML"),
        ("name=!!python/object/apply:os.system ['true']", "is not allowed"),
        ("start=2021-02-30", "invalid date '2021-02-30'"),
    ],
)
def test_set_malformed_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, [text])
    line = only_line(err)
    assert line.startswith("--set:1: <document>: ")
    assert message in line


def test_set_no_as_a_value_reads_as_false() -> None:
    """YAML 1.1: ``no`` is false: right for a boolean, a clear error where a name is expected."""
    assert load_scenario(BASE, ["nodes.housed.positive=no"]).nodes["housed"].positive is False
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASE, ["nodes.lost.name.en=no"])
    assert only_line(err) == (
        "--set:1: nodes.lost.name.en: Input should be a valid string "
        "(got false: YAML reads yes/no/on/off as booleans; put the word in quotes)"
    )
    assert load_scenario(BASE, ["nodes.lost.name.en='no'"]).nodes["lost"].name.en == "no"


def test_parse_override() -> None:
    assert parse_override("nodes.assore.capacity.0.value=3") == (
        ["nodes", "assore", "capacity", 0, "value"],
        3,
    )
    assert parse_override(" end = 2021-01-01") == (["end"], dt.date(2021, 1, 1))
    assert parse_override("title.fr=a=b") == (["title", "fr"], "a=b")
    assert parse_override("x=[1, 2]") == (["x"], [1, 2])
    with pytest.raises(ValueError, match=r"expected dotted\.path=value"):
        parse_override("nothing")


# --- YAML details ------------------------------------------------------------------------------


def test_merge_keys_can_be_overridden_without_a_duplicate_error(tmp_path: Path) -> None:
    leaf = child(
        tmp_path,
        "nodes:\n  assore:\n    readiness: &r {dist: gamma, mean: 100, sd: 50}\n"
        "  housing:\n    releases_per_month: null\n    capacity: 5\n"
        "    stay: {<<: *r, mean: 200}\n",
    )
    sc = load_scenario(leaf)
    assert sc.nodes["housing"].stay.mean == 200
    assert sc.nodes["housing"].stay.sd == 50


def test_duplicate_keys_are_errors_even_when_equal(tmp_path: Path) -> None:
    leaf = child(tmp_path, "end: 2022-01-01\nend: 2022-01-01\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(leaf)
    assert only_line(err) == f"{leaf}:3: end: duplicate key (first on line 2)"


def test_quoted_yaml11_words_are_plain_names(tmp_path: Path) -> None:
    leaf = child(
        tmp_path,
        "nodes:\n  street:\n    exit_routing: {lost: null, 'no': 1.0}\n"
        "  'no':\n    kind: exit\n    name: {fr: Non, en: 'No'}\n    positive: false\n",
    )
    sc = load_scenario(leaf)
    assert sc.nodes["no"].name.en == "No"
    assert sc.nodes["street"].exit_routing == {"no": 1.0}


def test_a_child_with_its_own_title_does_not_inherit_the_parents_legend(tmp_path: Path) -> None:
    parent = write(
        tmp_path,
        "parent.yaml",
        f"extends: {BASE}\ntitle: {{fr: Parent, en: Parent}}\nlegend: {{fr: P, en: P}}\n",
    )
    same = load_scenario(write(tmp_path, "same.yaml", f"extends: {parent}\nname: same\n"))
    assert same.legend is not None
    assert same.legend.en == "P"  # nothing retitled: the label still fits
    retitled = write(tmp_path, "new.yaml", f"extends: {parent}\ntitle: {{fr: N, en: N}}\n")
    assert load_scenario(retitled).legend is None

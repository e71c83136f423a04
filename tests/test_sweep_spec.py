"""What a sweep asks for (``sim.inputs.sweep_spec``) and its resolved plan
(``sim.inputs.sweep_plan``): option and sweep-file errors located one per line, values that
survive the design file, seeds per point. Nothing here runs a replication."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sim.inputs.loading import ScenarioError, load_raw
from sim.inputs.sweep_plan import (
    SweepPlan,
    check_points,
    decode_value,
    encode_point,
    encode_value,
    point_seed,
)
from sim.inputs.sweep_spec import (
    Axis,
    Bound,
    load_sweep_file,
    parse_bounds,
    parse_grid,
    parse_range,
    plain,
)
from tests.conftest import SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
PARSERS = {"--grid": parse_grid, "--range": parse_range, "--bounds": parse_bounds}


@pytest.mark.parametrize(
    ("option", "text", "expected"),
    [
        ("--grid", "nodes.queue.capacity", "--grid:2: <option>: "
         "'nodes.queue.capacity': expected path=v1,v2,..."),
        ("--grid", "nodes..capacity=1,2", "--grid:2: nodes..capacity: empty name in the path"),
        ("--grid", "a.b=1,,2", "--grid:2: a.b: 'a.b=1,,2': empty value in the list"),
        ("--range", "a.b=1:5", "--range:2: a.b: invalid range: expected lo:hi:n (three numbers)"),
        ("--range", "a.b=1:5:0", "--range:2: a.b: invalid range: "
         "n must be a whole number of values, at least 1"),
        ("--range", "a.b=1:inf:3", "--range:2: a.b: invalid range: 'inf' is not a finite number"),
        ("--bounds", "a.b=5:1", "--bounds:2: a.b: invalid bounds: hi must be above lo"),
        ("--bounds", "a.b=x:1", "--bounds:2: a.b: invalid bounds: "
         "could not convert string to float: 'x'"),
    ],
)  # fmt: skip
def test_a_bad_option_is_one_located_line(option: str, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as err:
        PARSERS[option](text, (option, 2))
    assert str(err.value) == expected


def test_options_read_their_values_as_yaml_and_keep_where_they_were_given() -> None:
    assert parse_grid("start=2019-01-01,2020-06-01", ("--grid", 3)) == Axis(
        "start", values=(dt.date(2019, 1, 1), dt.date(2020, 6, 1)), origin=("--grid", 3)
    )
    assert parse_range("a.b=400:800:5").span == (400, 800, 5)
    assert parse_range("a.b=0.5:1:3").span == (0.5, 1, 3)
    assert parse_bounds("a.b=1:9:float") == Bound("a.b", 1, 9, ("--bounds", 1), "float")
    assert parse_bounds("a.b=1.5:9").kind == "auto"


def test_every_problem_of_a_sweep_file_is_on_its_own_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(
        "scenario: mmc.yaml\n"
        "set: {a: 1}\n"
        "crn: maybe\n"
        "design: random\n"
        "seed: -1\n"
        "bounds: [1, 2]\n"
        "points: 3\n"
        "grid:\n"
        "  nodes.queue.capacity: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_sweep_file(file)
    assert str(err.value).splitlines() == [
        f"{file}:2: set: expected a list of path=value texts",
        f"{file}:3: crn: expected true or false",
        f"{file}:4: design: unknown design; use grid, lhs or sobol",
        f"{file}:5: seed: expected a whole number, at least 0",
        f"{file}:6: bounds: expected a mapping of path: [lo, hi]",
        f"{file}:7: points: expected a list of mappings path: value",
        f"{file}:9: nodes.queue.capacity: empty list of values",
    ]


@pytest.mark.parametrize(
    "value",
    [
        400,
        0.25,
        "lhss",
        None,
        dt.date(2023, 7, 1),
        [{"from": dt.date(2019, 1, 1), "value": 400}, {"from": dt.date(2023, 7, 1), "value": 610}],
        {"dist": "exponential", "mean": 365.25},
    ],
    ids=repr,
)
def test_a_value_survives_the_design_file(value: object) -> None:
    encoded = encode_value(value)
    if isinstance(value, (int, float, str)) or value is None:
        assert encoded == value  # plain numbers and words are stored as they are
    else:
        assert set(encoded) == {"yaml"}
    assert decode_value(encoded) == value


def test_plain_values_read_the_same_in_messages_and_manifests() -> None:
    assert plain(dt.date(2023, 7, 1)) == "2023-07-01"
    assert plain({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert plain(3) == 3


def _plan(points: tuple[dict[str, object], ...], crn: bool = True) -> SweepPlan:
    return SweepPlan(
        name="mmc",
        base={},
        base_digest="d",
        parameters=("nodes.queue.capacity",),
        points=points,
        replications=2,
        seed=11,
        crn=crn,
    )


def test_the_digest_follows_what_determines_the_numbers() -> None:
    plan = _plan(({"nodes.queue.capacity": 30},))
    assert plan.digest() == _plan(({"nodes.queue.capacity": 30},)).digest()
    assert plan.digest() != _plan(({"nodes.queue.capacity": 31},)).digest()
    assert plan.digest() != _plan(({"nodes.queue.capacity": 30},), crn=False).digest()
    assert encode_point({"start": dt.date(2020, 1, 1)}) == {"start": {"yaml": "2020-01-01"}}


def test_points_share_the_sweep_seed_only_under_common_random_numbers() -> None:
    assert [point_seed(11, p, True) for p in range(3)] == [11, 11, 11]
    independent = [point_seed(11, p, False) for p in range(50)]
    assert len(set(independent)) == 50
    assert all(0 <= s < 2**63 for s in independent)
    assert independent == [point_seed(11, p, False) for p in range(50)]


def test_check_points_names_each_problem_once_at_its_option() -> None:
    base = load_raw(MMC)  # 360 people in the queue at the start
    points = [{"nodes.queue.capacity": c} for c in (500, -1, -1, 40)]
    with pytest.raises(ScenarioError) as err:
        check_points(base, points, {"nodes.queue.capacity": ("--range", 1)})
    assert str(err.value).splitlines() == [
        "--range:1: nodes.queue.capacity: Input should be greater than or equal to 0 (got -1) "
        "(point 1: nodes.queue.capacity=-1 and 1 more)",
        "--range:1: nodes.queue.initial.occupancy: 360 residents exceed the 40 places at start "
        "(point 3: nodes.queue.capacity=40)",
    ]
    check_points(base, points[:1], {"nodes.queue.capacity": ("--range", 1)})  # valid: silent

"""Schedules that ramp linearly between two steps (``ramp_until``)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from sim.engine.schedule import Steps
from sim.inputs.loading import ScenarioError, validate_data
from sim.inputs.scenario import RAMP_STEP_DAYS, Step, schedule_steps
from tests.builders import START, queue_data


def _steps(*rows: dict[str, object]) -> list[Step]:
    return [Step.model_validate(row, strict=False) for row in rows]


RAMP = _steps(
    {"from": START, "value": 10.0},
    {"from": START + dt.timedelta(days=30), "value": 110.0,
     "ramp_until": START + dt.timedelta(days=130)},
    {"from": START + dt.timedelta(days=200), "value": 5.0},
)  # fmt: skip


def _integral(pairs: list[tuple[float, float]], start: float, end: float) -> float:
    """The integral of the piecewise-constant schedule over [start, end)."""
    total = 0.0
    for (day, value), (following, _) in zip(pairs, [*pairs[1:], (end, 0.0)], strict=True):
        lo, hi = max(day, start), min(following, end)
        if hi > lo:
            total += value * (hi - lo)
    return total


def test_a_ramp_runs_as_weekly_steps_whose_integral_is_the_straight_lines() -> None:
    pairs = schedule_steps(RAMP, START)
    ramp = [(d, v) for d, v in pairs if 30 <= d < 130]
    assert [d for d, _ in ramp] == list(range(30, 130, RAMP_STEP_DAYS))
    assert all(a < b for (_, a), (_, b) in itertools.pairwise(ramp))  # climbs
    assert 10.0 < ramp[0][1] < 20.0
    assert 100.0 < ramp[-1][1] < 110.0
    # arrivals (or place-days) over the ramp: the trapezoid, exactly
    assert _integral(pairs, 30, 130) == pytest.approx((10.0 + 110.0) / 2 * 100, rel=1e-12)
    steps = Steps([d for d, _ in pairs], [v for _, v in pairs])
    assert steps.at(29.9) == 10.0
    assert steps.at(130.0) == 110.0
    assert steps.at(200.0) == 5.0
    assert steps.maximum_before(0.0, 300.0) == 110.0


def test_a_ramp_that_falls() -> None:
    pairs = schedule_steps(_steps(
        {"from": START, "value": 50.0},
        {"from": START + dt.timedelta(days=10), "value": 0.0,
         "ramp_until": START + dt.timedelta(days=20)},
    ), START)  # fmt: skip
    means = [pytest.approx(50.0 * (1 - 3.5 / 10)), pytest.approx(50.0 * (1 - 8.5 / 10))]
    assert [v for d, v in pairs if 10 <= d < 20] == means
    assert pairs[-1] == (20.0, 0.0)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"from": START, "value": 1.0, "ramp_until": START + dt.timedelta(days=5)}],
         "the first step cannot ramp"),
        ([{"from": START, "value": 1.0},
          {"from": START + dt.timedelta(days=9), "value": 2.0, "ramp_until": START}],
         "must be after from"),
        ([{"from": START, "value": 1.0},
          {"from": START + dt.timedelta(days=9), "value": 2.0,
           "ramp_until": START + dt.timedelta(days=30)},
          {"from": START + dt.timedelta(days=30), "value": 3.0}],
         "must be before the next step"),
    ],
)  # fmt: skip
def test_a_ramp_needs_a_previous_step_and_room_before_the_next(
    rows: list[dict[str, object]], message: str
) -> None:
    data = queue_data(1.0, 10, {"dist": "exponential", "mean": 5.0}, 100)
    data["nodes"]["street"]["arrivals_per_year"] = rows
    with pytest.raises(ScenarioError, match=message) as info:
        validate_data(data)
    assert "nodes.street.arrivals_per_year" in str(info.value)


def test_arrivals_follow_the_ramp() -> None:
    """Arrivals climbing from 0 to 3,652.5 a year (10 a day) over 200 days: 1,000 expected
    in the ramp, then 10 a day (fixed seeds; Poisson sd about 32)."""
    from sim.engine.model import run_once
    from sim.running.metrics import episodes_frame

    data = queue_data(0.0, 100_000, {"dist": "exponential", "mean": 1.0}, 300)
    data["nodes"]["street"]["arrivals_per_year"] = [
        {"from": START, "value": 0.0},
        {"from": START + dt.timedelta(days=50), "value": 3652.5,
         "ramp_until": START + dt.timedelta(days=250)},
    ]  # fmt: skip
    record = run_once(validate_data(data), 0, 7)
    entries = episodes_frame(record).query("node == 'street'")["entry"]
    in_ramp = int(((entries >= 50) & (entries < 250)).sum())
    after = int((entries >= 250).sum())
    first_half = int(((entries >= 50) & (entries < 150)).sum())
    assert 1000 - 4 * 32 < in_ramp < 1000 + 4 * 32
    assert 500 - 4 * 23 < after < 500 + 4 * 23
    assert 250 - 4 * 16 < first_half < 250 + 4 * 16  # a quarter of the ramp's arrivals
    assert int((entries < 50).sum()) == 0

"""Ordering and boundaries: same-instant hand-overs, FIFO among equals, events at a capacity
change and at the end date, capacity cuts, and the deadlock detector.

Every scenario here is tiny and deterministic (fixed durations), so event times are exact.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from sim.engine.model import run_once
from sim.engine.pathway import DeadlockError
from sim.engine.record import RunRecord
from sim.inputs.loading import validate_data
from tests.builders import START, name


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def fixed(value: float) -> dict[str, Any]:
    return {"dist": "fixed", "value": float(value)}


def steps(*pairs: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"from": day(d), "value": float(v)} for d, v in pairs]


def place(
    kind: str,
    capacity: Any,
    duration: dict[str, Any],
    routing: dict[str, float],
    occupancy: int = 0,
    waiting: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A capacity node: ``kind`` accommodation (readiness) or downstream (stay)."""
    return {
        "kind": kind,
        "name": name(kind),
        "capacity": capacity,
        "readiness" if kind == "accommodation" else "stay": duration,
        "routing": routing,
        "initial": {"occupancy": occupancy, "waiting": waiting},
        **extra,
    }


def scenario_data(days: int, places: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """No arrivals: only the initial residents and waiting people move."""
    return {
        "name": "ordering",
        "start": START,
        "end": day(days),
        "nodes": {
            "street": {"kind": "street", "name": name("street"), "arrivals_per_year": 0.0},
            **places,
            "done": {"kind": "exit", "name": name("done"), "positive": True},
            "gone": {"kind": "exit", "name": name("gone"), "positive": False},
        },
        **extra,
    }


def simulate(data: dict[str, Any], seed: int = 1) -> RunRecord:
    return run_once(validate_data(data), 0, seed)


def episodes(record: RunRecord, node: str) -> list[dict[str, Any]]:
    columns = record.episodes
    out = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return [e for e in out if e["node"] == node]


# --- a place freed and claimed at the same instant ----------------------------------------
@pytest.mark.parametrize("first", ["hotel", "after"], ids=["claim-first", "free-first"])
def test_place_freed_and_claimed_at_the_same_instant_is_handed_over(first: str) -> None:
    """The hotel resident is ready on day 5, when the only downstream place frees: whichever
    event SimPy processes first, the place changes hands on day 5 with no wait."""
    hotel = place("accommodation", 1.0, fixed(5), {"after": 1.0}, occupancy=1)
    after = place("downstream", 1.0, fixed(5), {"done": 1.0}, occupancy=1)
    order = ["hotel", "after"] if first == "hotel" else ["after", "hotel"]
    nodes = {"hotel": hotel, "after": after}
    record = simulate(scenario_data(20, {k: nodes[k] for k in order}))
    (stay,) = episodes(record, "hotel")
    assert (stay["ready"], stay["exit"], stay["outcome"]) == (5.0, 5.0, "after")
    moved = [e for e in episodes(record, "after") if e["person"] == stay["person"]]
    assert [e["entry"] for e in moved] == [5.0]
    assert moved[0]["queued"] == 5.0
    leaver = [e for e in episodes(record, "after") if e["person"] != stay["person"]]
    assert [e["exit"] for e in leaver] == [5.0]
    occupancy = record.series["occupancy.after"]
    assert np.all(occupancy.at(np.arange(0.0, 10.0, 0.25)) == 1.0)  # never left empty
    assert record.series["blocked.hotel"].maximum(0.0, 20.0) == 0.0


def test_fifo_among_equals_at_the_same_instant() -> None:
    """Two residents leave together every 10 days; the five people waiting since day 0 are
    admitted two by two, in the order they joined the list."""
    data = scenario_data(
        35, {"hotel": place("accommodation", 2.0, fixed(10), {"done": 1.0}, 2, waiting=5)}
    )
    record = simulate(data)
    stays = episodes(record, "hotel")
    residents = [e for e in stays if math.isnan(e["queued"])]
    admitted = sorted((e for e in stays if not math.isnan(e["queued"])), key=lambda e: e["person"])
    assert [e["exit"] for e in residents] == [10.0, 10.0]
    assert [e["person"] for e in admitted] == [2, 3, 4, 5, 6]  # the queue order
    assert [e["entry"] for e in admitted] == [10.0, 10.0, 20.0, 20.0, 30.0]
    assert all(e["queued"] == 0.0 for e in admitted)
    occupancy = record.series["occupancy.hotel"]
    assert np.all(occupancy.at(np.arange(0.0, 30.0, 0.5)) == 2.0)  # places handed straight over
    assert occupancy.at(30.0) == 1.0  # the fifth admitted and one of the fourth pair remain
    waiting = record.series["waiting.hotel"]
    assert list(waiting.at([0.0, 9.9, 10.0, 20.0, 30.0])) == [5.0, 5.0, 3.0, 1.0, 0.0]


def test_priority_class_first_then_fifo() -> None:
    """With priority to women, women waiting are admitted before men, each group FIFO."""
    data = scenario_data(
        20,
        {
            "hotel": place(
                "accommodation",
                1.0,
                fixed(1),
                {"done": 1.0},
                occupancy=1,
                waiting=8,
                priority=["female"],
            )
        },
        attributes={"female": {"probability": 0.5}},
    )
    record = simulate(data, seed=3)
    female = record.people["female"]
    admitted = [e for e in episodes(record, "hotel") if not math.isnan(e["queued"])]
    admitted.sort(key=lambda e: e["entry"])
    order = [e["person"] for e in admitted]
    women = [p for p in range(1, 9) if female[p]]
    men = [p for p in range(1, 9) if not female[p]]
    assert women, "the seed should give both classes"
    assert men, "the seed should give both classes"
    assert order == women + men
    assert [e["entry"] for e in admitted] == [float(d) for d in range(1, 9)]


# --- capacity changes --------------------------------------------------------------------
def test_capacity_increase_applies_before_an_arrival_at_the_same_instant() -> None:
    """The downstream place grows from 1 to 2 on day 5, the instant the hotel resident is
    ready: they move in at once, never blocked."""
    hotel = place("accommodation", 1.0, fixed(5), {"after": 1.0}, occupancy=1)
    after = place("downstream", steps((0, 1), (5, 2)), fixed(100), {"done": 1.0}, occupancy=1)
    record = simulate(scenario_data(20, {"hotel": hotel, "after": after}))
    (stay,) = episodes(record, "hotel")
    assert (stay["exit"], stay["outcome"]) == (5.0, "after")
    assert stay["blocked_on"] == ""
    assert record.series["occupancy.after"].at(5.0) == 2.0


def test_capacity_increase_admits_the_waiting_list_at_that_instant() -> None:
    data = scenario_data(
        20,
        {"hotel": place("accommodation", steps((0, 0), (7, 2)), fixed(100), {"done": 1.0}, 0, 3)},
    )
    record = simulate(data)
    entries = sorted((e["person"], e["entry"]) for e in episodes(record, "hotel"))
    assert entries == [(0, 7.0), (1, 7.0)]
    assert record.series["waiting.hotel"].at(7.0) == 1.0


def test_capacity_cut_applies_before_an_arrival_at_the_same_instant() -> None:
    """The downstream place shrinks from 2 to 1 on day 5, the instant the hotel resident is
    ready: they find it full and stay blocked in the hotel."""
    hotel = place("accommodation", 1.0, fixed(5), {"after": 1.0}, occupancy=1)
    after = place("downstream", steps((0, 2), (5, 1)), fixed(100), {"done": 1.0}, occupancy=1)
    record = simulate(scenario_data(20, {"hotel": hotel, "after": after}))
    (stay,) = episodes(record, "hotel")
    assert (stay["ready"], stay["blocked_on"]) == (5.0, "after")
    assert math.isnan(stay["exit"])
    assert record.series["blocked.hotel"].at(5.0) == 1.0


def test_capacity_cut_below_occupancy_evicts_nobody_and_admits_nobody_until_below() -> None:
    """Capacity falls from 3 to 1 on day 5 with 3 residents: all stay until ready; the first
    person waiting gets in only when the third resident leaves."""
    hotel = place(
        "accommodation",
        steps((0, 3), (5, 1)),
        {"dist": "uniform", "low": 6.0, "high": 30.0},
        {"done": 1.0},
        occupancy=3,
        waiting=2,
    )
    record = simulate(scenario_data(80, {"hotel": hotel}), seed=4)
    stays = episodes(record, "hotel")
    residents = sorted((e for e in stays if math.isnan(e["queued"])), key=lambda e: e["exit"])
    admitted = sorted((e for e in stays if not math.isnan(e["queued"])), key=lambda e: e["entry"])
    assert len(residents) == 3
    for e in residents:  # nobody evicted: each left when ready, by the routing
        assert e["exit"] == e["ready"] > 5.0
        assert e["outcome"] == "done"
    assert len(admitted) == 2
    assert admitted[0]["entry"] == residents[2]["exit"]  # not at the first or second departure
    assert admitted[1]["entry"] == admitted[0]["exit"]
    occupancy = record.series["occupancy.hotel"]
    assert occupancy.at(5.0) == 3.0
    changes = occupancy.values[occupancy.times > 5.0]
    assert list(changes[:3]) == [2.0, 1.0, 1.0]  # the third departure hands its place over
    assert occupancy.times[occupancy.times > 5.0][2] == residents[2]["exit"]


# --- the end of the run ------------------------------------------------------------------
def test_nothing_happens_at_the_end_date() -> None:
    """The run covers [start, end): a resident ready exactly at ``end`` is still there, with
    NaN ready and exit; people waiting stay on the list."""
    data = scenario_data(
        10, {"hotel": place("accommodation", 1.0, fixed(10), {"done": 1.0}, 1, waiting=2)}
    )
    record = simulate(data)
    assert all(math.isnan(v) for v in record.episodes["exit"])
    assert all(o == "" for o in record.episodes["outcome"])
    (resident,) = episodes(record, "hotel")
    assert math.isnan(resident["ready"])
    assert [e["ready"] for e in episodes(record, "street")] == [0.0, 0.0]  # referred on day 0
    assert record.series["occupancy.hotel"].at(10.0) == 1.0
    assert record.series["waiting.hotel"].at(10.0) == 2.0
    for series in record.series.values():
        assert series.times.max() < 10.0


def test_capacity_step_on_the_end_date_changes_nothing() -> None:
    data = scenario_data(
        10, {"hotel": place("accommodation", steps((0, 0), (10, 5)), fixed(3), {"done": 1.0}, 0, 2)}
    )
    record = simulate(data)
    assert all(math.isnan(v) for v in record.episodes["exit"])
    for series_name, series in record.series.items():
        assert series.times.max() < 10.0, (series_name, series.times, series.values)
    # the places held at the end are held by the people with an open episode there
    assert record.series["occupancy.hotel"].at(10.0) == len(episodes(record, "hotel"))


# --- the deadlock detector -----------------------------------------------------------------
def ring(negative: bool = False, growth: bool = False, **extra: Any) -> dict[str, Any]:
    """A -> B and B -> A, one place each, both full, fixed readiness (3 and 4 days)."""
    a = place("accommodation", 1.0, fixed(3), {"b": 1.0}, occupancy=1)
    b = place("accommodation", steps((0, 1), (12, 2)) if growth else 1.0, fixed(4), {"a": 1.0}, 1)
    if negative:
        a["negative_exit_rate_per_year"] = 1.0
        a["negative_routing"] = {"gone": 1.0}
    return scenario_data(30, {"a": a, "b": b}, **extra)


def test_deadlock_raises() -> None:
    with pytest.raises(DeadlockError, match=r"day 4\.0.*a, b"):
        simulate(ring())


def test_deadlock_recorded() -> None:
    record = simulate(ring(on_deadlock="record"))
    assert record.deadlocks == [(4.0, ("a", "b"))]
    assert record.series["blocked.a"].at(29.0) == 1.0
    assert record.series["blocked.b"].at(29.0) == 1.0


def test_no_deadlock_with_a_negative_hazard() -> None:
    record = simulate(ring(negative=True))
    assert record.deadlocks == []
    record = simulate(ring(negative=True, on_deadlock="record"))
    assert record.deadlocks == []


def test_no_deadlock_with_a_capacity_increase_ahead() -> None:
    """A jam that a capacity increase will clear is not a deadlock: B grows on day 12 and A's
    blocked resident moves in then."""
    record = simulate(ring(growth=True))
    assert record.deadlocks == []
    moved = [e for e in episodes(record, "b") if e["person"] == 0]
    assert moved[0]["entry"] == 12.0
    blocked = next(e for e in episodes(record, "a") if e["person"] == 0)
    assert (blocked["ready"], blocked["exit"], blocked["blocked_on"]) == (3.0, 12.0, "b")

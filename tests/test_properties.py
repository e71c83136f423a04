"""Properties of the model on random small networks (hypothesis).

Each example builds a small scenario in code: a street with arrivals and an exit hazard, one to
three places (accommodation, downstream with a stay, or downstream with a release rate) with
random capacity schedules (cuts below occupancy included), random readiness and stay
distributions, negative hazards, routing between places (chains with blocking after service,
cycles), exits that may send people back to the street, initial residents and people already
waiting, a ``female`` attribute with an eligibility-restricted place and priority classes.
It runs one replication and checks invariants that must hold on every sample path:
conservation of people, capacity, non-negative series, ordered episode times, the state at the
end, Little's law as a bookkeeping identity, eligibility and the order of the waiting lists.

Capacity steps are drawn strictly inside the run: a step dated exactly ``end`` is covered by
``tests/test_ordering.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.model import run_once
from sim.engine.record import RunRecord
from sim.inputs.loading import validate_data
from sim.inputs.scenario import Scenario

START = dt.date(2000, 1, 1)
EXITS = ("good", "bad", "gone")
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def name(label: str) -> dict[str, str]:
    return {"fr": label, "en": label}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


# --- strategies ---------------------------------------------------------------------------
means = st.floats(0.5, 30.0)
durations = st.one_of(
    means.map(lambda m: {"dist": "exponential", "mean": m}),
    st.tuples(means, st.floats(0.2, 20.0)).map(
        lambda t: {"dist": "gamma", "mean": t[0], "sd": t[1]}
    ),
    st.tuples(means, st.floats(0.3, 5.0)).map(
        lambda t: {"dist": "gamma", "mean": t[0], "shape": t[1]}
    ),
    st.tuples(means, st.floats(0.2, 20.0)).map(
        lambda t: {"dist": "lognormal", "mean": t[0], "sd": t[1]}
    ),
    st.tuples(means, st.floats(0.5, 4.0)).map(
        lambda t: {"dist": "weibull", "mean": t[0], "shape": t[1]}
    ),
    st.tuples(st.floats(0.0, 10.0), st.floats(0.5, 20.0)).map(
        lambda t: {"dist": "uniform", "low": t[0], "high": t[0] + t[1]}
    ),
    st.tuples(st.floats(0.0, 10.0), st.floats(0.0, 1.0), st.floats(0.5, 20.0)).map(
        lambda t: {
            "dist": "triangular",
            "low": t[0],
            "mode": t[0] + t[1] * t[2],
            "high": t[0] + t[2],
        }
    ),
    # integer fixed durations make departures coincide with each other and with capacity steps
    st.integers(1, 30).map(lambda v: {"dist": "fixed", "value": float(v)}),
    st.lists(st.integers(1, 30), min_size=1, max_size=4).map(
        lambda v: {"dist": "empirical", "values": [float(x) for x in v]}
    ),
)


@st.composite
def capacities(draw: st.DrawFn, horizon: int) -> float | list[dict[str, Any]]:
    """A constant capacity, or steps (cuts included) strictly inside ``(0, horizon)``."""
    values = st.integers(0, 4).map(float)
    if draw(st.booleans()):
        return draw(values)
    days = draw(st.lists(st.integers(1, horizon - 1), min_size=1, max_size=3, unique=True))
    steps = [{"from": START, "value": draw(values)}]
    steps += [{"from": day(d), "value": draw(values)} for d in sorted(days)]
    return steps


@st.composite
def routing(draw: st.DrawFn, candidates: list[str], open_to_all: set[str]) -> dict[str, float]:
    """Probabilities over a non-empty subset of ``candidates``, one of them open to everyone;
    half the time only places, when there are any (chains with blocking after service)."""
    places = [c for c in candidates if c not in EXITS]
    pool = places if places and draw(st.booleans()) else candidates
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    if not set(chosen) & open_to_all:
        chosen.append(sorted(open_to_all)[0])
    weights = [draw(st.integers(1, 4)) for _ in chosen]
    total = sum(weights)
    return {target: w / total for target, w in zip(chosen, weights, strict=True)}


def first_capacity(capacity: float | list[dict[str, Any]]) -> int:
    return int(capacity[0]["value"] if isinstance(capacity, list) else capacity)


@st.composite
def networks(draw: st.DrawFn, initial_at_restricted: bool = True) -> tuple[dict[str, Any], int]:
    """A random small scenario (raw data) and a seed; ``initial_at_restricted=False`` leaves
    places with an eligibility rule without initial residents or waiting people."""
    horizon = draw(st.integers(10, 80))
    n = draw(st.integers(1, 3))
    ids = [f"n{i}" for i in range(n)]
    kinds = [
        draw(st.sampled_from(["accommodation", "accommodation", "downstream", "release"]))
        for _ in ids
    ]
    # node n0 is open to everyone; the others may be restricted by sex
    eligibility = {
        node_id: ({} if i == 0 or draw(st.booleans()) else {"female": draw(st.booleans())})
        for i, node_id in enumerate(ids)
    }
    open_places = {k for k in ids if not eligibility[k]}
    nodes: dict[str, Any] = {}
    for node_id, kind in zip(ids, kinds, strict=True):
        others = [k for k in ids if k != node_id]
        node: dict[str, Any] = {
            "kind": "accommodation" if kind == "accommodation" else "downstream",
            "name": name(node_id),
            "routing": draw(routing([*others, *EXITS], open_places | set(EXITS))),
            "eligibility": eligibility[node_id],
            "priority": ["female"] if draw(st.booleans()) else [],
        }
        none_initial = bool(eligibility[node_id]) and not initial_at_restricted
        initial: dict[str, Any] = {"waiting": 0 if none_initial else draw(st.integers(0, 3))}
        if kind == "release":
            node["releases_per_month"] = draw(
                st.one_of(st.floats(0.0, 20.0), capacities(horizon).map(_as_rates))
            )
            if draw(st.booleans()):
                node["stay"] = draw(durations)
        else:
            node["capacity"] = draw(capacities(horizon))
            node["readiness" if kind == "accommodation" else "stay"] = draw(durations)
            most = 0 if none_initial else first_capacity(node["capacity"])
            initial["occupancy"] = draw(st.integers(0, most))
        if draw(st.booleans()):
            initial["elapsed"] = draw(durations)
        node["initial"] = initial
        if draw(st.booleans()):
            node["negative_exit_rate_per_year"] = draw(st.floats(1.0, 60.0))
            node["negative_routing"] = draw(routing(list(EXITS), set(EXITS)))
        nodes[node_id] = node
    street: dict[str, Any] = {
        "kind": "street",
        "name": name("street"),
        "initial": {"count": draw(st.integers(0, 4))},
        "arrivals_per_year": draw(
            st.one_of(st.floats(0.0, 150.0), capacities(horizon).map(_as_arrivals))
        ),
    }
    if draw(st.booleans()):
        street["initial"]["elapsed"] = draw(durations)
    if draw(st.booleans()):
        street["exit_rate_per_year"] = draw(st.floats(1.0, 40.0))
        street["exit_routing"] = draw(routing(list(EXITS), set(EXITS)))
    if draw(st.booleans()):
        street["referred_on_arrival"] = draw(st.floats(0.0, 1.0))
        street["arrival_routing"] = draw(routing(ids, open_places))
    all_nodes: dict[str, Any] = {"street": street}
    if draw(st.booleans()):
        all_nodes["outreach"] = {
            "kind": "outreach",
            "name": name("outreach"),
            "contacts_per_week": draw(st.floats(0.0, 20.0)),
            "max_contacts_per_person_per_week": draw(st.floats(0.2, 3.0)),
            "referral_probability": draw(st.floats(0.0, 1.0)),
            "routing": draw(routing(ids, open_places)),
        }
    all_nodes.update(nodes)
    back = draw(st.floats(0.0, 1.0))
    after = draw(st.one_of(st.none(), durations))
    all_nodes["good"] = {"kind": "exit", "name": name("good"), "positive": True}
    all_nodes["bad"] = {
        "kind": "exit",
        "name": name("bad"),
        "positive": False,
        "return_to_street": {"probability": back, **({"after": after} if after else {})},
    }
    all_nodes["gone"] = {"kind": "exit", "name": name("gone"), "positive": False}
    data = {
        "name": "random",
        "start": START,
        "end": day(horizon),
        "attributes": {"female": {"probability": draw(st.floats(0.0, 1.0))}},
        "nodes": all_nodes,
        "on_deadlock": "record",
    }
    return data, draw(st.integers(0, 2**32 - 1))


def _as_rates(schedule: float | list[dict[str, Any]]) -> float | list[dict[str, Any]]:
    """A capacity-like schedule reused as releases per month (0-12)."""
    if isinstance(schedule, list):
        return [{**s, "value": s["value"] * 3.0} for s in schedule]
    return schedule * 3.0


def _as_arrivals(schedule: float | list[dict[str, Any]]) -> float | list[dict[str, Any]]:
    """A capacity-like schedule reused as arrivals per year (0-146)."""
    if isinstance(schedule, list):
        return [{**s, "value": s["value"] * 36.5} for s in schedule]
    return schedule * 36.5


# --- running and reading a record -----------------------------------------------------------
def simulate(example: tuple[dict[str, Any], int]) -> tuple[Scenario, RunRecord]:
    data, seed = example
    scenario = validate_data(data)
    return scenario, run_once(scenario, 0, seed)


def rows(record: RunRecord) -> list[dict[str, Any]]:
    """The episodes as dicts, in the order they were recorded."""
    columns = record.episodes
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def by_person(record: RunRecord) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows(record):
        out[int(row["person"])].append(row)
    return out


def is_open(row: dict[str, Any]) -> bool:
    return math.isnan(row["exit"])


def places_of(scenario: Scenario) -> list[str]:
    return [k for k, n in scenario.nodes.items() if n.kind in ("accommodation", "downstream")]


def is_release(scenario: Scenario, node_id: str) -> bool:
    return getattr(scenario.nodes[node_id], "releases_per_month", None) is not None


def final(record: RunRecord, series: str) -> float:
    return float(record.series[series].at(record.horizon))


# --- the properties -------------------------------------------------------------------------
@PROPERTY
@given(networks())
def test_conservation_of_people(example: tuple[dict[str, Any], int]) -> None:
    """Everyone created is either still in exactly one place or has left by an exit; a person's
    episodes follow one another without overlap, each leading where its outcome says."""
    scenario, record = simulate(example)
    people = record.people["person"]
    assert people == list(range(len(people)))
    episodes = by_person(record)
    assert set(episodes) == set(people), "everyone created has at least one episode"
    exits = {k for k, n in scenario.nodes.items() if n.kind == "exit"}
    places = set(places_of(scenario))
    returning = {k for k in exits if getattr(scenario.nodes[k], "return_to_street", None)}
    inside = left = 0
    for person, eps in episodes.items():
        assert sum(is_open(e) for e in eps) <= 1, (person, eps)
        for before, after in itertools.pairwise(eps):
            assert not is_open(before), (person, eps)
            assert after["entry"] >= before["exit"], ("overlapping episodes", person, eps)
            if before["outcome"] in places:  # a transfer: straight into the next place
                assert after["node"] == before["outcome"], (person, eps)
                assert after["entry"] == before["exit"], (person, eps)
            else:  # an exit that came back to the street
                assert before["outcome"] in returning, (person, eps)
                assert after["node"] == scenario.street_id, (person, eps)
        last = eps[-1]
        if is_open(last):
            inside += 1
            assert last["outcome"] == ""
        else:
            left += 1
            assert last["outcome"] in exits, (person, eps)
        created = record.people["created"][person]
        assert eps[0]["node"] in (scenario.street_id, *places)
        assert eps[0]["entry"] <= created, (person, eps)
    assert len(people) == inside + left
    in_places = sum(final(record, f"occupancy.{k}") for k in places)
    assert final(record, "street") + in_places == inside


@PROPERTY
@given(networks())
def test_occupancy_within_capacity(example: tuple[dict[str, Any], int]) -> None:
    """Occupancy only rises to at most the capacity: above it only after a cut, and then it
    never increases while above."""
    scenario, record = simulate(example)
    for node_id in places_of(scenario):
        if is_release(scenario, node_id):
            continue
        occupancy = record.series[f"occupancy.{node_id}"]
        capacity = record.series[f"capacity.{node_id}"]
        times = np.union1d(occupancy.times, capacity.times)
        occ, cap = occupancy.at(times), capacity.at(times)
        assert occ[0] <= cap[0], (node_id, occ[0], cap[0])
        rises = np.flatnonzero(np.diff(occ) > 0) + 1
        bad = [(times[i], occ[i - 1], occ[i], cap[i]) for i in rises if occ[i] > cap[i]]
        assert not bad, (node_id, "occupancy rose above capacity", bad)


@PROPERTY
@given(networks())
def test_no_negative_counts(example: tuple[dict[str, Any], int]) -> None:
    scenario, record = simulate(example)
    assert set(record.series) == set(scenario.series_names())
    for series_name, series in record.series.items():
        assert np.all(np.isfinite(series.values)), series_name
        assert np.all(series.values >= 0), (series_name, series.values.min())
        assert np.all(np.diff(series.times) > 0), series_name
        assert series.times.size, series_name
        assert series.times[0] == 0.0, series_name
        assert series.times[-1] <= record.horizon, series_name


@PROPERTY
@given(networks())
def test_episode_times_are_ordered(example: tuple[dict[str, Any], int]) -> None:
    """queued <= entry <= ready <= exit within the run (NaN where undefined or unfinished)."""
    scenario, record = simulate(example)
    horizon = record.horizon
    for row in rows(record):
        entry, ready, exit_, queued = row["entry"], row["ready"], row["exit"], row["queued"]
        assert not math.isnan(entry), row
        assert entry < horizon, row
        if not math.isnan(ready):
            assert entry <= ready < horizon, row
        if not math.isnan(exit_):
            assert entry <= exit_ < horizon, row
            assert math.isnan(ready) or ready <= exit_, row
            assert row["outcome"] != "", row
        if row["node"] == scenario.street_id:
            assert math.isnan(queued), row
        elif not math.isnan(queued):
            assert queued <= entry, row
        if row["blocked_on"]:
            assert not math.isnan(ready), row


@PROPERTY
@given(networks())
def test_places_held_at_end_match_the_people_holding_them(
    example: tuple[dict[str, Any], int],
) -> None:
    scenario, record = simulate(example)
    still = [r for r in rows(record) if is_open(r)]
    street = [r for r in still if r["node"] == scenario.street_id]
    assert final(record, "street") == len(street)
    referred = sum(not math.isnan(r["ready"]) for r in street)
    blocked_total = 0
    waiting_total = 0.0
    for node_id in places_of(scenario):
        here = [r for r in still if r["node"] == node_id]
        blocked = sum(bool(r["blocked_on"]) for r in here)
        assert final(record, f"occupancy.{node_id}") == len(here), node_id
        assert final(record, f"blocked.{node_id}") == blocked, node_id
        blocked_total += blocked
        waiting_total += final(record, f"waiting.{node_id}")
    # every waiting list holds the referred street people and the blocked residents
    assert waiting_total == referred + blocked_total


@PROPERTY
@given(networks())
def test_littles_law_holds_as_an_identity(example: tuple[dict[str, Any], int]) -> None:
    """Time-average occupancy (and blocked count) over [0, T] equals the time spent in the node
    (blocked) within [0, T] by all episodes, divided by T."""
    scenario, record = simulate(example)
    horizon = record.horizon
    time_in: dict[str, float] = defaultdict(float)
    time_blocked: dict[str, float] = defaultdict(float)
    for row in rows(record):
        end = horizon if is_open(row) else row["exit"]
        time_in[row["node"]] += max(0.0, end - max(row["entry"], 0.0))
        if row["blocked_on"]:
            time_blocked[row["node"]] += max(0.0, end - max(row["ready"], 0.0))
    for node_id in [scenario.street_id, *places_of(scenario)]:
        name_ = "street" if node_id == scenario.street_id else f"occupancy.{node_id}"
        average = record.series[name_].mean(0.0, horizon)
        assert math.isclose(average, time_in[node_id] / horizon, rel_tol=0.01, abs_tol=1e-9), (
            node_id,
            average,
            time_in[node_id] / horizon,
        )
        if node_id != scenario.street_id:
            blocked = record.series[f"blocked.{node_id}"].mean(0.0, horizon)
            expected = time_blocked[node_id] / horizon
            assert math.isclose(blocked, expected, rel_tol=0.01, abs_tol=1e-9), node_id


def check_eligibility(scenario: Scenario, record: RunRecord) -> None:
    female = record.people["female"]
    for row in rows(record):
        node = scenario.nodes[row["node"]]
        for attribute, value in getattr(node, "eligibility", {}).items():
            assert attribute == "female"
            assert female[row["person"]] == value, ("ineligible resident", row)


@PROPERTY
@given(networks(initial_at_restricted=False))
def test_routing_respects_eligibility(example: tuple[dict[str, Any], int]) -> None:
    """Nobody is referred or routed to a place whose eligibility they do not meet."""
    check_eligibility(*simulate(example))


@settings(PROPERTY)
@given(networks())
def test_initial_people_meet_eligibility(example: tuple[dict[str, Any], int]) -> None:
    """Residents and waiting people at the start meet the eligibility of their place too."""
    check_eligibility(*simulate(example))


@PROPERTY
@given(networks())
def test_waiting_lists_are_fifo_within_priority_classes(
    example: tuple[dict[str, Any], int],
) -> None:
    """Among admissions to a place from its waiting list: FIFO within a priority class, and
    nobody from a lower class is admitted while someone of a higher class waits."""
    scenario, record = simulate(example)
    female = record.people["female"]
    for node_id in places_of(scenario):
        priority = bool(scenario.nodes[node_id].priority)
        admitted = [r for r in rows(record) if r["node"] == node_id and not math.isnan(r["queued"])]
        for a in admitted:
            for b in admitted:
                same_class = not priority or female[a["person"]] == female[b["person"]]
                if same_class and a["queued"] < b["queued"]:
                    assert a["entry"] <= b["entry"], ("FIFO broken", node_id, a, b)
                if priority and female[a["person"]] and not female[b["person"]]:
                    # a (priority) was on the list strictly before and after b's admission
                    assert not a["queued"] < b["entry"] < a["entry"], (
                        "priority broken",
                        node_id,
                        a,
                        b,
                    )


def test_blocked_fallback_respects_eligibility() -> None:
    """A man ready in the hotel whose targets are a women-only place (open) and a mixed place
    (closed) must wait for the mixed place, not be admitted to the women-only one."""
    data = {
        "name": "fallback",
        "start": START,
        "end": day(30),
        "attributes": {"female": {"probability": 0.0}},
        "nodes": {
            "street": {"kind": "street", "name": name("street"), "arrivals_per_year": 0.0},
            "hotel": {
                "kind": "accommodation",
                "name": name("hotel"),
                "capacity": 1.0,
                "initial": {"occupancy": 1},
                "readiness": {"dist": "fixed", "value": 2.0},
                "routing": {"women": 0.5, "mixed": 0.5},
            },
            "women": {
                "kind": "downstream",
                "name": name("women"),
                "capacity": 1.0,
                "eligibility": {"female": True},
                "stay": {"dist": "fixed", "value": 5.0},
                "routing": {"good": 1.0},
            },
            "mixed": {
                "kind": "downstream",
                "name": name("mixed"),
                "capacity": 0.0,
                "stay": {"dist": "fixed", "value": 5.0},
                "routing": {"good": 1.0},
            },
            "good": {"kind": "exit", "name": name("good"), "positive": True},
        },
    }
    scenario, record = simulate((data, 1))
    assert record.people["female"] == [False]
    check_eligibility(scenario, record)

"""The downstream application policy of a place (``application: one | first_free``).

``one``: a ready resident draws one destination and waits in its list only. ``first_free``:
they apply to every eligible place of the routing and take the first that frees, withdrawn
from the other lists at once. The checks here: a small case worked by hand; invariants
sampled at the end of every simulated instant (nobody holds two places or waits twice in a
list, nobody waits after taking a place, the lists and counters agree, and under
``first_free`` nobody is blocked while a place they are eligible for has room); conservation
over a run (entries = exits + occupancy); reproducibility.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from sim.engine import kernel, model, pathway
from sim.engine.model import run_once
from sim.inputs.loading import load_scenario, validate_data
from sim.inputs.scenario import AccommodationNode, DownstreamNode, Scenario
from sim.running.metrics import replication_kpis
from tests.builders import START, name

from .conftest import SCENARIOS

FIXED = {"dist": "fixed"}


def _two_doors(application: str) -> Scenario:
    """One hotel resident, ready on day 1, whose routing draws ``slow`` (probability 1); the
    ``slow`` place frees on day 20, the ``fast`` one (probability 0, but eligible) on day 5."""
    downstream = {"kind": "downstream", "capacity": 1, "routing": {"done": 1.0}}
    return validate_data(
        {
            "name": "two-doors",
            "start": START,
            "end": START + dt.timedelta(days=40),
            "nodes": {
                "street": {"kind": "street", "name": name("street"), "arrivals_per_year": 0},
                "hotel": {
                    "kind": "accommodation",
                    "name": name("hotel"),
                    "capacity": 1,
                    "initial": {"occupancy": 1},
                    "readiness": {**FIXED, "value": 1},
                    "routing": {"slow": 1.0, "fast": 0.0},
                    "application": application,
                },
                "slow": {
                    **downstream,
                    "name": name("slow"),
                    "initial": {"occupancy": 1},
                    "stay": {**FIXED, "value": 20},
                },
                "fast": {
                    **downstream,
                    "name": name("fast"),
                    "initial": {"occupancy": 1},
                    "stay": {**FIXED, "value": 5},
                },
                "done": {"kind": "exit", "name": name("done"), "positive": True},
            },
        }
    )


def _hotel_episode(application: str) -> dict[str, Any]:
    record = run_once(_two_doors(application), 0, 1)
    ep = record.episodes
    rows = [i for i, node in enumerate(ep.column("node")) if node == "hotel"]
    assert len(rows) == 1
    return {column: ep.column(column)[rows[0]] for column in ("ready", "exit", "outcome")} | {
        "blocked_on": ep.column("blocked_on")[rows[0]],
        "waiting_slow": record.series["waiting.slow"],
        "blocked_hotel": record.series["blocked.hotel"],
    }


def test_one_waits_for_the_drawn_place_while_another_is_free() -> None:
    hotel = _hotel_episode("one")
    assert hotel["ready"] == 1.0
    assert (hotel["exit"], hotel["outcome"], hotel["blocked_on"]) == (20.0, "slow", "slow")
    assert float(hotel["blocked_hotel"].at(10.0)) == 1.0


def test_first_free_takes_the_first_place_that_frees_and_withdraws_at_once() -> None:
    hotel = _hotel_episode("first_free")
    assert hotel["ready"] == 1.0
    assert (hotel["exit"], hotel["outcome"], hotel["blocked_on"]) == (5.0, "fast", "fast")
    waiting = hotel["waiting_slow"]
    assert float(waiting.at(3.0)) == 1.0  # on the slow list too while blocked
    assert float(waiting.at(5.0)) == 0.0  # withdrawn on the day the fast place was taken
    assert float(waiting.maximum(0.0, 40.0)) == 1.0  # never counted twice
    assert float(hotel["blocked_hotel"].at(5.0)) == 0.0


# --- invariants at the end of every instant -----------------------------------------------------


def _network(application: str, days: int = 1500) -> Scenario:
    """A hotel fed from the street, routing to two capacity places (one opening on day 200,
    one for women only), a release-rate place and an exit; negative exits while blocked."""
    return validate_data(
        {
            "name": "network",
            "start": START,
            "end": START + dt.timedelta(days=days),
            "attributes": {"female": {"probability": 0.3}},
            "nodes": {
                "street": {
                    "kind": "street",
                    "name": name("street"),
                    "arrivals_per_year": 30 * 365.25 / 100,
                    "referred_on_arrival": 1.0,
                    "arrival_routing": {"hotel": 1.0},
                },
                "hotel": {
                    "kind": "accommodation",
                    "name": name("hotel"),
                    "capacity": 12,
                    "readiness": {"dist": "exponential", "mean": 25},
                    "negative_exit_rate_per_year": 1.0,
                    "negative_routing": {"gone": 1.0},
                    "routing": {"a": 0.4, "b": 0.3, "women": 0.1, "housing": 0.1, "gone": 0.1},
                    "application": application,
                },
                "a": {
                    "kind": "downstream",
                    "name": name("a"),
                    "capacity": 2,
                    "stay": {"dist": "exponential", "mean": 30},
                    "routing": {"done": 1.0},
                },
                "b": {
                    "kind": "downstream",
                    "name": name("b"),
                    "capacity": [
                        {"from": START, "value": 0},
                        {"from": START + dt.timedelta(days=200), "value": 3},
                    ],
                    "stay": {"dist": "exponential", "mean": 50},
                    "routing": {"done": 1.0},
                },
                "women": {
                    "kind": "downstream",
                    "name": name("women"),
                    "capacity": 1,
                    "eligibility": {"female": True},
                    "stay": {"dist": "exponential", "mean": 20},
                    "routing": {"done": 1.0},
                },
                "housing": {
                    "kind": "downstream",
                    "name": name("housing"),
                    "releases_per_month": 1.0,
                    "routing": {"done": 1.0},
                },
                "done": {"kind": "exit", "name": name("done"), "positive": True},
                "gone": {"kind": "exit", "name": name("gone"), "positive": False},
            },
        }
    )


class _Tally:
    """What the end-of-instant checks found: instants checked, and blocked residents who
    could have taken a free place they are eligible for (the ``first_free`` promise)."""

    def __init__(self) -> None:
        self.instants = 0
        self.blocked = 0
        self.blocked_beside_a_free_place = 0
        self.multiple_applications = 0


def _check(ctx: pathway.Context, tally: _Tally) -> None:
    """The state at the end of an instant (every event at this time processed)."""
    tally.instants += 1
    live: dict[int, list[str]] = collections.defaultdict(list)
    for node_id, place in ctx.places.items():
        tickets = [
            t for queue in place._classes for t in queue if not t.cancelled and not t.granted
        ]
        assert len(tickets) == place.waiting, f"{node_id}: list and counter disagree"
        if not place.on_release and place.occupancy < place.capacity:
            assert place.waiting == 0, f"{node_id}: room and people waiting"
        for ticket in tickets:
            live[ticket.person.id].append(node_id)
            group = ticket.group or []
            assert not any(other.granted for _, other in group), "waits after taking a place"
    held = collections.Counter(p.node for p in ctx.people.values())
    blocked = collections.Counter(p.node for p in ctx.people.values() if p.blocked_on)
    for node_id, place in ctx.places.items():
        assert held[node_id] == place.occupancy, f"{node_id}: occupancy is not its residents"
        assert blocked[node_id] == place.blocked, f"{node_id}: blocked count is not its residents"
    for person_id, lists in live.items():
        p = ctx.people[person_id]
        assert len(lists) == len(set(lists)), "twice in one list"
        if p.node == ctx.street_id:
            assert len(lists) == 1, "a street referral waits in one list"
            continue
        assert p.blocked_on, "in a list without being blocked"
        rules = ctx.rules[p.node]
        eligible = rules.route.applications(p.attrs, ctx.places[lists[0]])
        if rules.first_free:
            assert set(lists) == {pl.node_id for pl in eligible}, "not on every eligible list"
            tally.multiple_applications += len(lists) > 1
        else:
            assert len(lists) == 1, "one destination, one list"
        tally.blocked += 1
        if any(not pl.on_release and pl.occupancy < pl.capacity for pl in eligible):
            tally.blocked_beside_a_free_place += 1


def _checked_run(
    monkeypatch: pytest.MonkeyPatch, sc: Scenario, seed: int, every: int = 1
) -> tuple[Any, _Tally]:
    """``run_once`` with the state checked at the end of every ``every``-th instant."""
    contexts: list[pathway.Context] = []
    tally = _Tally()
    base = kernel.Environment

    class Recorded(pathway.Context):
        def __post_init__(self) -> None:
            super().__post_init__()
            contexts.append(self)

    class Stepped(base):  # type: ignore[misc,valid-type]
        def run(self, until: Any = None) -> Any:
            instants = 0
            while self.peek() < until:
                self.step()
                if self.peek() > self.now:
                    instants += 1
                    if instants % every == 0:
                        _check(contexts[-1], tally)
            return None

    monkeypatch.setattr(model, "Context", Recorded)
    monkeypatch.setattr(model, "Environment", Stepped)
    record = run_once(sc, 0, seed)
    return record, tally


def test_first_free_keeps_every_invariant_at_every_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, tally = _checked_run(monkeypatch, _network("first_free"), seed=3)
    assert tally.instants > 1000
    assert tally.blocked > 1000  # the lists were busy: the checks bit on something
    assert tally.multiple_applications > 1000
    assert tally.blocked_beside_a_free_place == 0


def test_one_does_leave_residents_blocked_beside_a_free_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same check under ``one`` finds such residents: the ``first_free`` test can fail."""
    _, tally = _checked_run(monkeypatch, _network("one"), seed=3)
    assert tally.blocked > 1000
    assert tally.blocked_beside_a_free_place > 100


def _conserved(sc: Scenario, record: Any) -> None:
    """Entries = exits + occupancy at the end, for every place; and each person is in at most
    one place at a time (their episodes at places never overlap)."""
    ep = record.episodes
    nodes = np.asarray(ep.column("node"))
    for node_id in sc.nodes_of(AccommodationNode, DownstreamNode):
        here = nodes == node_id
        entries = int(np.count_nonzero(here))
        exits = int(np.count_nonzero(here & ~np.isnan(ep.exit)))
        occupancy = float(record.series[f"occupancy.{node_id}"].values[-1])
        assert entries == exits + occupancy, node_id
    places = ~np.isin(nodes, [sc.street_id])
    order = np.lexsort((ep.entry[places], ep.person[places]))
    person = ep.person[places][order]
    entry, leave = ep.entry[places][order], ep.exit[places][order]
    same = person[1:] == person[:-1]
    assert np.all(np.isnan(leave[:-1][same]) == False)  # noqa: E712 (only the last is open)
    assert np.all(entry[1:][same] >= leave[:-1][same])


@pytest.mark.parametrize("application", ["one", "first_free"])
def test_conservation_over_a_run(application: str) -> None:
    sc = _network(application)
    _conserved(sc, run_once(sc, 0, 5))


def _history_first_free() -> Scenario:
    capacity = load_scenario(SCENARIOS / "history-2019-2023.yaml").nodes_of(
        AccommodationNode, DownstreamNode
    )
    sets = [f"nodes.{node_id}.application=first_free" for node_id in capacity]
    return load_scenario(SCENARIOS / "history-2019-2023.yaml", (*sets, "end=2021-12-31"))


def test_first_free_on_the_history_keeps_its_invariants(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _history_first_free()
    record, tally = _checked_run(monkeypatch, sc, seed=11, every=97)
    assert tally.multiple_applications > 100
    assert tally.blocked_beside_a_free_place == 0
    _conserved(sc, record)


def test_first_free_is_reproducible() -> None:
    sc = _network("first_free", days=600)
    first, second = run_once(sc, 2, 9), run_once(sc, 2, 9)
    assert first.events == second.events
    for column in ("person", "node", "entry", "exit", "outcome", "blocked_on"):
        a, b = getattr(first.episodes, column), getattr(second.episodes, column)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), column
    kpis = replication_kpis(sc, first), replication_kpis(sc, second)
    assert kpis[0].keys() == kpis[1].keys()
    assert all(
        kpis[0][k] == kpis[1][k] or (math.isnan(kpis[0][k]) and math.isnan(kpis[1][k]))
        for k in kpis[0]
    )
    other = run_once(sc, 3, 9)
    assert not np.array_equal(first.episodes.exit, other.episodes.exit, equal_nan=True)


def test_one_is_the_default_and_draws_as_before() -> None:
    """No ``application`` field is ``one``, event for event."""
    sc = _network("one", days=600)
    data = sc.model_dump(mode="python", by_alias=True)
    del data["nodes"]["hotel"]["application"]
    default = validate_data(data)
    assert default.nodes["hotel"].application == "one"  # type: ignore[union-attr]
    a, b = run_once(sc, 0, 4), run_once(default, 0, 4)
    assert a.events == b.events
    assert np.array_equal(a.episodes.exit, b.episodes.exit, equal_nan=True)

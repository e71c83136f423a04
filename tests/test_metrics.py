"""KPIs computed from the record, checked against independent calculations."""

from __future__ import annotations

import math

from sim.engine.model import run_once
from sim.inputs.loading import load_scenario
from sim.inputs.scenario import AccommodationNode
from sim.running.metrics import episodes_frame, replication_kpis
from tests.conftest import SCENARIOS


def test_street_hotel_cycles_count_the_returns_to_the_street_after_a_hotel_stay() -> None:
    """Walk each person's episodes in time order: a return is a street episode that begins,
    inside the KPI window, right after a stay in an accommodation node."""
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    record = run_once(sc, 0, 3)
    kpi = replication_kpis(sc, record)["street_hotel_cycles.per_housed_person"]
    a, b = record.warmup, record.horizon
    hotels = set(sc.nodes_of(AccommodationNode))
    ep = episodes_frame(record).sort_values(["person", "entry", "episode"], kind="stable")
    returns, housed = 0, set()
    person, previous = None, None
    for row in ep[["person", "node", "entry", "exit"]].itertuples(index=False):
        if row.person != person:  # each person's walk starts afresh
            person, previous = row.person, None
        if row.node in hotels and row.entry < b and not row.exit < a:
            housed.add(person)
        if row.node == sc.street_id and previous in hotels and a <= row.entry < b:
            returns += 1
        previous = row.node
    assert returns > 0  # the history has round trips to count
    assert math.isclose(kpi, returns / len(housed))

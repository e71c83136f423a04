"""Metamorphic relations under common random numbers (same seed, same replication).

* One FIFO node fed by Poisson arrivals: more places never lengthens anyone's wait. With a
  single FIFO list the k-th admission is always the k-th arrival whatever the capacity, and
  stays are drawn in admission order from the node's own stream, so each person keeps the
  same stay across capacities: the classic sample-path argument applies person by person.
  (With a street exit hazard it does not hold, even with stays fixed per person: someone who
  would have given up is now served and takes a place from a later arrival. Not tested.)
* The full pathway (scenarios/history-2019-2023.yaml): more ASSORE places from a date leave
  everything before that date unchanged, empty the waiting list by the added places at that
  instant, and lower the mean ASSORE waiting list afterwards (paired CI over replications).
* No arrivals and nobody at the start: nothing is used.
* Changing one node's capacity leaves the street arrivals (times and attributes) identical.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.engine.model import run_once
from sim.engine.record import RunRecord
from sim.inputs.loading import load_raw, validate_data
from sim.inputs.scenario import Scenario
from tests.builders import queue_data

HISTORY = Path(__file__).resolve().parent.parent / "scenarios" / "history-2019-2023.yaml"
SEED = 7


# --- one FIFO node ---------------------------------------------------------------------------
def admissions(record: RunRecord) -> np.ndarray:
    """Each person's admission time to the queue node (infinity if never admitted)."""
    out = np.full(len(record.people["person"]), np.inf)
    for person, node, entry in zip(
        record.episodes["person"], record.episodes["node"], record.episodes["entry"], strict=True
    ):
        if node == "queue":
            out[person] = min(out[person], entry)
    return out


@pytest.mark.parametrize(
    "stay",
    [
        {"dist": "exponential", "mean": 2.0},
        {"dist": "lognormal", "mean": 2.0, "sd": 4.0},
        {"dist": "uniform", "low": 0.5, "high": 3.5},
    ],
    ids=lambda s: s["dist"],
)
@pytest.mark.parametrize("initial", [False, True], ids=["empty", "initial"])
def test_more_places_never_lengthen_anyones_wait(stay: dict[str, Any], initial: bool) -> None:
    lengthened = 0
    shortened = 0
    for replication in range(6):
        previous: np.ndarray | None = None
        created: list[object] | None = None
        for capacity in (1, 2, 3, 5):
            data = queue_data(1.2, capacity, stay, 150)
            if initial:  # residents already there and people already waiting at the start
                data["nodes"]["queue"]["initial"] = {
                    "occupancy": 1,
                    "waiting": 4,
                    "elapsed": {"dist": "exponential", "mean": 1.0},
                }
            record = run_once(validate_data(data), replication, SEED)
            admitted = admissions(record)
            if previous is not None:
                assert record.people["created"] == created  # the same arrivals
                later = np.flatnonzero(admitted > previous)
                lengthened += later.size
                assert later.size == 0, (capacity, replication, later, admitted[later])
                shortened += int(np.sum(admitted < previous))
            previous, created = admitted, record.people["created"]
    assert lengthened == 0
    assert shortened > 100  # the relation is not vacuous: extra places do cut waits


# --- the full pathway ------------------------------------------------------------------------
EXTRA = 100
CHANGE = dt.date(2021, 1, 1)
END = dt.date(2021, 12, 31)
REPLICATIONS = 10


def with_more_places(
    raw: dict[str, Any], node: str, extra: float, since: dt.date
) -> dict[str, Any]:
    """``raw`` with ``extra`` places at ``node`` from ``since`` on (every later step too)."""
    data = copy.deepcopy(raw)
    capacity = data["nodes"][node]["capacity"]
    if not isinstance(capacity, list):
        capacity = [{"from": data["start"], "value": capacity}]
    steps = [
        {**s, "value": s["value"] + extra} if s["from"] >= since else dict(s) for s in capacity
    ]
    if all(s["from"] != since for s in capacity):
        in_force = [s for s in capacity if s["from"] < since][-1]
        steps.append({"from": since, "value": in_force["value"] + extra})
    data["nodes"][node]["capacity"] = sorted(steps, key=lambda s: s["from"])
    return data


def pathway_raw() -> dict[str, Any]:
    if not HISTORY.exists():  # pragma: no cover - the shipped scenario is expected
        pytest.skip("scenarios/history-2019-2023.yaml is missing")
    raw = load_raw(HISTORY)
    raw["end"] = END
    raw["observations"] = {}
    return raw


@pytest.fixture(scope="module")
def assore_pairs() -> tuple[Scenario, Scenario, list[tuple[RunRecord, RunRecord]]]:
    raw = pathway_raw()
    base = validate_data(raw)
    more = validate_data(with_more_places(raw, "assore", EXTRA, CHANGE))
    pairs = [(run_once(base, r, SEED), run_once(more, r, SEED)) for r in range(REPLICATIONS)]
    return base, more, pairs


def before(series: Any, t: float) -> tuple[np.ndarray, np.ndarray]:
    keep = series.times < t
    return series.times[keep], series.values[keep]


def test_more_assore_places_lower_the_assore_waiting_list(assore_pairs: Any) -> None:
    base, _, pairs = assore_pairs
    change, horizon = base.day(CHANGE), base.horizon
    differences = []
    for base_run, more_run in pairs:
        # per replication: identical up to the change (common random numbers, causality)
        for series_name in base_run.series:
            b_times, b_values = before(base_run.series[series_name], change)
            m_times, m_values = before(more_run.series[series_name], change)
            assert np.array_equal(b_times, m_times), series_name
            assert np.array_equal(b_values, m_values), series_name
        # ... and at the change the list shrinks by the places added (capacity first)
        waiting = float(base_run.series["waiting.assore"].at(change))
        taken = min(EXTRA, waiting)
        assert more_run.series["waiting.assore"].at(change) == waiting - taken
        occupancy = base_run.series["occupancy.assore"].at(change)
        assert more_run.series["occupancy.assore"].at(change) == occupancy + taken
        differences.append(
            more_run.series["waiting.assore"].mean(change, horizon)
            - base_run.series["waiting.assore"].mean(change, horizon)
        )
    d = np.asarray(differences)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    assert (d <= 0.0).all(), d  # never raises it, replication by replication
    assert d.mean() + half < 0.0, (d.mean(), half, d)
    waiting_before = np.mean([b.series["waiting.assore"].mean(change, horizon) for b, _ in pairs])
    assert waiting_before > 0.0, "the relation needs a waiting list to shrink"


def test_unlimited_assore_places_leave_nobody_waiting(assore_pairs: Any) -> None:
    """The extreme case, per replication: with places for everyone from the change on, the
    ASSORE list is empty from then on, at most the base list."""
    base, _, pairs = assore_pairs
    change, horizon = base.day(CHANGE), base.horizon
    unlimited = validate_data(with_more_places(pathway_raw(), "assore", 1e6, CHANGE))
    for replication in range(2):
        record = run_once(unlimited, replication, SEED)
        assert record.series["waiting.assore"].maximum(change, horizon) == 0.0
        base_run = pairs[replication][0]
        assert record.series["waiting.assore"].mean(change, horizon) <= base_run.series[
            "waiting.assore"
        ].mean(change, horizon)


def test_changing_a_capacity_leaves_the_street_arrivals_identical(assore_pairs: Any) -> None:
    base, _, pairs = assore_pairs
    other = validate_data(with_more_places(pathway_raw(), "phase", -10, dt.date(2020, 6, 1)))
    runs = [*pairs, (pairs[0][0], run_once(other, 0, SEED))]
    for base_run, changed in runs:
        for column in base_run.people:  # creation times and attributes, byte for byte
            a, b = np.asarray(base_run.people[column]), np.asarray(changed.people[column])
            assert a.dtype == b.dtype, column
            assert a.tobytes() == b.tobytes(), column
        created = np.asarray(base_run.people["created"], dtype=float)
        assert np.sum(created > 0) > 50  # there are arrivals to compare
        # the first street episode of each arrival begins at its creation
        for record in (base_run, changed):
            first: dict[int, float] = {}
            for person, node, entry in zip(
                record.episodes["person"],
                record.episodes["node"],
                record.episodes["entry"],
                strict=True,
            ):
                if created[person] > 0 and node == base.street_id:
                    first.setdefault(person, entry)
            arrivals = np.flatnonzero(created > 0)
            assert np.array_equal([first[p] for p in arrivals], created[arrivals])
    base_phase, other_phase = (r.series["occupancy.phase"] for r in runs[-1])
    assert not np.array_equal(base_phase.values, other_phase.values), "the change had an effect"


def test_no_arrivals_and_nobody_at_the_start_use_nothing() -> None:
    raw = pathway_raw()
    for node in raw["nodes"].values():
        if node["kind"] == "street":
            node["arrivals_per_year"] = 0.0
            node["initial"] = {"count": 0}
            if "transient" in node:
                node["transient"]["arrivals_per_year"] = 0.0
        elif node["kind"] in ("accommodation", "downstream") and "initial" in node:
            node["initial"] = {"occupancy": 0, "waiting": 0}
    scenario = validate_data(raw)
    for replication in range(2):
        record = run_once(scenario, replication, SEED)
        assert record.people["person"] == []
        assert all(len(column) == 0 for column in record.episodes.values())
        for series_name, series in record.series.items():
            if not series_name.startswith("capacity."):
                assert np.all(series.values == 0.0), series_name
        assert record.deadlocks == []

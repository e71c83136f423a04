"""Transient street users and rest-space visits recorded by person (fixed seeds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from sim.engine.model import run_once
from sim.inputs.loading import validate_data
from sim.running.metrics import episodes_frame, observe
from tests.builders import START, name

DAYS = 730


def _data(reach: float, transients: float = 3650.0, visits_per_week: float = 3.5) -> dict[str, Any]:
    window = {"from": START + dt.timedelta(days=365), "to": START + dt.timedelta(days=729)}
    return {
        "name": "street-population",
        "start": START,
        "end": START + dt.timedelta(days=DAYS),
        "attributes": {"female": {"probability": 0.1}},
        "nodes": {
            "street": {
                "kind": "street",
                "name": name("street"),
                "arrivals_per_year": 0.0,
                "transient": {"arrivals_per_year": transients, "stay_days": 20.0},
                "exit_routing": {"gone": 1.0},
            },
            "rest": {
                "kind": "rest_space",
                "name": name("rest"),
                "places": 1000,
                "active_list": 0,
                "visits_per_person_per_week": visits_per_week,
                "visits_per_place_per_day": 1.0,
                "referral_probability_per_visit": 0.0,
                "routing": {"hotel": 1.0},
                "reach": reach,
            },
            "hotel": {
                "kind": "accommodation",
                "name": name("hotel"),
                "capacity": 1,
                "readiness": {"dist": "exponential", "mean": 30},
                "routing": {"gone": 1.0},
            },
            "gone": {"kind": "exit", "name": name("gone"), "positive": False},
        },
        "observations": {
            "stock": {"metric": "mean", "series": "street", **window},
            "visits": {"metric": "visits", "node": "rest", **window},
            "visits_per_day": {"metric": "visits_per_day", "node": "rest", **window},
            "visitors": {"metric": "visitors", "node": "rest", **window},
            "women": {"metric": "visitors", "node": "rest", "attribute": "female", **window},
        },
    }


def _observed(data: dict[str, Any], seed: int = 3) -> dict[str, float]:
    sc = validate_data(data)
    record = run_once(sc, 0, seed)
    ep = episodes_frame(record)
    return {k: observe(sc, record, ep, obs) for k, obs in sc.observations.items()}


def test_transient_stock_follows_littles_law_and_visits_are_counted_by_person() -> None:
    got = _observed(_data(reach=1.0))
    # stock = arrivals x stay = 10 a day x 20 days = 200
    assert got["stock"] == pytest.approx(200.0, rel=0.1)
    # each user visits 0.5 a day: visits a day = 0.5 x stock
    assert got["visits_per_day"] == pytest.approx(0.5 * got["stock"], rel=0.1)
    assert got["visits"] == pytest.approx(got["visits_per_day"] * 365, rel=1e-9)
    # distinct visitors: people on the street in the year who visit at least once; a stay of
    # 20 days at 0.5 visits a day is visited with probability 10 / 11
    entered = 10 * 365 + 200
    assert got["visitors"] == pytest.approx(entered * 10 / 11, rel=0.1)
    assert got["women"] == pytest.approx(0.1 * got["visitors"], rel=0.2)


def test_reach_thins_the_visitors() -> None:
    full, part = _observed(_data(reach=1.0)), _observed(_data(reach=0.25))
    assert part["visitors"] == pytest.approx(0.25 * full["visitors"], rel=0.15)
    assert part["visits"] < 0.35 * full["visits"]


def test_place_cap_limits_the_visits() -> None:
    data = _data(reach=1.0)
    data["nodes"]["rest"]["places"] = 20
    got = _observed(data)
    assert got["visits_per_day"] <= 20.0
    assert got["visits_per_day"] > 19.0


def test_visits_need_a_reach() -> None:
    from sim.inputs.loading import ScenarioError

    data = _data(reach=1.0)
    del data["nodes"]["rest"]["reach"]
    with pytest.raises(ScenarioError, match="reach"):
        validate_data(data)


def test_same_seed_same_visits() -> None:
    sc = validate_data(_data(reach=0.5))
    a, b = run_once(sc, 0, 11), run_once(sc, 0, 11)
    assert np.array_equal(a.visits["rest"][1], b.visits["rest"][1])


def test_an_observations_only_run_keeps_visits_only_on_the_days_they_read() -> None:
    """Visits are recorded by person every day; a run for its observations keeps those of the
    observations' windows only (memory flat in the horizon), with the same figures."""
    from pathlib import Path

    from sim.inputs.loading import load_scenario
    from sim.running.metrics import observation_filter, observations

    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "history-2019-2023.yaml")
    names = ["T6_chapelle_visits_2023", "T5_chapelle_visitors_2023"]
    keep = observation_filter(sc, names)
    kept = run_once(sc, 0, 3, keep)
    whole = run_once(sc, 0, 3)
    days = kept.visits["chapelle"][0]
    assert len(days) > 0
    assert keep.since["chapelle"] <= days.min() <= days.max() <= keep.until["chapelle"]
    assert len(days) < len(whole.visits["chapelle"][0]) / 2  # 10 of 54 months
    chosen = {n: sc.observations[n] for n in names}
    assert observations(sc, kept, chosen) == observations(sc, whole, chosen)


def test_transient_exit_hazards_compete_with_moving_on() -> None:
    """Stays of 20 days and a death hazard of 0.1 a day: a transient user leaves at
    0.05 + 0.1 a day, so 2 exits in 3 are deaths and the mean time on the street is 6.7 days
    (fixed seed, about 3,650 exits; binomial sd of the share 0.008)."""
    data = _data(reach=0.0)
    data["nodes"]["dead"] = {"kind": "exit", "name": name("dead"), "positive": False}
    data["nodes"]["street"]["transient"]["exit_hazards_per_year"] = {"dead": 0.1 * 365.25}
    sc = validate_data(data)
    episodes = episodes_frame(run_once(sc, 0, 5)).query("node == 'street'").dropna(subset=["exit"])
    deaths = float((episodes["outcome"] == "dead").mean())
    assert deaths == pytest.approx(2 / 3, abs=0.03)
    stay = float((episodes["exit"] - episodes["entry"]).mean())
    assert stay == pytest.approx(1 / 0.15, rel=0.06)


def test_an_exit_hazard_names_an_exit_node() -> None:
    from sim.inputs.loading import ScenarioError

    data = _data(reach=0.0)
    data["nodes"]["street"]["transient"]["exit_hazards_per_year"] = {"hotel": 1.0}
    with pytest.raises(ScenarioError, match=r"exit_hazards_per_year\.hotel: cannot route to"):
        validate_data(data)

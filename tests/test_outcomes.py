"""Outcomes by kind: exits into each exit node per year, per 100 person-years in each place,
and the observations that count them over a window (deaths per year)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from sim.engine.model import run_once
from sim.inputs.loading import validate_data
from sim.inputs.scenario import Scenario
from sim.running import catalogue
from sim.running.metrics import observation_filter, observations, replication_kpis
from tests.builders import START, name

DAYS = 3 * 365
STREET_DEATH_RATE = 0.5 * 0.2  # exit hazard per year x death share: 10 per 100 person-years
HOTEL_DEATH_RATE = 0.4 * 0.25  # 10 per 100 person-years


def _scenario() -> Scenario:
    window = {"from": START + dt.timedelta(days=365), "to": START + dt.timedelta(days=729)}
    return validate_data(
        {
            "name": "outcomes",
            "start": START,
            "end": START + dt.timedelta(days=DAYS),
            "nodes": {
                "street": {
                    "kind": "street",
                    "name": name("street"),
                    "initial": {"count": 300},
                    "arrivals_per_year": 100,
                    "exit_rate_per_year": 0.5,
                    "exit_routing": {"death": 0.2, "gone": 0.8},
                },
                "patrol": {
                    "kind": "outreach",
                    "name": name("patrol"),
                    "contacts_per_week": 20,
                    "referral_probability": 0.5,
                    "routing": {"hotel": 1.0},
                },
                "hotel": {
                    "kind": "accommodation",
                    "name": name("hotel"),
                    "capacity": 60,
                    "readiness": {"dist": "exponential", "mean": 200},
                    "negative_exit_rate_per_year": 0.4,
                    "negative_routing": {"death": 0.25, "back": 0.75},
                    "routing": {"housed": 1.0},
                },
                "death": {"kind": "exit", "name": name("death"), "positive": False},
                "gone": {"kind": "exit", "name": name("gone"), "positive": False},
                "back": {
                    "kind": "exit",
                    "name": name("back"),
                    "positive": False,
                    "return_to_street": {"probability": 1.0},
                },
                "housed": {"kind": "exit", "name": name("housed"), "positive": True},
            },
            "observations": {
                "deaths_year_2": {"metric": "entries", "node": "death", **window},
                "hotel_death_rate_year_2": {
                    "metric": "exits_per_100_person_years",
                    "node": "hotel",
                    "outcome": "death",
                    **window,
                },
                "street_exit_rate_year_2": {
                    "metric": "exits_per_100_person_years",
                    "node": "street",
                    **window,
                },
            },
        }
    )


def test_the_catalogue_lists_each_exit_and_the_places_that_lead_to_it() -> None:
    sc = _scenario()
    assert catalogue.outcome_routes(sc) == {
        "street": ["death", "gone"],
        "hotel": ["death", "back", "housed"],
    }
    names = catalogue.names(sc)
    assert "outcome.death.per_year" in names
    assert "outcome.death.hotel.per_100_person_years" in names
    assert "outcome.housed.street.per_100_person_years" not in names


def test_counts_and_rates_add_up_to_the_episodes() -> None:
    sc = _scenario()
    record = run_once(sc, 0, 3)
    kpis = replication_kpis(sc, record)
    ep = record.episodes
    outcome = np.asarray(ep.column("outcome"))
    node = np.asarray(ep.column("node"))
    done = ep.exit < record.horizon
    years = record.horizon / 365.25
    deaths = int(np.count_nonzero(done & (outcome == "death")))
    assert deaths > 20
    assert math.isclose(kpis["outcome.death.per_year"] * years, deaths)
    by_place = 0.0
    for place, series in (("street", "street"), ("hotel", "occupancy.hotel")):
        person_years = record.series[series].integral(0.0, record.horizon) / 365.25
        rate = kpis[f"outcome.death.{place}.per_100_person_years"]
        here = int(np.count_nonzero(done & (outcome == "death") & (node == place)))
        assert math.isclose(rate * person_years / 100.0, here)
        by_place += here
    assert by_place == deaths


def test_an_exit_node_observation_counts_arrivals_from_anywhere_in_its_window() -> None:
    sc = _scenario()
    record = run_once(sc, 0, 3)
    ep = record.episodes
    outcome = np.asarray(ep.column("outcome"))
    inside = (ep.exit >= 365.0) & (ep.exit < 730.0)
    values = observations(sc, record)
    assert values["deaths_year_2"] == np.count_nonzero(inside & (outcome == "death"))
    hotel = np.asarray(ep.column("node")) == "hotel"
    person_years = record.series["occupancy.hotel"].integral(365.0, 730.0) / 365.25
    expected = 100.0 * np.count_nonzero(inside & hotel & (outcome == "death")) / person_years
    assert math.isclose(values["hotel_death_rate_year_2"], expected)


def test_observations_read_only_what_their_filter_keeps() -> None:
    """Run for the observations alone (as a calibration does): the same values."""
    sc = _scenario()
    names = list(sc.observations)
    full = observations(sc, run_once(sc, 1, 5), names)
    kept = observations(sc, run_once(sc, 1, 5, keep=observation_filter(sc, names)), names)
    assert full == kept


def test_rates_match_the_hazards_they_come_from() -> None:
    """Pooled over replications, deaths per 100 person-years on the street and in the hotel
    estimate the hazards x death shares of the scenario (10 per 100 person-years each), within
    four Poisson standard errors."""
    sc = _scenario()
    totals = {"street": [0, 0.0], "hotel": [0, 0.0]}
    for replication in range(6):
        record = run_once(sc, replication, 11)
        ep = record.episodes
        outcome = np.asarray(ep.column("outcome"))
        node = np.asarray(ep.column("node"))
        for place, series in (("street", "street"), ("hotel", "occupancy.hotel")):
            totals[place][0] += int(np.count_nonzero((outcome == "death") & (node == place)))
            totals[place][1] += record.series[series].integral(0.0, record.horizon) / 365.25
    for place, expected in (("street", STREET_DEATH_RATE), ("hotel", HOTEL_DEATH_RATE)):
        deaths, person_years = totals[place]
        rate = deaths / person_years
        assert abs(rate - expected) < 4.0 * math.sqrt(deaths) / person_years, place

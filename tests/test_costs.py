"""Costs by node and by funder, and spending over a window, checked by hand on a small pathway."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.inputs.loading import validate_data
from sim.inputs.scenario import DAYS_PER_YEAR, FUNDERS, is_costed
from sim.running import catalogue
from sim.running.runner import run
from tests.builders import START, name
from tests.conftest import SCENARIOS

FOREVER = {"dist": "fixed", "value": 10_000}  # nobody leaves during the run


def _spending(**fields: Any) -> dict[str, Any]:
    return {
        "metric": "spending",
        "from": START + dt.timedelta(days=100),
        "to": START + dt.timedelta(days=199),  # 100 days, the last one included
        **fields,
    }


def costed_data() -> dict[str, Any]:
    """A patrol, a rest space, a hotel, a flat and a supported move, each paid by its funders.

    Nothing moves but the three residents of ``move``, ready on day 50, who pass into
    ``support`` (a cost per admission) at once."""
    return {
        "name": "costs",
        "start": START,
        "end": START + dt.timedelta(days=400),
        "warmup": 35.0,
        "nodes": {
            "street": {"kind": "street", "name": name("street"), "arrivals_per_year": 0},
            "patrol": {
                "kind": "outreach",
                "name": name("patrol"),
                "contacts_per_week": 0,
                "referral_probability": 0,
                "routing": {"hotel": 1.0},
                "cost_per_year": 100_000,
                "funder": {"ars": 0.5, "city": 0.5},
            },
            "rest": {
                "kind": "rest_space",
                "name": name("rest"),
                "places": 20,
                "active_list": 0,
                "visits_per_person_per_week": 1,
                "visits_per_place_per_day": 1,
                "referral_probability_per_visit": 0,
                "routing": {"hotel": 1.0},
                "cost_per_place_day": 10,
                "funder": "city",
            },
            "hotel": {
                "kind": "accommodation",
                "name": name("hotel"),
                "capacity": 10,
                "initial": {"occupancy": 6},
                "readiness": FOREVER,
                "routing": {"flat": 1.0},
                "cost_per_place_day": 50,
                "funder": "drihl",
                "existing_places": 4,
            },
            "move": {
                "kind": "accommodation",
                "name": name("move"),
                "capacity": 3,
                "initial": {"occupancy": 3},
                "readiness": {"dist": "fixed", "value": 50},
                "routing": {"support": 1.0},
            },
            "flat": {
                "kind": "downstream",
                "name": name("flat"),
                "capacity": 5,
                "initial": {"occupancy": 3},
                "stay": FOREVER,
                "routing": {"done": 1.0},
                "cost_per_place_day": 100,
                "funder": "assurance_maladie",
            },
            "support": {
                "kind": "downstream",
                "name": name("support"),
                "capacity": 3,
                "stay": FOREVER,
                "routing": {"done": 1.0},
                "cost_per_entry": 1_000,
                "funder": "drihl",
            },
            "done": {"kind": "exit", "name": name("done"), "positive": True},
        },
        "observations": {
            "all": _spending(),
            "hotel_new": _spending(node="hotel", new_places_only=True),
            "city": _spending(funder="city"),
            "state_and_city": _spending(
                nodes=["hotel", "rest", "patrol"], funder=["drihl", "city"]
            ),
            "support_early": _spending(node="support", **{"from": START, "to": START}),
            "support_first_days": _spending(
                node="support", **{"from": START, "to": START + dt.timedelta(days=99)}
            ),
        },
    }


@pytest.fixture(scope="module")
def costed() -> dict[str, float]:
    return dict(run(validate_data(costed_data()), 1, seed=3).kpis.iloc[0])


def test_spending_over_a_window_is_the_hand_computed_sum(costed: dict[str, float]) -> None:
    days = 100
    patrol = 100_000 * days / DAYS_PER_YEAR
    rest, hotel, flat = 20 * 10 * days, 10 * 50 * days, 5 * 100 * days
    # the three moves happen on day 50: outside the window
    assert costed["obs.all"] == pytest.approx(patrol + rest + hotel + flat)
    # the 4 places that existed before are left out: 6 x 50 EUR a day
    assert costed["obs.hotel_new"] == pytest.approx(6 * 50 * days)
    # the City pays half the patrol and the whole rest space
    assert costed["obs.city"] == pytest.approx(patrol / 2 + rest)
    assert costed["obs.state_and_city"] == pytest.approx(hotel + rest + patrol / 2)
    # a cost per admission is counted on the day of the admission
    assert costed["obs.support_early"] == 0.0
    assert costed["obs.support_first_days"] == pytest.approx(3 * 1_000)


def test_costs_by_funder_sum_to_the_total(costed: dict[str, float]) -> None:
    years = (400 - 35) / DAYS_PER_YEAR
    by_funder = {f: costed[f"cost.by_funder.{f}.per_year"] for f in ("drihl", "ars", "city")}
    by_funder["assurance_maladie"] = costed["cost.by_funder.assurance_maladie.per_year"]
    assert sum(by_funder.values()) == pytest.approx(costed["cost.total.per_year"])
    assert by_funder["drihl"] == pytest.approx(10 * 50 * DAYS_PER_YEAR + 3 * 1_000 / years)
    assert by_funder["ars"] == pytest.approx(50_000)
    assert by_funder["city"] == pytest.approx(50_000 + 20 * 10 * DAYS_PER_YEAR)
    assert by_funder["assurance_maladie"] == pytest.approx(5 * 100 * DAYS_PER_YEAR)
    assert "cost.by_funder.mildeca.per_year" not in costed  # no node names it
    # a cost per admission is in the node's cost and the total, not in the cost of places
    assert costed["cost.support.per_year"] == pytest.approx(3 * 1_000 / years)
    assert costed["cost.places.per_year"] == pytest.approx((10 * 50 + 5 * 100) * DAYS_PER_YEAR)


def test_a_cost_without_a_funder_is_counted_as_unspecified() -> None:
    data = costed_data()
    del data["nodes"]["rest"]["funder"]
    kpis = dict(run(validate_data(data), 1, seed=3).kpis.iloc[0])
    assert kpis["cost.by_funder.unspecified.per_year"] == pytest.approx(20 * 10 * DAYS_PER_YEAR)
    assert kpis["cost.by_funder.city.per_year"] == pytest.approx(50_000)
    total = sum(v for k, v in kpis.items() if k.startswith("cost.by_funder."))
    assert total == pytest.approx(kpis["cost.total.per_year"])


def test_spending_observations_read_only_what_they_need() -> None:
    """A calibration keeps only what its observations read: spending still comes out right."""
    from sim.engine.model import run_once
    from sim.running.metrics import observation_filter, observations

    sc = validate_data(costed_data())
    full = observations(sc, run_once(sc, 0, 3))
    kept = observations(sc, run_once(sc, 0, 3, keep=observation_filter(sc, sc.observations)))
    assert kept == pytest.approx(full)


def test_every_costed_node_of_the_shipped_scenarios_names_its_funder() -> None:
    from sim.inputs.loading import load_scenario

    for path in sorted(SCENARIOS.glob("*.yaml")):
        sc = load_scenario(path)
        for node_id, node in sc.nodes.items():
            if is_costed(node):
                assert getattr(node, "funder", None) is not None, f"{path.name}: {node_id}"
        assert set(catalogue.funders(sc)) <= set(FUNDERS), path.name


def test_every_downstream_place_of_the_reference_is_costed() -> None:
    """Housing, cure and out-of-region care cost something now (they cost nothing before)."""
    from sim.inputs.loading import load_scenario
    from sim.inputs.scenario import AccommodationNode, DownstreamNode, OutreachNode, RestSpaceNode

    sc = load_scenario(SCENARIOS / "etape2-610.yaml")
    kinds = (AccommodationNode, DownstreamNode, OutreachNode, RestSpaceNode)
    uncosted = [k for k, n in sc.nodes_of(*kinds).items() if not is_costed(n)]
    assert uncosted == []


def test_a_comparison_pairs_the_cost_of_each_funder(tmp_path: Path) -> None:
    """Moving places from the State's hotels to a health-insurance flat: the paired
    differences by funder say who pays, in the comparison table, its csv and its xlsx."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from sim.analysis.compare import compare
    from sim.outputs.comparison import write_comparison

    reference = validate_data(costed_data())
    data = costed_data()
    data["name"] = "swap"
    data["nodes"]["hotel"]["capacity"] = 8  # 2 hotel places fewer (6 residents: nobody moves)
    data["nodes"]["flat"]["capacity"] = 6  # 1 flat place more
    comp = compare([reference, validate_data(data)], replications=2, seed=4)
    rows = comp.table[comp.table["scenario"] == "swap"].set_index("kpi")
    assert rows.loc["cost.by_funder.drihl.per_year", "diff"] == pytest.approx(
        -2 * 50 * DAYS_PER_YEAR
    )
    assert rows.loc["cost.by_funder.assurance_maladie.per_year", "diff"] == pytest.approx(
        100 * DAYS_PER_YEAR
    )
    assert rows.loc["cost.by_funder.city.per_year", "diff"] == pytest.approx(0.0)
    out = write_comparison(comp, tmp_path / "cmp")
    csv = pd.read_csv(out / "comparison.csv")
    assert "cost.by_funder.drihl.per_year" in set(csv["kpi"])
    label = "Cost per year paid by: State, DRIHL (Prif) (EUR)"
    assert label in set(csv["label_en"])
    sheet = load_workbook(out / "comparison.xlsx")["All KPIs"]
    kpis = {sheet.cell(r, 2).value for r in range(1, sheet.max_row + 1)}
    assert "cost.by_funder.assurance_maladie.per_year" in kpis


def test_a_place_paid_on_occupancy_costs_its_residents_days() -> None:
    data = costed_data()
    data["nodes"]["hotel"]["cost_basis"] = "occupancy"  # 6 residents in 10 places, all run long
    kpis = dict(run(validate_data(data), 1, seed=3).kpis.iloc[0])
    assert kpis["cost.hotel.per_year"] == pytest.approx(6 * 50 * DAYS_PER_YEAR)
    assert kpis["cost.by_funder.drihl.per_year"] == pytest.approx(
        6 * 50 * DAYS_PER_YEAR + 3 * 1_000 / ((400 - 35) / DAYS_PER_YEAR)
    )

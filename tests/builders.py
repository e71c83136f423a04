"""Small scenarios built in code for verification tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sim.inputs.loading import validate_data
from sim.inputs.scenario import Scenario

START = dt.date(2000, 1, 1)


def name(label: str) -> dict[str, str]:
    return {"fr": label, "en": label}


def queue_data(
    arrivals_per_day: float,
    capacity: float,
    stay: dict[str, Any],
    days: int,
    warmup: float = 0.0,
) -> dict[str, Any]:
    """One accommodation node fed by Poisson arrivals referred on arrival: a G/G/c queue."""
    return {
        "name": "queue",
        "start": START,
        "end": START + dt.timedelta(days=days),
        "warmup": float(warmup),
        "nodes": {
            "street": {
                "kind": "street",
                "name": name("arrivals"),
                "arrivals_per_year": arrivals_per_day * 365.25,
                "referred_on_arrival": 1.0,
                "arrival_routing": {"queue": 1.0},
            },
            "queue": {
                "kind": "accommodation",
                "name": name("queue"),
                "capacity": capacity,
                "readiness": stay,
                "routing": {"done": 1.0},
            },
            "done": {"kind": "exit", "name": name("done"), "positive": True},
        },
    }


def queue(
    arrivals_per_day: float,
    capacity: float,
    stay: dict[str, Any],
    days: int,
    warmup: float = 0.0,
) -> Scenario:
    return validate_data(queue_data(arrivals_per_day, capacity, stay, days, warmup))

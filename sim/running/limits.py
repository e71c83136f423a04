"""Plausibility limits checked before running: a typo (``count: 100000000000``,
``-n 10000000``, ``end: 9999-12-31``) fails at once with the figure and how to go past the
limit, instead of filling the memory or running for days.

The estimates are deliberately rough (orders of magnitude): about 10 events per person, a
time series row per simulated day and node, measured on ``scenarios/etape2-610.yaml``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from sim.inputs.scenario import DAYS_PER_YEAR, Scenario, Schedule

SECONDS_PER_PERSON = 2e-4
"""Wall time of one simulated person on one core (etape2-610: about 1.2e-4 s, doubled)."""
BYTES_PER_DAY = 400
"""Memory of one simulated day of time series (all nodes) in one replication."""
BYTES_PER_PERSON = 300
"""Memory of one simulated person's episodes in one replication."""


@dataclasses.dataclass(frozen=True)
class Limit:
    """One plausibility limit: its name (for ``--limit NAME=VALUE``), largest value, unit."""

    name: str
    maximum: float
    unit: str
    what: str


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("people", 2_000_000, "people", "people per replication (initial + arrivals)"),
        Limit("capacity", 100_000, "places", "places in one node"),
        Limit(
            "replications",
            100_000,
            "runs",
            "runs of one scenario (replications x draws, points or evaluations)",
        ),
        Limit("years", 100, "years", "simulated years"),
        Limit("memory", 8, "GB", "estimated memory of the results"),
        Limit("hours", 12, "hours", "estimated run time"),
    )
}


class LimitError(ValueError):
    """A figure above its plausibility limit; the message says how to go past it."""


def parse_limit(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` of ``--limit`` (raises :class:`ValueError` with one line)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or name not in LIMITS:
        raise ValueError(f"'{text}': expected NAME=VALUE with NAME one of {', '.join(LIMITS)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{text}': {value.strip()!r} is not a number") from None
    if not number > 0:
        raise ValueError(f"'{text}': a limit must be positive")
    return name, number


def _peak(schedule: Schedule | None) -> float:
    if schedule is None:
        return 0.0
    if isinstance(schedule, list):
        return max(step.value for step in schedule)
    return float(schedule)


def people(scenario: Scenario) -> float:
    """An upper estimate of the people one replication simulates: those present at the start
    and the arrivals at the highest rate over the whole run."""
    years = scenario.horizon / DAYS_PER_YEAR
    total = 0.0
    for node in scenario.nodes.values():
        initial = getattr(node, "initial", None)
        total += float(getattr(initial, "count", 0) or 0)
        total += float(getattr(initial, "occupancy", 0) or 0)
        total += float(getattr(initial, "waiting", 0) or 0)
        total += _peak(getattr(node, "arrivals_per_year", None)) * years
    return total


def figures(
    scenario: Scenario, replications: int, workers: int = 1, kept: int | None = None
) -> dict[str, float]:
    """The figure each limit is checked against; ``kept`` replications' results are held in
    memory at once (all of them unless said: a calibration keeps one per worker)."""
    crowd = people(scenario)
    capacities = [
        _peak(getattr(node, name, None))
        for node in scenario.nodes.values()
        for name in ("capacity", "places")
    ]
    held = replications if kept is None else min(kept, replications)
    memory = held * (scenario.horizon * BYTES_PER_DAY + crowd * BYTES_PER_PERSON)
    seconds = replications * crowd * SECONDS_PER_PERSON / max(1, workers)
    return {  # the plainest figures first: they name the typo
        "replications": float(replications),
        "years": scenario.horizon / DAYS_PER_YEAR,
        "capacity": max(capacities, default=0.0),
        "people": crowd,
        "memory": memory / 1e9,
        "hours": seconds / 3600,
    }


def check(
    scenarios: Iterable[Scenario],
    replications: int,
    workers: int = 1,
    raised: dict[str, float] | None = None,
    kept: int | None = None,
) -> None:
    """Raise :class:`LimitError` for the first figure above its limit (``raised`` overrides
    some limits, e.g. from ``--limit people=5e6``; ``kept`` as in :func:`figures`)."""
    maxima = {name: limit.maximum for name, limit in LIMITS.items()} | (raised or {})
    for scenario in scenarios:
        for name, value in figures(scenario, replications, workers, kept).items():
            if value > maxima[name] and math.isfinite(maxima[name]):
                limit = LIMITS[name]
                raise LimitError(
                    f"{scenario.name}: {limit.what}: {_number(value)} {limit.unit}, above the "
                    f"limit of {_number(maxima[name])} {limit.unit}; to run it anyway add "
                    f"--limit {name}={_number(value * 1.01, plain=True)} or --no-limits"
                )


def _number(value: float, plain: bool = False) -> str:
    if plain:
        return f"{value:.3g}"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"

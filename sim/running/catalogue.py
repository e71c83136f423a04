"""The KPI catalogue: every KPI a replication can give, once.

Each :class:`Kpi` has a name pattern (``waiting.{node}.mean``), a unit (``share``, ``euro`` or
``number``), the translation key of its label (:mod:`sim.outputs.i18n`; the comparison tables
use ``table.<key>`` where it exists) and the family of measures that computes it
(:mod:`sim.running.metrics`; ``derived``: a column a comparison adds from the others).
:func:`names` lists the KPIs of a scenario in the order of the KPI tables, without simulating
anything; tables, charts, translations, sweeps and ``--kpi`` validation read them here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Literal

from sim.inputs.scenario import (
    FUNDERS,
    UNSPECIFIED,
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
    StreetNode,
    funder_shares,
    is_costed,
)

Unit = Literal["share", "euro", "number"]
Family = tuple[str, ...]
"""What computes a KPI: ``("node", id)``, ``("obs", name)``, ``("group", attribute)``, ..."""

SHARE_METRICS = frozenset({"positive_share", "share_stay_over", "share_street_time_over"})
"""Observation metrics whose values are shares."""
EURO_METRICS = frozenset({"spending"})
"""Observation metrics whose values are euros."""


@dataclasses.dataclass(frozen=True)
class Kpi:
    """One kind of KPI: its name pattern, unit, label key and the family computing it."""

    pattern: str
    unit: Unit
    label: str
    family: str

    @property
    def regex(self) -> re.Pattern[str]:
        """The pattern as a regular expression (a placeholder matches one dotted part, an
        observation's name the rest of the name)."""
        return _regex(self.pattern)


_CACHE: dict[str, re.Pattern[str]] = {}
_FIELDS = {"{observation}": ".+"}  # a column derived from an observation keeps its dots


def _regex(pattern: str) -> re.Pattern[str]:
    found = _CACHE.get(pattern)
    if found is None:
        parts = re.split(r"(\{\w+\})", pattern)
        body = "".join(
            re.escape(p) if not p.startswith("{") else f"(?P<{p[1:-1]}>{_FIELDS.get(p, '[^.]+')})"
            for p in parts
        )
        found = _CACHE[pattern] = re.compile(body)
    return found


CATALOGUE: tuple[Kpi, ...] = (
    Kpi("street.mean", "number", "kpi.street.mean", "street"),
    Kpi("street.end", "number", "kpi.street.end", "street"),
    Kpi("waiting.{node}.mean", "number", "kpi.waiting.mean", "node"),
    Kpi("waiting.{node}.max", "number", "kpi.waiting.max", "node"),
    Kpi("occupancy.{node}.mean", "number", "kpi.occupancy.mean", "node"),
    Kpi("utilisation.{node}", "share", "kpi.utilisation", "node"),
    Kpi("blocked.{node}.mean", "number", "kpi.blocked.mean", "node"),
    Kpi("blocked_days_per_place_year.{node}", "number", "kpi.blocked_days_per_place_year", "node"),
    Kpi("stay.{node}.mean", "number", "kpi.stay.mean", "node"),
    Kpi("stay.{node}.median", "number", "kpi.stay.median", "node"),
    Kpi("entries.{node}.per_month", "number", "kpi.entries.per_month", "node"),
    Kpi("exits.{node}.per_month", "number", "kpi.exits.per_month", "node"),
    Kpi("positive_share.{node}", "share", "kpi.positive_share.node", "node"),
    Kpi("blocked_time.{node}.mean", "number", "kpi.blocked_time.mean", "node"),
    Kpi("cost.{node}.per_year", "euro", "kpi.cost.per_year", "cost"),
    Kpi("housed.mean", "number", "kpi.housed.mean", "housed"),
    Kpi("exits.pathway.per_month", "number", "kpi.exits.pathway.per_month", "pathway"),
    Kpi("exits.positive.per_month", "number", "kpi.exits.positive.per_month", "pathway"),
    Kpi("positive_share", "share", "kpi.positive_share", "pathway"),
    Kpi("contact_to_housing.mean", "number", "kpi.contact_to_housing.mean", "pathway"),
    Kpi("time_to_positive_exit.mean", "number", "kpi.time_to_positive_exit.mean", "pathway"),
    Kpi(
        "street_episodes_per_person.mean",
        "number",
        "kpi.street_episodes_per_person.mean",
        "pathway",
    ),
    Kpi(
        "street_hotel_cycles.per_housed_person",
        "number",
        "kpi.street_hotel_cycles.per_housed_person",
        "cycles",
    ),
    Kpi("outcome.{exit}.per_year", "number", "kpi.outcome.per_year", "outcomes"),
    Kpi(
        "outcome.{exit}.{node}.per_100_person_years",
        "number",
        "kpi.outcome.per_100_person_years",
        "outcomes",
    ),
    Kpi("cost.total.per_year", "euro", "kpi.cost.total.per_year", "costs"),
    Kpi("cost.by_funder.{funder}.per_year", "euro", "kpi.cost.by_funder.per_year", "costs"),
    Kpi("cost.places.per_year", "euro", "kpi.cost.places.per_year", "costs"),
    Kpi("housed.costed_places.mean", "number", "kpi.housed.costed_places.mean", "costs"),
    Kpi("cost.per_person_year_housed", "euro", "kpi.cost.per_person_year_housed", "costs"),
    Kpi("cost.per_positive_exit", "euro", "kpi.cost.per_positive_exit", "costs"),
    Kpi("deadlocks", "number", "kpi.deadlocks", "deadlocks"),
    Kpi("obs.{observation}", "number", "", "obs"),  # unit and label: the observation's
    Kpi("positive_share.{group}", "share", "kpi.positive_share.group", "group"),
    Kpi("exits.{group}.per_month", "number", "kpi.exits.group", "group"),
    # columns a comparison derives from the others (sim.analysis.compare), not in plan()
    Kpi("entries.{node}.per_week", "number", "kpi.entries.per_week", "derived"),
    Kpi("exits.positive.from.{node}.per_month", "number", "kpi.exits.positive.from", "derived"),
)
_BY_PATTERN = {k.pattern: k for k in CATALOGUE}


def plan(scenario: Scenario) -> Iterator[tuple[str, Kpi, Family]]:
    """Every KPI of a replication of ``scenario``, in table order: name, entry, family."""
    sc = scenario
    by = _BY_PATTERN

    def one(pattern: str, family: Family, **fields: str) -> tuple[str, Kpi, Family]:
        return pattern.format(**fields), by[pattern], family

    yield one("street.mean", ("street",))
    yield one("street.end", ("street",))
    for node_id, node in sc.nodes_of(AccommodationNode, DownstreamNode).items():
        release = isinstance(node, DownstreamNode) and node.releases_per_month is not None
        family = ("node", node_id)
        patterns = ["occupancy.{node}.mean"]
        if isinstance(node, AccommodationNode):
            patterns[:0] = ["waiting.{node}.mean", "waiting.{node}.max"]
        if not release:
            patterns += [
                "utilisation.{node}",
                "blocked.{node}.mean",
                "blocked_days_per_place_year.{node}",
            ]
        patterns += [
            "stay.{node}.mean",
            "stay.{node}.median",
            "entries.{node}.per_month",
            "exits.{node}.per_month",
            "positive_share.{node}",
            "blocked_time.{node}.mean",
        ]
        for pattern in patterns:
            yield one(pattern, family, node=node_id)
        if is_costed(node):
            yield one("cost.{node}.per_year", ("cost", node_id), node=node_id)
    for kind in (RestSpaceNode, OutreachNode):
        for node_id, other in sc.nodes_of(kind).items():
            if is_costed(other):
                yield one("cost.{node}.per_year", ("cost", node_id), node=node_id)
    yield one("housed.mean", ("housed",))
    for pattern in (
        "exits.pathway.per_month",
        "exits.positive.per_month",
        "positive_share",
        "contact_to_housing.mean",
        "time_to_positive_exit.mean",
        "street_episodes_per_person.mean",
    ):
        yield one(pattern, ("pathway",))
    yield one("street_hotel_cycles.per_housed_person", ("cycles",))
    for exit_id in sc.nodes_of(ExitNode):
        yield one("outcome.{exit}.per_year", ("outcomes",), exit=exit_id)
    for node_id, exits in outcome_routes(sc).items():
        for exit_id in exits:
            yield one(
                "outcome.{exit}.{node}.per_100_person_years",
                ("outcomes",),
                exit=exit_id,
                node=node_id,
            )
    yield one("cost.total.per_year", ("costs",))
    for funder in funders(sc):
        yield one("cost.by_funder.{funder}.per_year", ("costs",), funder=funder)
    for pattern in (
        "cost.places.per_year",
        "housed.costed_places.mean",
        "cost.per_person_year_housed",
        "cost.per_positive_exit",
    ):
        yield one(pattern, ("costs",))
    yield one("deadlocks", ("deadlocks",))
    for name in sc.observations:
        yield one("obs.{observation}", ("obs", name), observation=name)
    for attribute in sc.attributes:
        for group in (attribute, f"not_{attribute}"):
            yield one("positive_share.{group}", ("group", attribute), group=group)
            yield one("exits.{group}.per_month", ("group", attribute), group=group)


def outcome_routes(scenario: Scenario) -> dict[str, list[str]]:
    """For the street and each place where people spend time, the exits its residents can
    take from there directly (spontaneous, negative or once ready), in file order: the
    outcomes that have a rate per 100 person-years spent there. A release-rate node without
    a stay is left out (nobody spends time in it)."""
    exits = list(scenario.nodes_of(ExitNode))
    routes: dict[str, list[str]] = {}
    for node_id, node in scenario.nodes.items():
        if isinstance(node, StreetNode):
            targets = set(node.exit_routing)
        elif isinstance(node, AccommodationNode | DownstreamNode):
            if isinstance(node, DownstreamNode) and node.capacity is None and node.stay is None:
                continue
            targets = set(node.routing) | set(node.negative_routing)
        else:
            continue
        reached = [e for e in exits if e in targets]
        if reached:
            routes[node_id] = reached
    return routes


def funders(scenario: Scenario) -> list[str]:
    """The funders named by the scenario's costed nodes, in the order of ``FUNDERS``, then
    ``unspecified`` if a costed node names none."""
    named = {
        funder
        for node in scenario.nodes.values()
        if is_costed(node)
        for funder in funder_shares(getattr(node, "funder", None))
    }
    return [f for f in (*FUNDERS, UNSPECIFIED) if f in named]


def names(scenario: Scenario) -> list[str]:
    """The KPI (and ``obs.<name>``) columns a replication of ``scenario`` gives, in order."""
    return [name for name, _, _ in plan(scenario)]


def families(scenario: Scenario, wanted: Iterable[str]) -> dict[str, Family]:
    """The family computing each of ``wanted`` (``KeyError`` naming the first unknown one)."""
    known = {name: family for name, _, family in plan(scenario)}
    return {name: known[name] for name in wanted}


def unknown(scenario: Scenario, wanted: Iterable[str]) -> list[str]:
    """Those of ``wanted`` that no replication of ``scenario`` gives."""
    known = set(names(scenario))
    return [k for k in wanted if k not in known]


def matches(kpi: str) -> Iterator[tuple[Kpi, dict[str, str]]]:
    """The catalogue entries whose pattern a KPI name matches, in catalogue order, with the
    placeholders' values (``exits.pathway.per_month`` matches ``exits.{node}.per_month``
    too: whether ``pathway`` is a node decides)."""
    for entry in CATALOGUE:
        found = entry.regex.fullmatch(kpi)
        if found:
            yield entry, found.groupdict()


def unit(
    kpi: str,
    scenario: Scenario | None = None,
    share_observations: Iterable[str] = (),
) -> Unit:
    """How to show a KPI (or a column derived from one): a share, euros or a number.

    An observation is a share when its metric is (from ``scenario``, or listed in
    ``share_observations``); a derived ``obs.<name>.per_week`` is a number."""
    if kpi.startswith("obs."):
        name = kpi.removeprefix("obs.")
        if name in set(share_observations):
            return "share"
        obs = scenario.observations.get(name) if scenario is not None else None
        if obs is not None and obs.metric in EURO_METRICS:
            return "euro"
        return "share" if obs is not None and obs.metric in SHARE_METRICS else "number"
    if kpi.startswith("cost."):
        return "euro"
    if kpi.startswith(("positive_share", "utilisation")):
        return "share"
    return "number"


def share_observations(scenario: Scenario) -> frozenset[str]:
    """The names of ``scenario``'s observations whose values are shares."""
    return frozenset(n for n, o in scenario.observations.items() if o.metric in SHARE_METRICS)

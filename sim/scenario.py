"""The scenario schema: the pathway as a network of typed nodes, validated and frozen.

Units are written into field names so a planner never has to guess: durations are in days
(``mean`` of a duration spec), hazards ``*_per_year``, outreach ``contacts_per_week``,
common-law housing ``releases_per_month``. Dates are calendar dates; internally the model
counts days from ``start``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from sim.distributions import Duration

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PROBABILITY_TOLERANCE = 1e-6


class Model(BaseModel):
    """Base of every scenario block: frozen, strict, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class DisplayName(Model):
    """A node's name for charts and tables, in French and English."""

    fr: str
    en: str


class Step(Model):
    """One step of a piecewise-constant schedule: ``value`` from ``from`` onwards."""

    start: dt.date = Field(alias="from")
    value: NonNegativeFloat


Schedule = NonNegativeFloat | Annotated[list[Step], Field(min_length=1)]
"""A constant, or steps by date (the first must begin on or before the scenario start)."""


def schedule_steps(schedule: Schedule, start: dt.date) -> list[tuple[float, float]]:
    """Return ``(day, value)`` pairs, days counted from ``start`` (negative before it)."""
    if isinstance(schedule, list):
        return [(float((s.start - start).days), s.value) for s in schedule]
    return [(-math.inf, float(schedule))]


def _check_schedule(schedule: Schedule) -> Schedule:
    if isinstance(schedule, list):
        dates = [s.start for s in schedule]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("schedule dates must be strictly increasing")
    return schedule


Routing = dict[NodeId, Probability]


def _check_routing(routing: Routing | None) -> Routing | None:
    if routing is not None and routing:
        total = sum(routing.values())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise ValueError(f"probabilities must sum to 1 (they sum to {total:.6g})")
    return routing


class Attribute(Model):
    """A person attribute drawn once per person (e.g. sex, court order)."""

    probability: Probability
    label: DisplayName | None = None


class InitialStreet(Model):
    """People on the street at ``start`` and how long they have already been there."""

    count: NonNegativeInt
    elapsed: Duration | None = None


class StreetNode(Model):
    """The unbounded street pool: arrivals, spontaneous exits."""

    kind: Literal["street"]
    name: DisplayName
    initial: InitialStreet = InitialStreet(count=0)
    arrivals_per_year: Schedule
    exit_rate_per_year: NonNegativeFloat = 0.0
    exit_routing: Routing = {}
    referred_on_arrival: Probability = 0.0
    arrival_routing: Routing = {}

    _schedule = field_validator("arrivals_per_year")(_check_schedule)
    _routing = field_validator("exit_routing", "arrival_routing")(_check_routing)

    @model_validator(mode="after")
    def _exits_routed(self) -> StreetNode:
        if self.exit_rate_per_year > 0 and not self.exit_routing:
            raise ValueError("exit_routing is required when exit_rate_per_year > 0")
        if self.referred_on_arrival > 0 and not self.arrival_routing:
            raise ValueError("arrival_routing is required when referred_on_arrival > 0")
        return self


class OutreachNode(Model):
    """Outreach patrols (maraudes): contacts shared over the street population."""

    kind: Literal["outreach"]
    name: DisplayName
    contacts_per_week: Schedule
    max_contacts_per_person_per_week: Annotated[float, Field(gt=0)] = 1.0
    referral_probability: Probability
    routing: Routing
    cost_per_year: NonNegativeFloat | None = None

    _schedule = field_validator("contacts_per_week")(_check_schedule)
    _routing = field_validator("routing")(_check_routing)


class RestSpaceNode(Model):
    """A day rest space: an active list of street users who visit and get referred."""

    kind: Literal["rest_space"]
    name: DisplayName
    places: Schedule
    active_list: NonNegativeInt
    visits_per_person_per_week: Annotated[float, Field(gt=0)]
    visits_per_place_per_day: Annotated[float, Field(gt=0)]
    referral_probability_per_visit: Probability
    routing: Routing
    cost_per_place_day: NonNegativeFloat | None = None

    _schedule = field_validator("places")(_check_schedule)
    _routing = field_validator("routing")(_check_routing)


class InitialResidents(Model):
    """Residents at ``start``, their time already spent in place, and people already waiting."""

    occupancy: NonNegativeInt = 0
    elapsed: Duration | None = None
    waiting: NonNegativeInt = 0


class _CapacityNode(Model):
    name: DisplayName
    capacity: Schedule | None = None
    initial: InitialResidents = InitialResidents()
    eligibility: dict[str, bool] = {}
    priority: list[str] = []
    negative_exit_rate_per_year: NonNegativeFloat = 0.0
    negative_routing: Routing = {}
    routing: Routing = {}
    cost_per_place_day: NonNegativeFloat | None = None

    _schedule = field_validator("capacity")(_check_schedule)
    _routing = field_validator("routing", "negative_routing")(_check_routing)

    @model_validator(mode="after")
    def _negative_routed(self) -> _CapacityNode:
        if self.negative_exit_rate_per_year > 0 and not self.negative_routing:
            raise ValueError("negative_routing is required when negative_exit_rate_per_year > 0")
        return self


class AccommodationNode(_CapacityNode):
    """Supported accommodation (ASSORE, PHASE, UHS...): waiting list, readiness, blocking."""

    kind: Literal["accommodation"]
    capacity: Schedule
    readiness: Duration
    routing: Routing


class DownstreamNode(_CapacityNode):
    """Downstream place: a capacity with a stay, or a release rate for saturated housing."""

    kind: Literal["downstream"]
    stay: Duration | None = None
    releases_per_month: Schedule | None = None

    _releases = field_validator("releases_per_month")(_check_schedule)

    @model_validator(mode="after")
    def _one_mode(self) -> DownstreamNode:
        if (self.capacity is None) == (self.releases_per_month is None):
            raise ValueError(
                "a downstream node needs exactly one of capacity or releases_per_month"
            )
        if self.capacity is not None and self.stay is None:
            raise ValueError("a downstream node with a capacity needs a stay")
        if not self.routing:
            raise ValueError("routing is required (where people go after the stay)")
        if self.releases_per_month is not None and self.initial.occupancy:
            raise ValueError("a release-rate node holds no places: initial.occupancy must be 0")
        return self


class ReturnToStreet(Model):
    """Part of an exit that comes back to the street as a new episode."""

    probability: Probability
    after: Duration | None = None


class ExitNode(Model):
    """An outcome: positive or negative; a negative one may send people back to the street."""

    kind: Literal["exit"]
    name: DisplayName
    positive: bool
    return_to_street: ReturnToStreet | None = None


Node = Annotated[
    StreetNode | OutreachNode | RestSpaceNode | AccommodationNode | DownstreamNode | ExitNode,
    Field(discriminator="kind"),
]
CapacityNode = AccommodationNode | DownstreamNode


class Observation(Model):
    """A windowed measurement, optionally with a target the model should reproduce."""

    metric: Literal[
        "exits",
        "entries",
        "positive_share",
        "share_stay_over",
        "mean_stay",
        "share_street_time_over",
        "mean",
        "at",
    ]
    node: NodeId | None = None
    series: str | None = None
    outcome: str | None = None
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")
    on: dt.date | None = None
    days: NonNegativeFloat | None = None
    target: float | None = None
    tolerance: NonNegativeFloat | None = None
    role: Literal["fit", "validate", "report"] = "report"
    label: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _fields_for_metric(self) -> Observation:
        needs: dict[str, tuple[str, ...]] = {
            "exits": ("node", "start", "end"),
            "entries": ("node", "start", "end"),
            "positive_share": ("node", "start", "end"),
            "mean_stay": ("node", "start", "end"),
            "share_stay_over": ("node", "on", "days"),
            "share_street_time_over": ("node", "on", "days"),
            "mean": ("series", "start", "end"),
            "at": ("series", "on"),
        }
        names = {"start": "from", "end": "to"}
        missing = [names.get(f, f) for f in needs[self.metric] if getattr(self, f) is None]
        if missing:
            raise ValueError(
                f"metric '{self.metric}' needs " + ", ".join(f"'{m}'" for m in missing)
            )
        if self.start and self.end and self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        if self.role in ("fit", "validate") and self.target is None:
            raise ValueError(f"role '{self.role}' needs a target")
        if self.outcome is not None and self.metric not in ("exits", "mean_stay"):
            raise ValueError("'outcome' applies to exits and mean_stay only")
        return self


class Scenario(Model):
    """A resolved, validated scenario: what runs and what is recorded."""

    name: str
    title: DisplayName | None = None
    description: str | None = None
    start: dt.date
    end: dt.date
    warmup: NonNegativeFloat | dt.date = 0.0
    attributes: dict[NodeId, Attribute] = {}
    nodes: dict[NodeId, Node]
    observations: dict[str, Observation] = {}
    calibration: dict[str, Any] | None = None
    on_deadlock: Literal["error", "record"] = "error"

    @model_validator(mode="after")
    def _network(self) -> Scenario:
        problems = network_problems(self)
        if problems:
            raise NetworkError(problems)
        return self

    # --- derived views -------------------------------------------------------------------
    @property
    def horizon(self) -> float:
        """Simulated length in days."""
        return float((self.end - self.start).days)

    @property
    def warmup_days(self) -> float:
        """Warm-up length in days."""
        if isinstance(self.warmup, dt.date):
            return float((self.warmup - self.start).days)
        return float(self.warmup)

    def day(self, date: dt.date) -> float:
        """Days from ``start`` to ``date``."""
        return float((date - self.start).days)

    @property
    def street_id(self) -> str:
        return next(k for k, n in self.nodes.items() if isinstance(n, StreetNode))

    def nodes_of(self, *kinds: type) -> dict[str, Any]:
        """The nodes of the given classes, in file order."""
        return {k: n for k, n in self.nodes.items() if isinstance(n, kinds)}

    def series_names(self) -> list[str]:
        """Names of the time series the model records."""
        names = ["street"]
        for node_id in self.nodes_of(AccommodationNode, DownstreamNode):
            names += [f"{m}.{node_id}" for m in ("occupancy", "waiting", "blocked", "capacity")]
        return names

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the resolved scenario."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


Problem = tuple[tuple[str | int, ...], str]
"""A dotted location inside the scenario and what is wrong there."""


class NetworkError(ValueError):
    """Problems that involve several parts of a scenario (routing targets, dates...)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))


def network_problems(sc: Scenario) -> list[Problem]:
    """Cross-field checks: dates, routing targets and kinds, attributes, observations."""
    problems: list[Problem] = []
    if sc.end <= sc.start:
        problems.append((("end",), "must be after start"))
    if isinstance(sc.warmup, dt.date) and not sc.start <= sc.warmup < sc.end:
        problems.append((("warmup",), "a warm-up date must lie between start and end"))
    streets = [k for k, n in sc.nodes.items() if isinstance(n, StreetNode)]
    if len(streets) != 1:
        problems.append((("nodes",), f"exactly one street node is needed (found {len(streets)})"))
    for node_id, node in sc.nodes.items():
        problems.extend(_node_problems(sc, node_id, node))
    for name, obs in sc.observations.items():
        problems.extend(_observation_problems(sc, name, obs))
    return problems


_SCHEDULES = ("capacity", "arrivals_per_year", "contacts_per_week", "places", "releases_per_month")


def _node_problems(sc: Scenario, node_id: str, node: Any) -> list[Problem]:
    problems: list[Problem] = []
    here = ("nodes", node_id)
    for field in _SCHEDULES:
        sched = getattr(node, field, None)
        if isinstance(sched, list) and sched[0].start > sc.start:
            problems.append(
                (
                    (*here, field, 0, "from"),
                    f"the first step ({sched[0].start}) must begin on or before start ({sc.start})",
                )
            )
    allowed: dict[str, tuple[type, ...]] = {
        "exit_routing": (ExitNode,),
        "arrival_routing": (AccommodationNode, DownstreamNode),
        "routing": (AccommodationNode, DownstreamNode, ExitNode),
        "negative_routing": (ExitNode,),
    }
    if isinstance(node, (OutreachNode, RestSpaceNode)):
        allowed["routing"] = (AccommodationNode, DownstreamNode)
    for field, kinds in allowed.items():
        routing = getattr(node, field, None) or {}
        for target in routing:
            where = (*here, field, target)
            if target not in sc.nodes:
                problems.append((where, f"unknown node '{target}'{_suggest(target, sc.nodes)}"))
            elif target == node_id:
                problems.append((where, "a node cannot route to itself"))
            elif not isinstance(sc.nodes[target], kinds):
                problems.append((where, f"cannot route to a {sc.nodes[target].kind} node here"))
        if routing and all(
            getattr(sc.nodes.get(t), "eligibility", {}) for t in routing if t in sc.nodes
        ):
            problems.append(
                ((*here, field), "at least one target must be open to everyone (no eligibility)")
            )
    for field in ("eligibility", "priority"):
        for attr in getattr(node, field, []):
            if attr not in sc.attributes:
                problems.append(
                    (
                        (*here, field),
                        f"unknown person attribute '{attr}'{_suggest(attr, sc.attributes)}",
                    )
                )
    return problems


def _observation_problems(sc: Scenario, name: str, obs: Observation) -> list[Problem]:
    here = ("observations", name)
    problems: list[Problem] = []
    if obs.node is not None and obs.node not in sc.nodes:
        problems.append(
            ((*here, "node"), f"unknown node '{obs.node}'{_suggest(obs.node, sc.nodes)}")
        )
    series = sc.series_names()
    if obs.series is not None and obs.series not in series:
        problems.append(
            ((*here, "series"), f"unknown series '{obs.series}'{_suggest(obs.series, series)}")
        )
    if obs.outcome not in (None, "positive", "negative") and not isinstance(
        sc.nodes.get(obs.outcome or ""), ExitNode
    ):
        problems.append(((*here, "outcome"), "use positive, negative or an exit node id"))
    for field, label in (("start", "from"), ("end", "to"), ("on", "on")):
        day = getattr(obs, field)
        if day is not None and not sc.start <= day <= sc.end:
            problems.append(((*here, label), f"{day} lies outside the scenario dates"))
    return problems


def _suggest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""

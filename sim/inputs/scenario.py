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
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

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

from sim.inputs.distributions import Duration

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PROBABILITY_TOLERANCE = 1e-6
DAYS_PER_YEAR = 365.25
"""Model time is in days; rates per year or month convert with the mean Julian year."""
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
DEFAULT_SEED = 20190527  # the plan's signature date; any integer works
"""The seed of runs and sweeps when none is given."""


class Model(BaseModel):
    """Base of every scenario block: frozen, strict, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        populate_by_name=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )


class DisplayName(Model):
    """A text in French and English: a node's name, a title, a label."""

    fr: str
    """French name."""
    en: str
    """English name."""


def in_language(text: DisplayName | str | None, lang: str) -> str:
    """A text given in both languages, in ``lang`` (English when ``lang`` is neither); one
    plain text serves both; ``""`` when there is none."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text.strip()
    return str(getattr(text, lang, text.en)).strip()


class Step(Model):
    """One step of a schedule: ``value`` from ``from`` onwards, or, with ``ramp_until``, a
    straight line from the previous step's value on ``from`` to ``value`` on ``ramp_until``."""

    start: dt.date = Field(alias="from")
    """Date from which ``value`` applies (until the next step), or on which the ramp starts."""
    value: NonNegativeFloat
    """The value from that date on, or the value the ramp reaches."""
    ramp_until: dt.date | None = None
    """Date on which a linear ramp from the previous step's value reaches ``value``."""


Schedule = NonNegativeFloat | Annotated[list[Step], Field(min_length=1)]
"""A constant, or steps by date (the first must begin on or before the scenario start)."""

RAMP_STEP_DAYS = 7
"""A ramp runs as steps of this many days, each at the ramp's mean over its days, so that the
ramp's integral (arrivals, visits, places x days) is exact."""


def schedule_steps(schedule: Schedule, start: dt.date) -> list[tuple[float, float]]:
    """Return ``(day, value)`` pairs, days counted from ``start`` (negative before it); a ramp
    becomes steps of :data:`RAMP_STEP_DAYS` days."""
    if not isinstance(schedule, list):
        return [(-math.inf, float(schedule))]
    pairs: list[tuple[float, float]] = []
    for step in schedule:
        day = float((step.start - start).days)
        if step.ramp_until is None or not pairs:
            pairs.append((day, step.value))
            continue
        before, length = pairs[-1][1], float((step.ramp_until - step.start).days)
        for offset in range(0, int(length), RAMP_STEP_DAYS):
            middle = (offset + min(offset + RAMP_STEP_DAYS, length)) / 2.0
            pairs.append((day + offset, before + (step.value - before) * middle / length))
        pairs.append((day + length, step.value))
    return pairs


def _check_schedule(schedule: Schedule) -> Schedule:
    if isinstance(schedule, list):
        dates = [s.start for s in schedule]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("schedule dates must be strictly increasing")
        if schedule[0].ramp_until is not None:
            raise ValueError("the first step cannot ramp: there is no value to ramp from")
        for step, following in zip(schedule, [*dates[1:], None], strict=True):
            if step.ramp_until is None:
                continue
            if step.ramp_until <= step.start:
                raise ValueError(
                    f"ramp_until ({step.ramp_until}) must be after from ({step.start})"
                )
            if following is not None and step.ramp_until >= following:
                raise ValueError(
                    f"ramp_until ({step.ramp_until}) must be before the next step ({following})"
                )
    return schedule


Routing = dict[NodeId, Probability]

FUNDERS = ("drihl", "ars", "city", "mildeca", "assurance_maladie", "other")
"""Who pays, in table order: the State's housing directorate (DRIHL, in the prefecture of
region, Prif), the regional health agency's own credits (ARS), the City of Paris, the
interministerial drug mission (Mildeca), the health insurance's tariffs (Assurance maladie),
anyone else."""
Funder = str | dict[str, float]
"""One funder's id, or shares by funder id (summing to 1)."""


def _check_funder(funder: Funder | None) -> Funder | None:
    if funder is None:
        return None
    shares = {funder: 1.0} if isinstance(funder, str) else funder
    unknown = [f for f in shares if f not in FUNDERS]
    if unknown:
        which = "" if isinstance(funder, str) else f" '{unknown[0]}'"
        raise ValueError(f"unknown funder{which} (use one of: {', '.join(FUNDERS)})")
    if isinstance(funder, dict):
        if not funder:
            raise ValueError("name at least one funder")
        if any(not 0.0 <= v <= 1.0 for v in funder.values()):
            raise ValueError("a funder's share lies between 0 and 1")
        total = math.fsum(funder.values())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE * (1 + 1e-9):
            raise ValueError(f"funder shares must sum to 1 (they sum to {total:.12g})")
    return funder


UNSPECIFIED = "unspecified"
"""Where the cost of a node that names no funder is counted."""


def funder_shares(funder: Funder | None) -> dict[str, float]:
    """A node's funders and the share each pays (all ``unspecified`` when it names none)."""
    if funder is None:
        return {UNSPECIFIED: 1.0}
    return {funder: 1.0} if isinstance(funder, str) else dict(funder)


def _check_routing(routing: Routing | None) -> Routing | None:
    if routing is not None and routing:
        total = math.fsum(routing.values())
        # the same allowance above and below 1: 1 - 1e-6 and 1 + 1e-6 both pass (the slack
        # absorbs the rounding of decimal fractions such as 0.999999)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE * (1 + 1e-9):
            raise ValueError(
                f"probabilities must sum to 1 (they sum to {total:.12g}, off by "
                f"{total - 1.0:+.3g}; allowed: {PROBABILITY_TOLERANCE:g})"
            )
    return routing


class Attribute(Model):
    """A person attribute drawn once per person (e.g. sex, court order)."""

    probability: Probability
    """Probability that a new person has this attribute."""
    label: DisplayName | None = None
    """Name of the subgroup for tables."""


class InitialStreet(Model):
    """People on the street at ``start`` and how long they have already been there."""

    count: NonNegativeInt
    """People on the street at ``start``."""
    elapsed: Duration | None = None
    """Time they have already spent on the street (days)."""


class TransientStreet(Model):
    """A second class of street users who pass through: their own arrivals and a short stay."""

    arrivals_per_year: Schedule
    """Arrivals of transient users per year (Poisson process; a schedule by date)."""
    stay_days: Annotated[float, Field(gt=0)]
    """Mean time a transient user stays on the street (exponential) before moving on by
    ``exit_routing``, unless referred and admitted, or taken by an exit hazard, first."""
    exit_routing: Routing = {}
    """Where transient users go when they move on: probabilities over exit nodes (empty: the
    street's ``exit_routing``)."""
    exit_hazards_per_year: dict[NodeId, NonNegativeFloat] = {}
    """Exits that compete with moving on while a transient user is on the street, as hazards
    per year by exit node (e.g. death, prison): a user leaves at ``1 / stay_days`` plus their
    sum, and each takes its hazard's share of the exits, whatever the stay, so that a short
    stay carries the deaths and prison terms its days give, not the settled users' shares."""

    _schedule = field_validator("arrivals_per_year")(_check_schedule)
    _routing = field_validator("exit_routing")(_check_routing)


class StreetNode(Model):
    """The unbounded street pool: arrivals, spontaneous exits."""

    kind: Literal["street"]
    name: DisplayName
    """Display names."""
    initial: InitialStreet = InitialStreet(count=0)
    """People already on the street at ``start``."""
    arrivals_per_year: Schedule
    """New arrivals on the street per year (Poisson process; a schedule by date)."""
    exit_rate_per_year: NonNegativeFloat = 0.0
    """Hazard of a spontaneous exit from the street (leaving the scene, death, prison)."""
    exit_routing: Routing = {}
    """Where spontaneous exits go: probabilities over exit nodes."""
    referred_on_arrival: Probability = 0.0
    """Share of new arrivals referred at once (e.g. by hospitals or the courts)."""
    arrival_routing: Routing = {}
    """Where those direct referrals go: probabilities over waiting lists."""
    transient: TransientStreet | None = None
    """Transient users beside the settled ones (``arrivals_per_year``, ``exit_rate_per_year``):
    many pass through, few at a time."""

    _schedule = field_validator("arrivals_per_year")(_check_schedule)
    _routing = field_validator("exit_routing", "arrival_routing")(_check_routing)

    @model_validator(mode="after")
    def _exits_routed(self) -> StreetNode:
        if (self.exit_rate_per_year > 0 or self.transient) and not self.exit_routing:
            raise ValueError(
                "exit_routing is required when exit_rate_per_year > 0 or transient users leave"
            )
        if self.referred_on_arrival > 0 and not self.arrival_routing:
            raise ValueError("arrival_routing is required when referred_on_arrival > 0")
        return self


class OutreachNode(Model):
    """Outreach patrols (maraudes): contacts shared over the street population."""

    kind: Literal["outreach"]
    name: DisplayName
    """Display names."""
    contacts_per_week: Schedule
    """Contacts the patrols make per week, shared over the people on the street."""
    max_contacts_per_person_per_week: Annotated[float, Field(gt=0)] = 1.0
    """Cap on one person's contact rate when few people are left (saturation)."""
    referral_probability: Probability
    """Probability that a contact ends in a referral to a waiting list."""
    routing: Routing
    """Where referrals go: probabilities over waiting lists (renormalised over the places
    the person is eligible for and that are open)."""
    cost_per_year: NonNegativeFloat | None = None
    """Cost of the patrols per year (EUR)."""
    funder: Funder | None = None
    """Who pays the cost: a funder id (``drihl``, ``ars``, ``city``, ``mildeca``,
    ``assurance_maladie``, ``other``) or shares by funder id summing to 1."""

    _schedule = field_validator("contacts_per_week")(_check_schedule)
    _funder = field_validator("funder")(_check_funder)
    _routing = field_validator("routing")(_check_routing)


class RestSpaceNode(Model):
    """A day rest space: an active list of street users who visit and get referred."""

    kind: Literal["rest_space"]
    name: DisplayName
    """Display names."""
    places: Schedule
    """Places in the rest space (a schedule by date)."""
    active_list: NonNegativeInt
    """Street users who use the rest space (capped by the street count)."""
    visits_per_person_per_week: Annotated[float, Field(gt=0)]
    """Visits each active user would make per week."""
    visits_per_place_per_day: Annotated[float, Field(gt=0)]
    """Visits one place can receive per day (caps the visits served)."""
    referral_probability_per_visit: Probability
    """Probability that a served visit ends in a referral."""
    routing: Routing
    """Where referrals go, as for outreach."""
    cost_per_place_day: NonNegativeFloat | None = None
    """Cost per place and day (EUR), counted on places."""
    funder: Funder | None = None
    """Who pays the cost, as for outreach."""
    existing_places: NonNegativeFloat = 0.0
    """Places that existed before the actions a ``spending`` observation with
    ``new_places_only`` counts (e.g. before a plan): left out of that spending only."""
    reach: Schedule | None = None
    """Share of street users who use the rest space (a schedule by date, each value in [0, 1];
    each person draws once whether they are among them). When given, visits are simulated day
    by day and recorded by person (``visits``, ``visitors`` observations), each user visiting
    ``visits_per_person_per_week`` while on the street, and ``active_list`` is not used."""

    _schedule = field_validator("places")(_check_schedule)
    _funder = field_validator("funder")(_check_funder)

    @field_validator("reach")
    @classmethod
    def _reach_is_share(cls, reach: Schedule | None) -> Schedule | None:
        if reach is None:
            return None
        values = [s.value for s in reach] if isinstance(reach, list) else [reach]
        if any(v > 1.0 for v in values):
            raise ValueError("reach is a share of street users: at most 1")
        return _check_schedule(reach)

    _routing = field_validator("routing")(_check_routing)


class InitialResidents(Model):
    """Residents at ``start``, their time already spent in place, and people already waiting."""

    occupancy: NonNegativeInt = 0
    """Residents in place at ``start``."""
    elapsed: Duration | None = None
    """Time they have already spent in place (days); their readiness counts from entry."""
    waiting: NonNegativeInt = 0
    """People already on the waiting list at ``start`` (they are on the street)."""


class _CapacityNode(Model):
    name: DisplayName
    """Display names."""
    capacity: Schedule | None = None
    """Places (a schedule by date). A cut below occupancy evicts nobody: no one is admitted
    until occupancy falls below the new capacity."""
    initial: InitialResidents = InitialResidents()
    """Residents and waiting list at ``start``."""
    eligibility: dict[str, bool] = {}
    """Person attributes required to be referred or routed here, e.g. ``{female: true}``."""
    priority: list[str] = []
    """Attributes that go first on the waiting list, in order (FIFO within a class)."""
    negative_exit_rate_per_year: NonNegativeFloat = 0.0
    """Hazard of a negative exit while here, also while blocked waiting for the next place."""
    negative_routing: Routing = {}
    """Where negative exits go: probabilities over exit nodes."""
    routing: Routing = {}
    """Where people go once ready (or after their stay): places or exits. A full place
    blocks them here until it has room (FIFO among the blocked)."""
    cost_per_place_day: NonNegativeFloat | None = None
    """Cost per place and day (EUR), counted as ``cost_basis`` says."""
    cost_basis: Literal["capacity", "occupancy"] | None = None
    """What the cost per place-day is paid on: ``capacity`` (places funded whether full or
    not) or ``occupancy`` (days a person is in place, e.g. hotel nights or care paid per day).
    Default: capacity, or occupancy for a release-rate node (it has no capacity)."""
    cost_per_entry: NonNegativeFloat | None = None
    """Cost per admission (EUR), e.g. the support that goes with a move into housing: for a
    place people pass through, where place-days cost nothing to the pathway."""
    funder: Funder | None = None
    """Who pays the costs, as for outreach."""
    existing_places: NonNegativeFloat = 0.0
    """Places that existed before the actions a ``spending`` observation with
    ``new_places_only`` counts (e.g. before a plan): left out of that spending only."""
    application: Literal["one", "first_free"] = "one"
    """How a ready resident applies for the next place. ``one``: one destination drawn from
    ``routing``, its waiting list only. ``first_free``: the same draw decides between an exit
    and a place; for a place, the resident applies to every place of ``routing`` they are
    eligible for (not yet open included), takes the first that has room or frees (FIFO per
    place) and is withdrawn from the other lists at once."""

    _schedule = field_validator("capacity")(_check_schedule)
    _funder = field_validator("funder")(_check_funder)
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
    """Places (a schedule by date); a cut evicts nobody."""
    readiness: Duration
    """Time from entry until the resident is ready to move on (days)."""
    routing: Routing
    """Where residents go once ready: places (blocking while full) or exits."""


class DownstreamNode(_CapacityNode):
    """Downstream place: a capacity with a stay, or a release rate for saturated housing."""

    kind: Literal["downstream"]
    stay: Duration | None = None
    """Length of stay (days); required with a capacity, optional with a release rate."""
    releases_per_month: Schedule | None = None
    """For saturated housing instead of a capacity: places freed for the pathway per month;
    each admits the head of the waiting list, or is lost if no one waits."""

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
        if self.releases_per_month is not None and self.cost_basis == "capacity":
            raise ValueError("a release-rate node has no capacity: use cost_basis: occupancy")
        return self


class ReturnToStreet(Model):
    """Part of an exit that comes back to the street as a new episode."""

    probability: Probability
    """Probability of coming back to the street as a new episode."""
    after: Duration | None = None
    """Delay before coming back (e.g. a prison stay); at once if absent."""


class ExitNode(Model):
    """An outcome: positive or negative; a negative one may send people back to the street."""

    kind: Literal["exit"]
    name: DisplayName
    """Display names."""
    positive: bool
    """Whether this outcome counts as a positive exit."""
    return_to_street: ReturnToStreet | None = None
    """Part of this outcome that comes back to the street later."""


Node = Annotated[
    StreetNode | OutreachNode | RestSpaceNode | AccommodationNode | DownstreamNode | ExitNode,
    Field(discriminator="kind"),
]
CapacityNode = AccommodationNode | DownstreamNode


_OUTCOME_METRICS = ("exits", "mean_stay", "turnover_time", "exits_per_100_person_years")


class Observation(Model):
    """A windowed measurement, optionally with a target the model should reproduce."""

    metric: Literal[
        "exits",
        "entries",
        "positive_share",
        "share_stay_over",
        "mean_stay",
        "turnover_time",
        "share_street_time_over",
        "mean",
        "at",
        "visits",
        "visitors",
        "visits_per_day",
        "exits_per_100_person_years",
        "spending",
    ]
    """exits, entries, positive_share, mean_stay, turnover_time (node, from, to); entries of an
    exit node: the people who took that exit (from the street or any place) in the window;
    exits_per_100_person_years (node, from, to, optionally outcome): exits from the street or a
    place over the person-years spent there, times 100 (e.g. deaths per 100 person-years in
    ASSORE); share_stay_over,
    share_street_time_over (node, on, days); mean (series, from, to); at (series, on); visits,
    visitors, visits_per_day (a rest space with ``reach``; node, from, to): served visits,
    distinct people served, visits per day; spending (from, to; optionally node or nodes,
    funder, new_places_only): euros spent over the window by the costed nodes."""
    node: NodeId | None = None
    """The node measured."""
    nodes: Annotated[list[NodeId], Field(min_length=1)] | None = None
    """For spending: the set of costed nodes counted (default: every costed node)."""
    funder: str | Annotated[list[str], Field(min_length=1)] | None = None
    """For spending: count only the share these funders pay (one id or a list)."""
    new_places_only: bool = False
    """For spending: leave out each node's ``existing_places`` (new actions only)."""
    series: str | None = None
    """The time series measured: street, occupancy.<node>, waiting.<node>, blocked.<node>,
    capacity.<node>."""
    outcome: str | None = None
    """Filter exits by outcome: positive, negative or an exit node id."""
    attribute: str | None = None
    """For visitors: count only people with this attribute (e.g. female)."""
    start: dt.date | None = Field(default=None, alias="from")
    """First day of the window (included)."""
    end: dt.date | None = Field(default=None, alias="to")
    """Last day of the window (included; ``end`` itself is allowed). A window or date beyond
    ``end`` gives NaN (not computed), so a scenario can be run shorter than its observations."""
    on: dt.date | None = None
    """The date of a snapshot (write it ``"on":`` in quotes: YAML 1.1 reads on as true)."""
    days: NonNegativeFloat | None = None
    """Threshold in days for the share_* metrics."""
    target: float | None = None
    """The value the model should reproduce."""
    tolerance: NonNegativeFloat | None = None
    """Accepted distance from the target."""
    role: Literal["fit", "validate", "report"] = "report"
    """fit: used by calibration; validate: reported beside it, never fitted; report: neither."""
    labels: DisplayName | str | None = Field(default=None, alias="label")
    """Label for tables, reports and charts: ``{fr: ..., en: ...}``, or one text for both."""
    source: str | None = None
    """Where the target comes from (document and line)."""

    @property
    def label(self) -> str | None:
        """The English label (or the one plain text): what data files such as ``predictive.csv``
        carry; displays in a language use :meth:`labelled`."""
        return in_language(self.labels, "en") or None

    def labelled(self, lang: str) -> str:
        """The label in ``lang`` (``fr`` or ``en``; one plain text serves both), or ``""``."""
        return in_language(self.labels, lang)

    @model_validator(mode="after")
    def _fields_for_metric(self) -> Observation:
        needs: dict[str, tuple[str, ...]] = {
            "exits": ("node", "start", "end"),
            "entries": ("node", "start", "end"),
            "positive_share": ("node", "start", "end"),
            "mean_stay": ("node", "start", "end"),
            "turnover_time": ("node", "start", "end"),
            "share_stay_over": ("node", "on", "days"),
            "share_street_time_over": ("node", "on", "days"),
            "mean": ("series", "start", "end"),
            "at": ("series", "on"),
            "visits": ("node", "start", "end"),
            "visitors": ("node", "start", "end"),
            "visits_per_day": ("node", "start", "end"),
            "exits_per_100_person_years": ("node", "start", "end"),
            "spending": ("start", "end"),
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
        if self.outcome is not None and self.metric not in _OUTCOME_METRICS:
            raise ValueError(
                "'outcome' applies to exits, mean_stay, turnover_time and "
                "exits_per_100_person_years only"
            )
        spending_only = ("nodes", "funder") + (("new_places_only",) if self.new_places_only else ())
        if self.metric != "spending" and any(getattr(self, f) for f in spending_only):
            raise ValueError("'nodes', 'funder' and 'new_places_only' apply to spending only")
        if self.node is not None and self.nodes is not None:
            raise ValueError("give 'node' or 'nodes', not both")
        return self

    @property
    def funders(self) -> list[str]:
        """The funders a spending observation counts (empty: all)."""
        if self.funder is None:
            return []
        return [self.funder] if isinstance(self.funder, str) else list(self.funder)

    @property
    def spending_nodes(self) -> list[str] | None:
        """The nodes a spending observation counts (None: every costed node)."""
        if self.node is not None:
            return [self.node]
        return list(self.nodes) if self.nodes is not None else None


class FreeParameter(Model):
    """A parameter calibration may change: a dotted path into the scenario and its bounds."""

    path: str | list[str]
    """Dotted path of a number in the scenario, e.g. ``nodes.assore.readiness.mean``; a list
    ties several numbers to one value."""
    lower: float
    """Lower bound."""
    upper: float
    """Upper bound."""
    prior: Literal["uniform", "loguniform"] = "uniform"
    """Prior over the bounds (ABC-SMC samples it exactly)."""
    rescale_siblings: bool = False
    """For a routing probability: scale the other entries of the same routing so it sums to 1."""
    on_schedule: Literal["replace", "scale"] = "replace"
    """Where a path holds a schedule: ``replace`` it by the value for the whole run (the rule of
    ``--set`` and sweeps), or ``scale`` it (the first step takes the value, later steps keep
    their ratio to it), so that an alternative's relative change survives a parameter draw."""
    source: str | None = None
    """Where the bounds come from (document and line, or ``assumption:``)."""

    @property
    def paths(self) -> list[str]:
        """The dotted paths this parameter sets."""
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @model_validator(mode="after")
    def _bounds(self) -> FreeParameter:
        if self.upper <= self.lower:
            raise ValueError("upper must be above lower")
        if self.prior == "loguniform" and self.lower <= 0:
            raise ValueError("a loguniform prior needs a positive lower bound")
        return self


class Calibration(Model):
    """What ``parcours calibrate`` fits by ABC-SMC: free parameters and default effort."""

    RETIRED_KEYS: ClassVar[Mapping[str, str]] = {
        key: "a setting of the retired search calibration (Sobol design, Nelder-Mead, "
        "rejection sample) that nothing reads any more: delete the line (calibrate runs "
        "ABC-SMC, set by population, generations and particle_replications)"
        for key in ("replications", "budget", "abc_samples", "abc_replications")
    }
    """Keys the search calibration read: an old scenario that has one is told so."""

    parameters: Annotated[dict[str, FreeParameter], Field(min_length=1)]
    """Free parameters by name."""
    population: Annotated[int, Field(ge=2)] = 500
    """ABC-SMC: accepted particles per generation."""
    first_population: Annotated[int, Field(ge=2)] | None = None
    """ABC-SMC: a smaller first generation, sampled from the prior (default: ``population``)."""
    intermediate_population: Annotated[int, Field(ge=2)] | None = None
    """ABC-SMC: particles in the generations between the first and the last (default:
    ``population``; the last generation always has ``population``)."""
    generations: Annotated[int, Field(ge=1)] = 6
    """ABC-SMC: generations at most."""
    minimum_epsilon: Annotated[float, Field(ge=0)] = 0.0
    """ABC-SMC: stop once a generation's acceptance threshold (the distance, in tolerances) is
    at or below this."""
    particle_replications: Annotated[int, Field(ge=1)] = 1
    """ABC-SMC: replications averaged per particle."""
    posterior: str | None = None
    """Parameter sets (a calibration's ``posterior.parquet``, path relative to the scenario
    file's folder) that ``run`` and ``compare`` draw by default, so their intervals include
    parameter uncertainty; ``--point`` runs the scenario's own values instead."""
    draws: Annotated[int, Field(ge=1)] = 10
    """How many posterior parameter sets ``run`` and ``compare`` draw by default."""


class Window(Model):
    """The period a question is about: the dates the comparison's headline rows cover."""

    start: dt.date = Field(alias="from")
    """First day (included)."""
    end: dt.date = Field(alias="to")
    """Last day (included)."""

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError("the window ends before it starts")
        return self


SNAPSHOT_METRICS = frozenset({"at", "share_stay_over", "share_street_time_over"})
"""Observations taken on one date (``on``); the others cover a window (``from``, ``to``)."""


def with_window_dates(data: Any) -> Any:
    """Scenario data whose windowed observations without ``from`` and ``to`` take the
    question's ``window`` (applied when files are loaded, so the resolved scenario records the
    dates each observation covers)."""
    if not isinstance(data, dict) or not isinstance(data.get("window"), dict):
        return data
    window, observations = data["window"], data.get("observations")
    if not isinstance(observations, dict) or not {"from", "to"} <= set(window):
        return data
    filled = {}
    for name, obs in observations.items():
        if (
            isinstance(obs, dict)
            and obs.get("metric") not in SNAPSHOT_METRICS
            and "from" not in obs
            and "to" not in obs
        ):
            obs = {**obs, "from": window["from"], "to": window["to"]}
        filled[name] = obs
    return {**data, "observations": filled}


class Scenario(Model):
    """A resolved, validated scenario: what runs and what is recorded."""

    name: str
    """Short name (defaults to the file name)."""
    title: DisplayName | None = None
    """Title for reports."""
    legend: DisplayName | None = None
    """Short label for chart legends, a few words (default: the title)."""
    description: DisplayName | str | None = None
    """The question the scenario answers: ``{fr: ..., en: ...}``, or one text for both."""
    start: dt.date
    """First simulated day."""
    end: dt.date
    """End of the run (excluded: nothing happens at exactly ``end``)."""
    warmup: NonNegativeFloat | dt.date = 0.0
    """Days (or a date) excluded from the KPIs; observations use their own windows."""
    attributes: dict[NodeId, Attribute] = {}
    """Person attributes drawn once per person (e.g. female, court_order)."""
    nodes: dict[NodeId, Node]
    """The pathway: exactly one street node, services, places and exits, by id."""
    observations: dict[str, Observation] = {}
    """Named measurements, with targets for calibration and validation."""
    calibration: Calibration | None = None
    """Free parameters for ``parcours calibrate`` (see docs/calibration.md)."""
    window: Window | None = None
    """The question's window: an observation over a window that gives no ``from`` and ``to``
    covers this one, so ``--window FROM:TO`` moves every such headline row at once (the
    resolved scenario records the dates each observation took)."""
    headline: list[str] = []
    """The KPIs that head a comparison whose reference this is, in order (e.g.
    ``obs.street_window``, ``cost.total.per_year``; any column of ``kpis.csv``, and
    ``obs.<name>.per_week`` / ``.per_month`` for entries and exits observations). Empty: the
    generic rows (people on the street, time to housing, positive exits, costs)."""
    on_deadlock: Literal["error", "record"] = "error"
    """What to do if places deadlock (all holders wait on each other for ever)."""

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

    def described(self, lang: str) -> str:
        """The description in ``lang`` (``fr`` or ``en``; one plain text serves both)."""
        return in_language(self.description, lang)

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
    elif sc.end > sc.start and sc.warmup_days >= sc.horizon:
        problems.append(
            (("warmup",), f"the warm-up must be shorter than the run ({sc.horizon:g} days)")
        )
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
    routings: list[tuple[tuple[str, ...], Any, tuple[type, ...]]] = [
        ((field,), getattr(node, field, None), kinds) for field, kinds in allowed.items()
    ]
    if isinstance(node, StreetNode) and node.transient is not None:
        routings.append((("transient", "exit_routing"), node.transient.exit_routing, (ExitNode,)))
        hazards = node.transient.exit_hazards_per_year
        routings.append((("transient", "exit_hazards_per_year"), hazards, (ExitNode,)))
    for field_path, routing_or_none, kinds in routings:
        routing = routing_or_none or {}
        for target in routing:
            where = (*here, *field_path, target)
            if target not in sc.nodes:
                problems.append((where, f"unknown node '{target}'{_suggest(target, sc.nodes)}"))
            elif target == node_id:
                problems.append((where, "a node cannot route to itself"))
            elif not isinstance(sc.nodes[target], kinds):
                kind = sc.nodes[target].kind
                problems.append((where, f"cannot route to {_article(kind)} {kind} node here"))
        known = [t for t in routing if t in sc.nodes]
        if known and all(getattr(sc.nodes[t], "eligibility", {}) for t in known):
            problems.append(
                (
                    (*here, *field_path),
                    "at least one target must be open to everyone (no eligibility)",
                )
            )
    if isinstance(node, (OutreachNode, RestSpaceNode, AccommodationNode)) and not node.routing:
        problems.append(((*here, "routing"), "needs at least one target"))
    for field in ("eligibility", "priority"):
        for attr in getattr(node, field, []):
            if attr not in sc.attributes:
                problems.append(
                    (
                        (*here, field, attr),
                        f"unknown person attribute '{attr}'{_suggest(attr, sc.attributes)}",
                    )
                )
    priority = getattr(node, "priority", [])
    if len(set(priority)) != len(priority):
        problems.append(((*here, "priority"), "an attribute is listed twice"))
    for field in ("capacity", "places"):
        sched = getattr(node, field, None)
        if sched is None:
            continue
        values = [st.value for st in sched] if isinstance(sched, list) else [sched]
        if any(v != int(v) for v in values):
            problems.append(((*here, field), "places must be whole numbers"))
    initial = getattr(node, "initial", None)
    capacity = getattr(node, "capacity", None)
    if isinstance(initial, InitialResidents) and capacity is not None:
        at_start = (
            [st.value for st in capacity if st.start <= sc.start][-1:]
            if isinstance(capacity, list)
            else [capacity]
        )
        if at_start and initial.occupancy > at_start[0]:
            problems.append(
                (
                    (*here, "initial", "occupancy"),
                    f"{initial.occupancy} residents exceed the {at_start[0]:g} places at start",
                )
            )
    return problems


_NODE_METRICS: dict[str, tuple[type, ...]] = {
    "exits": (StreetNode, AccommodationNode, DownstreamNode),
    "entries": (StreetNode, AccommodationNode, DownstreamNode, ExitNode),
    "positive_share": (StreetNode, AccommodationNode, DownstreamNode),
    "mean_stay": (StreetNode, AccommodationNode, DownstreamNode),
    "turnover_time": (AccommodationNode, DownstreamNode),
    "exits_per_100_person_years": (StreetNode, AccommodationNode, DownstreamNode),
    "share_stay_over": (StreetNode, AccommodationNode, DownstreamNode),
    "share_street_time_over": (AccommodationNode, DownstreamNode),
    "visits": (RestSpaceNode,),
    "visitors": (RestSpaceNode,),
    "visits_per_day": (RestSpaceNode,),
    "spending": (OutreachNode, RestSpaceNode, AccommodationNode, DownstreamNode),
}


def is_costed(node: Any) -> bool:
    """Whether a node carries a cost (per year, per place-day or per admission)."""
    return any(
        getattr(node, f, None) is not None
        for f in ("cost_per_year", "cost_per_place_day", "cost_per_entry")
    )


def _observation_problems(sc: Scenario, name: str, obs: Observation) -> list[Problem]:
    here = ("observations", name)
    problems: list[Problem] = []
    node = sc.nodes.get(obs.node or "")
    kinds = _NODE_METRICS.get(obs.metric)
    if node is not None and kinds is not None and not isinstance(node, kinds):
        problems.append(
            (
                (*here, "node"),
                f"metric '{obs.metric}' does not apply to {_article(node.kind)} {node.kind} node",
            )
        )
    if obs.node is not None and obs.node not in sc.nodes:
        problems.append(
            ((*here, "node"), f"unknown node '{obs.node}'{_suggest(obs.node, sc.nodes)}")
        )
    if obs.metric == "spending":
        problems.extend(_spending_problems(sc, here, obs))
    if (
        isinstance(node, RestSpaceNode)
        and obs.metric in ("visits", "visitors", "visits_per_day")
        and node.reach is None
    ):
        problems.append(((*here, "node"), f"metric '{obs.metric}' needs the rest space's 'reach'"))
    if obs.attribute is not None and obs.attribute not in sc.attributes:
        problems.append(
            (
                (*here, "attribute"),
                f"unknown attribute '{obs.attribute}'{_suggest(obs.attribute, sc.attributes)}",
            )
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
        if day is not None and day < sc.start:  # after `end` is allowed: the value is NaN
            problems.append(((*here, label), f"{day} is before the scenario start ({sc.start})"))
    return problems


def _spending_problems(sc: Scenario, here: tuple[str, ...], obs: Observation) -> list[Problem]:
    problems: list[Problem] = []
    named: list[tuple[tuple[str | int, ...], str]] = [(("node",), obs.node)] if obs.node else []
    named += [(("nodes", i), n) for i, n in enumerate(obs.nodes or [])]
    for field, node_id in named:
        if node_id not in sc.nodes:
            if field[0] == "nodes":  # an unknown `node` is already reported
                problems.append(
                    ((*here, *field), f"unknown node '{node_id}'{_suggest(node_id, sc.nodes)}")
                )
        elif not is_costed(sc.nodes[node_id]):
            node = sc.nodes[node_id]
            if field[0] == "node" and not isinstance(node, _NODE_METRICS["spending"]):
                continue  # already reported: the metric does not apply to this kind
            problems.append(((*here, *field), f"node '{node_id}' carries no cost"))
    funders = obs.funders
    for i, funder in enumerate(funders):
        if funder not in FUNDERS:
            where: tuple[str | int, ...] = (*here, "funder")
            if not isinstance(obs.funder, str):
                where = (*where, i)
            problems.append(
                (where, f"unknown funder '{funder}' (use one of: {', '.join(FUNDERS)})")
            )
    return problems


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _suggest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""

"""One replication: wire the environment, places, streams and processes; run; return the record.

``run_once`` is a pure function of (scenario, replication, seed): no globals, no files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sim.engine.kernel import Environment, collector_paused, start
from sim.engine.pathway import (
    STAY,
    STREET,
    Context,
    ExitRules,
    Person,
    PlaceRules,
    Route,
    begin_life,
    referrals,
    releases,
    rest_space_visits,
    schedule_capacity,
    street_arrivals,
)
from sim.engine.places import Place
from sim.engine.record import EpisodeFilter, Recorder, RunRecord
from sim.engine.schedule import Steps
from sim.engine.streams import Streams
from sim.inputs.distributions import sampler
from sim.inputs.scenario import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
    StreetNode,
)


def run_once(
    scenario: Scenario, replication: int, seed: int, keep: EpisodeFilter | None = None
) -> RunRecord:
    """Simulate one replication of ``scenario`` and return what it recorded (only the
    person-episodes ``keep`` selects, when given)."""
    with collector_paused():
        simulation = Simulation(scenario, replication, seed, keep)
        simulation.advance(scenario.horizon)
        record = simulation.finish()
        simulation.close()
    return record


class Simulation:
    """One replication, run in steps: :meth:`advance` to a day, look at what it recorded so
    far (:meth:`snapshot`), go on or stop. ``run_once`` advances it to the end in one step;
    stopping on the way changes nothing of what happened before."""

    def __init__(
        self, scenario: Scenario, replication: int, seed: int, keep: EpisodeFilter | None = None
    ) -> None:
        self.scenario = scenario
        self.replication = replication
        self.seed = seed
        with collector_paused():  # the wiring makes many objects, and no garbage cycle
            self.env, self.ctx = _wire(scenario, replication, seed, keep)

    def advance(self, until: float) -> None:
        """Simulate up to day ``until`` (at most the end of the run)."""
        until = min(until, self.scenario.horizon)
        if until > self.env.now:
            self.env.run(until=until)

    def snapshot(self) -> RunRecord:
        """What was recorded up to now, with the episodes still open (exit NaN), leaving the
        simulation untouched; its horizon is the current day."""
        open_rows = [_open_row(person) for person in self.ctx.people.values() if person.node]
        sc = self.scenario
        return self.ctx.rec.snapshot(
            open_rows, self.replication, self.seed, self.env.now, sc.warmup_days
        )

    def finish(self) -> RunRecord:
        """Close the episodes still open and return the record (once, at the end)."""
        sc, ctx = self.scenario, self.ctx
        for person in ctx.people.values():  # episodes still open at the end
            if person.node:
                ctx.close_episode(person, math.nan, "", None)
        events = next(self.env._eid) if hasattr(self.env, "_eid") else 0
        return ctx.rec.finish(self.replication, self.seed, sc.horizon, sc.warmup_days, events)

    def close(self) -> None:
        """Let go of the people, the places' lists and the processes at once (the simulation
        cannot go on): freed as soon as the simulation is dropped, where the links between
        them would wait for Python's cycle collector (:func:`run_once` closes its own; a
        caller pausing the collector for a batch closes them before it resumes)."""
        ctx = self.ctx
        self.env.close()
        for place in ctx.places.values():
            place.close()
        for person in ctx.people.values():
            person.wake = None
            person.ticket = person.target = None
        ctx.people.clear()
        ctx.contactable.clear()
        ctx.pool_waiters.clear()


def _open_row(p: Person) -> tuple[object, ...]:
    return (p.id, p.episode, p.node, p.queued, p.entry, p.ready, math.nan, "", None, p.blocked_on)


def _wire(
    scenario: Scenario, replication: int, seed: int, keep: EpisodeFilter | None
) -> tuple[Environment, Context]:
    """Build the environment, places, streams and processes of one replication."""
    sc = scenario
    env = Environment()
    streams = Streams(seed, replication)
    attributes = list(sc.attributes)
    rec = Recorder(sc.series_names(), attributes, keep)
    street_id = sc.street_id
    street = sc.nodes[street_id]
    assert isinstance(street, StreetNode)
    capacity_nodes = sc.nodes_of(AccommodationNode, DownstreamNode)
    exit_ids = set(sc.nodes_of(ExitNode))

    places: dict[str, Place] = {}
    for node_id, node in capacity_nodes.items():
        release = node.kind == "downstream" and node.releases_per_month is not None
        steps = _steps(sc, node, release)
        priority = [attributes.index(a) for a in node.priority]
        places[node_id] = Place(node_id, steps.at(0.0), priority, rec, env, release)

    exits = {
        node_id: ExitRules(
            positive=node.positive,
            return_probability=node.return_to_street.probability if node.return_to_street else 0.0,
            after=(
                sampler(node.return_to_street.after, streams.generator(f"{node_id}.return_after"))
                if node.return_to_street and node.return_to_street.after
                else None
            ),
            stream=streams[f"{node_id}.return"],
        )
        for node_id, node in sc.nodes_of(ExitNode).items()
    }
    rules = {
        node_id: _place_rules(sc, node_id, node, streams, attributes, exit_ids)
        for node_id, node in capacity_nodes.items()
    }
    street_steps = Steps.of(street.arrivals_per_year, sc.start, 1.0 / DAYS_PER_YEAR)
    transient_rate, transient_routing = _transient_exits(street)
    ctx = Context(
        env=env,
        streams=streams,
        rec=rec,
        horizon=sc.horizon,
        street_id=street_id,
        street_exit_rate=street.exit_rate_per_year / DAYS_PER_YEAR,
        street_exit_stream=streams["street.exit"],
        street_exit_route=(
            Route(street.exit_routing, streams["street.exit_routing"], exit_ids)
            if street.exit_routing
            else None
        ),
        street_series=rec.series_index["street"],
        places=places,
        rules=rules,
        exits=exits,
        on_deadlock=sc.on_deadlock,
        attribute_probabilities=[a.probability for a in sc.attributes.values()],
        attribute_stream=streams["attributes"],
        transient_exit_rate=transient_rate,
        transient_exit_stream=streams["street.transient_exit"] if street.transient else None,
        transient_exit_route=(
            Route(transient_routing, streams["street.transient_exit_routing"], exit_ids)
            if transient_routing
            else None
        ),
        reach_stream=(
            streams["rest_space.reach"]
            if any(n.reach is not None for n in sc.nodes_of(RestSpaceNode).values())
            else None
        ),
    )
    rec.change(ctx.street_series, 0.0, 0.0)
    for place in places.values():
        place.grant = ctx.grant
    eligibility = {node_id: r.eligibility for node_id, r in rules.items()}

    def wired(route: Route) -> Route:
        route.bind(places, eligibility)
        return route

    for r in rules.values():
        wired(r.route)
        if r.negative_route is not None:
            wired(r.negative_route)
    for exit_route in (ctx.street_exit_route, ctx.transient_exit_route):
        if exit_route is not None:
            wired(exit_route)

    _initial_state(sc, ctx, streams)
    for node_id, node in capacity_nodes.items():
        release = node.kind == "downstream" and node.releases_per_month is not None
        schedule_capacity(env, places[node_id], _steps(sc, node, release), sc.horizon)
        if release:
            start(
                env,
                releases(
                    ctx, places[node_id], _steps(sc, node, True), streams[f"{node_id}.releases"]
                ),
            )

    intake = _intake(street, ctx, streams, wired)
    start(env, street_arrivals(ctx, street_steps, streams["street.arrivals"], intake))
    if street.transient is not None:
        transient_steps = Steps.of(
            street.transient.arrivals_per_year, sc.start, 1.0 / DAYS_PER_YEAR
        )
        start(
            env,
            street_arrivals(
                ctx, transient_steps, streams["street.transient_arrivals"], lambda: None, True
            ),
        )
    for node_id, node in sc.nodes_of(OutreachNode, RestSpaceNode).items():
        route = wired(Route(node.routing, streams[f"{node_id}.routing"], exit_ids))
        if isinstance(node, RestSpaceNode) and node.reach is not None:
            start(
                env,
                rest_space_visits(
                    ctx,
                    node_id,
                    Steps.of(node.reach, sc.start),
                    node.visits_per_person_per_week / 7.0,
                    Steps.of(node.places, sc.start, node.visits_per_place_per_day),
                    node.referral_probability_per_visit,
                    route,
                    streams[f"{node_id}.visits"],
                ),
            )
            continue
        bound, intensity = _contact_rates(sc, node)
        start(env, referrals(ctx, bound, intensity, route, streams[f"{node_id}.referrals"]))

    return env, ctx


def _transient_exits(street: StreetNode) -> tuple[float, dict[str, float]]:
    """A transient user's exit rate a day (moving on at ``1 / stay_days``, plus each exit
    hazard) and where the exits go: each hazard's share of the rate, the rest by the transient
    ``exit_routing`` (empty: the street's, drawn by the street's route)."""
    transient = street.transient
    if transient is None:
        return 0.0, {}
    moving_on = 1.0 / transient.stay_days
    hazards = {k: h / DAYS_PER_YEAR for k, h in transient.exit_hazards_per_year.items() if h > 0}
    if not hazards:
        return moving_on, dict(transient.exit_routing)
    rate = moving_on + sum(hazards.values())
    routing = {
        k: p * moving_on / rate for k, p in (transient.exit_routing or street.exit_routing).items()
    }
    for k, h in hazards.items():
        routing[k] = routing.get(k, 0.0) + h / rate
    return rate, routing


def _steps(sc: Scenario, node: AccommodationNode | DownstreamNode, release: bool) -> Steps:
    if release:
        assert isinstance(node, DownstreamNode) and node.releases_per_month is not None
        return Steps.of(node.releases_per_month, sc.start, 1.0 / DAYS_PER_MONTH)
    assert node.capacity is not None
    return Steps.of(node.capacity, sc.start)


def _place_rules(
    sc: Scenario,
    node_id: str,
    node: AccommodationNode | DownstreamNode,
    streams: Streams,
    attributes: list[str],
    exit_ids: set[str],
) -> PlaceRules:
    spec = node.readiness if isinstance(node, AccommodationNode) else node.stay
    release = isinstance(node, DownstreamNode) and node.releases_per_month is not None
    steps = _steps(sc, node, release)
    return PlaceRules(
        duration=sampler(spec, streams.generator(f"{node_id}.duration")) if spec else None,
        negative_rate=node.negative_exit_rate_per_year / DAYS_PER_YEAR,
        negative_stream=streams[f"{node_id}.negative"],
        route=Route(node.routing, streams[f"{node_id}.routing"], exit_ids),
        negative_route=(
            Route(node.negative_routing, streams[f"{node_id}.negative_routing"], exit_ids)
            if node.negative_routing
            else None
        ),
        eligibility=tuple((attributes.index(a), v) for a, v in node.eligibility.items()),
        growth_ahead=lambda t: steps.maximum_before(t, sc.horizon) > steps.at(t),
        first_free=node.application == "first_free",
    )


def _initial_state(sc: Scenario, ctx: Context, streams: Streams) -> None:
    """Residents already in place at ``start``, people already waiting, people on the street."""
    for node_id, node in sc.nodes_of(AccommodationNode, DownstreamNode).items():
        place = ctx.places[node_id]
        elapsed = (
            sampler(node.initial.elapsed, streams.generator(f"{node_id}.initial"))
            if node.initial.elapsed
            else (lambda: 0.0)
        )
        required = ctx.rules[node_id].eligibility
        for _ in range(node.initial.occupancy):
            person = ctx.new_person(required)
            place.occupy()
            begin_life(ctx, person, (STAY, (place, -elapsed(), math.nan)))
        for _ in range(node.initial.waiting):
            person = ctx.new_person(required)
            begin_life(ctx, person, (STREET, (0.0, place)))
    street = sc.nodes[sc.street_id]
    assert isinstance(street, StreetNode)
    elapsed = (
        sampler(street.initial.elapsed, streams.generator("street.initial"))
        if street.initial.elapsed
        else (lambda: 0.0)
    )
    for _ in range(street.initial.count):
        person = ctx.new_person()
        begin_life(ctx, person, (STREET, (elapsed(), None)))


def _intake(
    street: StreetNode, ctx: Context, streams: Streams, wired: Callable[[Route], Route]
) -> Callable[[], Any]:
    """What a new arrival brings: a direct referral route (with its probability) or none."""
    if street.referred_on_arrival <= 0.0:
        return lambda: None
    route = wired(Route(street.arrival_routing, streams["street.arrival_routing"], ()))
    share, draw = street.referred_on_arrival, streams["street.intake"].uniform
    if share >= 1.0:
        return lambda: route
    return lambda: route if draw() < share else None


def _contact_rates(
    sc: Scenario, node: OutreachNode | RestSpaceNode
) -> tuple[Callable[[float], tuple[float, float]], Callable[[float, int], float]]:
    """The referral intensity of a contact service and a bound on it (for thinning)."""
    if isinstance(node, OutreachNode):
        contacts = Steps.of(node.contacts_per_week, sc.start, 1.0 / 7.0)
        per_person = node.max_contacts_per_person_per_week / 7.0
        p = node.referral_probability

        def outreach_bound(t: float) -> tuple[float, float]:
            return contacts.at(t) * p, contacts.next_change(t)

        def outreach_intensity(t: float, n: int) -> float:
            return min(contacts.at(t), n * per_person) * p

        return outreach_bound, outreach_intensity

    places = Steps.of(node.places, sc.start, node.visits_per_place_per_day)
    visits = node.visits_per_person_per_week / 7.0
    active_list, q = node.active_list, node.referral_probability_per_visit

    def rest_bound(t: float) -> tuple[float, float]:
        return min(active_list * visits, places.at(t)) * q, places.next_change(t)

    def rest_intensity(t: float, n: int) -> float:
        return min(min(active_list, n) * visits, places.at(t)) * q

    return rest_bound, rest_intensity

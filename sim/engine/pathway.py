"""The pathway on SimPy's clock: one process per person, reading like the pathway diagram.

A person lives a sequence of stages: the street (until referred and admitted, or a
spontaneous exit), a stay in a place (accommodation or downstream: until ready, then on to
the next place, blocked in the current one while the next is full; or a negative exit), and an
exit (possibly back to the street as a new episode). Outreach patrols, rest spaces and
common-law housing releases are processes of their own. Processes only change state and
record events; statistics are computed afterwards.

A person's process is made of callbacks (:func:`live`): a stage runs until it is over (it
returns the next stage, or on the hot path runs it and returns what it returns) or must wait;
then it hands :func:`wait` a delay or an event and what comes after, and the person goes on
from there when the wait is over. Each wait and each
start is scheduled where a SimPy process would have scheduled it (:mod:`sim.engine.kernel`),
so the events and their order are those of one generator process per person. The services
are generator processes.

Competing hazards use one wake-up event per person: whichever comes first (a place granted,
a hazard's timeout) triggers it, and later ones find it already triggered and do nothing.

The hot path reads the clock as ``env._now``, the attribute behind SimPy's ``now`` property:
the same value without a property call (about 90,000 a replication of the M/M/c queue).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import simpy
from simpy.events import URGENT, Event

from sim.engine.kernel import Environment, ProcessGenerator, after, alarm, ended, soon
from sim.engine.places import Place, Ticket
from sim.engine.record import Recorder
from sim.engine.schedule import Steps
from sim.engine.streams import Stream, Streams

INF = math.inf
NAN = math.nan
Stage = tuple[str, Any] | None
STREET, STAY, EXIT = "street", "stay", "exit"
WAITING: Stage = ("waiting", None)
"""What a stage returns when it waits: it goes on, later, by itself (:func:`wait`)."""
_WOKEN = object()
ADMITTED = Ticket(None, None, NAN)
"""The ticket of whoever is admitted at once: never on a list, shared (queued the day it is
read)."""
ADMITTED.granted = True


def wake(p: Person) -> None:
    """Wake a person waiting for a place, if they wait for one and are not woken yet."""
    event = p.wake
    if event is not None and not event.triggered:
        event.succeed(_WOKEN)


class DeadlockError(RuntimeError):
    """Every holder of a set of full places waits for a place in the same set, for ever."""


class Person:
    """A person and their current episode (kept for the record of unfinished episodes)."""

    __slots__ = (
        "attrs",
        "blocked_on",
        "entry",
        "episode",
        "id",
        "node",
        "queued",
        "reach_draw",
        "ready",
        "slot",
        "target",
        "ticket",
        "transient",
        "wake",
    )

    def __init__(self, person_id: int, attrs: tuple[bool, ...]) -> None:
        self.id = person_id
        self.attrs = attrs
        self.transient = False
        self.reach_draw = 1.0
        self.episode = 0
        self.node = ""
        self.entry = NAN
        self.queued = NAN
        self.ready = NAN
        self.blocked_on = ""
        self.slot = -1
        self.ticket: Ticket | None = None
        self.target: Place | None = None
        self.wake: Event | None = None


class _Eligible:
    """What routing a person with given attributes needs: whether they may ever go to each
    target (``flags``), the places among those targets (whose opening decides the choice),
    and the running sums of the eligible targets' probabilities (``weights``, ``total``)."""

    __slots__ = ("every", "flags", "places", "total", "weights")

    def __init__(
        self, flags: tuple[bool, ...], targets: list[Place | None], cumulative: list[float]
    ) -> None:
        self.flags = flags
        self.every = all(flags)
        self.places = tuple(
            place for flag, place in zip(flags, targets, strict=True) if flag and place is not None
        )
        self.weights, self.total = _usable_weights(flags, cumulative)


def _usable_weights(usable: Iterable[bool], cumulative: list[float]) -> tuple[list[float], float]:
    """The running sums of the probabilities of the usable targets (others count 0)."""
    weights, total = [], 0.0
    prev = 0.0
    for flag, cum in zip(usable, cumulative, strict=True):
        total += (cum - prev) if flag else 0.0
        prev = cum
        weights.append(total)
    return weights, total


class Route:
    """Routing probabilities to targets, filtered at use by eligibility and opening.

    Eligibility depends only on a person's attributes, so it is worked out once per
    combination of attributes (:meth:`bind`); only the opening of places is read per choice.
    """

    __slots__ = (
        "_applications",
        "_eligible",
        "_rules",
        "_targets",
        "cumulative",
        "only_exits",
        "stream",
        "targets",
    )

    def __init__(self, routing: dict[str, float], stream: Stream, exits: Iterable[str]) -> None:
        self.targets = list(routing)
        total = 0.0
        self.cumulative: list[float] = []
        for p in routing.values():
            total += p
            self.cumulative.append(total)
        self.stream = stream
        self.only_exits = set(self.targets) <= set(exits)
        self._targets: list[Place | None] = [None] * len(self.targets)
        self._rules: list[tuple[tuple[int, bool], ...] | None] = [None] * len(self.targets)
        self._eligible: dict[tuple[bool, ...], _Eligible] = {}
        self._applications: dict[tuple[bool, ...], tuple[Place, ...]] = {}

    def bind(
        self, places: dict[str, Place], eligibility: dict[str, tuple[tuple[int, bool], ...]]
    ) -> None:
        """Attach the places among the targets and their eligibility rules."""
        self._targets = [places.get(t) for t in self.targets]
        self._rules = [eligibility.get(t) for t in self.targets]
        self._eligible.clear()
        self._applications.clear()

    def eligible(self, attrs: tuple[bool, ...]) -> _Eligible:
        """Where a person with ``attrs`` may ever go, cached per ``attrs``."""
        known = self._eligible.get(attrs)
        if known is None:
            flags = tuple(
                rules is None or all(attrs[i] == v for i, v in rules) for rules in self._rules
            )
            known = self._eligible[attrs] = _Eligible(flags, self._targets, self.cumulative)
        return known

    def applications(self, attrs: tuple[bool, ...], drawn: Place) -> tuple[Place, ...]:
        """Every place among the targets a person with ``attrs`` may go to, open or not yet
        open, ``drawn`` first and then by decreasing routing probability (file order among
        equals): where the ``first_free`` policy applies, in the order it tries them."""
        known = self._applications.get(attrs)
        if known is None:
            flags = self.eligible(attrs).flags
            weights = [
                b - a for a, b in zip([0.0, *self.cumulative[:-1]], self.cumulative, strict=True)
            ]
            ranked = sorted(
                (
                    (-weight, index, place)
                    for index, (flag, place, weight) in enumerate(
                        zip(flags, self._targets, weights, strict=True)
                    )
                    if flag and place is not None
                ),
                key=lambda item: item[:2],
            )
            known = self._applications[attrs] = tuple(place for _, _, place in ranked)
        if known and known[0] is drawn:
            return known
        return (drawn, *(place for place in known if place is not drawn))

    def choose(self, attrs: tuple[bool, ...], open_only: bool = True) -> str | None:
        """Draw a target among the usable ones (renormalised); None if there is none.

        Usable: eligible for ``attrs`` and, with ``open_only``, an exit or an open place."""
        if self.only_exits:
            return self.targets[self.stream.pick(self.cumulative)]
        eligible = self._eligible.get(attrs) or self.eligible(attrs)
        if open_only:
            for place in eligible.places:
                if place.capacity <= 0:  # a closed place: its share goes to the others
                    weights, total = _usable_weights(
                        (
                            flag and (place is None or place.capacity > 0)
                            for flag, place in zip(eligible.flags, self._targets, strict=True)
                        ),
                        self.cumulative,
                    )
                    if total <= 0.0:
                        return None
                    return self.targets[self.stream.pick(weights)]
        if eligible.every:  # every target usable: the draw of the routing as written
            if len(self.targets) == 1:  # one target: the draw is made, its result known
                self.stream.uniform()
                return self.targets[0]
            return self.targets[self.stream.pick(self.cumulative)]
        if eligible.total <= 0.0:
            return None
        return self.targets[self.stream.pick(eligible.weights)]


@dataclasses.dataclass
class PlaceRules:
    """How a capacity node treats its residents."""

    duration: Callable[[], float] | None
    negative_rate: float  # per day
    negative_stream: Stream
    route: Route
    negative_route: Route | None
    eligibility: tuple[tuple[int, bool], ...]
    growth_ahead: Callable[[float], bool]
    first_free: bool = False
    """Application policy once ready: one destination drawn (False) or every eligible place
    at once, the first that frees taken (True)."""


@dataclasses.dataclass
class ExitRules:
    """What an exit does: positive or not, and the chance of coming back to the street."""

    positive: bool
    return_probability: float
    after: Callable[[], float] | None
    stream: Stream


@dataclasses.dataclass
class Context:
    """Everything the processes share for one replication."""

    env: Environment
    streams: Streams
    rec: Recorder
    horizon: float
    street_id: str
    street_exit_rate: float
    street_exit_stream: Stream
    street_exit_route: Route | None
    street_series: int
    places: dict[str, Place]
    rules: dict[str, PlaceRules]
    exits: dict[str, ExitRules]
    on_deadlock: str
    attribute_probabilities: list[float]
    attribute_stream: Stream
    transient_exit_rate: float = 0.0
    transient_exit_stream: Stream | None = None
    transient_exit_route: Route | None = None
    reach_stream: Stream | None = None
    people: dict[int, Person] = dataclasses.field(default_factory=dict)  # in the pathway
    record_episode: Callable[[tuple[object, ...]], None] = dataclasses.field(init=False)
    record_person: Callable[[tuple[int, float, tuple[bool, ...]]], None] = dataclasses.field(
        init=False
    )
    created: int = 0
    contactable: list[Person] = dataclasses.field(default_factory=list)
    reach_draws: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    """The contactable people's ``reach_draw``, in the order of ``contactable`` (kept only
    when a rest space has a reach): a rest space's day reads it in one comparison."""
    on_street: int = 0
    pool_waiters: list[Event] = dataclasses.field(default_factory=list)
    _write_street: Callable[[float, float], None] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.record_episode = self.rec.episode_writer()
        self.record_person = self.rec.person_writer()
        self._write_street = self.rec.writer(self.street_series)

    # --- people ------------------------------------------------------------------------
    def new_person(self, required: tuple[tuple[int, bool], ...] = ()) -> Person:
        """Create a person, drawing their attributes (``required`` ones fixed, e.g. for the
        residents of a women-only place at the start), and record them."""
        attrs: tuple[bool, ...] = ()
        if self.attribute_probabilities:
            u = self.attribute_stream.uniform
            drawn = [u() < p for p in self.attribute_probabilities]
            for index, value in required:
                drawn[index] = value
            attrs = tuple(drawn)
        person = Person(self.created, attrs)
        if self.reach_stream is not None:
            person.reach_draw = self.reach_stream.uniform()
        self.created += 1
        self.people[person.id] = person
        self.record_person((person.id, self.env._now, attrs))
        return person

    # --- the street pool -----------------------------------------------------------------
    def add_contactable(self, person: Person) -> None:
        slot = person.slot = len(self.contactable)
        self.contactable.append(person)
        if self.reach_stream is not None:
            draws = self.reach_draws
            if slot == draws.size:
                self.reach_draws = draws = np.concatenate((draws, np.empty(max(slot, 256))))
            draws[slot] = person.reach_draw
        if self.pool_waiters:
            for waiter in self.pool_waiters:
                waiter.succeed()
            self.pool_waiters.clear()

    def remove_contactable(self, person: Person) -> None:
        slot = person.slot
        last = self.contactable.pop()
        if last is not person:
            self.contactable[slot] = last
            last.slot = slot
            if self.reach_stream is not None:
                self.reach_draws[slot] = last.reach_draw
        person.slot = -1

    def street_count(self, delta: int) -> None:
        self.on_street = count = self.on_street + delta
        self._write_street(self.env._now, count)

    def pool_not_empty(self) -> Event:
        """An event triggered when someone next becomes contactable."""
        event = self.env.event()
        self.pool_waiters.append(event)
        return event

    # --- helpers -------------------------------------------------------------------------
    def arm(self, person: Person, delay: float) -> None:
        """Wake ``person`` after ``delay`` unless something else wakes them first."""
        assert person.wake is not None
        alarm(self.env, delay, person.wake, _WOKEN)

    def grant(self, ticket: Ticket, place: Place) -> None:
        """A place was handed to ``ticket``: withdraw the person's other applications at once
        (``first_free``), and wake them."""
        group = ticket.group
        if group is not None:
            for other_place, other in group:
                if other is not ticket:
                    other_place.cancel(other)
            ticket.person.target = place
        wake(ticket.person)

    def close_episode(
        self, p: Person, exit_time: float, outcome: str, positive: bool | None
    ) -> None:
        self.record_episode(
            (
                p.id,
                p.episode,
                p.node,
                p.queued,
                p.entry,
                p.ready,
                exit_time,
                outcome,
                positive,
                p.blocked_on,
            )
        )
        p.node = p.blocked_on = ""
        p.queued = p.ready = NAN


# --- referrals ---------------------------------------------------------------------------
def refer(ctx: Context, p: Person, target: Place) -> None:
    """Put a street person on ``target``'s waiting list (admitted at once if there is room)."""
    if p.slot >= 0:
        ctx.remove_contactable(p)
    now = ctx.env._now
    if p.ready != p.ready:  # NaN: not referred yet in this episode
        p.ready = now
    p.target = target
    if target.has_room():  # admitted at once: what joining an empty list would do, in short
        p.ticket = ADMITTED
        target.occupy()
        wake(p)  # what Context.grant does for a ticket of no group
    else:
        p.ticket = ticket = Ticket(p, None, now)
        target.join(ticket, p.attrs)


def refer_by_route(ctx: Context, p: Person, route: Route) -> bool:
    """Refer ``p`` to a target drawn from ``route``; False when no target is usable."""
    target = route.choose(p.attrs)
    if target is None:
        return False
    refer(ctx, p, ctx.places[target])
    return True


# --- the person's life -------------------------------------------------------------------
def begin_life(ctx: Context, p: Person, stage: Stage) -> None:
    """Start a person's life at ``stage`` (in an urgent event now, as SimPy starts a process)."""
    soon(ctx.env, lambda _event: live(ctx, p, stage))


def live(ctx: Context, p: Person, stage: Stage) -> None:
    """Walk a person through their stages, from ``stage`` on, until one waits (it arranged
    to go on later: :func:`wait`) or they leave the pathway."""
    while stage is not None:
        if stage is WAITING:
            return
        kind, arg = stage
        if kind == STREET:
            stage = street(ctx, p, *arg)
        elif kind == STAY:
            stage = stay(ctx, p, *arg)
        elif ctx.exits[arg].return_probability <= 0.0:  # gone for good: no draw, no wait
            break
        else:
            stage = leave_by_exit(ctx, p, arg)
    del ctx.people[p.id]  # gone: nothing of them is kept but what was recorded
    ended(ctx.env)


def wait(ctx: Context, p: Person, what: float | Event, then: Callable[[], Stage]) -> Stage:
    """Go on with ``then`` (which gives the next stage) once ``what`` (a delay, or an event)
    is over; a stage returns what this returns, :data:`WAITING`."""
    if isinstance(what, Event):
        what.callbacks.append(lambda _event: live(ctx, p, then()))
    else:
        after(ctx.env, what, lambda _event: live(ctx, p, then()))
    return WAITING


def street(ctx: Context, p: Person, elapsed: float, intake: Route | Place | None) -> Stage:
    """A street episode: wait for a place (after a referral) or a spontaneous exit."""
    env = ctx.env
    now = env._now
    p.episode += 1
    p.node = ctx.street_id
    p.entry = now - elapsed
    p.ready = p.queued = NAN
    p.wake = None  # no wake-up needed if an intake referral is admitted at once
    ctx.on_street += 1  # recorded once they wait: admitted at once, the count is unchanged
    # drawn for everyone, admitted at once or not, so streams stay aligned across scenarios
    if p.transient:
        assert ctx.transient_exit_stream is not None
        exit_after = ctx.transient_exit_stream.exponential() / ctx.transient_exit_rate
    else:
        exit_after = (
            ctx.street_exit_stream.exponential() / ctx.street_exit_rate
            if ctx.street_exit_rate > 0.0
            else INF
        )
    if isinstance(intake, Place):
        refer(ctx, p, intake)
    elif intake is None or not refer_by_route(ctx, p, intake):
        ctx.add_contactable(p)
    if p.ticket is None or not p.ticket.granted:
        ctx.street_count(0)
        p.wake = env.event()
        if exit_after < INF:
            ctx.arm(p, exit_after)
        return wait(ctx, p, p.wake, lambda: street_ends(ctx, p))
    return street_ends(ctx, p)


def street_ends(ctx: Context, p: Person) -> Stage:
    """The end of a street episode: admitted to a place, or a spontaneous exit."""
    now = ctx.env._now
    ticket, target = p.ticket, p.target
    p.ticket = p.target = None
    ctx.street_count(-1)
    if ticket is not None and ticket.granted and target is not None:
        ctx.close_episode(p, now, target.node_id, None)
        # the stay begins at once: its stage is run here rather than returned to live's loop
        return stay(ctx, p, target, now, now if ticket is ADMITTED else ticket.queued)
    if ticket is not None and target is not None:
        target.cancel(ticket)
    else:
        ctx.remove_contactable(p)
    route = ctx.street_exit_route
    if p.transient and ctx.transient_exit_route is not None:
        route = ctx.transient_exit_route
    assert route is not None
    exit_id = route.choose(p.attrs)
    assert exit_id is not None
    ctx.close_episode(p, now, exit_id, ctx.exits[exit_id].positive)
    return (EXIT, exit_id)


def stay(ctx: Context, p: Person, place: Place, entry: float, queued: float) -> Stage:
    """A stay in a place: until ready (then on, blocked if the next place is full) or a
    negative exit, whichever comes first."""
    rules = ctx.rules[place.node_id]
    now = ctx.env._now
    p.node = place.node_id
    p.entry = entry
    p.queued = queued
    p.ready = NAN
    p.blocked_on = ""
    ready_at = now
    if rules.duration is not None:
        drawn = entry + rules.duration()
        if drawn > now:  # max(now, drawn), without the call
            ready_at = drawn
    negative_at = (
        now + rules.negative_stream.exponential() / rules.negative_rate
        if rules.negative_rate > 0.0
        else INF
    )
    if negative_at <= ready_at:
        return wait(ctx, p, negative_at - now, lambda: _negative_exit(ctx, p, place, rules))
    if ready_at > now:  # wait(...), in short: the wait of nearly every stay
        after(
            ctx.env,
            ready_at - now,
            lambda _: live(ctx, p, ready(ctx, p, place, rules, negative_at)),
        )
        return WAITING
    return ready(ctx, p, place, rules, negative_at)


def ready(ctx: Context, p: Person, place: Place, rules: PlaceRules, negative_at: float) -> Stage:
    """A resident is ready: on to the next place (blocked here while it is full) or an exit."""
    env = ctx.env
    p.ready = now = env._now
    target_id = rules.route.choose(p.attrs)
    if target_id is None:  # every eligible target is closed: wait blocked for one to open
        target_id = rules.route.choose(p.attrs, open_only=False) or rules.route.targets[0]
    target = ctx.places.get(target_id)
    if target is None:  # an exit
        place.leave()
        ctx.close_episode(p, now, target_id, ctx.exits[target_id].positive)
        return (EXIT, target_id)
    if rules.first_free:
        applications = rules.route.applications(p.attrs, target)
        return apply_everywhere(ctx, p, place, rules, applications, negative_at)
    if target.has_room():
        target.occupy()
        return _moved_on(ctx, p, place, target, now)
    ticket = Ticket(p, place, now)
    p.wake = env.event()
    p.blocked_on = target_id
    place.set_blocked(+1, target_id)
    target.join(ticket, p.attrs)
    if ticket.granted:
        return _unblocked(ctx, p, place, rules, target, ticket)
    _check_deadlock(ctx, place)
    if negative_at < INF:
        ctx.arm(p, negative_at - now)
    return wait(ctx, p, p.wake, lambda: _unblocked(ctx, p, place, rules, target, ticket))


def _unblocked(
    ctx: Context, p: Person, place: Place, rules: PlaceRules, target: Place, ticket: Ticket
) -> Stage:
    """The end of a block on one destination: its place granted, or a negative exit."""
    place.set_blocked(-1, target.node_id)
    if not ticket.granted:
        target.cancel(ticket)
        return _negative_exit(ctx, p, place, rules)
    return _moved_on(ctx, p, place, target, ticket.queued)


def _moved_on(ctx: Context, p: Person, place: Place, target: Place, ready_at: float) -> Stage:
    """Leave ``place`` for ``target`` (taken), having been ready since ``ready_at``."""
    place.leave()
    now = ctx.env._now
    ctx.close_episode(p, now, target.node_id, True)
    return (STAY, (target, now, ready_at))


def apply_everywhere(
    ctx: Context,
    p: Person,
    place: Place,
    rules: PlaceRules,
    applications: tuple[Place, ...],
    negative_at: float,
) -> Stage:
    """The ``first_free`` policy: a resident of ``place``, ready, takes the first of
    ``applications`` with room; if none has, they join every one's waiting list (FIFO per
    place, places not yet open included), stay blocked in ``place`` and take the first place
    handed to them, withdrawn from the other lists at once (:meth:`Context.grant`); or leave
    by a negative exit while blocked (every list withdrawn)."""
    env = ctx.env
    now = env._now
    for target in applications:
        if target.has_room():
            target.occupy()
            return _moved_on(ctx, p, place, target, now)
    names = tuple(target.node_id for target in applications)
    p.wake = env.event()
    p.target = None
    p.blocked_on = names[0]  # the drawn destination, unless another is taken
    place.set_blocked_on_all(+1, names)
    group: list[tuple[Place, Ticket]] = []
    for target in applications:
        ticket = Ticket(p, place, now)
        ticket.group = group
        group.append((target, ticket))  # before joining: a grant withdraws those joined
        target.join(ticket, p.attrs)
        if ticket.granted:  # only a list being served at once: the others are withdrawn
            break
    if p.target is not None:
        return _first_taken(ctx, p, place, rules, names, group, now)
    _check_deadlock(ctx, place)
    if negative_at < INF:
        ctx.arm(p, negative_at - now)
    return wait(ctx, p, p.wake, lambda: _first_taken(ctx, p, place, rules, names, group, now))


def _first_taken(
    ctx: Context,
    p: Person,
    place: Place,
    rules: PlaceRules,
    names: tuple[str, ...],
    group: list[tuple[Place, Ticket]],
    ready_at: float,
) -> Stage:
    """The end of a ``first_free`` block: the place taken, or a negative exit."""
    place.set_blocked_on_all(-1, names)
    taken, p.target = p.target, None
    if taken is None:
        for target, ticket in group:
            target.cancel(ticket)
        return _negative_exit(ctx, p, place, rules)
    p.blocked_on = taken.node_id
    return _moved_on(ctx, p, place, taken, ready_at)


def _negative_exit(ctx: Context, p: Person, place: Place, rules: PlaceRules) -> Stage:
    assert rules.negative_route is not None
    exit_id = rules.negative_route.choose(p.attrs)
    assert exit_id is not None
    place.leave()
    ctx.close_episode(p, ctx.env._now, exit_id, False)
    return (EXIT, exit_id)


def leave_by_exit(ctx: Context, p: Person, exit_id: str) -> Stage:
    """An exit: the person leaves the pathway, or comes back to the street later."""
    rules = ctx.exits[exit_id]
    if rules.return_probability <= 0.0 or rules.stream.uniform() >= rules.return_probability:
        return None
    delay = rules.after() if rules.after is not None else 0.0
    if delay > 0.0:
        return wait(ctx, p, delay, lambda: (STREET, (0.0, None)))
    return (STREET, (0.0, None))


# --- deadlock ----------------------------------------------------------------------------
def _check_deadlock(ctx: Context, place: Place) -> None:
    """Report a permanent deadlock: full places whose holders all wait on each other."""
    if place.blocked < place.occupancy or place.occupancy < place.capacity:
        return
    stuck = {
        k
        for k, pl in ctx.places.items()
        if not pl.on_release
        and pl.occupancy > 0
        and pl.blocked == pl.occupancy
        and pl.occupancy >= pl.capacity
    }
    changed = True
    while changed:
        changed = False
        for k in list(stuck):
            if any(n and t not in stuck for t, n in ctx.places[k].blocked_on.items()):
                stuck.discard(k)
                changed = True
    if not stuck:
        return
    now = ctx.env._now
    for k in stuck:
        rules = ctx.rules[k]
        if rules.negative_rate > 0.0 or rules.growth_ahead(now):
            return  # someone will leave or a place will open: a jam, not a deadlock
    nodes = tuple(sorted(stuck))
    ctx.rec.deadlocks.append((now, nodes))
    if ctx.on_deadlock == "error":
        raise DeadlockError(
            f"deadlock on day {now:.1f}: {', '.join(nodes)} are full and every resident waits "
            "for a place in another of them, with no exit hazard and no capacity increase ahead"
        )


# --- processes of the services -----------------------------------------------------------
def poisson_events(
    ctx: Context,
    rate: Callable[[float], tuple[float, float]],
    stream: Stream,
    on_event: Callable[[], None],
    pause: Callable[[], Event | None] | None = None,
) -> ProcessGenerator:
    """A Poisson process whose rate (per day) is constant until the time ``rate`` returns with
    it (so it is read again only then); the draw restarts at each change (memoryless).
    ``pause`` may return an event to wait for first (nothing can happen until it triggers)."""
    env = ctx.env
    per_day, change = 0.0, -INF  # the rate, read again only once ``change`` is reached
    horizon = ctx.horizon
    while env._now < horizon:
        if pause is not None:
            waiting = pause()
            if waiting is not None:
                yield waiting
                continue
        now = env._now
        if now >= change:
            per_day, change = rate(now)
            change = min(change, ctx.horizon)
        if per_day <= 0.0:
            if change >= ctx.horizon:
                return
            yield change - now
            continue
        gap = stream.exponential() / per_day
        if now + gap >= change:
            yield change - now
            continue
        yield gap
        on_event()


def street_arrivals(
    ctx: Context,
    rate: Steps,
    stream: Stream,
    intake: Callable[[], Any],
    transient: bool = False,
) -> ProcessGenerator:
    """New arrivals on the street: a Poisson process with a piecewise-constant rate
    (``transient``: users of the transient class)."""

    def arrive() -> None:
        person = ctx.new_person()
        person.transient = transient
        route = intake()  # drawn now, the street stage run when the life starts (begin_life)
        soon(ctx.env, lambda _: live(ctx, person, street(ctx, person, 0.0, route)))

    return poisson_events(ctx, lambda t: (rate.at(t), rate.next_change(t)), stream, arrive)


def referrals(
    ctx: Context,
    bound: Callable[[float], tuple[float, float]],
    intensity: Callable[[float, int], float],
    route: Route,
    stream: Stream,
) -> ProcessGenerator:
    """Referrals from a contact service, by thinning: candidates at the rate ``bound`` gives
    (constant until the time it returns), each accepted with ``intensity / bound`` for the
    street pool at that instant; an accepted one refers a contactable person drawn at random.
    Nothing happens while nobody is contactable."""

    def candidate() -> None:
        n = len(ctx.contactable)
        now = ctx.env._now
        if n and stream.uniform() * bound(now)[0] < intensity(now, n):
            person = ctx.contactable[min(int(stream.uniform() * n), n - 1)]
            refer_by_route(ctx, person, route)

    def empty_pool() -> Event | None:
        return None if ctx.contactable else ctx.pool_not_empty()

    return poisson_events(ctx, bound, stream, candidate, empty_pool)


def rest_space_visits(
    ctx: Context,
    node_id: str,
    reach: Steps,
    visits_per_day: float,
    cap: Steps,
    referral_probability: float,
    route: Route,
    stream: Stream,
) -> ProcessGenerator:
    """Visits to a rest space, day by day and by person: each street user among its reach
    (a person's ``reach_draw`` below the day's share) visits as a Poisson process of rate
    ``visits_per_day``, served up to the day's cap (places x visits per place); a served visit
    refers its visitor with ``referral_probability``. Visits are recorded on the day's midday."""
    env = ctx.env
    rng = stream.rng
    yield 0.5
    while env._now < ctx.horizon:
        now = env._now
        share = reach.at(now)
        contactable = ctx.contactable
        users = (ctx.reach_draws[: len(contactable)] < share).nonzero()[0]  # in pool order
        n = int(users.size)
        if n:
            wanted = int(rng.poisson(visits_per_day * n))
            served = min(wanted, int(cap.at(now)))
            if served:
                chosen = users[rng.integers(0, n, served)].tolist()
                visitors = [contactable[i] for i in chosen]
                ctx.rec.visits(node_id, now, [p.id for p in visitors], [p.attrs for p in visitors])
                referred = int(rng.binomial(served, referral_probability))
                for p in visitors[:referred]:
                    if p.slot >= 0:  # not already referred today
                        refer_by_route(ctx, p, route)
        yield 1.0


def releases(ctx: Context, place: Place, rate: Steps, stream: Stream) -> ProcessGenerator:
    """Places freed in saturated common-law housing: a Poisson process of releases."""

    def release() -> None:
        place.release_token()

    return poisson_events(ctx, lambda t: (rate.at(t), rate.next_change(t)), stream, release)


def schedule_capacity(
    env: simpy.Environment, place: Place, steps: Steps, horizon: float, scale: float = 1.0
) -> None:
    """Apply capacity changes at their dates, before anything else at the same instant
    (steps at or after the end of the run are not applied: nothing happens at ``end``)."""

    def change_to(value: float) -> Callable[[Event], None]:
        return lambda _event: place.set_capacity(value)

    for day, value in steps.changes_after(0.0):
        if day >= horizon:
            break
        event = Event(env)
        event._ok = True
        event._value = None
        event.callbacks.append(change_to(value * scale))
        env.schedule(event, URGENT, day)

"""Capacity pools with schedules and FIFO waiting lists (with priority classes).

A :class:`Place` hands a freed place straight to the first person on its waiting list, so a
place freed and claimed at the same instant is handed over at once, FIFO among equals.
Occupancy, waiting and blocked counts are recorded at each change. A capacity cut below the
current occupancy evicts nobody: the place admits no one until occupancy falls below capacity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

from sim.engine.record import Recorder


class Ticket:
    """A person's request for a place; ``holder`` is the place they keep while blocked.

    ``group`` lists the (place, ticket) pairs of one person's applications to several places
    at once (the ``first_free`` policy): the first granted withdraws the others."""

    __slots__ = ("cancelled", "granted", "group", "holder", "person", "queued")

    def __init__(self, person: Any, holder: Place | None, queued: float) -> None:
        self.person = person
        self.holder = holder
        self.queued = queued
        self.granted = False
        self.cancelled = False
        self.group: list[tuple[Place, Ticket]] | None = None


class Place:
    """A node's places: capacity, occupancy, FIFO waiting list, blocked holders."""

    __slots__ = (
        "_classes",
        "_env",
        "_write_blocked",
        "_write_capacity",
        "_write_occupancy",
        "_write_waiting",
        "blocked",
        "blocked_on",
        "capacity",
        "grant",
        "node_id",
        "occupancy",
        "on_release",
        "priority",
        "waiting",
    )

    def __init__(
        self,
        node_id: str,
        capacity: float,
        priority: list[int],
        recorder: Recorder,
        env: simpy.Environment,
        on_release: bool = False,
    ) -> None:
        self.node_id = node_id
        self.capacity = capacity
        self.on_release = on_release
        self.priority = priority  # attribute indices giving priority, in order
        self.occupancy = 0
        self.waiting = 0
        self.blocked = 0
        self.blocked_on: dict[str, int] = {}
        self._classes: list[deque[Ticket]] = [deque() for _ in range(len(priority) + 1)]
        self._env = env
        self.grant: Callable[[Ticket, Place], None] = _no_grant
        idx = recorder.series_index
        self._write_capacity = recorder.writer(idx[f"capacity.{node_id}"])
        self._write_occupancy = recorder.writer(idx[f"occupancy.{node_id}"])
        self._write_waiting = recorder.writer(idx[f"waiting.{node_id}"])
        self._write_blocked = recorder.writer(idx[f"blocked.{node_id}"])
        self._write_capacity(0.0, 0.0 if on_release else capacity)
        self._write_occupancy(0.0, 0.0)
        self._write_waiting(0.0, 0.0)
        self._write_blocked(0.0, 0.0)

    # --- state changes, each recorded ---------------------------------------------------
    def _set_occupancy(self, value: int) -> None:
        self.occupancy = value
        self._write_occupancy(self._env._now, value)

    def _set_waiting(self, value: int) -> None:
        self.waiting = value
        self._write_waiting(self._env._now, value)

    def set_blocked(self, delta: int, target: str) -> None:
        """A holder here becomes blocked on (``delta=1``) or leaves a block on ``target``."""
        self.blocked += delta
        self.blocked_on[target] = self.blocked_on.get(target, 0) + delta
        self._write_blocked(self._env._now, self.blocked)

    def set_blocked_on_all(self, delta: int, targets: tuple[str, ...]) -> None:
        """A holder here becomes blocked on (``delta=1``) or leaves a block on every one of
        ``targets`` at once (one resident, counted once in ``blocked``)."""
        self.blocked += delta
        for target in targets:
            self.blocked_on[target] = self.blocked_on.get(target, 0) + delta
        self._write_blocked(self._env._now, self.blocked)

    # --- the waiting list ----------------------------------------------------------------
    def has_room(self) -> bool:
        """Whether someone arriving now would be admitted at once."""
        return not self.on_release and self.waiting == 0 and self.occupancy < self.capacity

    def occupy(self) -> None:
        """Take a place directly (initial residents, or a check of :meth:`has_room` first)."""
        self.occupancy = value = self.occupancy + 1
        self._write_occupancy(self._env._now, value)

    def join(self, ticket: Ticket, attributes: tuple[bool, ...]) -> None:
        """Put ``ticket`` on the waiting list behind its priority class."""
        cls = next((i for i, a in enumerate(self.priority) if attributes[a]), len(self.priority))
        self._classes[cls].append(ticket)
        self._set_waiting(self.waiting + 1)
        self.admit()

    def cancel(self, ticket: Ticket) -> None:
        """Take a ticket off the list (lazily: it is skipped when reached)."""
        if not ticket.cancelled and not ticket.granted:
            ticket.cancelled = True
            self._set_waiting(self.waiting - 1)

    def _pop(self) -> Ticket | None:
        for queue in self._classes:
            while queue:
                ticket = queue.popleft()
                if not ticket.cancelled:
                    return ticket
        return None

    def _hand_over(self) -> bool:
        ticket = self._pop()
        if ticket is None:
            return False
        ticket.granted = True
        self._set_waiting(self.waiting - 1)
        self._set_occupancy(self.occupancy + 1)
        self.grant(ticket, self)
        return True

    def admit(self) -> None:
        """Admit from the waiting list while there is room."""
        if self.on_release:
            return
        while self.waiting and self.occupancy < self.capacity:
            self._hand_over()

    def release_token(self) -> bool:
        """A release-rate node frees one place: the head of the list gets it, if anyone."""
        return self._hand_over()

    def leave(self) -> None:
        """Someone leaves: their place goes to the first person waiting."""
        self.occupancy = value = self.occupancy - 1
        self._write_occupancy(self._env._now, value)
        if self.waiting and not self.on_release:  # what admit() checks first
            self.admit()

    def set_capacity(self, capacity: float) -> None:
        """Apply a capacity change; a cut evicts nobody."""
        self.capacity = capacity
        if not self.on_release:
            self._write_capacity(self._env._now, capacity)
        self.admit()

    def close(self) -> None:
        """Empty the waiting lists and let go of the engine (the run is over), so that
        nothing here holds people or is held in a cycle."""
        for queue in self._classes:
            for ticket in queue:
                ticket.group = None
            queue.clear()
        self.grant = _no_grant

    @property
    def is_open(self) -> bool:
        """Whether the node takes anyone at all right now (capacity > 0)."""
        return self.capacity > 0


def _no_grant(ticket: Ticket, place: Place) -> None:
    """What a place does when it hands over a place, until the engine says (nothing)."""

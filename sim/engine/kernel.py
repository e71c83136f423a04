"""What the engine asks of SimPy, for less: a run loop, processes and timers that schedule
exactly the events SimPy's own would, at the same times, with the same priorities and ids.

SimPy processes its events in the order of (time, priority, id), ids taken from one counter
as events are scheduled. The model's processes use little of what SimPy's
:class:`~simpy.events.Process` and :class:`~simpy.events.Timeout` offer (no interrupts, no
failed events, nobody waiting for a process to end), so:

- :func:`start` drives a generator with one closure instead of a ``Process``; its first step
  is an urgent event scheduled at once, as SimPy's ``Initialize`` is;
- a process waits for a delay by yielding the number: a :class:`Timer` is scheduled where
  ``env.timeout(delay)`` would have scheduled its ``Timeout``; it waits for an event by
  yielding the event, as in SimPy;
- a process that ends takes the id its end event would have had and schedules nothing:
  nobody waits for it, and processing it would do nothing;
- a process may also be made of callbacks: :func:`soon` starts it where ``start`` would,
  :func:`after` waits where a yielded delay would, and :func:`ended` ends it;
- :meth:`Environment.run` to a time is SimPy's loop with ``step`` inlined, stopping where
  SimPy's "until" event (urgent, at that time, its id taken when the run starts) would, and
  taking the id SimPy takes when it schedules that event again as it stops (for nothing: it
  has no callbacks left).

Every event thus keeps its place in the order, and a run's event count (``next(env._eid)``)
is SimPy's own. An exception raised by a process propagates at once (SimPy raises it when
the process's end event is processed, later in the same instant).

The cycle collector is paused while the loop runs (:func:`collector_paused`, also while a
replication is wired): the model makes no garbage cycles as it runs (a process's closure,
which refers to itself, lets go of itself when the process ends), and one full collection
over every object of the Python process can cost as much as a replication. It resumes, as
it was, when the run stops.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL, PENDING, URGENT, Event

ProcessGenerator = Generator[Event | float, Any, Any]


class Timer:
    """A scheduled wake-up: what the run loop reads of an event (its callbacks and ``_ok``),
    and nothing more."""

    __slots__ = ("callbacks",)
    _ok = True
    _value = None

    def __init__(self, callback: Callable[[Any], None]) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [callback]  # None once processed


class Environment(simpy.Environment):
    """SimPy's environment, with a leaner :meth:`run` to a time (the same events, in the
    same order), and :meth:`close`."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[ProcessGenerator] = []
        """The generators started with :func:`start`."""

    def close(self) -> None:
        """Drop every scheduled event and stop every generator process, so that what they
        hold is freed as soon as nothing else refers to it (the run cannot go on)."""
        self._queue.clear()
        for generator in self.processes:
            generator.close()
        self.processes.clear()

    def run(self, until: Any = None) -> Any:
        """Process every event before ``until`` (a time), as :meth:`simpy.Environment.run`
        does; any other ``until`` goes to SimPy."""
        if until is None or isinstance(until, Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        now = self._now
        if at <= now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        end = now + (at - now)  # where SimPy schedules its "until" event, bit for bit
        last = next(self._eid)  # the id that event would take
        with collector_paused():
            self._run(end, last)
        self._now = end
        next(self._eid)  # SimPy schedules its "until" event again when it stops the run
        return None

    def _run(self, end: float, last: int) -> None:
        queue: list[Any] = self._queue
        while queue:
            t, priority, eid, event = heappop(queue)
            if t > end or (t == end and (priority > URGENT or eid > last)):
                heappush(queue, (t, priority, eid, event))  # after the "until" event: later
                break
            self._now = t
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:  # as SimPy's ``step`` does
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                failure = event._value
                exc = type(failure)(*failure.args)
                exc.__cause__ = failure
                raise exc


def start(env: simpy.Environment, generator: ProcessGenerator) -> None:
    """Run ``generator`` as SimPy would run it as a process: it yields an event to wait for
    it, or a delay (a number) to wait that long."""
    queue: list[Any] = env._queue
    ids = env._eid
    send = generator.send
    if isinstance(env, Environment):
        env.processes.append(generator)

    def resume(event: Any) -> None:
        nonlocal resume
        try:
            target = send(event._value)
        except StopIteration:
            next(ids)  # the process's end event, which nobody waits for
            del resume  # it referred to itself: freed now, not by the cycle collector
            return
        if isinstance(target, Event):
            target.callbacks.append(resume)
        elif target >= 0:
            heappush(queue, (env._now + target, NORMAL, next(ids), Timer(resume)))
        else:
            raise ValueError(f"Negative delay {target}")

    heappush(queue, (env._now, URGENT, next(ids), Timer(resume)))


def soon(env: simpy.Environment, callback: Callable[[Any], None]) -> None:
    """Call ``callback`` in an urgent event now: where SimPy would start a process."""
    queue: list[Any] = env._queue
    heappush(queue, (env._now, URGENT, next(env._eid), Timer(callback)))


def after(env: simpy.Environment, delay: float, callback: Callable[[Any], None]) -> None:
    """Call ``callback`` after ``delay``: where ``env.timeout(delay)`` would be scheduled."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    queue: list[Any] = env._queue
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), Timer(callback)))


def ended(env: simpy.Environment) -> None:
    """A process made of callbacks ends: take the id of the end event SimPy would schedule
    (nobody waits for it)."""
    next(env._eid)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a while (a run, the wiring of a replication),
    then leave it as it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class _Alarm:
    """A scheduled event that succeeds ``event`` with ``value`` unless it is triggered by then."""

    __slots__ = ("callbacks", "event", "value")
    _ok = True
    _value = None

    def __init__(self, event: Event, value: object) -> None:
        self.callbacks: list[Callable[[_Alarm], None]] | None = [_ring]
        self.event = event
        self.value = value


def _ring(alarm: _Alarm) -> None:
    event = alarm.event
    if event._value is PENDING:
        event.succeed(alarm.value)


def alarm(env: simpy.Environment, delay: float, event: Event, value: object) -> None:
    """Succeed ``event`` with ``value`` after ``delay``, unless something triggers it first:
    a ``Timeout`` of ``delay`` with that callback, for less."""
    queue: list[Any] = env._queue
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), _Alarm(event, value)))

"""What the engine asks of SimPy, for less: a run loop, processes and timers that schedule
exactly the events SimPy's own would, at the same times, with the same priorities and ids.

SimPy processes its events in the order of (time, priority, id), ids taken from one counter
as events are scheduled. The model's processes use little of what SimPy's
:class:`~simpy.events.Process` and :class:`~simpy.events.Timeout` offer (no interrupts, no
failed events, nobody waiting for a process to end), so:

- what the kernel schedules for itself is a bare function, called with ``None`` when its turn
  comes (a *wake-up*: no event object, no list of callbacks); SimPy's own events share the
  queue and are processed as SimPy processes them;
- :func:`start` drives a generator with one closure instead of a ``Process``; its first step
  is a wake-up scheduled at once with SimPy's ``Initialize`` priority (urgent);
- a process waits for a delay by yielding the number: a wake-up is scheduled where
  ``env.timeout(delay)`` would have scheduled its ``Timeout``; it waits for an event by
  yielding the event, as in SimPy;
- a process that ends takes the id its end event would have had and schedules nothing:
  nobody waits for it, and processing it would do nothing;
- a process may also be made of callbacks: :func:`soon` starts it where ``start`` would,
  :func:`after` waits where a yielded delay would, and :func:`ended` ends it;
- :meth:`Environment.run` to a time is SimPy's loop with ``step`` inlined, stopping where
  SimPy's "until" event (urgent, at that time, its id taken when the run starts) would, and
  taking the id SimPy takes when it schedules that event again as it stops (for nothing: it
  has no callbacks left); :meth:`Environment.step` is SimPy's, wake-ups included.

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


WakeUp = Callable[[None], None]
"""What the kernel schedules for itself: a function (``def`` or ``lambda``, nothing else),
called with ``None`` at its time."""
_FUNCTION = type(lambda _: None)


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
            if event.__class__ is _FUNCTION:  # a wake-up
                event(None)
                continue
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:  # as SimPy's ``step`` does
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                _raise_failure(event)

    def step(self) -> None:
        """Process the next event, as :meth:`simpy.Environment.step` does, or wake-up."""
        queue: list[Any] = self._queue
        if queue and queue[0][3].__class__ is _FUNCTION:
            self._now, _, _, wake_up = heappop(queue)
            wake_up(None)
        else:
            super().step()


def _raise_failure(event: Event) -> None:
    """Crash the run with a failed event's exception, as SimPy's ``step`` does."""
    failure = event._value
    exc = type(failure)(*failure.args)
    exc.__cause__ = failure
    raise exc


def start(env: Environment, generator: ProcessGenerator) -> None:
    """Run ``generator`` as SimPy would run it as a process: it yields an event to wait for
    it, or a delay (a number) to wait that long. Wake-ups need the kernel's :class:`Environment`
    (SimPy's own ``step`` does not know them)."""
    queue: list[Any] = env._queue
    ids = env._eid
    send = generator.send
    env.processes.append(generator)

    def step(value: Any) -> None:
        nonlocal step
        try:
            target = send(value)
        except StopIteration:
            next(ids)  # the process's end event, which nobody waits for
            del step  # it referred to itself: freed now, not by the cycle collector
            return
        if isinstance(target, Event):
            target.callbacks.append(resume)
        elif target >= 0:
            heappush(queue, (env._now + target, NORMAL, next(ids), step))
        else:
            raise ValueError(f"Negative delay {target}")

    def resume(event: Event) -> None:
        step(event._value)

    heappush(queue, (env._now, URGENT, next(ids), step))


def soon(env: Environment, wake_up: WakeUp) -> None:
    """Call ``wake_up`` (a function) in an urgent wake-up now: where SimPy would start a
    process."""
    queue: list[Any] = env._queue
    heappush(queue, (env._now, URGENT, next(env._eid), wake_up))


def after(env: Environment, delay: float, wake_up: WakeUp) -> None:
    """Call ``wake_up`` (a function) after ``delay``: where ``env.timeout(delay)`` would be
    scheduled."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    queue: list[Any] = env._queue
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), wake_up))


def ended(env: Environment) -> None:
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


def alarm(env: Environment, delay: float, event: Event, value: object) -> None:
    """Succeed ``event`` with ``value`` after ``delay``, unless something triggers it first:
    a ``Timeout`` of ``delay`` with that callback, for less."""

    def ring(_: None) -> None:
        if event._value is PENDING:
            event.succeed(value)

    queue: list[Any] = env._queue
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), ring))

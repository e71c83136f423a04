"""The engine's lean event loop keeps SimPy's order: the same events, at the same times, in
the same order, with the same ids, whether processes are SimPy's or the kernel's (generators
yielding delays, or callbacks), and whatever the steps a run is advanced in."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Generator
from typing import Any

import pytest
import simpy
from simpy.events import URGENT, Event

from sim.engine import kernel
from sim.engine.model import Simulation, run_once
from sim.inputs.loading import load_scenario

from .conftest import SCENARIOS

Trace = list[tuple[float, str]]


def _toy(env: simpy.Environment, lean: bool, trace: Trace) -> None:
    """Customers arriving at random on a counter of 2, each leaving after a random stay or
    when a competing alarm rings first; a bell at fixed urgent instants (some exactly where
    a run stops); a callback process (kernel only) mirrored by a generator in SimPy."""
    rng = random.Random(4)
    free = [2]
    queue: list[Event] = []

    def delay(d: float) -> Any:
        return d if lean else env.timeout(d)

    def start(generator: Generator[Any, Any, Any]) -> None:
        if lean:
            kernel.start(env, generator)
        else:
            env.process(generator)

    def customer(i: int) -> Generator[Any, Any, Any]:
        trace.append((env.now, f"arrive {i}"))
        if free[0]:
            free[0] -= 1
        else:
            granted = env.event()
            queue.append(granted)
            if lean:
                kernel.alarm(env, rng.expovariate(1.0), granted, "gave up")
            else:

                def ring(_event: Event, granted: Event = granted) -> None:
                    if not granted.triggered:
                        granted.succeed("gave up")

                env.timeout(rng.expovariate(1.0)).callbacks.append(ring)
            value = yield granted
            trace.append((env.now, f"{i} {value}"))
            if value == "gave up":
                queue.remove(granted)
                return
        yield delay(rng.expovariate(0.7))
        trace.append((env.now, f"leave {i}"))
        if queue:
            queue.pop(0).succeed("served")
        else:
            free[0] += 1

    def arrivals() -> Generator[Any, Any, Any]:
        for i in range(40):
            yield delay(rng.expovariate(1.5))
            start(customer(i))

    def bell(day: float) -> None:
        def ring(_event: Event) -> None:
            trace.append((env.now, f"bell {day}"))
            start(customer(100 + int(day)))  # starts at the bell's instant, after it

        event = Event(env)
        event._ok = True
        event._value = None
        event.callbacks.append(ring)
        env.schedule(event, URGENT, day)

    for day in (1.0, 2.0, 5.0, 7.5):
        bell(day)
    start(arrivals())
    if lean:

        def tick(n: int) -> Callable[[Any], None]:
            def step(_event: Any) -> None:
                trace.append((env.now, f"tick {n}"))
                if n < 6:
                    kernel.after(env, 1.25, tick(n + 1))
                else:
                    kernel.ended(env)

            return step

        kernel.soon(env, tick(0))
    else:

        def ticks() -> Generator[Any, Any, Any]:
            for n in range(7):
                trace.append((env.now, f"tick {n}"))
                if n < 6:
                    yield env.timeout(1.25)

        env.process(ticks())


@pytest.mark.parametrize("stops", [[30.0], [2.0, 5.0, 7.5, 30.0], [0.3, 1.0, 1.7, 9.9, 30.0]])
def test_kernel_keeps_simpy_order_ids_and_clock(stops: list[float]) -> None:
    runs = []
    for lean, env in ((False, simpy.Environment()), (True, kernel.Environment())):
        trace: Trace = []
        _toy(env, lean, trace)
        clocks = []
        for stop in stops:
            env.run(until=stop)
            clocks.append((env.now, len(trace)))  # what each run did, up to where it stopped
        runs.append((trace, clocks, next(env._eid)))  # type: ignore[attr-defined]
    (simpy_trace, simpy_clocks, simpy_ids), (lean_trace, lean_clocks, lean_ids) = runs
    assert len(simpy_trace) > 80  # the customers, their waits and the bells all happened
    assert any("gave up" in what for _, what in simpy_trace)
    assert lean_trace == simpy_trace
    assert lean_clocks == simpy_clocks
    assert lean_ids == simpy_ids


def test_kernel_steps_as_simpy_does() -> None:
    """SimPy's own ``run`` (to the end, by ``step``) over the kernel's wake-ups and SimPy's
    events mixed: the same trace, clock and ids as SimPy's processes."""
    runs = []
    for lean, env in ((False, simpy.Environment()), (True, kernel.Environment())):
        trace: Trace = []
        _toy(env, lean, trace)
        env.run()
        runs.append((trace, env.now, next(env._eid)))  # type: ignore[attr-defined]
    assert len(runs[0][0]) > 80
    assert runs[1] == runs[0]


def test_kernel_refuses_a_past_until() -> None:
    env = kernel.Environment()
    env.run(until=1.0)
    with pytest.raises(ValueError, match="greater than the current simulation time"):
        env.run(until=1.0)


@pytest.mark.parametrize("collecting", [True, False])
def test_a_replication_leaves_the_cycle_collector_as_it_was(collecting: bool) -> None:
    sc = load_scenario(SCENARIOS / "verification" / "mmc.yaml", ["end=2001-01-01", "warmup=30"])
    was = gc.isenabled()
    try:
        gc.enable() if collecting else gc.disable()
        run_once(sc, 0, 1)
        simulation = Simulation(sc, 0, 1)
        simulation.advance(100.0)
        assert gc.isenabled() is collecting
    finally:
        gc.enable() if was else gc.disable()


def test_a_closed_replication_leaves_almost_nothing_to_collect() -> None:
    """Freed by reference counting: the cycle collector finds the services' few closures, not
    the thousands of people, events and tickets of the run."""
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml", ["end=2020-06-01"])
    gc.collect()
    record = run_once(sc, 0, 1)
    assert record.episodes.rows > 1000
    assert gc.collect() < 200

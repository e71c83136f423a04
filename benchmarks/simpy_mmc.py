"""The leanest SimPy M/M/c with a process per person: an integer counter and a FIFO of bare
events for the places, no recording. The floor any process-per-person SimPy model pays, used
in ``make bench`` to read the parcours / heapq ratio."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Generator
from typing import Any

import simpy


def mmc_simpy(
    arrivals_per_day: float,
    mean_stay: float,
    servers: int,
    horizon: float,
    seed: int,
    initial: int = 0,
) -> int:
    """Simulate an M/M/c queue with SimPy processes, starting with ``initial`` people in
    service; return the SimPy events processed."""
    env = simpy.Environment()
    rng = random.Random(seed)
    expo = rng.expovariate
    service_rate = 1.0 / mean_stay
    busy = [0]
    waiting: deque[simpy.Event] = deque()

    def customer() -> Generator[simpy.Event, Any, None]:
        if busy[0] < servers:  # the initial residents find room too
            busy[0] += 1
        else:
            granted = env.event()
            waiting.append(granted)
            yield granted  # the leaving customer hands the place over
        yield env.timeout(expo(service_rate))
        if waiting:
            waiting.popleft().succeed()
        else:
            busy[0] -= 1

    def arrivals() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(expo(arrivals_per_day))
            env.process(customer())

    for _ in range(initial):
        env.process(customer())
    env.process(arrivals())
    env.run(until=horizon)
    return int(next(env._eid))  # type: ignore[attr-defined]

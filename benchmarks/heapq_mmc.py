"""A minimal pure-Python M/M/c event loop (heapq): the practical speed limit for the same
queue as ``scenarios/verification/mmc.yaml``, used as the yardstick in ``make bench``."""

from __future__ import annotations

import heapq
import random
from collections import deque

ARRIVAL, DEPARTURE = 0, 1


def mmc_heapq(
    arrivals_per_day: float,
    mean_stay: float,
    servers: int,
    horizon: float,
    seed: int,
    initial: int = 0,
) -> tuple[int, float]:
    """Simulate an M/M/c queue starting with ``initial`` people in service; return (events
    processed, time-average queue length)."""
    rng = random.Random(seed)
    expo = rng.expovariate
    service_rate = 1.0 / mean_stay
    heap: list[tuple[float, int, int]] = [(expo(arrivals_per_day), 0, ARRIVAL)]
    heap += [(expo(service_rate), 1 + i, DEPARTURE) for i in range(initial)]
    heapq.heapify(heap)
    sequence = 1 + initial
    busy = initial
    queue: deque[float] = deque()
    events = 0
    area = 0.0
    last = 0.0
    while heap:
        t, _, kind = heapq.heappop(heap)
        if t >= horizon:
            break
        events += 1
        area += len(queue) * (t - last)
        last = t
        if kind == ARRIVAL:
            heapq.heappush(heap, (t + expo(arrivals_per_day), sequence, ARRIVAL))
            sequence += 1
            if busy < servers:
                busy += 1
                heapq.heappush(heap, (t + expo(service_rate), sequence, DEPARTURE))
                sequence += 1
            else:
                queue.append(t)
        elif queue:
            queue.popleft()
            heapq.heappush(heap, (t + expo(service_rate), sequence, DEPARTURE))
            sequence += 1
        else:
            busy -= 1
    return events, area / max(last, 1e-9)

"""A tandem network with blocking after service, against an independent simulator.

Poisson arrivals -> node 1 (c1 servers, exponential service, unlimited waiting room) ->
node 2 (c2 servers, exponential service, no waiting room: someone finishing at node 1 while
node 2 is full stays blocked in node 1, holding their server, FIFO among the blocked) -> exit.

The independent simulator below is a few lines of ``heapq`` and ``random`` written for this
test; it shares no code with ``sim``. Both are run with fixed seeds and compared through 95%
confidence intervals on the time-average number blocked at node 1, the time-average queue at
node 1 and the throughput.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random

import numpy as np
import pytest
from scipy import stats

from sim.inputs.loading import validate_data
from sim.running.runner import run
from tests.builders import START, name

ARRIVALS = 0.8  # per day
C1, MEAN1 = 2, 1.0  # node 1: servers, mean service (days)
C2, MEAN2 = 1, 0.8  # node 2
DAYS, WARMUP = 3000, 100.0
REPLICATIONS = 25
INDEPENDENT_RUNS = 60
DAYS_PER_MONTH = 365.25 / 12.0


def independent_run(seed: int) -> tuple[float, float, float]:
    """One run of the independent simulator: (mean blocked at node 1, mean queue at node 1,
    throughput per day), time averages over [WARMUP, DAYS)."""
    rng = random.Random(seed)
    events: list[tuple[float, int, str]] = []
    count = 0  # tie-breaker for the heap

    def schedule(t: float, kind: str) -> None:
        nonlocal count
        count += 1
        heapq.heappush(events, (t, count, kind))

    queue1 = serving1 = blocked1 = serving2 = done = 0
    area_blocked = area_queue = 0.0
    now = 0.0

    def start1() -> None:  # a node-1 server is free: take the head of the queue, if any
        nonlocal queue1, serving1
        if queue1:
            queue1 -= 1
            serving1 += 1
            schedule(now + rng.expovariate(1 / MEAN1), "end1")

    schedule(rng.expovariate(ARRIVALS), "arrival")
    while events and events[0][0] < DAYS:
        t, _, kind = heapq.heappop(events)
        if t > WARMUP:
            span = t - max(now, WARMUP)
            area_blocked += blocked1 * span
            area_queue += queue1 * span
        now = t
        if kind == "arrival":
            queue1 += 1
            if serving1 + blocked1 < C1:
                start1()
            schedule(now + rng.expovariate(ARRIVALS), "arrival")
        elif kind == "end1":
            serving1 -= 1
            if serving2 < C2:  # move on at once and free the node-1 server
                serving2 += 1
                schedule(now + rng.expovariate(1 / MEAN2), "end2")
                start1()
            else:  # blocked after service, holding the node-1 server
                blocked1 += 1
        else:  # end2: leave; the first blocked person moves in and frees their server
            serving2 -= 1
            done += now >= WARMUP
            if blocked1:
                blocked1 -= 1
                serving2 += 1
                schedule(now + rng.expovariate(1 / MEAN2), "end2")
                start1()
    span = DAYS - max(now, WARMUP)
    area_blocked += blocked1 * span
    area_queue += queue1 * span
    length = DAYS - WARMUP
    return area_blocked / length, area_queue / length, done / length


def tandem_scenario():  # type: ignore[no-untyped-def]
    return validate_data(
        {
            "name": "tandem",
            "start": START,
            "end": START + dt.timedelta(days=DAYS),
            "warmup": WARMUP,
            "nodes": {
                "street": {
                    "kind": "street",
                    "name": name("arrivals"),
                    "arrivals_per_year": ARRIVALS * 365.25,
                    "referred_on_arrival": 1.0,
                    "arrival_routing": {"node1": 1.0},
                },
                "node1": {
                    "kind": "accommodation",
                    "name": name("node 1"),
                    "capacity": float(C1),
                    "readiness": {"dist": "exponential", "mean": MEAN1},
                    "routing": {"node2": 1.0},
                },
                "node2": {
                    "kind": "downstream",
                    "name": name("node 2"),
                    "capacity": float(C2),
                    "stay": {"dist": "exponential", "mean": MEAN2},
                    "routing": {"done": 1.0},
                },
                "done": {"kind": "exit", "name": name("done"), "positive": True},
            },
        }
    )


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean()), float(half)


def erlang_c_queue(arrival_rate: float, mean_service: float, servers: int) -> float:
    """Mean queue length of an M/M/c queue (node 1 if node 2 never blocked)."""
    a = arrival_rate * mean_service
    rho = a / servers
    terms = sum(a**k / math.factorial(k) for k in range(servers))
    last = a**servers / math.factorial(servers) / (1 - rho)
    return last / (terms + last) * rho / (1 - rho)


@pytest.mark.slow
def test_tandem_with_blocking_matches_an_independent_simulator() -> None:
    result = run(
        tandem_scenario(), REPLICATIONS, seed=2024, keep_timeseries=False, keep_episodes=False
    )
    ours = {
        "blocked": result.kpis["blocked.node1.mean"].to_numpy(),
        "queue": result.kpis["waiting.node1.mean"].to_numpy(),
        "throughput": result.kpis["exits.node2.per_month"].to_numpy() / DAYS_PER_MONTH,
    }
    runs = np.array([independent_run(1000 + i) for i in range(INDEPENDENT_RUNS)])
    theirs = {"blocked": runs[:, 0], "queue": runs[:, 1], "throughput": runs[:, 2]}
    for measure in ("blocked", "queue", "throughput"):
        m1, h1 = mean_ci(ours[measure])
        m2, h2 = mean_ci(theirs[measure])
        assert abs(m1 - m2) <= math.hypot(h1, h2), (measure, m1, h1, m2, h2)
        assert max(m1 - h1, m2 - h2) <= min(m1 + h1, m2 + h2), measure  # the CIs overlap
    # the comparison has power: blocking is frequent and changes node 1's queue
    blocked, half_blocked = mean_ci(ours["blocked"])
    assert blocked - half_blocked > 0.05, blocked
    queue, half_queue = mean_ci(ours["queue"])
    assert queue - half_queue > erlang_c_queue(ARRIVALS, MEAN1, C1), (queue, half_queue)
    throughput, half_throughput = mean_ci(ours["throughput"])
    assert abs(throughput - ARRIVALS) <= half_throughput + 0.02  # stable: out = in

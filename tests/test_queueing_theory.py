"""The model against queueing theory: M/M/1, M/M/c (Erlang C) and M/M/inf."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.inputs.loading import load_scenario
from sim.running.runner import run
from tests.builders import queue

REPLICATIONS = 25


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """Mean queue length Lq and mean wait Wq of an M/M/c queue."""
    a = arrival_rate / service_rate
    rho = a / servers
    assert rho < 1
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(servers)]
    log_last = servers * math.log(a) - math.lgamma(servers + 1) - math.log(1 - rho)
    top = max(*log_terms, log_last)
    denominator = sum(math.exp(t - top) for t in log_terms) + math.exp(log_last - top)
    p_wait = math.exp(log_last - top) / denominator
    lq = p_wait * rho / (1 - rho)
    return lq, lq / arrival_rate


def mean_and_ci(values: np.ndarray) -> tuple[float, float]:
    n = values.size
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return float(values.mean()), float(half)


def waits(result, warmup: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    ep = result.episodes
    admitted = ep[(ep["node"] == "queue") & (ep["queued"] >= warmup)]
    return (
        admitted.groupby("replication")
        .apply(lambda g: float((g["entry"] - g["queued"]).mean()), include_groups=False)
        .to_numpy()
    )


def check(result, lq: float, wq: float, warmup: float) -> None:  # type: ignore[no-untyped-def]
    mean_lq, half_lq = mean_and_ci(result.kpis["waiting.queue.mean"].to_numpy())
    mean_wq, half_wq = mean_and_ci(waits(result, warmup))
    assert abs(mean_lq - lq) <= half_lq, (mean_lq, half_lq, lq)
    assert abs(mean_lq - lq) / lq < 0.05, (mean_lq, lq)
    assert abs(mean_wq - wq) <= half_wq, (mean_wq, half_wq, wq)
    assert abs(mean_wq - wq) / wq < 0.05, (mean_wq, wq)


@pytest.mark.parametrize(
    ("arrivals", "servers", "mean_stay", "days"),
    [
        (0.7, 1, 1.0, 8000),  # M/M/1, rho = 0.7
        (8.5, 10, 1.0, 3000),  # M/M/10, rho = 0.85
    ],
    ids=["M/M/1", "M/M/10"],
)
@pytest.mark.slow
def test_mmc_matches_erlang_c(arrivals: float, servers: int, mean_stay: float, days: int) -> None:
    warmup = 200.0
    sc = queue(arrivals, servers, {"dist": "exponential", "mean": mean_stay}, days, warmup)
    result = run(sc, REPLICATIONS, seed=11, workers=2)
    lq, wq = erlang_c(arrivals, 1 / mean_stay, servers)
    check(result, lq, wq, warmup)


@pytest.mark.slow
def test_shipped_mmc_scenario_matches_erlang_c(scenarios_dir) -> None:  # type: ignore[no-untyped-def]
    """verification/mmc.yaml itself, made heavier-loaded and shorter so 25 replications are
    quick: c = 400, mean stay 5 days, utilisation 0.97."""
    servers, mean_stay, rho = 400, 5.0, 0.97
    arrivals = rho * servers / mean_stay
    sc = load_scenario(
        scenarios_dir / "verification" / "mmc.yaml",
        [
            "end=2001-06-01",
            "warmup=60",
            f"nodes.street.arrivals_per_year={arrivals * 365.25}",
            f"nodes.queue.readiness.mean={mean_stay}",
        ],
    )
    result = run(sc, REPLICATIONS, seed=5, workers=2)
    lq, wq = erlang_c(arrivals, 1 / mean_stay, servers)
    check(result, lq, wq, 60.0)


@pytest.mark.slow
def test_shipped_mmc_scenario_as_shipped_matches_erlang_c(scenarios_dir) -> None:  # type: ignore[no-untyped-def]
    """verification/mmc.yaml unmodified (the benchmark's queue: c = 400, one-year stays,
    utilisation 0.9). Its waiting list is nearly always empty (Erlang C: Lq = 0.21), so the
    relative-error check is made on what it measures well: the mean number in service is the
    offered load plus nothing (L - Lq = a = 360); the waiting list's CI must cover Erlang C."""
    sc = load_scenario(scenarios_dir / "verification" / "mmc.yaml")
    street, queue_node = sc.nodes["street"], sc.nodes["queue"]
    arrivals = float(street.arrivals_per_year) / 365.25  # type: ignore[union-attr, arg-type]
    mean_stay = queue_node.readiness.mean  # type: ignore[union-attr]
    servers = int(queue_node.capacity)  # type: ignore[union-attr, arg-type]
    result = run(sc, REPLICATIONS, seed=7, workers=2, keep_timeseries=False)
    lq, _ = erlang_c(arrivals, 1 / mean_stay, servers)
    offered = arrivals * mean_stay
    occupancy, half = mean_and_ci(result.kpis["occupancy.queue.mean"].to_numpy())
    assert abs(occupancy - offered) <= half, (occupancy, half, offered)
    assert abs(occupancy - offered) / offered < 0.05
    waiting, half_w = mean_and_ci(result.kpis["waiting.queue.mean"].to_numpy())
    assert abs(waiting - lq) <= half_w, (waiting, half_w, lq)


def test_mm_infinity_never_waits() -> None:
    sc = queue(5.0, 1e9, {"dist": "exponential", "mean": 3.0}, 400, 50)
    result = run(sc, REPLICATIONS, seed=3, workers=2, keep_timeseries=False)
    assert (result.kpis["waiting.queue.max"] == 0).all()
    ep = result.episodes
    queued = ep[ep["node"] == "queue"]
    assert ((queued["entry"] - queued["queued"]) == 0).all()
    # and the mean number in service is the offered load a = lambda / mu = 15 (CI covers it)
    mean, half = mean_and_ci(result.kpis["occupancy.queue.mean"].to_numpy())
    assert abs(mean - 15.0) <= half

"""The same M/M/c queue in Ciw (an optional bench dependency: ``pip install -e '.[bench]'``),
a maintained discrete-event library for queueing networks, for ``make bench``."""

from __future__ import annotations


def mmc_ciw(
    arrivals_per_day: float,
    mean_stay: float,
    servers: int,
    horizon: float,
    seed: int,
    initial: int = 0,
) -> int:
    """Simulate the M/M/c queue with Ciw until ``horizon``; return the customers served.

    Ciw starts empty (it has no initial residents), so ``initial`` is not used: the queue
    fills during its first year, which costs slightly fewer events than parcours' run."""
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrivals_per_day)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / mean_stay)],
        number_of_servers=[servers],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(horizon)
    return len(simulation.get_all_records())


def available() -> bool:
    """Whether Ciw is installed."""
    try:
        import ciw  # noqa: F401
    except ImportError:
        return False
    return True

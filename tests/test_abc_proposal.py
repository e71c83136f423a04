"""The ABC-SMC proposal: a proper density, draws that follow it, weights it keeps bounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.abc_proposal import DefensiveStudentT


def _fitted(seed: int = 0, dims: int = 2, share: float = 0.05) -> DefensiveStudentT:
    rng = np.random.default_rng(seed)
    particles = pd.DataFrame(
        rng.normal([1.0, -0.5, 0.0][:dims], 0.4, size=(200, dims)),
        columns=[f"z_{i}" for i in range(dims)],
    )
    proposal = DefensiveStudentT(prior_share=share)
    proposal.fit(particles, np.full(len(particles), 1.0 / len(particles)))
    return proposal


def test_the_density_integrates_to_one() -> None:
    proposal = _fitted()
    grid = np.linspace(-25.0, 25.0, 801)
    xx, yy = np.meshgrid(grid, grid)
    points = pd.DataFrame({"z_0": xx.ravel(), "z_1": yy.ravel()})
    mass = proposal.pdf(points).sum() * (grid[1] - grid[0]) ** 2
    assert abs(mass - 1.0) < 0.01


def test_draws_follow_the_density() -> None:
    """Each coordinate's draws pass a Kolmogorov-Smirnov test against the density's marginal,
    computed by integrating the other coordinate out on a grid."""
    proposal = _fitted()
    np.random.seed(3)
    draws = proposal.rvs(4000)
    grid = np.linspace(-30.0, 30.0, 1201)
    step = grid[1] - grid[0]
    for column, other in (("z_0", "z_1"), ("z_1", "z_0")):
        xx, yy = np.meshgrid(grid, grid, indexing="ij")
        density = proposal.pdf(pd.DataFrame({column: xx.ravel(), other: yy.ravel()}))
        marginal = density.reshape(xx.shape).sum(axis=1) * step
        cdf = np.cumsum(marginal) * step
        result = stats.kstest(draws[column], lambda x, cdf=cdf: np.interp(x, grid, cdf))
        assert result.pvalue > 0.01, (column, result)


def test_importance_weights_against_the_prior_stay_bounded() -> None:
    """The prior share bounds prior / proposal by 1 / share, even far in the tails."""
    share = 0.05
    proposal = _fitted(share=share)
    far = pd.DataFrame({"z_0": [40.0, -40.0, 0.0, 300.0], "z_1": [-40.0, 40.0, 80.0, -300.0]})
    prior = stats.logistic.pdf(far.to_numpy()).prod(axis=1)
    assert np.all(prior / proposal.pdf(far) <= 1.0 / share + 1e-9)


def test_draws_are_a_function_of_the_global_seed() -> None:
    proposal = _fitted(dims=3)
    np.random.seed(11)
    first = proposal.rvs(50)
    single = [proposal.rvs_single() for _ in range(3)]
    np.random.seed(11)
    assert first.equals(proposal.rvs(50))
    assert [dict(p) for p in single] == [dict(proposal.rvs_single()) for _ in range(3)]
    np.random.seed(12)
    assert not first.equals(proposal.rvs(50))


def test_a_collapsed_population_still_gives_a_proper_density() -> None:
    particles = pd.DataFrame({"z_0": np.full(20, 0.3), "z_1": np.linspace(-1, 1, 20)})
    proposal = DefensiveStudentT()
    proposal.fit(particles, np.full(20, 0.05))
    value = proposal.pdf(pd.Series({"z_0": 0.3, "z_1": 0.0}))
    assert np.isfinite(value)
    assert value > 0


def test_tempered_weights_keep_the_requested_effective_sample_size() -> None:
    from sim.analysis.abc_proposal import effective_sample_size, tempered

    rng = np.random.default_rng(3)
    degenerate = np.exp(rng.normal(scale=6.0, size=500))  # ESS of a few particles
    assert effective_sample_size(degenerate) < 10
    flattened = tempered(degenerate, 0.5)
    assert 250 <= effective_sample_size(flattened) <= 252  # the largest power that keeps half
    # the order of the particles' weights is kept
    assert np.array_equal(np.argsort(flattened), np.argsort(degenerate))
    healthy = rng.uniform(0.5, 1.5, size=500)
    assert np.allclose(tempered(healthy, 0.5), healthy / healthy.sum())

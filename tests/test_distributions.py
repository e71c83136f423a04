"""Each duration sampler's sample mean and sd match its specification."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.inputs.distributions import Duration, sampler

SPECS = [
    {"dist": "exponential", "mean": 30.0},
    {"dist": "gamma", "mean": 365.0, "sd": 200.0},
    {"dist": "gamma", "mean": 100.0, "shape": 2.0},
    {"dist": "lognormal", "mean": 67.0, "sd": 60.0},
    {"dist": "weibull", "mean": 500.0, "shape": 1.5},
    {"dist": "weibull", "mean": 500.0, "shape": 0.7},
    {"dist": "weibull", "mean": 200.0, "sd": 150.0},
    {"dist": "uniform", "low": 10.0, "high": 40.0},
    {"dist": "uniform", "mean": 25.0, "sd": 5.0},
    {"dist": "triangular", "low": 14.0, "mode": 21.0, "high": 60.0},
    {"dist": "fixed", "value": 12.5},
    {"dist": "empirical", "values": [1.0, 5.0, 20.0], "weights": [0.5, 0.3, 0.2]},
]
ADAPTER: TypeAdapter[Duration] = TypeAdapter(Duration)


@pytest.mark.parametrize("raw", SPECS, ids=lambda s: str(s["dist"]) + str(len(s)))
def test_sample_mean_and_sd_match_spec(raw: dict[str, object]) -> None:
    spec = ADAPTER.validate_python(raw)
    draw = sampler(spec, np.random.default_rng(12345))
    x = np.array([draw() for _ in range(40_000)])
    n = x.size
    assert (x >= 0).all()
    # mean within 4 standard errors; sd within 5% (or exact for a fixed value)
    assert abs(x.mean() - spec.mean) <= 4 * spec.sd / math.sqrt(n) + 1e-12
    if spec.sd == 0:
        assert x.std() == 0
    else:
        assert x.std(ddof=1) == pytest.approx(spec.sd, rel=0.05)


@pytest.mark.parametrize(
    "raw",
    [
        {"dist": "gamma", "mean": 10.0},
        {"dist": "gamma", "mean": 10.0, "sd": 2.0, "shape": 3.0},
        {"dist": "uniform", "low": 5.0, "high": 5.0},
        {"dist": "triangular", "low": 1.0, "mode": 9.0, "high": 5.0},
        {"dist": "exponential", "mean": -1.0},
        {"dist": "empirical", "values": [1.0, 2.0], "weights": [1.0]},
        {"dist": "normal", "mean": 3.0},
        {"dist": "weibull", "mean": 10.0},
        {"dist": "weibull", "mean": 10.0, "sd": 2.0, "shape": 3.0},
        {"dist": "weibull", "mean": 10.0, "sd": 1e6},
        {"dist": "uniform", "mean": 10.0, "sd": 8.0},
        {"dist": "uniform", "low": 1.0, "mean": 10.0},
        {"dist": "uniform", "low": 1.0, "high": 3.0, "mean": 2.0, "sd": 0.5},
    ],
)
def test_invalid_specs_are_rejected(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(raw)


@pytest.mark.parametrize(
    "raw",
    [s for s in SPECS if "mean" in s and "sd" in s],
    ids=lambda s: str(s["dist"]),
)
def test_specs_by_mean_and_sd_have_that_mean_and_sd(raw: dict[str, float]) -> None:
    """Planners write a mean and an sd; the derived natural parameters must honour both."""
    spec = ADAPTER.validate_python(raw)
    assert spec.mean == pytest.approx(raw["mean"], rel=1e-9)
    assert spec.sd == pytest.approx(raw["sd"], rel=1e-9)


def test_weibull_by_sd_matches_the_same_weibull_by_shape() -> None:
    by_shape = ADAPTER.validate_python({"dist": "weibull", "mean": 500.0, "shape": 1.5})
    by_sd = ADAPTER.validate_python({"dist": "weibull", "mean": 500.0, "sd": by_shape.sd})
    assert by_sd.k == pytest.approx(1.5, rel=1e-9)  # type: ignore[union-attr]


def test_block_sampling_is_a_pure_function_of_the_stream() -> None:
    spec = ADAPTER.validate_python({"dist": "lognormal", "mean": 50.0, "sd": 10.0})
    a = sampler(spec, np.random.default_rng(7))
    b = sampler(spec, np.random.default_rng(7))
    assert [a() for _ in range(1500)] == [b() for _ in range(1500)]

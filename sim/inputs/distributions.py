"""Duration specifications (by mean and spread, in days) and their samplers.

Planners write durations as ``{dist: gamma, mean: 365, sd: 200}``; each spec validates its
parameters, exposes its theoretical ``mean`` and ``sd`` (so tests compare samples with theory)
and turns into a sampler that draws in blocks from one named random stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator
from scipy import optimize, special

BLOCK = 512  # draws generated per numpy call; a pure function of the stream, so reproducible


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def sd(self) -> float:
        raise NotImplementedError

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        raise NotImplementedError


class Exponential(_Spec):
    """Memoryless duration with the given mean."""

    dist: Literal["exponential"]
    mean_days: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_days

    @property
    def sd(self) -> float:
        return self.mean_days

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_days, n)


class _MeanSd(_Spec):
    mean_days: PositiveFloat = Field(alias="mean")
    sd_days: PositiveFloat = Field(alias="sd")

    @property
    def mean(self) -> float:
        return self.mean_days

    @property
    def sd(self) -> float:
        return self.sd_days


class _MeanAndSpread(_Spec):
    """A family given by its mean and exactly one of its sd or its shape."""

    mean_days: PositiveFloat = Field(alias="mean")
    sd_days: PositiveFloat | None = Field(default=None, alias="sd")
    shape: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_spread(self) -> _MeanAndSpread:
        if (self.sd_days is None) == (self.shape is None):
            family = getattr(self, "dist", "this distribution")
            raise ValueError(f"{family} needs exactly one of 'sd' or 'shape' beside 'mean'")
        return self

    @property
    def mean(self) -> float:
        return self.mean_days


class Gamma(_MeanAndSpread):
    """Gamma duration given by mean and either sd or shape."""

    dist: Literal["gamma"]

    @property
    def k(self) -> float:
        if self.shape is not None:
            return self.shape
        assert self.sd_days is not None
        return (self.mean_days / self.sd_days) ** 2

    @property
    def sd(self) -> float:
        return self.mean_days / math.sqrt(self.k)

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.k, self.mean_days / self.k, n)


class LogNormal(_MeanSd):
    """Log-normal duration given by its own mean and sd (not those of the log)."""

    dist: Literal["lognormal"]

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma2 = math.log(1.0 + (self.sd_days / self.mean_days) ** 2)
        mu = math.log(self.mean_days) - sigma2 / 2.0
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Weibull(_MeanAndSpread):
    """Weibull duration given by mean and either sd or shape (scale is derived)."""

    dist: Literal["weibull"]

    @model_validator(mode="after")
    def _sd_in_range(self) -> Weibull:
        if self.sd_days is not None and not (
            _WEIBULL_CV[1] <= self.sd_days / self.mean_days <= _WEIBULL_CV[0]
        ):
            raise ValueError(
                f"weibull sd/mean must lie between {_WEIBULL_CV[1]:.3g} and "
                f"{_WEIBULL_CV[0]:.3g} (shape {_WEIBULL_SHAPES[0]} to {_WEIBULL_SHAPES[1]})"
            )
        return self

    @property
    def k(self) -> float:
        """The shape, solved from sd/mean when the sd is given."""
        if self.shape is not None:
            return self.shape
        assert self.sd_days is not None
        cv = self.sd_days / self.mean_days
        return float(optimize.brentq(lambda k: _weibull_cv(k) - cv, *_WEIBULL_SHAPES))

    @property
    def scale(self) -> float:
        return self.mean_days / math.gamma(1.0 + 1.0 / self.k)

    @property
    def sd(self) -> float:
        return self.mean_days * _weibull_cv(self.k)

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.k, n)


def _weibull_cv(k: float) -> float:
    """sd / mean of a Weibull distribution of shape ``k`` (decreasing in ``k``)."""
    g1 = special.gamma(1.0 + 1.0 / k)
    g2 = special.gamma(1.0 + 2.0 / k)
    return float(math.sqrt(g2 / (g1 * g1) - 1.0))


_WEIBULL_SHAPES = (0.1, 50.0)
_WEIBULL_CV = (_weibull_cv(_WEIBULL_SHAPES[0]), _weibull_cv(_WEIBULL_SHAPES[1]))


class Uniform(_Spec):
    """Uniform duration between ``low`` and ``high``, or given by its mean and sd."""

    dist: Literal["uniform"]
    low_days: Annotated[float, Field(ge=0)] | None = Field(default=None, alias="low")
    high_days: PositiveFloat | None = Field(default=None, alias="high")
    mean_days: PositiveFloat | None = Field(default=None, alias="mean")
    sd_days: PositiveFloat | None = Field(default=None, alias="sd")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        bounds = self.low_days is not None and self.high_days is not None
        moments = self.mean_days is not None and self.sd_days is not None
        given = [f for f in (self.low_days, self.high_days, self.mean_days, self.sd_days)]
        if bounds == moments or sum(v is not None for v in given) != 2:
            raise ValueError("uniform needs either 'low' and 'high', or 'mean' and 'sd'")
        if self.high <= self.low:
            raise ValueError("uniform needs low < high")
        if self.low < 0:
            raise ValueError("uniform mean - sd x sqrt(3) must not be negative (low < 0)")
        return self

    @property
    def low(self) -> float:
        if self.low_days is not None:
            return self.low_days
        assert self.mean_days is not None and self.sd_days is not None
        return self.mean_days - self.sd_days * math.sqrt(3.0)

    @property
    def high(self) -> float:
        if self.high_days is not None:
            return self.high_days
        assert self.mean_days is not None and self.sd_days is not None
        return self.mean_days + self.sd_days * math.sqrt(3.0)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def sd(self) -> float:
        return (self.high - self.low) / math.sqrt(12.0)

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Spec):
    """Triangular duration with ``low <= mode <= high``."""

    dist: Literal["triangular"]
    low: Annotated[float, Field(ge=0)]
    mode: Annotated[float, Field(ge=0)]
    high: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    @property
    def sd(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


class Fixed(_Spec):
    """A deterministic duration."""

    dist: Literal["fixed"]
    value: Annotated[float, Field(ge=0)]

    @property
    def mean(self) -> float:
        return self.value

    @property
    def sd(self) -> float:
        return 0.0

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Empirical(_Spec):
    """Durations resampled from observed values, optionally weighted."""

    dist: Literal["empirical"]
    values: Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=1)]
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("empirical weights must have one entry per value")
            if sum(self.weights) <= 0:
                raise ValueError("empirical weights must not all be zero")
        return self

    def _probabilities(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return np.asarray(w / w.sum())

    @property
    def mean(self) -> float:
        return float(np.dot(self._probabilities(), self.values))

    @property
    def sd(self) -> float:
        p = self._probabilities()
        v = np.asarray(self.values, dtype=float)
        return float(math.sqrt(max(0.0, float(np.dot(p, v * v)) - self.mean**2)))

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._probabilities())


Duration = Annotated[
    Exponential | Gamma | LogNormal | Weibull | Uniform | Triangular | Fixed | Empirical,
    Field(discriminator="dist"),
]


def sampler(spec: _Spec, rng: np.random.Generator) -> Callable[[], float]:
    """Return a zero-argument function drawing from ``spec`` with ``rng``, in blocks."""
    buffer: list[float] = []

    def draw() -> float:
        if not buffer:
            buffer.extend(reversed(spec.block(rng, BLOCK).tolist()))
        return buffer.pop()

    return draw

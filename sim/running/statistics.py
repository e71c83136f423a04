"""The statistics every table uses: Student t intervals, per-draw means, paired differences.

One definition each, so a KPI's interval in ``summary.csv``, the comparison table, a sweep's
point table and the replication-count method cannot disagree.

**Parameter draws.** When replications are grouped by parameter draw (``groups``), the
replications of a draw share its parameters and are not independent: values are first averaged
per draw, and the interval is the Student t interval of the ``K`` per-draw means (``K - 1``
degrees of freedom).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95


def finite_mean(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NaN if none is): a replication whose
    observation window falls outside its run gives NaN and is left out."""
    finite = [v for v in values if v == v]
    return sum(finite) / len(finite) if finite else math.nan


def t_quantile(n: Any, confidence: float = CONFIDENCE) -> Any:
    """The two-sided Student t quantile for ``n`` values (``n - 1`` degrees of freedom)."""
    return stats.t.ppf(0.5 + confidence / 2, n - 1)


def half_width(sd: float, n: int, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student t interval of a mean of ``n`` values of sd ``sd`` (NaN below 2)."""
    if n < 2:
        return math.nan
    return float(t_quantile(n, confidence) * sd / math.sqrt(n))


def describe(
    values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float, int]:
    """Mean, sd, interval half-width and count of ``values`` (NaN where undefined)."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    return mean, sd, half_width(sd, n, confidence), n


def group_means(groups: np.ndarray | None, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns averaged per group (parameter draw), in group order; unchanged without."""
    if groups is None:
        return columns
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    frame["group"] = groups
    means = frame.groupby("group", sort=True).mean()
    return tuple(means[f"c{i}"].to_numpy(float) for i in range(len(columns)))


def mean_ci(
    values: Iterable[float], confidence: float = CONFIDENCE, groups: Iterable[Any] | None = None
) -> tuple[float, float, int]:
    """Mean, Student t half-width and count of the finite values; with ``groups`` (parameter
    draws), the mean and interval of the per-draw means."""
    x = np.asarray(list(values), dtype=float)
    g = None if groups is None else np.asarray(list(groups))
    keep = np.isfinite(x)
    x = x[keep]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    (x,) = group_means(None if g is None else g[keep], x)
    if x.size < 2:
        return float(x.mean()), math.nan, n
    return float(x.mean()), half_width(float(x.std(ddof=1)), int(x.size), confidence), n


def columns_mean_ci(
    values: np.ndarray, groups: np.ndarray | None = None, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mean_ci` of every column of ``values`` (one row per replication) at once: mean,
    half-width and count of the finite values, over per-draw means with ``groups``. The mean
    and half-width of ``alternative - reference`` are those of :func:`paired_difference`."""
    x = np.asarray(values, dtype=float)
    n = np.isfinite(x).sum(axis=0)
    if groups is not None:
        x = pd.DataFrame(x).groupby(np.asarray(groups), sort=True).mean().to_numpy(float)
    units = np.isfinite(x).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        mean = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0, ddof=1)
        half = t_quantile(np.maximum(units, 2), confidence) * sd / np.sqrt(units)
    half = np.where(units < 2, np.nan, half)
    return mean, half, n


def grouped_mean_ci(
    table: pd.DataFrame, by: Sequence[str], columns: Sequence[str], confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Mean, Student t half-width (``<column>.ci95``) and count of ``columns`` per group of
    ``by`` (a sweep's points)."""
    groups = table.groupby(list(by), sort=True, dropna=False)
    grouped = groups[list(columns)]
    mean, sd, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    t = t_quantile(np.maximum(n.to_numpy(dtype=float), 2), confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t * sd.to_numpy(dtype=float) / np.sqrt(n.to_numpy(dtype=float))
    half[n.to_numpy() < 2] = np.nan
    data: dict[str, Any] = {}
    for i, c in enumerate(columns):
        data[c] = mean[c].to_numpy(dtype=float)
        data[f"{c}.ci95"] = half[:, i]
    data["n"] = groups.size().reindex(mean.index).to_numpy()
    return pd.DataFrame(data, index=mean.index).reset_index()


@dataclasses.dataclass(frozen=True)
class Paired:
    """A paired difference ``alternative - reference`` with its intervals."""

    mean: float
    """Mean of the paired differences."""
    ci: float
    """Half-width of its Student t confidence interval (paired)."""
    n: int
    """Pairs used (replications where both values are defined)."""
    ci_independent: float
    """Welch half-width that independent runs of the same size would have given."""
    variance_reduction: float
    """``1 - var(d) / (var(ref) + var(alt))``: the share of the variance CRN removed."""

    @property
    def significant(self) -> bool:
        """Whether the confidence interval excludes zero."""
        return self.n >= 2 and math.isfinite(self.ci) and abs(self.mean) > self.ci


def paired_difference(
    reference: Iterable[float],
    alternative: Iterable[float],
    confidence: float = CONFIDENCE,
    groups: Iterable[Any] | None = None,
) -> Paired:
    """Paired difference of two replication-aligned samples, keeping pairs where both are finite.

    With ``groups`` (the parameter draw of each replication), the replications of a draw are
    not independent of each other: the pairs are first averaged per draw and the interval is
    the Student t interval on those per-draw means (``K - 1`` degrees of freedom for ``K``
    draws), the variance reduction and the Welch width likewise.

    >>> p = paired_difference([1, 2, 3, 4], [2, 2, 5, 4])
    >>> round(p.mean, 2), round(p.ci, 4), round(p.variance_reduction, 4)
    (0.75, 1.5235, 0.766)
    """
    a = np.asarray(list(reference), dtype=float)
    b = np.asarray(list(alternative), dtype=float)
    if a.shape != b.shape:
        raise ValueError("the two samples must be paired (same length)")
    g = None if groups is None else np.asarray(list(groups))
    if g is not None and g.shape != a.shape:
        raise ValueError("groups must give one draw per replication")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n == 0:
        return Paired(math.nan, math.nan, 0, math.nan, math.nan)
    a, b = group_means(None if g is None else g[keep], a, b)
    units = int(a.size)  # replications, or draws
    d = b - a
    mean = float(d.mean())
    if units < 2:
        return Paired(mean, math.nan, n, math.nan, math.nan)
    q = 0.5 + confidence / 2
    var_d, var_a, var_b = (float(x.var(ddof=1)) for x in (d, a, b))
    half = float(stats.t.ppf(q, units - 1)) * math.sqrt(var_d / units)
    pooled = var_a + var_b
    scale = max(1.0, abs(float(a.mean())), abs(float(b.mean())))
    if math.sqrt(pooled) > 1e-9 * scale:  # else constant up to rounding: nothing to reduce
        welch_df = pooled**2 * (units - 1) / (var_a**2 + var_b**2)
        half_ind = float(stats.t.ppf(q, welch_df)) * math.sqrt(pooled / units)
        reduction = 1.0 - var_d / pooled
    else:
        half_ind, reduction = 0.0, math.nan
    return Paired(mean, half, n, half_ind, reduction)

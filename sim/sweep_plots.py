"""Charts of sweeps and sensitivity analyses (matplotlib ``Figure`` objects, Agg, no pyplot).

A KPI over one swept parameter is a line with its 95% CI band (one line per value of a second
parameter with ``lines=True``); over two it is a heatmap of the mean. Parameters not shown are
averaged over, which the title says. Space-filling designs (many distinct values) are drawn as
scatter plots of the point means instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.results import OutputExistsError
from sim.sweep import mean_ci

MAX_GRID_VALUES = 25
"""A parameter with more distinct values than this is drawn as a scatter, not a line/grid."""


def _title(kpi: str, shown: Sequence[str], parameters: Sequence[str]) -> str:
    others = [p for p in parameters if p not in shown]
    return kpi + (f"\n(mean over {', '.join(others)})" if others else "")


def _numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def line_chart(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    hue: str | None = None,
    parameters: Sequence[str] = (),
) -> Figure:
    """Mean of ``kpi`` (with its 95% CI band) against ``x``; one line per value of ``hue``."""
    by = [x] if hue is None else [hue, x]
    agg = mean_ci(rows, by, [kpi])
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    groups = [(None, agg)] if hue is None else list(agg.groupby(hue, sort=True))
    numeric = _numeric(rows[x])
    labels = sorted(agg[x].unique()) if not numeric else []
    for value, frame in groups:
        frame = frame.sort_values(x)
        xs = frame[x].to_numpy() if numeric else [labels.index(v) for v in frame[x]]
        mean = frame[kpi].to_numpy(dtype=float)
        half = np.nan_to_num(frame[f"{kpi}.ci95"].to_numpy(dtype=float))
        label = None if hue is None else f"{hue} = {value!s}"
        (line,) = ax.plot(xs, mean, marker="o", label=label)
        ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
    if not numeric:
        ax.set_xticks(range(len(labels)), [str(v) for v in labels])
    ax.set_xlabel(x)
    ax.set_ylabel(kpi)
    ax.grid(alpha=0.3)
    if hue is not None:
        ax.legend(fontsize="small")
    ax.set_title(_title(kpi, by, parameters) + "\nmean and 95% CI over replications", fontsize=10)
    return fig


def heatmap(rows: pd.DataFrame, kpi: str, x: str, y: str, parameters: Sequence[str] = ()) -> Figure:
    """Mean of ``kpi`` over the grid of ``x`` (columns) and ``y`` (rows)."""
    agg = mean_ci(rows, [y, x], [kpi])
    grid = agg.pivot(index=y, columns=x, values=kpi).sort_index().sort_index(axis=1)
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [_tick(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_tick(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if grid.size <= 150:
        values = grid.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                colour = "black" if v > middle else "white"
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label=kpi)
    ax.set_title(_title(kpi, [x, y], parameters) + "\nmean over replications", fontsize=10)
    return fig


def _tick(value: Any) -> str:
    number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    return f"{value:g}" if number else str(value)


def scatter_chart(
    rows: pd.DataFrame, kpi: str, x: str, y: str | None = None, parameters: Sequence[str] = ()
) -> Figure:
    """Point means of ``kpi`` against ``x`` (coloured by the KPI over ``x`` and ``y``)."""
    points = mean_ci(rows, ["point"], [kpi])
    first = rows.drop_duplicates("point").set_index("point")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    xs = first.loc[points["point"], x].to_numpy()
    if y is None:
        ax.scatter(xs, points[kpi], s=14)
        ax.set_ylabel(kpi)
        shown = [x]
    else:
        ys = first.loc[points["point"], y].to_numpy()
        sc = ax.scatter(xs, ys, c=points[kpi], s=20, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=kpi)
        ax.set_ylabel(y)
        shown = [x, y]
    ax.set_xlabel(x)
    ax.grid(alpha=0.3)
    ax.set_title(_title(kpi, shown, parameters) + "\none dot per point", fontsize=10)
    return fig


def plot_sweep(
    rows: pd.DataFrame,
    kpi: str,
    parameters: Sequence[str],
    x: str | None = None,
    y: str | None = None,
    lines: bool = False,
) -> Figure:
    """The chart that suits the sweep: line, lines, heatmap or scatter."""
    if kpi not in rows.columns:
        raise KeyError(kpi)
    x = x or (parameters[0] if parameters else None)
    if x is None:
        raise ValueError("the sweep has no swept parameter")
    for p in (x, y):
        if p is not None and p not in rows.columns:
            raise KeyError(p)
    dense = all(p is None or rows[p].nunique(dropna=False) <= MAX_GRID_VALUES for p in (x, y))
    if not dense:
        return scatter_chart(rows, kpi, x, y, parameters)
    if y is None:
        return line_chart(rows, kpi, x, None, parameters)
    if lines:
        return line_chart(rows, kpi, x, y, parameters)
    return heatmap(rows, kpi, x, y, parameters)


def tornado_chart(table: pd.DataFrame, kpi: str) -> Figure:
    """Bars from the KPI at each parameter's low bound to its high bound, around the base."""
    data = table[table["kpi"] == kpi].sort_values("swing", ascending=True)
    fig = Figure(figsize=(7.5, 0.6 * len(data) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    base = float(data["kpi_base"].iloc[0]) if len(data) else 0.0
    ys = np.arange(len(data))
    low = data["kpi_low"].to_numpy(dtype=float) - base
    high = data["kpi_high"].to_numpy(dtype=float) - base
    ax.barh(ys, low, left=base, color="#4c72b0", label="parameter at its low bound")
    ax.barh(ys, high, left=base, color="#dd8452", label="parameter at its high bound")
    labels = [f"{r.parameter}\n[{r.low:g} – {r.high:g}]" for r in data.itertuples(index=False)]
    ax.set_yticks(ys, labels, fontsize=8)
    ax.axvline(base, color="black", lw=1)
    ax.set_xlabel(f"{kpi} (base scenario: {base:.4g})")
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"One-at-a-time sensitivity of {kpi}", fontsize=10)
    return fig


def indices_chart(table: pd.DataFrame, kpi: str, method: str) -> Figure:
    """Morris mu* (with CI) or Sobol' S1 and ST (with CIs) per parameter."""
    data = table[table["kpi"] == kpi].iloc[::-1]
    fig = Figure(figsize=(7.5, 0.6 * len(data) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    ys = np.arange(len(data))
    if method == "morris":
        ax.barh(ys, data["mu_star"], xerr=data["mu_star_conf"], color="#4c72b0", capsize=3)
        ax.set_xlabel(f"Morris mu* of {kpi} (mean |elementary effect|, 95% CI)")
    else:
        h = 0.38
        ax.barh(ys + h / 2, data["S1"], h, xerr=data["S1_conf"], label="first order S1", capsize=3)
        ax.barh(ys - h / 2, data["ST"], h, xerr=data["ST_conf"], label="total ST", capsize=3)
        ax.set_xlabel(f"Sobol' indices of {kpi} (95% CI)")
        ax.legend(fontsize="small")
    ax.set_yticks(ys, list(data["parameter"]), fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Which parameters drive {kpi}", fontsize=10)
    return fig


def save_figure(fig: Figure, path: Path | str, force: bool = False) -> Path:
    """Save as PNG or SVG (by suffix) through a temporary file; never overwrite without force."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        fig.savefig(tmp, dpi=150, metadata=_metadata(path.suffix))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _metadata(suffix: str) -> dict[str, Any] | None:
    """No creation date in SVGs, so that identical charts are identical files."""
    return {"Date": None} if suffix.lower() == ".svg" else None

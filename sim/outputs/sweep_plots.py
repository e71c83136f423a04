"""Charts of sweeps and sensitivity analyses (matplotlib ``Figure`` objects, Agg, no pyplot).

A KPI over one swept parameter is a line with its 95% CI band (one line per value of a second
parameter with ``lines=True``); over two it is a heatmap of the mean. Parameters not shown are
averaged over, which the title says. Space-filling designs (many distinct values) are drawn as
scatter plots of the point means instead. In the house style (:mod:`sim.outputs.style`) with
the labels of :mod:`sim.outputs.i18n` (English by default, ``lang="fr"`` for French).
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

from sim.analysis.sweep import mean_ci
from sim.outputs import i18n, style
from sim.outputs.i18n import Lang, t
from sim.running.results import OutputExistsError

SIZE: style.SizeName = "a4"

MAX_GRID_VALUES = 25
"""A parameter with more distinct values than this is drawn as a scatter, not a line/grid."""


def _title(kpi: str, shown: Sequence[str], parameters: Sequence[str], lang: Lang) -> str:
    others = [p for p in parameters if p not in shown]
    label = i18n.kpi_label(kpi, lang)
    return label + ("\n" + t("sweep.mean_over", lang, names=", ".join(others)) if others else "")


def _figure(width: float, height: float) -> Figure:
    """A figure in the house style (call inside :func:`sim.outputs.style.context`)."""
    return Figure(figsize=(width, height), layout="constrained")


def _numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def line_chart(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    hue: str | None = None,
    parameters: Sequence[str] = (),
    lang: Lang = "en",
) -> Figure:
    """Mean of ``kpi`` (with its 95% CI band) against ``x``; one line per value of ``hue``."""
    by = [x] if hue is None else [hue, x]
    agg = mean_ci(rows, by, [kpi])
    with style.context(SIZE):
        fig = _figure(7, 4.5)
        _line_chart(fig, agg, rows, kpi, x, hue, by, parameters, lang)
        style.freeze_ticks(fig)
    return fig


def _line_chart(
    fig: Figure,
    agg: pd.DataFrame,
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    hue: str | None,
    by: list[str],
    parameters: Sequence[str],
    lang: Lang,
) -> None:
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
    ax.grid(True, axis="both")
    if hue is not None:
        ax.legend()
    ax.set_title(_title(kpi, by, parameters, lang) + "\n" + t("sweep.ci_note", lang))


def heatmap(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    y: str,
    parameters: Sequence[str] = (),
    lang: Lang = "en",
) -> Figure:
    """Mean of ``kpi`` over the grid of ``x`` (columns) and ``y`` (rows)."""
    agg = mean_ci(rows, [y, x], [kpi])
    grid = agg.pivot(index=y, columns=x, values=kpi).sort_index().sort_index(axis=1)
    with style.context(SIZE):
        fig = _figure(7, 5)
        _heatmap(fig, grid, kpi, x, y, parameters, lang)
        style.freeze_ticks(fig)
    return fig


def _heatmap(
    fig: Figure,
    grid: pd.DataFrame,
    kpi: str,
    x: str,
    y: str,
    parameters: Sequence[str],
    lang: Lang,
) -> None:
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [_tick(v, lang) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_tick(v, lang) for v in grid.index])
    ax.grid(False)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if grid.size <= 150:
        values = grid.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                colour = "black" if v > middle else "white"
                text = _tick(float(f"{v:.3g}"), lang)
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label=kpi)
    ax.set_title(_title(kpi, [x, y], parameters, lang) + "\n" + t("sweep.mean_note", lang))


def _tick(value: Any, lang: Lang = "en") -> str:
    """A parameter value as a short number (``0,5`` in French), or as it is."""
    number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not number:
        return str(value)
    text = f"{value:g}"
    return text.replace(".", ",") if lang == "fr" else text


def scatter_chart(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    y: str | None = None,
    parameters: Sequence[str] = (),
    lang: Lang = "en",
) -> Figure:
    """Point means of ``kpi`` against ``x`` (coloured by the KPI over ``x`` and ``y``)."""
    points = mean_ci(rows, ["point"], [kpi])
    first = rows.drop_duplicates("point").set_index("point")
    with style.context(SIZE):
        fig = _figure(7, 4.5)
        _scatter(fig, points, first, kpi, x, y, parameters, lang)
        style.freeze_ticks(fig)
    return fig


def _scatter(
    fig: Figure,
    points: pd.DataFrame,
    first: pd.DataFrame,
    kpi: str,
    x: str,
    y: str | None,
    parameters: Sequence[str],
    lang: Lang,
) -> None:
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
    ax.grid(True, axis="both")
    ax.set_title(_title(kpi, shown, parameters, lang) + "\n" + t("sweep.dot_note", lang))


def plot_sweep(
    rows: pd.DataFrame,
    kpi: str,
    parameters: Sequence[str],
    x: str | None = None,
    y: str | None = None,
    lines: bool = False,
    lang: Lang = "en",
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
        return scatter_chart(rows, kpi, x, y, parameters, lang)
    if y is None:
        return line_chart(rows, kpi, x, None, parameters, lang)
    if lines:
        return line_chart(rows, kpi, x, y, parameters, lang)
    return heatmap(rows, kpi, x, y, parameters, lang)


def tornado_chart(table: pd.DataFrame, kpi: str, lang: Lang = "en") -> Figure:
    """Bars from the KPI at each parameter's low bound to its high bound, around the base."""
    data = table[table["kpi"] == kpi].sort_values("swing", ascending=True)
    label = i18n.kpi_label(kpi, lang)
    with style.context(SIZE):
        fig = _figure(7.5, 0.6 * len(data) + 1.8)
        ax = fig.add_subplot()
        base = float(data["kpi_base"].iloc[0]) if len(data) else 0.0
        ys = np.arange(len(data))
        low = data["kpi_low"].to_numpy(dtype=float) - base
        high = data["kpi_high"].to_numpy(dtype=float) - base
        h = 0.38  # low bound above, high bound below: neither hides the other
        ax.barh(ys + h / 2, low, h, left=base, color=style.OKABE_ITO["blue"],
                label=t("sweep.low", lang))  # fmt: skip
        ax.barh(ys - h / 2, high, h, left=base, color=style.OKABE_ITO["vermillion"],
                label=t("sweep.high", lang))  # fmt: skip
        labels = [
            f"{r.parameter}\n[{_tick(r.low, lang)} – {_tick(r.high, lang)}]"
            for r in data.itertuples(index=False)
        ]
        ax.set_yticks(ys, labels, fontsize=8)
        ax.axvline(base, color=style.TEXT, lw=1)
        base_text = _tick(float(f"{base:.4g}"), lang)
        ax.set_xlabel(t("sweep.tornado_axis", lang, kpi=label, base=base_text))
        fig.legend(loc="outside lower center", ncols=2)
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        ax.set_title(t("sweep.tornado_title", lang, kpi=label))
        style.freeze_ticks(fig)
    return fig


def indices_chart(table: pd.DataFrame, kpi: str, method: str, lang: Lang = "en") -> Figure:
    """Morris mu* (with CI) or Sobol' S1 and ST (with CIs) per parameter."""
    data = table[table["kpi"] == kpi].iloc[::-1]
    label = i18n.kpi_label(kpi, lang)
    with style.context(SIZE):
        fig = _figure(7.5, 0.6 * len(data) + 1.8)
        ax = fig.add_subplot()
        ys = np.arange(len(data))
        if method == "morris":
            ax.barh(
                ys, data["mu_star"], xerr=data["mu_star_conf"], color=style.OKABE_ITO["blue"],
                capsize=3,
            )  # fmt: skip
            ax.set_xlabel(t("sweep.morris_axis", lang, kpi=label))
        else:
            h = 0.38
            ax.barh(ys + h / 2, data["S1"], h, xerr=data["S1_conf"], capsize=3,
                    color=style.OKABE_ITO["blue"], label=t("sweep.first_order", lang))  # fmt: skip
            ax.barh(ys - h / 2, data["ST"], h, xerr=data["ST_conf"], capsize=3,
                    color=style.OKABE_ITO["vermillion"], label=t("sweep.total", lang))  # fmt: skip
            ax.set_xlabel(t("sweep.sobol_axis", lang, kpi=label))
            fig.legend(loc="outside lower center", ncols=2)
        ax.set_yticks(ys, list(data["parameter"]), fontsize=8)
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        ax.set_title(t("sweep.indices_title", lang, kpi=label))
        style.freeze_ticks(fig)
    return fig


def save_figure(fig: Figure, path: Path | str, force: bool = False) -> Path:
    """Save as PNG or SVG (by suffix) through a temporary file; never overwrite without force.
    Same chart, same bytes (:func:`sim.outputs.style.save`)."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        style.save(fig, tmp, salt=path.stem)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

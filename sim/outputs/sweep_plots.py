"""Charts of sweeps and sensitivity analyses (matplotlib ``Figure`` objects, Agg, no pyplot).

A KPI over one swept parameter is a line with its 95% CI band (one line per value of a second
parameter with ``lines=True``); over two it is a heatmap of the mean. Parameters not shown are
averaged over, which the title says. Space-filling designs (many distinct values) are drawn as
scatter plots of the point means instead. In the house style (:mod:`sim.outputs.style`) with
the labels of :mod:`sim.outputs.i18n` (English by default, ``lang="fr"`` for French).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.analysis.sweep import SweepData
from sim.inputs.paths import path_parts
from sim.inputs.scenario import Scenario
from sim.outputs import formats, i18n, style
from sim.outputs.charts import node_names
from sim.outputs.i18n import Lang, t
from sim.running.results import OutputExistsError
from sim.running.statistics import grouped_mean_ci

SIZE: style.SizeName = "a4"

MAX_GRID_VALUES = 25
"""A parameter with more distinct values than this is drawn as a scatter, not a line/grid."""


def parameter_label(path: str, scenario: Scenario | None, lang: Lang = "en") -> str:
    """A swept path as a reader names it, from the base scenario: ``nodes.assore.capacity.-1
    .value`` -> "ASSORE (hotels): places (from Jan 2023)"; the path itself otherwise."""
    parts = path_parts(path)
    if scenario is None or len(parts) < 3 or parts[0] != "nodes":
        return path
    node = scenario.nodes.get(str(parts[1]))
    if node is None:
        return path
    field = str(parts[2])
    key = f"param.{field}"
    text = t(key, lang) if key in i18n.LABELS else field.replace("_", " ")
    words = [str(p).replace("_", " ") for p in parts[3:] if isinstance(p, str) and p != "value"]
    text = " ".join([text, *words])  # nodes.x.readiness.mean: "readiness mean"
    label = t("param.node", lang, node=i18n.node_name(node.name, lang), field=text)
    schedule = getattr(node, field, None)
    index = parts[3] if len(parts) > 3 else None
    if (
        isinstance(index, int)
        and isinstance(schedule, list)
        and -len(schedule) <= index < len(schedule)
    ):
        when = schedule[index].start
        label = t("param.from", lang, label=label, date=i18n.month_year(when, lang))
    return label


@dataclasses.dataclass(frozen=True)
class Context:
    """What a sweep chart needs besides its rows: the base scenario (display names) and the
    design's points with their status (unfinished points marked)."""

    scenario: Scenario | None = None
    points: pd.DataFrame | None = None
    lang: Lang = "en"

    def name(self, path: str) -> str:
        return parameter_label(path, self.scenario, self.lang)

    def kpi(self, kpi: str) -> str:
        nodes = {} if self.scenario is None else node_names(self.scenario, self.lang)
        return i18n.kpi_label(kpi, self.lang, nodes)

    def unfinished(self, by: Sequence[str]) -> set[tuple[Any, ...]]:
        """The values of ``by`` that some point not yet done has."""
        if self.points is None or "status" not in self.points.columns:
            return set()
        todo = self.points[self.points["status"] != "done"]
        return {tuple(r) for r in todo[list(by)].itertuples(index=False)}

    def progress(self, key: str) -> str:
        """``26/45 points done`` when the design is not finished, else nothing."""
        if self.points is None or "status" not in self.points.columns:
            return ""
        done, total = int((self.points["status"] == "done").sum()), len(self.points)
        return "" if done == total else "\n" + t(key, self.lang, done=done, total=total)


def _title(kpi: str, shown: Sequence[str], parameters: Sequence[str], context: Context) -> str:
    others = [context.name(p) for p in parameters if p not in shown]
    label = context.kpi(kpi)
    names = ", ".join(others)
    return label + ("\n" + t("sweep.mean_over", context.lang, names=names) if others else "")


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
    context: Context | None = None,
) -> Figure:
    """Mean of ``kpi`` (with its 95% CI band) against ``x``; one line per value of ``hue``.
    Values whose points are not all done are drawn as open circles."""
    context = context or Context(lang=lang)
    by = [x] if hue is None else [hue, x]
    agg = grouped_mean_ci(rows, by, [kpi])
    with style.context(SIZE):
        fig = _figure(7, 4.5)
        _line_chart(fig, agg, rows, kpi, x, hue, by, parameters, context)
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
    context: Context,
) -> None:
    lang = context.lang
    ax = fig.add_subplot()
    groups = [(None, agg)] if hue is None else list(agg.groupby(hue, sort=True))
    numeric = _numeric(rows[x])
    labels = sorted(agg[x].unique()) if not numeric else []
    unfinished = context.unfinished(by)
    for value, frame in groups:
        frame = frame.sort_values(x)
        xs = frame[x].to_numpy() if numeric else [labels.index(v) for v in frame[x]]
        mean = frame[kpi].to_numpy(dtype=float)
        half = np.nan_to_num(frame[f"{kpi}.ci95"].to_numpy(dtype=float))
        label = None if hue is None else f"{context.name(hue)} = {_tick(value, lang)}"
        (line,) = ax.plot(xs, mean, marker="o", label=label)
        ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
        partial = np.array([tuple(r) in unfinished for r in frame[by].itertuples(index=False)])
        if partial.any():
            ax.plot(
                np.asarray(xs)[partial], mean[partial], linestyle="none", marker="o",
                markerfacecolor="white", markeredgecolor=line.get_color(), zorder=4,
                label="_unfinished",
            )  # fmt: skip
    drawn = set(agg[x])
    missing = sorted({v[-1] for v in unfinished} - drawn) if numeric else []
    if missing:  # values of x with no finished point at all: a cross on the axis
        ax.plot(
            missing, [0.0] * len(missing), linestyle="none", marker="x", color=style.MUTED,
            transform=ax.get_xaxis_transform(), clip_on=False, zorder=4, label="_missing",
        )  # fmt: skip
    if not numeric:
        ax.set_xticks(range(len(labels)), [str(v) for v in labels])
    ax.set_xlabel(context.name(x))
    ax.set_ylabel(context.kpi(kpi))
    ax.grid(True, axis="both")
    if hue is not None:
        ax.legend()
    title = _title(kpi, by, parameters, context) + "\n" + t("sweep.ci_note", lang)
    ax.set_title(title + context.progress("sweep.done_line"))


def heatmap(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    y: str,
    parameters: Sequence[str] = (),
    lang: Lang = "en",
    context: Context | None = None,
) -> Figure:
    """Mean of ``kpi`` over the grid of ``x`` (columns) and ``y`` (rows); cells whose points
    are not all done are hatched."""
    context = context or Context(lang=lang)
    agg = grouped_mean_ci(rows, [y, x], [kpi])
    grid = agg.pivot(index=y, columns=x, values=kpi)
    if context.points is not None:  # the design's whole grid, finished or not
        design = context.points
        grid = grid.reindex(
            index=sorted(set(grid.index) | set(design[y])),
            columns=sorted(set(grid.columns) | set(design[x])),
        )
    grid = grid.sort_index().sort_index(axis=1)
    with style.context(SIZE):
        fig = _figure(7, 5)
        _heatmap(fig, grid, kpi, x, y, parameters, context)
        style.freeze_ticks(fig)
    return fig


def _heatmap(
    fig: Figure,
    grid: pd.DataFrame,
    kpi: str,
    x: str,
    y: str,
    parameters: Sequence[str],
    context: Context,
) -> None:
    lang = context.lang
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [_tick(v, lang) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_tick(v, lang) for v in grid.index])
    ax.grid(False)
    ax.set_xlabel(context.name(x))
    ax.set_ylabel(context.name(y))
    unfinished = context.unfinished([y, x])
    for i, row in enumerate(grid.index):
        for j, column in enumerate(grid.columns):
            if (row, column) in unfinished:
                ax.add_patch(
                    Rectangle(
                        (j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                        edgecolor=style.MUTED, lw=0, gid="unfinished",
                    )
                )  # fmt: skip
    if grid.size <= 150:
        values = grid.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                colour = "black" if v > middle else "white"
                text = formats.number(v, lang)
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label=context.kpi(kpi))
    title = _title(kpi, [x, y], parameters, context) + "\n" + t("sweep.mean_note", lang)
    ax.set_title(title + context.progress("sweep.done"))


def _tick(value: Any, lang: Lang = "en") -> str:
    """A parameter value as given (``0,5`` in French; up to six decimals), or as it is when
    it is not a number."""
    if not isinstance(value, (int, float, np.number)) or isinstance(value, bool):
        return str(value)
    return formats.number(value, lang, formats.exact_decimals([float(value)], most=6))


def scatter_chart(
    rows: pd.DataFrame,
    kpi: str,
    x: str,
    y: str | None = None,
    parameters: Sequence[str] = (),
    lang: Lang = "en",
    context: Context | None = None,
) -> Figure:
    """Point means of ``kpi`` against ``x`` (coloured by the KPI over ``x`` and ``y``)."""
    context = context or Context(lang=lang)
    points = grouped_mean_ci(rows, ["point"], [kpi])
    first = rows.drop_duplicates("point").set_index("point")
    with style.context(SIZE):
        fig = _figure(7, 4.5)
        _scatter(fig, points, first, kpi, x, y, parameters, context)
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
    context: Context,
) -> None:
    ax = fig.add_subplot()
    xs = first.loc[points["point"], x].to_numpy()
    if y is None:
        ax.scatter(xs, points[kpi], s=14)
        ax.set_ylabel(context.kpi(kpi))
        shown = [x]
    else:
        ys = first.loc[points["point"], y].to_numpy()
        sc = ax.scatter(xs, ys, c=points[kpi], s=20, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=context.kpi(kpi))
        ax.set_ylabel(context.name(y))
        shown = [x, y]
    ax.set_xlabel(context.name(x))
    ax.grid(True, axis="both")
    title = _title(kpi, shown, parameters, context) + "\n" + t("sweep.dot_note", context.lang)
    ax.set_title(title + context.progress("sweep.done_line"))


def plot_sweep(
    rows: pd.DataFrame,
    kpi: str,
    parameters: Sequence[str],
    x: str | None = None,
    y: str | None = None,
    lines: bool = False,
    lang: Lang = "en",
    context: Context | None = None,
) -> Figure:
    """The chart that suits the sweep: line, lines, heatmap or scatter."""
    context = context or Context(lang=lang)
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
        return scatter_chart(rows, kpi, x, y, parameters, lang, context)
    if y is None:
        return line_chart(rows, kpi, x, None, parameters, lang, context)
    if lines:
        return line_chart(rows, kpi, x, y, parameters, lang, context)
    return heatmap(rows, kpi, x, y, parameters, lang, context)


def sweep_chart(
    sweep: SweepData,
    kpi: str,
    x: str | None = None,
    y: str | None = None,
    lines: bool = False,
    lang: Lang = "en",
) -> Figure:
    """:func:`plot_sweep` of a loaded sweep: axes named from its base scenario, unfinished
    points marked and counted; by default the first two parameters, as a heatmap."""
    context = Context(sweep.scenario, sweep.points, lang)
    parameters = list(sweep.parameters)
    if x is None and y is None and len(parameters) > 1:
        x, y = parameters[0], parameters[1]
    return plot_sweep(sweep.rows, kpi, parameters, x, y, lines, lang, context)


def tornado_chart(
    table: pd.DataFrame, kpi: str, lang: Lang = "en", scenario: Scenario | None = None
) -> Figure:
    """Bars from the KPI at each parameter's low bound to its high bound, around the base
    (parameters and KPI named from ``scenario`` when given)."""
    context = Context(scenario, None, lang)
    data = table[table["kpi"] == kpi].sort_values("swing", ascending=True)
    label = context.kpi(kpi)
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
            f"{context.name(str(r.parameter))}\n[{_tick(r.low, lang)} – {_tick(r.high, lang)}]"
            for r in data.itertuples(index=False)
        ]
        ax.set_yticks(ys, labels, fontsize=8)
        ax.axvline(base, color=style.TEXT, lw=1)
        base_text = formats.number(base, lang)
        ax.set_xlabel(t("sweep.tornado_axis", lang, kpi=label, base=base_text))
        fig.legend(loc="outside lower center", ncols=2)
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        ax.set_title(t("sweep.tornado_title", lang, kpi=label))
        style.freeze_ticks(fig)
    return fig


def indices_chart(
    table: pd.DataFrame,
    kpi: str,
    method: str,
    lang: Lang = "en",
    scenario: Scenario | None = None,
) -> Figure:
    """Morris mu* (with CI) or Sobol' S1 and ST (with CIs) per parameter (parameters and KPI
    named from ``scenario`` when given)."""
    context = Context(scenario, None, lang)
    data = table[table["kpi"] == kpi].iloc[::-1]
    label = context.kpi(kpi)
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
        ax.set_yticks(ys, [context.name(str(p)) for p in data["parameter"]], fontsize=8)
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
    return style.save(fig, path, salt=path.stem)

"""Charts of a run, compare or calibration folder: queues over time, flows, stays, the Sankey.

Every chart function takes a loaded :class:`Folder` and returns a matplotlib ``Figure`` in the
house style (:mod:`sim.outputs.style`) with labels from :mod:`sim.outputs.i18n`;
:func:`plot_folder` writes them to files. Time charts draw, for each scenario, the mean across
replications and a band holding the central 90% of replications (5th to 95th percentile per
day), or one replication's trajectory; key events and capacity changes are marked, and
calibration targets when the folder has them. The reference is drawn over the other scenarios,
and the days a scenario shares with it (common random numbers, same inputs) are drawn once; the
legend sits on the right, the words all scenario titles share as its title. No text is smaller
than 16 pt on a slide."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.analysis.compare import Comparison
from sim.inputs.scenario import (
    DAYS_PER_MONTH,
    AccommodationNode,
    DownstreamNode,
    Observation,
    Scenario,
    schedule_steps,
)
from sim.outputs import formats, i18n, style
from sim.outputs.charts import (
    NumberFormatter,
    chart_window,
    date_axis,
    date_num,
    legend_label,
    number_axis,
    short_labels,
)
from sim.outputs.i18n import Lang, t
from sim.outputs.style import METRICS, Metric
from sim.running.folders import FolderError, folder_kind, read_manifest
from sim.running.results import (
    load_run,
    run_paths,
    summary_with_targets,
)
from sim.running.runner import RunResult

NODE_METRICS: tuple[Metric, ...] = ("waiting", "occupancy", "blocked", "entries-exits", "stay")
FolderKind = Literal["run", "compare"]
BAND = (0.05, 0.95)
ECDF_POINTS = 400
"""Quantiles a compact distribution chart is drawn through."""
SMALL = 0.8
"""The smallest text (legends, annotations) relative to the base font: 16 pt on a slide."""


@dataclasses.dataclass(frozen=True)
class Event:
    """A dated event marked on time charts."""

    date: dt.date
    label: str
    """Key of the label in :data:`sim.outputs.i18n.LABELS`."""
    source: str


EVENTS: tuple[Event, ...] = (
    Event(dt.date(2020, 4, 1), "event.lockdown", "003_eaf6f5907ddfe5c8.txt:537-539"),
    Event(dt.date(2023, 11, 30), "event.etape2", "001_63880899fa64ff02.txt:3-13"),
)
"""Events drawn on time charts when they fall inside the chart's dates."""


@dataclasses.dataclass(frozen=True)
class Target:
    """An observation with a target, and what the model gave for it."""

    name: str
    observation: Observation | None
    label: str
    role: str
    target: float
    tolerance: float | None
    mean: float
    ci95: float
    met: bool | None
    source: str


@dataclasses.dataclass(frozen=True)
class Folder:
    """A results folder loaded for charts and reports; runs keyed by scenario, reference first."""

    path: Path
    kind: FolderKind
    manifest: dict[str, Any]
    runs: dict[str, RunResult]
    run_paths: dict[str, Path]
    comparison: pd.DataFrame | None
    targets: list[Target]

    @property
    def reference(self) -> RunResult:
        return next(iter(self.runs.values()))

    @property
    def scenario(self) -> Scenario:
        return self.reference.scenario

    @property
    def replications(self) -> int:
        return self.reference.replications


def load_folder(path: Path | str) -> Folder:
    """Read a ``run`` or ``compare`` results folder (a calibration folder is read by
    :func:`sim.outputs.abc_output.load_calibration`)."""
    path = Path(path)
    info = read_manifest(path, ("run", "compare"))
    kind = info.get("kind", "run")
    runs, paths = {}, {}
    for run_path in run_paths(path):
        run = load_run(run_path)
        runs[run.scenario.name] = run
        paths[run.scenario.name] = run_path
    if kind == "compare":
        comparison = path / "comparison.csv"
        table = pd.read_csv(comparison) if comparison.is_file() else None
        return Folder(path, "compare", info, runs, paths, table, [])
    run = next(iter(runs.values()))
    return Folder(path, "run", info, runs, paths, None, _summary_targets(path, run.scenario))


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _met(x: Any) -> bool | None:
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, str) and x.lower() in ("true", "false"):
        return x.lower() == "true"
    return None


Results = RunResult | Comparison | Mapping[str, RunResult]
"""Results in memory that charts can be drawn from, as from their folder."""


def folder_of(results: Results) -> Folder:
    """In-memory results (a run, a comparison, or runs by name, the reference first) as the
    :class:`Folder` the charts draw from; nothing is read from disk."""
    if isinstance(results, Comparison):
        runs, table = dict(results.runs), results.table
    elif isinstance(results, RunResult):
        runs, table = {results.scenario.name: results}, None
    elif isinstance(results, Mapping) and results:
        runs, table = dict(results), None
    else:
        raise FolderError(
            f"cannot draw charts of {type(results).__name__}: give a results folder, a "
            "RunResult, a Comparison or runs by scenario name"
        )
    reference = next(iter(runs.values()))
    if len(runs) > 1:
        return Folder(MEMORY, "compare", {}, runs, {}, table, [])
    summary = summary_with_targets(reference)
    return Folder(MEMORY, "run", {}, runs, {}, None, _targets(summary, reference.scenario))


MEMORY = Path("<in memory>")
"""The path of a :class:`Folder` built from results in memory (in messages only)."""


def _summary_targets(folder: Path, scenario: Scenario) -> list[Target]:
    """Targets of a run folder: observations whose role is fit or validate."""
    return _targets(pd.read_csv(folder / "summary.csv"), scenario)


def _targets(summary: pd.DataFrame, scenario: Scenario) -> list[Target]:
    """Targets of a run's summary (with targets): observations whose role is fit or validate."""
    if "target" not in summary.columns:
        return []
    out = []
    for row in summary.to_dict("records"):
        name = str(row["kpi"]).removeprefix("obs.")
        obs = scenario.observations.get(name)
        if obs is None or obs.target is None or obs.role not in ("fit", "validate"):
            continue
        out.append(
            Target(
                name, obs, obs.label or name, obs.role, obs.target, obs.tolerance,
                _float(row["mean"]), _float(row["ci95"]), _met(row.get("target_met")),
                obs.source or "",
            )
        )  # fmt: skip
    return out


# --- helpers ----------------------------------------------------------------------------------


def node_label(folder: Folder, node: str, lang: Lang) -> str:
    """A node's display name from the first scenario that has it."""
    for run in folder.runs.values():
        if node in run.scenario.nodes:
            return i18n.node_name(run.scenario.nodes[node].name, lang)
    raise FolderError(f"unknown node {node!r}")


def _date(scenario: Scenario, day: float) -> dt.date:
    return scenario.start + dt.timedelta(days=float(day))


def _to_dates(scenario: Scenario, days: np.ndarray) -> np.ndarray:
    base = np.datetime64(scenario.start.isoformat(), "s")
    return base + (np.asarray(days, dtype=float) * 86400).astype("timedelta64[s]")


def _figure(ax: Axes) -> Figure:
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    return figure


def _font(ax: Axes) -> float:
    """The axes' label font size in points (the chart's base size)."""
    return float(ax.xaxis.get_label().get_fontsize())


def _mark_events(
    ax: Axes, first: np.datetime64, last: np.datetime64, lang: Lang, labels: bool = True
) -> int:
    """Dotted vertical lines for the events inside the chart's dates, each labelled on one
    line at the top of the axes beside its line (a second row when two labels would meet).
    Returns the number of label rows, for :func:`_headroom`."""
    font = _font(ax) * SMALL
    figure = _figure(ax)
    axes_width = ax.get_position().width * figure.get_figwidth()
    rows: list[float] = []  # right end of the last label of each row, in axes fraction
    for event in EVENTS:
        when = np.datetime64(event.date.isoformat(), "s")
        if not first <= when <= last:
            continue
        x = date_num(when)
        ax.axvline(x, color=style.EVENT, linestyle=(0, (1, 2)), linewidth=font / 7, zorder=1)
        if not labels:
            continue
        text = t(
            "event.dated", lang, event=t(event.label, lang), date=i18n.month_year(event.date, lang)
        )
        share = float((when - first) / (last - first))
        width = (style.text_width(text, font) + font * 0.6 / 72) / axes_width
        left = share + width > 0.99  # no room on the right: label on the left of the line
        span = (share - width, share) if left else (share, share + width)
        row = next((r for r, end in enumerate(rows) if end < span[0]), len(rows))
        if row == len(rows):
            rows.append(span[1])
        rows[row] = span[1]
        ax.annotate(
            text,
            xy=(x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(font * (-0.3 if left else 0.3), -font * (0.25 + ROW * row)),
            textcoords="offset points",
            ha="right" if left else "left",
            va="top",
            fontsize=font,
            color=style.EVENT,
            zorder=8,
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.9},
        )
    return len(rows)


ROW = 1.45
"""Height of a row of event labels, in label font sizes."""


def _headroom(fig: Figure, ax: Axes, rows: int) -> None:
    """Raise the top of ``ax`` so that its ``rows`` rows of event labels sit above the data
    (measured on the laid-out figure)."""
    if rows == 0:
        return
    fig.draw_without_rendering()
    height_pt = ax.get_window_extent().height * 72 / fig.dpi
    need = _font(ax) * SMALL * (ROW * rows + 0.5)
    share = min(0.45, need / max(height_pt, 1.0))
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, bottom + (top - bottom) / (1.0 - share))


def _capacity_changes(scenario: Scenario, node: str) -> list[tuple[dt.date, float]]:
    """Dated capacity steps of a node (none for a constant or a release node)."""
    spec = scenario.nodes[node]
    capacity = getattr(spec, "capacity", None)
    if not isinstance(capacity, list):
        return []
    return [
        (max(scenario.start, scenario.start + dt.timedelta(days=day)), value)
        for day, value in schedule_steps(capacity, scenario.start)
    ]


def _label_capacity(
    ax: Axes,
    changes: list[tuple[dt.date, float]],
    first: np.datetime64,
    last: np.datetime64,
    colour: str,
    lang: Lang,
    skip: set[tuple[dt.date, float]],
) -> None:
    """Write each new capacity beside its step, skipping labels too close to the next one."""
    font = _font(ax)
    span = float((last - first) / np.timedelta64(1, "D"))
    kept: list[tuple[dt.date, float]] = []
    next_day = math.inf
    for when, value in reversed(changes):
        day = float((np.datetime64(when.isoformat(), "s") - first) / np.timedelta64(1, "D"))
        if day < 0 or day > span or value == 0 or (when, value) in skip:
            continue
        if next_day - day >= 0.03 * span:
            kept.append((when, value))
            next_day = day
    for when, value in kept:
        ax.annotate(
            formats.number(value, lang, 0),
            xy=(date_num(np.datetime64(when.isoformat(), "s")), value),
            xytext=(font * 0.15, font * 0.25),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=font * SMALL,
            color=colour,
            fontweight="bold",
            zorder=6,
        )


def _no_series(where: str, column: str, frames: Sequence[pd.DataFrame]) -> str:
    """Why a daily series is not there: the file is missing, or it lacks that column."""
    if all(len(frame.columns) == 0 for frame in frames):
        return f"{where}: timeseries.parquet is missing (no daily series to draw; run it again)"
    return f"{where}: no series {column!r} in timeseries.parquet"


def _series_stats(
    run: RunResult, column: str, window: tuple[float, float], replication: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Dates, mean (or one replication) and the 90% band of a daily series inside ``window``."""
    ts = run.timeseries
    if column not in ts.columns:
        raise FolderError(_no_series(run.scenario.name, column, [ts]))
    ts = ts[(ts["day"] >= window[0]) & (ts["day"] < window[1])]
    if replication is not None:
        one = ts[ts["replication"] == replication].sort_values("day")
        if one.empty:
            raise FolderError(
                f"{run.scenario.name}: no replication {replication} "
                f"(there are {run.replications}, numbered from 0)"
            )
        days = one["day"].to_numpy(float)
        return _to_dates(run.scenario, days), one[column].to_numpy(float), None, None
    wide = ts.pivot_table(index="day", columns="replication", values=column, aggfunc="first")
    values = wide.to_numpy(float)
    days = wide.index.to_numpy(float)
    mean = np.nanmean(values, axis=1)
    if values.shape[1] < 2:
        return _to_dates(run.scenario, days), mean, None, None
    band = np.nanquantile if np.isnan(values).any() else np.quantile
    lo, hi = band(values, BAND, axis=1)
    return _to_dates(run.scenario, days), mean, lo, hi


def _titles(fig: Figure, ax: Axes, title: str, subtitle: str, size: style.Size) -> None:
    """The title and subtitle, wrapped to the width the legend on the right leaves."""
    fig.suptitle(
        style.wrap(title, size.width * 0.76, size.font * 1.3),
        x=0.01, ha="left", fontsize=size.font * 1.3, fontweight="bold",
    )  # fmt: skip
    ax.set_title(
        style.wrap(subtitle, size.width * 0.7, size.font * 0.85),
        loc="left", fontsize=size.font * 0.85, fontweight="normal", color=style.MUTED,
    )  # fmt: skip


def _legend(fig: Figure, handles: Sequence[Any], size: style.Size, scenarios: int = 0) -> None:
    """A legend outside the plot, on the right, its labels wrapped to a fifth of the width;
    the words the first ``scenarios`` labels share become the legend's title."""
    if not handles:
        return
    font = size.font * SMALL
    chars = max(16, int(size.width * 0.2 * 72 / (font * 0.55)))
    labels = [str(h.get_label()) for h in handles]
    title, labels[:scenarios] = short_labels(labels[:scenarios])
    fig.legend(
        handles=list(handles), labels=["\n".join(textwrap.wrap(x, chars)) for x in labels],
        loc="outside right upper", fontsize=font, labelspacing=0.8, handlelength=1.8,
        title=title, title_fontproperties={"size": font, "weight": "bold"}, alignment="left",
    )  # fmt: skip


def _subtitle_band(folder: Folder, replication: int | None, lang: Lang, bands: bool = True) -> str:
    if replication is not None:
        return t("sub.single", lang, i=replication)
    if folder.replications < 2:
        return t("sub.one_run", lang)
    return t("sub.band" if bands else "sub.mean", lang, n=folder.replications)


def _no_data(ax: Axes, lang: Lang) -> None:
    ax.text(
        0.5, 0.5, t("no_data", lang), transform=ax.transAxes, ha="center", va="center",
        color=style.MUTED,
    )  # fmt: skip


def _colour(i: int) -> str:
    return style.SCENARIO_COLOURS[i % len(style.SCENARIO_COLOURS)]


def _darker(colour: str, amount: float = 0.5) -> tuple[float, float, float]:
    """``colour`` mixed with black, to stand out on a line of its own colour."""
    r, g, b = to_rgb(colour)
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount))


# --- time-series charts -----------------------------------------------------------------------
def series_chart(
    folder: Folder,
    metric: Literal["street", "waiting", "occupancy", "blocked"],
    node: str | None = None,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    compact: bool = False,
    band: str | None = None,
) -> Figure:
    """A daily series per scenario: the street count, or a node's waiting list, occupancy
    (with its capacity as a dashed step line) or residents blocked waiting downstream.
    ``compact`` draws weekly means instead of every day (for charts embedded in a report);
    capacity steps stay exact. ``band``: ``None`` draws every scenario's 90% band (light and
    outlined when there are several), a scenario's name only its band, ``"none"`` no band.
    A line that coincides with one drawn before it is dashed on top of it, and the subtitle
    says so."""
    if metric != "street" and node is None:
        raise FolderError(f"the {metric} chart needs a node")
    column = "street" if metric == "street" else f"{metric}.{node}"
    if not any(column in run.timeseries.columns for run in folder.runs.values()):
        frames = [run.timeseries for run in folder.runs.values()]
        raise FolderError(_no_series(str(folder.path), column, frames))
    banded = band_scenarios(folder, band)
    alpha = style.BAND_ALPHA if len(banded) < 2 else style.BANDS_ALPHA
    drawn: list[tuple[str, np.ndarray, np.ndarray]] = []  # label, dates, mean of lines so far
    coincide: list[tuple[str, str]] = []
    with style.context(size) as s:
        fig = style.figure(size)
        ax = fig.add_subplot()
        handles: list[Any] = []
        first = last = None
        rows = 0
        ref_changes: set[tuple[dt.date, float]] = set()
        reference: list[np.ndarray | None] | None = None
        shared = False
        for i, run in enumerate(folder.runs.values()):
            colour = _colour(i)
            if column not in run.timeseries.columns:  # a node this scenario does not have
                continue
            window = chart_window(run.scenario, start, end)
            dates, mean, lo, hi = _series_stats(run, column, window, replication)
            if len(dates) == 0:
                continue
            first = dates[0] if first is None else min(first, dates[0])
            last = dates[-1] if last is None else max(last, dates[-1])
            capacity: np.ndarray | None = None
            if metric == "occupancy" and node is not None:
                _, capacity, _, _ = _series_stats(run, f"capacity.{node}", window, replication or 0)
            series: list[np.ndarray | None] = [dates, mean, lo, hi, capacity]
            # the days a scenario shares with the reference are drawn once, by the reference
            cut = 0 if reference is None else max(0, _shared_days(reference, series) - 1)
            twin = _coinciding(drawn, dates[cut:], mean[cut:])
            if twin is not None and cut >= len(dates) - 1:
                cut = 0  # the same line throughout: drawn whole, dashed over the other
            shared = shared or cut > 0
            reference = reference or series
            dates, mean = dates[cut:], mean[cut:]
            lo = None if lo is None else lo[cut:]
            hi = None if hi is None else hi[cut:]
            label = legend_label(run.scenario, lang)
            above = 0.5 if i == 0 else 0.0  # the reference over the others where they coincide
            shown = _weekly(dates, mean, lo, hi) if compact else (dates, mean, lo, hi)
            linestyle: Any = "-" if twin is None else (0, (3, 3))
            (line,) = ax.plot(
                shown[0], shown[1], color=colour, label=label, linestyle=linestyle,
                zorder=3 + above if twin is None else 5.0,
            )  # fmt: skip
            handles.append(line)
            if twin is not None:
                coincide.append((label, twin))
            drawn.append((label, dates, mean))
            if shown[2] is not None and shown[3] is not None and run.scenario.name in banded:
                ax.fill_between(
                    shown[0], shown[2], shown[3], facecolor=colour, alpha=alpha, lw=0,
                    zorder=1 + above, gid=f"band:{run.scenario.name}",
                )  # fmt: skip
                for edge in (shown[2], shown[3]):
                    ax.plot(
                        shown[0], edge, color=colour, lw=s.line * style.BAND_EDGE,
                        alpha=style.BAND_EDGE_ALPHA, zorder=1.5 + above, label="_band edge",
                    )  # fmt: skip
            if capacity is not None and node is not None:
                steps_at, steps = _steps(dates, capacity[cut:])
                ax.plot(
                    steps_at, steps, color=_darker(colour), linestyle=(0, (4, 2)),
                    linewidth=s.line * 0.7, drawstyle="steps-post", zorder=4 + above,
                )  # fmt: skip
                changes = _capacity_changes(run.scenario, node)
                _label_capacity(
                    ax, changes, dates[0], dates[-1], colour, lang, ref_changes if i else set()
                )
                if i == 0:
                    ref_changes = set(changes)
        ax.set_ylim(bottom=0)
        scenarios = len(handles)
        if first is None or last is None:
            _no_data(ax, lang)
        else:
            date_axis(ax, first, last, lang)
            handles += _mark_series_targets(ax, folder, column, lang)
            ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
            rows = _mark_events(ax, first, last, lang)
        number_axis(ax, lang)
        ax.set_ylabel(t("axis.places" if metric == "occupancy" else "axis.people", lang))
        title_key = f"chart.{metric}"
        title = t(title_key, lang, node=node_label(folder, node, lang) if node else "")
        if replication is None and folder.replications > 1 and banded:
            patch = Patch(
                facecolor=style.MUTED, alpha=style.BAND_ALPHA * 1.5, label=t("legend.band", lang)
            )
            handles.append(patch)
        if metric == "occupancy":
            handles.append(
                Line2D([], [], color=style.TEXT, linestyle=(0, (4, 2)), linewidth=s.line * 0.7,
                       label=t("legend.capacity", lang))
            )  # fmt: skip
        subtitle = _subtitle_band(folder, replication, lang, bool(banded))
        if shared:
            subtitle += t("sub.shared", lang)
        labels = [str(h.get_label()) for h in handles[:scenarios]]
        short = dict(zip(labels, short_labels(labels)[1], strict=True))  # as the legend has them
        for label, twin in coincide:
            subtitle += t("sub.coincide", lang, line=short[label], other=short[twin])
        _titles(fig, ax, title, subtitle, s)
        _legend(fig, handles, s, scenarios)
        _headroom(fig, ax, rows)
        style.freeze_ticks(fig)
    return fig


COINCIDE = 0.01
"""Two mean lines coincide when they differ by less than this share of the larger one's peak."""


def _coinciding(
    drawn: Sequence[tuple[str, np.ndarray, np.ndarray]], dates: np.ndarray, mean: np.ndarray
) -> str | None:
    """The label of a line already drawn that ``mean`` would hide or be hidden by: over the
    same dates, never further apart than :data:`COINCIDE` of the peak."""
    for label, other_dates, other in drawn:
        if len(dates) == 0 or not np.isin(dates, other_dates).all():
            continue
        aligned = other[np.searchsorted(other_dates, dates)]
        peak = max(float(np.nanmax(np.abs(aligned))), float(np.nanmax(np.abs(mean))), 1.0)
        if float(np.nanmax(np.abs(aligned - mean))) <= COINCIDE * peak:
            return label
    return None


def band_scenarios(folder: Folder, band: str | None) -> set[str]:
    """The scenarios whose 90% band is drawn: all (``None``), none (``"none"``) or the one
    named (:class:`FolderError` naming the scenarios otherwise)."""
    if band is None:
        return set(folder.runs)
    if band == "none":
        return set()
    if band not in folder.runs:
        known = ", ".join(folder.runs)
        raise FolderError(f"--band {band}: no such scenario (use one of {known}, or none)")
    return {band}


def _shared_days(reference: list[np.ndarray | None], series: list[np.ndarray | None]) -> int:
    """How many first days ``series`` (dates, mean, low, high, capacity) has exactly as the
    reference: scenarios on common random numbers share their history until they differ."""
    dates, ref_dates = series[0], reference[0]
    if dates is None or ref_dates is None or not np.array_equal(dates, ref_dates):
        return 0
    same = np.ones(len(dates), dtype=np.bool_)
    for a, b in zip(reference[1:], series[1:], strict=True):
        if (a is None) != (b is None):
            return 0
        if a is not None and b is not None:
            same = same & np.isclose(a, b, rtol=0.0, atol=1e-9)
    return len(same) if bool(same.all()) else int(np.argmin(same))


def _weekly(
    dates: np.ndarray, mean: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Means over consecutive 7-day blocks, dated at each block's middle day (the first and
    last days kept, so the line spans the same dates)."""
    n = len(dates)
    if n <= 14:
        return dates, mean, lo, hi
    starts = np.arange(0, n, 7)

    def blocks(values: np.ndarray) -> np.ndarray:
        means = np.add.reduceat(values, starts) / np.diff(np.append(starts, n))
        return np.concatenate(([values[0]], means, [values[-1]]))

    middle = np.minimum(starts + 3, n - 1)
    at = np.concatenate(([dates[0]], dates[middle], [dates[-1]]))
    return (
        at,
        blocks(mean),
        None if lo is None else blocks(lo),
        None if hi is None else blocks(hi),
    )


def _steps(dates: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step series reduced to its changes (and its last day): the same line, drawn with
    ``steps-post``, in a few points."""
    if len(values) == 0:
        return dates, values
    keep = np.flatnonzero(np.diff(values, prepend=np.nan) != 0)
    keep = np.unique(np.append(keep, len(values) - 1))
    return dates[keep], values[keep]


def _mark_series_targets(ax: Axes, folder: Folder, column: str, lang: Lang) -> list[Any]:
    """Targets on a series: a point (``at``) or a segment over its window (``mean``)."""
    drawn = False
    scenario = folder.scenario
    for target in folder.targets:
        obs = target.observation
        if obs is None or obs.series != column or obs.metric not in ("at", "mean"):
            continue
        tol = target.tolerance or 0.0
        if obs.metric == "at" and obs.on is not None:
            x = date_num(np.datetime64(obs.on.isoformat(), "s"))
            ax.errorbar(
                [x], [target.target], yerr=[[tol], [tol]], fmt="D", color=style.TARGET,
                markersize=_font(ax) * 0.45, capsize=4, zorder=7,
            )  # fmt: skip
            drawn = True
        elif obs.start is not None and obs.end is not None:
            x0 = date_num(np.datetime64(max(obs.start, scenario.start).isoformat(), "s"))
            x1 = date_num(np.datetime64(obs.end.isoformat(), "s"))
            ax.hlines(target.target, x0, x1, color=style.TARGET, linewidth=2.5, zorder=7)
            if tol:
                ax.fill_between(
                    [x0, x1], target.target - tol, target.target + tol, color=style.TARGET,
                    alpha=0.12, lw=0, zorder=2,
                )  # fmt: skip
            drawn = True
    if not drawn:
        return []
    return [Line2D([], [], color=style.TARGET, marker="D", label=t("legend.target", lang))]


# --- flows and durations ----------------------------------------------------------------------
def _month_edges(scenario: Scenario, a: float, b: float) -> tuple[np.ndarray, str]:
    """Bin edges in days: calendar months, or quarters when there are more than 48 months."""
    first = _date(scenario, a)
    last = _date(scenario, b)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = 3 if months > 48 else 1
    month0 = (first.month - 1) // step * step + 1
    edges = []
    year, month = first.year, month0
    while True:
        day = scenario.day(dt.date(year, month, 1))
        edges.append(min(max(day, a), b))
        if day >= b:
            break
        month += step
        if month > 12:
            year, month = year + 1, month - 12
    return np.unique(np.asarray(edges, dtype=float)), "quarter" if step == 3 else "month"


def _monthly_counts(
    run: RunResult, node: str, column: str, edges: np.ndarray, replication: int | None
) -> np.ndarray:
    """Mean count per replication in each bin, divided by the bin's length in months."""
    ep = run.episodes
    ep = ep[ep["node"] == node]
    reps = [replication] if replication is not None else range(run.replications)
    counts = np.zeros((len(list(reps)), len(edges) - 1))
    for k, r in enumerate(reps):
        times = ep.loc[ep["replication"] == r, column].to_numpy(float)
        counts[k], _ = np.histogram(times[~np.isnan(times)], bins=edges)
    months = np.diff(edges) / DAYS_PER_MONTH
    return np.asarray(counts.mean(axis=0) / months, dtype=float)


COLUMNS = ("entry", "exit")


def _shared_bins(counts: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]]) -> int:
    """How many first bins every scenario has exactly as the reference (bin edges, entries
    and exits): the shared history, drawn once. None when there is one scenario, or when
    they are the same throughout (then every bar is drawn)."""
    if len(counts) < 2:
        return 0
    ref_edges, ref = counts[0]
    same = np.ones(len(ref_edges) - 1, dtype=np.bool_)
    for edges, values in counts[1:]:
        if not np.array_equal(edges, ref_edges):
            return 0
        for column in COLUMNS:
            same &= np.isclose(values[column], ref[column], rtol=0.0, atol=1e-9)
    shared = len(same) if bool(same.all()) else int(np.argmin(same))
    return 0 if shared == len(same) else shared


def entries_exits_chart(
    folder: Folder,
    node: str,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Figure:
    """Entries into and exits from a node per month (bars), one colour per scenario; the
    months every scenario shares with the reference (the history before they differ) are
    one bar, the reference's."""
    with style.context(size) as s:
        fig = style.figure(size)
        top, bottom = fig.subplots(2, 1, sharex=True)
        handles: list[Any] = []
        period = "month"
        n = len(folder.runs)
        first = last = None
        rows = 0
        counts = []
        for run in folder.runs.values():
            a, b = chart_window(run.scenario, start, end)
            edges, period = _month_edges(run.scenario, a, b)
            values = {c: _monthly_counts(run, node, c, edges, replication) for c in COLUMNS}
            counts.append((run, edges, values))
        shared = _shared_bins([(edges, values) for _, edges, values in counts])
        for i, (run, edges, values) in enumerate(counts):
            lefts = date_num(_to_dates(run.scenario, edges[:-1]))
            widths = np.diff(edges)
            x0 = lefts + widths * (0.1 + 0.8 * i / n)
            width = widths * 0.8 / n
            own = np.arange(len(widths)) >= shared  # months after the shared history
            if i == 0:  # the shared months: one bar as wide as a group, the reference's
                x0 = np.where(own, x0, lefts + widths * 0.1)
                width = np.where(own, width, widths * 0.8)
                own = np.ones(len(widths), dtype=np.bool_)
            first = _to_dates(run.scenario, edges[:1])[0] if first is None else first
            last = _to_dates(run.scenario, edges[-1:])[0]
            for ax, column in ((top, "entry"), (bottom, "exit")):
                bars = ax.bar(
                    x0[own], values[column][own], width=width[own], align="edge",
                    color=_colour(i), label=legend_label(run.scenario, lang),
                )  # fmt: skip
            handles.append(bars)
        for ax, key in ((top, "legend.entries"), (bottom, "legend.exits")):
            number_axis(ax, lang)
            ax.set_ylabel(t(key, lang).capitalize())
            ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
        if first is not None and last is not None:
            date_axis(bottom, first, last, lang)
            rows = _mark_events(top, first, last, lang)
            _mark_events(bottom, first, last, lang, labels=False)
        scenarios = len(handles)
        target_handles = _mark_flow_targets(top, bottom, folder, node)
        if target_handles:
            handles.append(
                Line2D([], [], color=style.TARGET, linewidth=2.5, label=t("legend.target", lang))
            )
        subtitle = (
            t("sub.single", lang, i=replication)
            if replication is not None
            else t("sub.bars", lang, n=folder.replications, period=t(f"period.{period}", lang))
        ) + (t("sub.shared", lang) if shared else "")
        label = node_label(folder, node, lang)
        _titles(fig, top, t("chart.entries_exits", lang, node=label), subtitle, s)
        _legend(fig, handles, s, scenarios)
        _headroom(fig, top, rows)
        style.freeze_ticks(fig)
    return fig


def _mark_flow_targets(top: Axes, bottom: Axes, folder: Folder, node: str) -> bool:
    """Entry or exit count targets as a per-month level over their window."""
    drawn = False
    for target in folder.targets:
        obs = target.observation
        if obs is None or obs.node != node or obs.metric not in ("entries", "exits"):
            continue
        if obs.outcome is not None or obs.start is None or obs.end is None:
            continue
        months = ((obs.end - obs.start).days + 1) / DAYS_PER_MONTH
        ax = top if obs.metric == "entries" else bottom
        x0 = date_num(np.datetime64(obs.start.isoformat(), "s"))
        x1 = date_num(np.datetime64(obs.end.isoformat(), "s"))
        level = target.target / months
        ax.hlines(level, x0, x1, color=style.TARGET, linewidth=2.5, zorder=7)
        if target.tolerance:
            tol = target.tolerance / months
            ax.fill_between(
                [x0, x1], level - tol, level + tol, color=style.TARGET, alpha=0.12, lw=0
            )
        drawn = True
    return drawn


def _check_node(scenario: Scenario, node: str) -> None:
    if node not in scenario.nodes:
        known = ", ".join(scenario.nodes_of(AccommodationNode, DownstreamNode))
        raise FolderError(f"{scenario.name}: unknown node {node!r} (places: {known})")


def _ecdf_chart(
    folder: Folder,
    samples: Callable[[RunResult], np.ndarray],
    title: str,
    subtitle: str,
    lang: Lang,
    size: style.SizeName,
    mean_targets: list[float],
    compact: bool = False,
) -> Figure:
    """Empirical cumulative distributions (in months or days) with medians, one per scenario
    (``compact``: drawn through 400 quantiles rather than every sample)."""
    with style.context(size) as s:
        fig = style.figure(size)
        ax = fig.add_subplot()
        data = [(run, samples(run)) for run in folder.runs.values()]
        pooled = np.concatenate([d for _, d in data]) if data else np.array([])
        in_days = pooled.size > 0 and float(np.quantile(pooled, 0.9)) < 2 * DAYS_PER_MONTH
        scale = 1.0 if in_days else DAYS_PER_MONTH
        handles: list[Any] = []
        for i, (run, values) in enumerate(data):
            if values.size == 0:
                continue
            x = np.sort(values) / scale
            y = np.arange(1, x.size + 1) / x.size
            median = float(np.median(x))
            if compact and x.size > ECDF_POINTS:
                y = np.arange(1, ECDF_POINTS + 1) / ECDF_POINTS
                x = np.quantile(x, y, method="inverted_cdf")
            (line,) = ax.step(
                np.concatenate(([0.0], x)), np.concatenate(([0.0], y)), where="post",
                color=_colour(i), label=legend_label(run.scenario, lang),
                zorder=3.5 if i == 0 else 3,
            )  # fmt: skip
            handles.append(line)
            ax.vlines(median, 0, 0.5, color=_colour(i), linestyle=(0, (4, 2)), lw=s.line * 0.7)
            ax.annotate(  # stacked upwards from the foot of the line, one row per scenario
                formats.number(median, lang),
                xy=(median, 0.04 + 0.09 * i), xytext=(s.font * 0.25, 0),
                textcoords="offset points", ha="left", va="bottom", color=_colour(i),
                fontsize=s.font * SMALL, fontweight="bold",
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            )  # fmt: skip
        scenarios = len(handles)
        if not handles:
            _no_data(ax, lang)
        else:  # every time 0 (all admitted at once): a unit-wide axis rather than a degenerate one
            right = float(np.quantile(pooled, 0.99)) / scale * 1.02
            ax.set_xlim(0, right if right > 0 else 1.0)
        for value in mean_targets:
            ax.axvline(value / scale, color=style.TARGET, linewidth=2.0, zorder=6)
        if mean_targets:
            handles.append(Line2D([], [], color=style.TARGET, label=t("legend.target", lang)))
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(NumberFormatter(lang, share=True))
        number_axis(ax, lang, axis="x")
        ax.set_xlabel(t("axis.days" if in_days else "axis.months", lang))
        ax.set_ylabel(t("axis.cumulative_share", lang))
        ax.grid(True, axis="x")
        _titles(fig, ax, title, subtitle, s)
        _legend(fig, handles, s, scenarios)
        style.freeze_ticks(fig)
    return fig


def _window_subtitle(
    folder: Folder, key: str, lang: Lang, start: dt.date | None, end: dt.date | None
) -> str:
    """The subtitle ``key``, or its ``_window`` variant naming the dates when a window is set."""
    if start is None and end is None:
        return t(key, lang)
    sc = folder.scenario
    a, b = chart_window(sc, start, end)
    first, last = _date(sc, a), _date(sc, b - 1)
    return t(
        f"{key}_window", lang, start=i18n.date_short(first, lang), end=i18n.date_short(last, lang)
    )


def _replications(run: RunResult, replication: int | None) -> pd.DataFrame:
    ep = run.episodes
    return ep if replication is None else ep[ep["replication"] == replication]


def stay_chart(
    folder: Folder,
    node: str,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    compact: bool = False,
) -> Figure:
    """Distribution of completed stays at a node (exits inside the window), as an ECDF."""

    def samples(run: RunResult) -> np.ndarray:
        a, b = chart_window(run.scenario, start, end)
        ep = _replications(run, replication)
        ep = ep[(ep["node"] == node) & (ep["exit"] >= a) & (ep["exit"] < b)]
        return np.asarray((ep["exit"] - ep["entry"]).to_numpy(float), dtype=float)

    means = [
        target.target
        for target in folder.targets
        if target.observation is not None
        and target.observation.node == node
        and target.observation.metric == "mean_stay"
    ]
    subtitle = _window_subtitle(folder, "sub.stay", lang, start, end)
    title = t("chart.stay", lang, node=node_label(folder, node, lang))
    return _ecdf_chart(folder, samples, title, subtitle, lang, size, means, compact)


def time_to_housing_chart(
    folder: Folder,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    compact: bool = False,
) -> Figure:
    """Time from referral on the street to entry into accommodation (as the KPI
    ``contact_to_housing``): street episodes ending in an accommodation node in the window."""

    def samples(run: RunResult) -> np.ndarray:
        sc = run.scenario
        a, b = chart_window(sc, start, end)
        ep = _replications(run, replication)
        places = set(sc.nodes_of(AccommodationNode))
        ep = ep[(ep["node"] == sc.street_id) & ep["outcome"].isin(places)]
        ep = ep[(ep["exit"] >= a) & (ep["exit"] < b)]
        return np.asarray((ep["exit"] - ep["ready"]).dropna().to_numpy(float), dtype=float)

    subtitle = _window_subtitle(folder, "sub.time_to_housing", lang, start, end)
    title = t("chart.time_to_housing", lang)
    return _ecdf_chart(folder, samples, title, subtitle, lang, size, [], compact)


# --- which charts, and writing them -----------------------------------------------------------
def default_nodes(folder: Folder, metric: Metric) -> list[str]:
    """The nodes worth a chart: places that are open and show something in some scenario."""
    out: list[str] = []
    sc = folder.scenario
    kinds: tuple[type, ...] = (
        (AccommodationNode, DownstreamNode)
        if metric in ("occupancy", "blocked")
        else (AccommodationNode,)
    )
    for node, spec in sc.nodes_of(*kinds).items():
        if isinstance(spec, DownstreamNode) and spec.capacity is None:
            continue
        column = {"occupancy": "capacity", "blocked": "blocked", "waiting": "waiting"}.get(metric)
        for run in folder.runs.values():
            if column is not None:
                name = f"{column}.{node}"
                ts = run.timeseries
                if name in ts.columns and float(ts[name].max()) > 0:
                    out.append(node)
                    break
            elif bool((run.episodes["node"] == node).any()):
                out.append(node)
                break
    return out


def main_node(folder: Folder) -> str | None:
    """The accommodation node with the most places at some point (ASSORE in the shipped files)."""
    best, most = None, -1.0
    for node in folder.scenario.nodes_of(AccommodationNode):
        column = f"capacity.{node}"
        if column in folder.reference.timeseries.columns:
            value = float(folder.reference.timeseries[column].max())
            if value > most:
                best, most = node, value
    return best


def chart(
    folder: Folder,
    metric: Metric,
    node: str | None = None,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    scenario: str | None = None,
    compact: bool = False,
    band: str | None = None,
) -> Figure:
    """One chart by metric name (``scenario`` picks the run of a Sankey; ``compact`` draws
    fewer points: weekly means of time series, distributions at a few hundred quantiles;
    ``band`` as :func:`series_chart`)."""
    if metric in ("street", "waiting", "occupancy", "blocked"):
        return series_chart(
            folder, metric, node, lang, size, replication, start, end, compact, band
        )
    if node is None and metric in NODE_METRICS:
        raise FolderError(f"the {metric} chart needs a node")
    if metric == "entries-exits":
        assert node is not None
        return entries_exits_chart(folder, node, lang, size, replication, start, end)
    if metric == "stay":
        assert node is not None
        return stay_chart(folder, node, lang, size, replication, start, end, compact)
    if metric == "time-to-housing":
        return time_to_housing_chart(folder, lang, size, replication, start, end, compact)
    if metric == "sankey":
        from sim.outputs.sankey import box_order, sankey_chart

        run = folder.runs[scenario] if scenario else folder.reference
        order = box_order(folder.reference, start, end)  # the same boxes order in every one
        return sankey_chart(run, lang, size, replication, start, end, order)
    raise FolderError(f"unknown metric {metric!r} (use one of {', '.join(METRICS)})")


def plan(
    folder: Folder, metrics: Sequence[str] | None = None, nodes: Sequence[str] | None = None
) -> list[tuple[Metric, str | None, str | None, str]]:
    """The charts to draw: ``(metric, node, scenario, file stem)``."""
    wanted = list(metrics) if metrics else list(METRICS)
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise FolderError(f"unknown metric(s) {', '.join(unknown)} (use {', '.join(METRICS)})")
    for node in nodes or ():
        if not any(node in run.scenario.nodes for run in folder.runs.values()):
            _check_node(folder.scenario, node)
    out: list[tuple[Metric, str | None, str | None, str]] = []
    for metric in wanted:
        m = cast(Metric, metric)
        if m in NODE_METRICS:
            for node in nodes or default_nodes(folder, m):
                out.append((m, node, None, f"{m}-{node}"))
        elif m == "sankey":
            for name in folder.runs:
                safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "scenario"
                stem = "sankey" if len(folder.runs) == 1 else f"sankey-{safe}"
                out.append((m, None, name, stem))
        else:
            out.append((m, None, None, m))
    return out


def plot_folder(
    folder: Path | str | Results,
    out: Path | str | None = None,
    lang: str = "fr",
    metrics: Sequence[str] | None = None,
    nodes: Sequence[str] | None = None,
    fmt: str = "png",
    size: str = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    force: bool = False,
    band: str | None = None,
) -> list[Path]:
    """Draw the charts of a run, compare or calibration folder, or of results in memory (a
    ``RunResult``, a ``Comparison``), into ``out`` (default ``<folder>/charts``; required for
    results in memory); return the files written, in order. Existing chart files are
    replaced only with ``force`` (nothing is drawn otherwise). ``band``: every scenario's
    90% band (``None``), one scenario's only (its name), or none (``"none"``)."""
    language = i18n.check_lang(lang)
    if fmt not in style.FORMATS:
        raise FolderError(f"unknown format {fmt!r} (use {', '.join(style.FORMATS)})")
    if size not in style.SIZE_NAMES:
        raise FolderError(f"unknown size {size!r} (use {', '.join(style.SIZE_NAMES)})")
    file_format = fmt
    size_name = size
    if isinstance(folder, Path | str) and folder_kind(folder) == "calibrate":
        return _plot_calibration(
            folder, out, language, fmt, force,
            metrics or nodes or replication is not None or start or end or band,
        )  # fmt: skip
    if isinstance(folder, Path | str):
        loaded = load_folder(folder)
    else:
        loaded = folder_of(folder)
        if out is None:
            raise FolderError("charts of results in memory need out= (the folder to write to)")
    band_scenarios(loaded, band)  # an unknown scenario is an error before anything is drawn
    target = Path(out) if out is not None else loaded.path / "charts"
    planned = list(plan(loaded, metrics, nodes))
    existing = [
        target / f"{stem}.{fmt}" for *_, stem in planned if (target / f"{stem}.{fmt}").exists()
    ]
    if existing and not force:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise FolderError(f"{existing[0]}{more} exist; use --force to replace them")
    written = []
    for metric, node, scenario, stem in planned:
        with style.context(size_name):
            fig = chart(
                loaded, metric, node, language, size_name, replication, start, end, scenario,
                band=band,
            )  # fmt: skip
            written.append(style.save(fig, target / f"{stem}.{fmt}", file_format, salt=stem))
    return written


def _plot_calibration(
    folder: Path | str, out: Path | str | None, lang: Lang, fmt: str, force: bool, options: Any
) -> list[Path]:
    """The charts of a calibration folder (:data:`sim.outputs.abc_output.CHARTS`)."""
    from sim.outputs.abc_output import CHARTS, load_calibration, write_charts

    if options:
        raise FolderError(
            f"{folder}: a calibration folder's charts are {', '.join(CHARTS)}; --metric, "
            "--node, --replication, --band, --from and --to do not apply"
        )
    loaded = load_calibration(folder)
    target = Path(out) if out is not None else loaded.path / "charts"
    return write_charts(loaded, target, lang, fmt, force)

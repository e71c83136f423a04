"""The comparison's overlay chart: the main queues of every scenario, with 90% bands.

A plain 2x2 panel (street; ASSORE waiting list; ASSORE occupancy against capacity; ASSORE
residents blocked waiting for a downstream place) for a quick look at a comparison folder, in
the house style (:mod:`sim.outputs.style`) with the labels of :mod:`sim.outputs.i18n`.
Presenter-grade charts, one per slide, live in :mod:`sim.outputs.plots`.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.outputs import i18n, style
from sim.outputs.i18n import Lang, t

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison

SIZE: style.SizeName = "a4"
"""The style (fonts, lines) of each panel: four A4-width charts side by side."""


def _bands(ts: pd.DataFrame, column: str, step: int) -> pd.DataFrame:
    """Mean and 5%/95% quantiles across replications, every ``step`` days."""
    ordered = ts.sort_values(["replication", "day"], kind="stable")
    reps = int(ordered["replication"].nunique())
    days = len(ordered) // max(reps, 1)
    if reps * days != len(ordered):  # replications of unequal length: align on dates
        wide = ordered.pivot_table(index="date", columns="replication", values=column)
        values, dates = wide.to_numpy(dtype=float)[::step], wide.index[::step]
    else:
        values = ordered[column].to_numpy(dtype=float).reshape(reps, days)[:, ::step].T
        dates = pd.DatetimeIndex(ordered["date"].iloc[:days:step])
    return pd.DataFrame(
        {
            "mean": values.mean(axis=1),
            "low": np.quantile(values, 0.05, axis=1),
            "high": np.quantile(values, 0.95, axis=1),
        },
        index=dates,
    )


def plot_queues(
    comp: Comparison, path: Path, lang: Lang = "en", node: str = "assore"
) -> Path | None:
    """Draw the 2x2 overlay to ``path`` (PNG); ``None`` when the runs kept no time series."""
    from sim.outputs.charts import date_axis, legend_label, number_axis, short_labels

    series = {n: r.timeseries for n, r in comp.runs.items() if not r.timeseries.empty}
    if not series:
        return None
    reference = comp.runs[comp.reference].scenario
    if f"waiting.{node}" not in series.get(comp.reference, next(iter(series.values()))):
        from sim.inputs.scenario import AccommodationNode

        places = reference.nodes_of(AccommodationNode)
        if not places:
            return None
        node = next(iter(places))
    name = i18n.node_name(reference.nodes[node].name, lang)
    start = reference.start + dt.timedelta(days=max(reference.warmup_days - 365.0, 0.0))
    panels = [
        ("street", t("chart.street", lang)),
        (f"waiting.{node}", t("chart.waiting", lang, node=name)),
        (f"occupancy.{node}", t("chart.occupancy", lang, node=name)),
        (f"blocked.{node}", t("chart.blocked", lang, node=name)),
    ]
    a4 = style.SIZES[SIZE]
    with style.context(SIZE) as s:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(a4.width * 2, a4.height * 2.2), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True).ravel()
        lines = []
        for (column, title), ax in zip(panels, axes, strict=True):
            first = last = None
            for i, (scenario, ts) in enumerate(series.items()):
                if column not in ts:
                    continue
                shown = ts[ts["date"] >= pd.Timestamp(start)]
                band = _bands(shown, column, 7)
                dates = band.index.to_numpy(dtype="datetime64[s]")
                first = dates[0] if first is None else min(first, dates[0])
                last = dates[-1] if last is None else max(last, dates[-1])
                colour = style.SCENARIO_COLOURS[i % len(style.SCENARIO_COLOURS)]
                top = 3.5 if scenario == comp.reference else 3  # the reference over the others
                alpha = style.BAND_ALPHA if len(series) < 2 else style.BANDS_ALPHA
                ax.fill_between(dates, band["low"], band["high"], facecolor=colour,
                                alpha=alpha, lw=0)  # fmt: skip
                for edge in ("low", "high"):  # outlined: overlapping bands stay apart
                    ax.plot(dates, band[edge], color=colour, lw=s.line * style.BAND_EDGE,
                            alpha=style.BAND_EDGE_ALPHA, label="_band edge")  # fmt: skip
                label = legend_label(comp.runs[scenario].scenario, lang)
                (line,) = ax.plot(dates, band["mean"], color=colour, zorder=top, label=label)
                if column == panels[0][0]:
                    lines.append(line)
                if column.startswith("occupancy."):
                    capacity = _bands(shown, f"capacity.{node}", 7)["mean"]
                    ax.plot(dates, capacity.to_numpy(), color=colour, lw=s.line * 0.6,
                            ls=(0, (4, 2)), drawstyle="steps-post", zorder=top)  # fmt: skip
            ax.set_title(style.wrap(title, a4.width * 0.95, s.font), fontsize=s.font,
                         loc="left", fontweight="bold")  # fmt: skip
            ax.set_ylim(bottom=0)
            number_axis(ax, lang)
            if first is not None and last is not None:
                date_axis(ax, first, last, lang)
        legend_title, labels = short_labels([str(line.get_label()) for line in lines])
        wrapped = [textwrap.fill(label, 44) for label in labels]
        fig.legend(lines, wrapped, loc="outside lower left", ncols=min(len(lines), 3),
                   title=legend_title, alignment="left")  # fmt: skip
        caption = t("sub.band", lang, n=comp.replications)
        fig.suptitle(caption, fontsize=s.font, x=0.01, ha="left", color=style.MUTED)
        style.freeze_ticks(fig)
        return style.save(fig, Path(path), "png", salt="queues")

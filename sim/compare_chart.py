"""The comparison's overlay chart: the main queues of every scenario, with 90% bands.

A deliberately plain 2x2 panel (street; ASSORE waiting list; ASSORE occupancy against capacity;
ASSORE residents blocked waiting for a downstream place), for a quick look at a comparison
folder. Presenter-grade charts live in the plotting module.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.compare import Comparison

Lang = Literal["en", "fr"]

_TITLES: dict[str, tuple[str, str]] = {
    "street": ("People on the street", "Personnes à la rue"),
    "waiting": ("{}: waiting list", "{} : liste d'attente"),
    "occupancy": ("{}: occupancy (dashed: capacity)", "{} : occupation (tirets : capacité)"),
    "blocked": (
        "{}: residents blocked, waiting for a downstream place",
        "{} : résidents bloqués en attente d'une place d'aval",
    ),
    "caption": (
        "Line: mean of {n} replications; band: 5th-95th percentile of the replications",
        "Trait : moyenne de {n} réplications ; bande : 5e-95e centile des réplications",
    ),
}


def _text(key: str, lang: Lang) -> str:
    en, fr = _TITLES[key]
    return fr if lang == "fr" else en


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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = {n: r.timeseries for n, r in comp.runs.items() if not r.timeseries.empty}
    if not series:
        return None
    reference = comp.runs[comp.reference].scenario
    if f"waiting.{node}" not in series.get(comp.reference, next(iter(series.values()))):
        from sim.scenario import AccommodationNode

        places = reference.nodes_of(AccommodationNode)
        if not places:
            return None
        node = next(iter(places))
    names = reference.nodes[node].name
    name = names.fr if lang == "fr" else names.en
    start = reference.start + dt.timedelta(days=max(reference.warmup_days - 365.0, 0.0))
    fig = Figure(figsize=(13, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    panels = [
        ("street", _text("street", lang)),
        (f"waiting.{node}", _text("waiting", lang).format(name)),
        (f"occupancy.{node}", _text("occupancy", lang).format(name)),
        (f"blocked.{node}", _text("blocked", lang).format(name)),
    ]
    colours = [f"C{i}" for i in range(10)]
    for (column, title), ax in zip(panels, axes, strict=True):
        for i, (scenario, ts) in enumerate(series.items()):
            if column not in ts:
                continue
            shown = ts[ts["date"] >= pd.Timestamp(start)]
            band = _bands(shown, column, 7)
            colour = colours[i % len(colours)]
            top = 3 if scenario == comp.reference else 2  # the reference drawn over the others
            width = 2.2 if scenario == comp.reference else 1.5
            ax.fill_between(band.index, band["low"], band["high"], color=colour, alpha=0.15, lw=0)
            ax.plot(band.index, band["mean"], color=colour, lw=width, label=scenario, zorder=top)
            if column.startswith("occupancy."):
                capacity = _bands(shown, f"capacity.{node}", 7)["mean"]
                ax.plot(capacity.index, capacity, color=colour, lw=1.0, ls="--", zorder=top)
        ax.set_title(title, fontsize=11, loc="left")
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=9, loc="best")
    fig.suptitle(_text("caption", lang).format(n=comp.replications), fontsize=10, x=0.01, ha="left")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path

"""Welch's plot: the moving average of a series across replications, to choose a warm-up."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sim.running.replications import welch_average


def welch_figure(timeseries: pd.DataFrame, series: str, window: int = 30) -> Figure:
    """Welch plot of :func:`welch_average`: warm-up ends where the curve levels off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = welch_average(timeseries, series, window)
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    ax.plot(frame["day"], frame["mean"], color="#bbbbbb", lw=0.8, label="mean across replications")
    ax.plot(
        frame["day"],
        frame["moving_average"],
        color="#0072B2",
        lw=1.5,
        label=f"moving average ({window} days)",
    )
    ax.set_xlabel("day")
    ax.set_ylabel(series)
    ax.set_title(f"Welch plot: {series}")
    ax.legend()
    return fig

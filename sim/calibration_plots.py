"""Charts of a calibration: targets against simulated values, parameter traces, and the
ASSORE trajectory against its capacity with the audit's figures marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.calibrate import CalibrationResult
from sim.runner import RunResult

FIT, VALIDATE = "#0072B2", "#E69F00"  # Okabe-Ito blue and orange
ASSORE = "assore"


def targets_figure(targets: pd.DataFrame) -> Figure:
    """Each target's miss in tolerance units, with the 95% CI; the band is the tolerance."""
    frame = targets.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(frame) + 1.5), layout="constrained")
    tol = frame["tolerance"].fillna(frame["target"].abs() * 0.1).replace(0, np.nan)
    miss = (frame["mean"] - frame["target"]) / tol
    err = frame["ci95"].fillna(0) / tol
    ax.axvspan(-1, 1, color="#dddddd", label="within tolerance")
    ax.axvline(0, color="black", lw=0.8)
    for role, colour in (("fit", FIT), ("validate", VALIDATE)):
        rows = frame["role"] == role
        ax.errorbar(
            miss[rows],
            frame.index[rows],
            xerr=err[rows],
            fmt="o",
            color=colour,
            capsize=3,
            label=f"{role} (mean, 95% CI)",
        )
    ax.set_yticks(frame.index, frame["label"])
    ax.set_xlabel("(simulated - target) / tolerance")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Audit targets against the calibrated model")
    return fig


def traces_figure(result: CalibrationResult) -> Figure:
    """Each parameter's value by evaluation (design, then local search), and the distance."""
    frame = result.evaluations_frame().sort_values("index")
    names = list(result.best.values)
    fig, axes = plt.subplots(
        len(names) + 1, 1, figsize=(10, 1.6 * (len(names) + 1)), sharex=True, layout="constrained"
    )
    frame = frame[frame["stage"] != "abc"]
    colours = frame["stage"].map({"design": "#999999", "search": FIT}).fillna("#999999")
    for ax, name in zip(axes, names, strict=False):
        ax.scatter(frame["index"], frame[name], c=colours, s=8)
        ax.axhline(result.best.values[name], color=VALIDATE, lw=1)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    axes[-1].scatter(frame["index"], frame["distance"], c=colours, s=8)
    axes[-1].set_yscale("log")
    axes[-1].set_ylabel("distance", rotation=0, ha="right", fontsize=8)
    axes[-1].set_xlabel("evaluation (grey: Sobol design, blue: Nelder-Mead)")
    fig.suptitle("Parameter traces")
    return fig


def trajectory_figure(check: RunResult) -> Figure:
    """ASSORE occupancy and blocked residents against capacity, and exits per month, with the
    audit's windows and figures marked."""
    ts = check.timeseries
    sc = check.scenario
    dates = pd.to_datetime(ts["date"])
    by_day = ts.assign(date=dates).groupby("date")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, layout="constrained")
    for column, colour, label in (
        (f"occupancy.{ASSORE}", FIT, "occupancy"),
        (f"blocked.{ASSORE}", VALIDATE, "ready, blocked waiting for a downstream place"),
    ):
        mean = by_day[column].mean()
        lo, hi = by_day[column].quantile(0.05), by_day[column].quantile(0.95)
        top.plot(mean.index, mean.to_numpy(), color=colour, label=f"{label} (mean, 90% band)")
        top.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=colour, alpha=0.2)
    capacity = by_day[f"capacity.{ASSORE}"].mean()
    top.step(
        capacity.index, capacity.to_numpy(), where="post", color="black", lw=1, label="capacity"
    )
    top.set_ylabel("people")
    top.legend(loc="upper left", fontsize=8)
    top.set_title("ASSORE: occupancy, blocked residents and capacity")
    ep = check.episodes
    exits = ep[(ep["node"] == ASSORE) & ep["exit"].notna()]
    exit_dates = pd.to_datetime(sc.start) + pd.to_timedelta(exits["exit"], unit="D")
    monthly = exit_dates.dt.to_period("M").value_counts().sort_index() / check.replications
    month_starts = pd.PeriodIndex(monthly.index).to_timestamp()
    bottom.bar(
        month_starts,
        monthly.to_numpy(),
        width=25,
        color=FIT,
        label="exits per month (mean over replications)",
    )
    for name, obs in sc.observations.items():
        if obs.node != ASSORE or obs.target is None:
            continue
        if obs.metric == "exits" and obs.start and obs.end:
            months = (obs.end.year - obs.start.year) * 12 + obs.end.month - obs.start.month + 1
            bottom.axvspan(
                pd.Timestamp(obs.start),
                pd.Timestamp(obs.end),
                alpha=0.12,
                color=VALIDATE if obs.role == "validate" else FIT,
            )
            bottom.text(
                pd.Timestamp(obs.start),
                bottom.get_ylim()[1] * 0.9,
                f" {name.split('_')[0]}: {obs.target:g} exits\n ({obs.target / months:.1f}/month)",
                fontsize=8,
                va="top",
            )
        if obs.metric == "share_stay_over" and obs.on:
            top.axvline(pd.Timestamp(obs.on), color="grey", ls="--", lw=0.8)
            top.text(
                pd.Timestamp(obs.on),
                top.get_ylim()[1] * 0.95,
                f" {name.split('_')[0]}: {obs.target:.0%} > {obs.days:g} days",
                fontsize=8,
                va="top",
            )
    bottom.set_ylabel("exits per month")
    bottom.legend(loc="upper left", fontsize=8)
    return fig


def save_charts(folder: Path, result: CalibrationResult, check: RunResult) -> list[Path]:
    """Write the three charts as PNG under ``folder/charts``; return their paths."""
    from sim.calibration_output import targets_table

    out = folder / "charts"
    out.mkdir(exist_ok=True)
    paths = []
    figures = [("targets", targets_figure(targets_table(check))), ("traces", traces_figure(result))]
    if f"occupancy.{ASSORE}" in check.timeseries.columns:
        figures.append(("assore-trajectory", trajectory_figure(check)))
    for name, fig in figures:
        path = out / f"{name}.png"
        fig.savefig(path, dpi=150)
        plt.close(fig)
        paths.append(path)
    return paths

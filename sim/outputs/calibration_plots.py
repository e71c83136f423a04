"""Charts of a calibration: targets against simulated values, parameter traces, and the
ASSORE trajectory against its capacity with the audit's figures marked.

In the house style (:mod:`sim.outputs.style`: colours, fonts, deterministic files) with every label
from :mod:`sim.outputs.i18n`, in French or English.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.calibrate import CalibrationResult, targets_table
from sim.inputs.scenario import Scenario
from sim.outputs import i18n, style
from sim.outputs.i18n import Lang, t
from sim.running.runner import RunResult

FIT, VALIDATE = style.OKABE_ITO["blue"], style.OKABE_ITO["orange"]
DESIGN = "#999999"
ASSORE = "assore"
SIZE: style.SizeName = "a4"


def _role(role: str, lang: Lang) -> str:
    key = f"report.role.{role}"
    return t(key, lang) if key in i18n.LABELS else role


def labelled_targets(targets: pd.DataFrame, scenario: Scenario, lang: Lang) -> pd.DataFrame:
    """``targets`` (a ``targets.csv`` table) with each observation's label in ``lang``."""
    known = scenario.observations
    labels = [
        (known[str(name)].labelled(lang) if str(name) in known else "") or str(label)
        for name, label in zip(targets["observation"], targets["label"], strict=True)
    ]
    return targets.assign(label=labels)


def targets_figure(targets: pd.DataFrame, lang: Lang = "en") -> Figure:
    """Each target's miss in tolerance units, with the 95% CI; the band is the tolerance."""
    from sim.outputs.charts import number_axis

    frame = targets.iloc[::-1].reset_index(drop=True)
    with style.context(SIZE) as s:
        fig = Figure(figsize=(s.width * 1.4, 0.32 * len(frame) + 1.6), layout="constrained")
        ax = fig.add_subplot()
        tol = frame["tolerance"].fillna(frame["target"].abs() * 0.1).replace(0, np.nan)
        miss = (frame["mean"] - frame["target"]) / tol
        err = frame["ci95"].fillna(0) / tol
        ax.axvspan(-1, 1, color=style.GRID, label=t("cal.within_tolerance", lang))
        ax.axvline(0, color=style.TEXT, lw=0.8)
        for role, colour in (("fit", FIT), ("validate", VALIDATE)):
            rows = frame["role"] == role
            ax.errorbar(
                miss[rows], frame.index[rows], xerr=err[rows], fmt="o", color=colour, capsize=3,
                label=t("cal.role_ci", lang, role=_role(role, lang)),
            )  # fmt: skip
        ax.set_yticks(frame.index, frame["label"])
        ax.grid(True, axis="x")
        number_axis(ax, lang, axis="x")
        ax.set_xlabel(t("cal.miss_axis", lang))
        fig.legend(loc="outside lower center", ncols=3)
        ax.set_title(t("cal.targets_title", lang))
        style.freeze_ticks(fig)
    return fig


def traces_figure(result: CalibrationResult, lang: Lang = "en") -> Figure:
    """Each parameter's value by evaluation (design, then local search), and the distance."""
    frame = result.evaluations_frame().sort_values("index")
    names = list(result.best.values)
    with style.context(SIZE) as s:
        fig = Figure(figsize=(s.width * 1.4, 1.3 * (len(names) + 1) + 0.6), layout="constrained")
        axes = fig.subplots(len(names) + 1, 1, sharex=True, squeeze=False)[:, 0]
        frame = frame[frame["stage"] != "abc"]
        colours = frame["stage"].map({"design": DESIGN, "search": FIT}).fillna(DESIGN)
        for ax, name in zip(axes, names, strict=False):
            ax.scatter(frame["index"], frame[name], c=colours, s=8)
            ax.axhline(result.best.values[name], color=VALIDATE, lw=1)
            ax.set_ylabel(name, rotation=0, ha="right")
        axes[-1].scatter(frame["index"], frame["distance"], c=colours, s=8)
        axes[-1].set_yscale("log")
        axes[-1].set_ylabel(t("cal.distance", lang), rotation=0, ha="right")
        axes[-1].set_xlabel(t("cal.evaluation_axis", lang))
        fig.suptitle(t("cal.traces_title", lang), x=0.01, ha="left", fontweight="bold")
        style.freeze_ticks(fig)
    return fig


def trajectory_figure(check: RunResult, lang: Lang = "en") -> Figure:
    """ASSORE occupancy and blocked residents against capacity, and exits per month, with the
    audit's windows and figures marked."""
    from sim.outputs.charts import date_axis, date_num, number_axis

    ts = check.timeseries
    sc = check.scenario
    dates = pd.to_datetime(ts["date"])
    by_day = ts.assign(date=dates).groupby("date")
    name = i18n.node_name(sc.nodes[ASSORE].name, lang) if ASSORE in sc.nodes else ASSORE
    with style.context(SIZE) as s:
        fig = Figure(figsize=(s.width * 1.5, s.height * 1.8), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True)
        for column, colour, key in (
            (f"occupancy.{ASSORE}", FIT, "cal.occupancy"),
            (f"blocked.{ASSORE}", VALIDATE, "cal.blocked"),
        ):
            mean = by_day[column].mean()
            lo, hi = by_day[column].quantile(0.05), by_day[column].quantile(0.95)
            days = mean.index.to_numpy(dtype="datetime64[s]")
            top.plot(days, mean.to_numpy(), color=colour, label=t(key, lang))
            top.fill_between(days, lo.to_numpy(), hi.to_numpy(), color=colour, alpha=0.2, lw=0)
        capacity = by_day[f"capacity.{ASSORE}"].mean()
        top.step(
            capacity.index.to_numpy(dtype="datetime64[s]"), capacity.to_numpy(), where="post",
            color=style.TEXT, lw=1, label=t("cal.capacity", lang),
        )  # fmt: skip
        top.set_ylabel(t("axis.people", lang))
        top.legend(loc="upper left")
        top.set_title(t("cal.trajectory_title", lang, node=name))
        ep = check.episodes
        exits = ep[(ep["node"] == ASSORE) & ep["exit"].notna()]
        exit_dates = pd.to_datetime(sc.start) + pd.to_timedelta(exits["exit"], unit="D")
        monthly = exit_dates.dt.to_period("M").value_counts().sort_index() / check.replications
        month_starts = pd.PeriodIndex(monthly.index).to_timestamp()
        bottom.bar(
            date_num(month_starts.to_numpy(dtype="datetime64[s]")), monthly.to_numpy(), width=25,
            color=FIT,
        )  # fmt: skip
        _mark_observations(top, bottom, check, lang)
        bottom.set_ylabel(t("cal.exits_axis", lang))
        bottom.set_title(t("cal.exits_per_month", lang).capitalize())
        bottom.set_ylim(0, bottom.get_ylim()[1] * 1.15)  # room for the targets' text
        for ax in (top, bottom):
            number_axis(ax, lang)
        first = dates.min().to_datetime64().astype("datetime64[s]")
        last = dates.max().to_datetime64().astype("datetime64[s]")
        date_axis(bottom, first, last, lang)
        style.freeze_ticks(fig)
    return fig


def _mark_observations(top: Axes, bottom: Axes, check: RunResult, lang: Lang) -> None:
    """The audit's exit counts (a shaded window) and shares of long stays (a dashed day)."""
    from sim.outputs.charts import date_num

    font = float(top.yaxis.get_label().get_fontsize()) * 0.85
    for name, obs in check.scenario.observations.items():
        if obs.node != ASSORE or obs.target is None:
            continue
        label = name.split("_")[0]
        if obs.metric == "exits" and obs.start and obs.end:
            months = (obs.end.year - obs.start.year) * 12 + obs.end.month - obs.start.month + 1
            start = date_num(obs.start)
            bottom.axvspan(
                start, date_num(obs.end), alpha=0.12, lw=0,
                color=VALIDATE if obs.role == "validate" else FIT,
            )  # fmt: skip
            text = t(
                "cal.exits_target", lang, name=label, n=i18n.number(obs.target, lang),
                rate=i18n.number(obs.target / months, lang, 1),
            )  # fmt: skip
            bottom.text(
                start, 0.97, text, fontsize=font, va="top", transform=bottom.get_xaxis_transform()
            )
        if obs.metric == "share_stay_over" and obs.on:
            on = date_num(obs.on)
            top.axvline(on, color=style.MUTED, ls="--", lw=0.8)
            text = t(
                "cal.share_target", lang, name=label, share=i18n.percent(obs.target, lang, 0),
                days=i18n.number(obs.days, lang),
            )  # fmt: skip
            top.text(
                on,
                0.02,
                f" {text}",
                fontsize=font,
                va="bottom",
                transform=top.get_xaxis_transform(),
            )


def save_charts(
    folder: Path, result: CalibrationResult, check: RunResult, lang: Lang = "en"
) -> list[Path]:
    """Write the three charts as PNG under ``folder/charts``; return their paths."""

    out = folder / "charts"
    out.mkdir(exist_ok=True)
    figures = [
        (
            "targets",
            targets_figure(labelled_targets(targets_table(check), check.scenario, lang), lang),
        ),
        ("traces", traces_figure(result, lang)),
    ]
    if f"occupancy.{ASSORE}" in check.timeseries.columns:
        figures.append(("assore-trajectory", trajectory_figure(check, lang)))
    return [style.save(fig, out / f"{name}.png", "png", salt=name) for name, fig in figures]

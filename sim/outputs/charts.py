"""The chart toolkit every chart module shares: labels, windows, date and number axes.

Public helpers only: chart modules import these, never each other's private functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter, MaxNLocator

from sim.inputs.scenario import Scenario
from sim.outputs import formats, i18n
from sim.outputs.i18n import Lang
from sim.running.folders import FolderError

PUNCTUATION = " :,;–-\u00a0\u202f"


def scenario_label(scenario: Scenario, lang: Lang) -> str:
    """The scenario's title in ``lang``, or its name."""
    return scenario.title.model_dump()[lang] if scenario.title else scenario.name


def legend_label(scenario: Scenario, lang: Lang) -> str:
    """The scenario's short legend label in ``lang``, else its title or name."""
    return scenario.legend.model_dump()[lang] if scenario.legend else scenario_label(scenario, lang)


def node_names(scenario: Scenario, lang: Lang) -> dict[str, str]:
    """Display names of every node in ``lang``."""
    return {k: i18n.node_name(n.name, lang) for k, n in scenario.nodes.items()}


def observation_labels(scenario: Scenario, lang: Lang) -> dict[str, str]:
    """Labels of every observation in ``lang`` (its name when it has none)."""
    return {k: o.labelled(lang) or k for k, o in scenario.observations.items()}


def chart_window(
    scenario: Scenario, start: dt.date | None, end: dt.date | None
) -> tuple[float, float]:
    """Days ``[a, b)`` of the chart window, clipped to the run."""
    a = 0.0 if start is None else max(0.0, scenario.day(start))
    b = scenario.horizon if end is None else min(scenario.horizon, scenario.day(end) + 1.0)
    if b <= a:
        raise FolderError(f"empty window: {start} to {end} is outside the run")
    return a, b


def date_num(when: Any) -> Any:
    """Matplotlib date numbers of datetime64 values or dates (typed wrapper)."""
    if isinstance(when, dt.date):
        when = np.datetime64(when.isoformat(), "s")
    return mdates.date2num(when)  # type: ignore[no-untyped-call]


class NumberFormatter(Formatter):
    """Tick labels as French or English numbers, with the decimals the tick spacing needs."""

    def __init__(self, lang: Lang, share: bool = False) -> None:
        self.lang = lang
        self.share = share
        self._ticks: list[float] = []

    def set_locs(self, locs: Sequence[float]) -> None:
        self._ticks = [float(x) for x in locs]

    def __call__(self, x: float, pos: int | None = None) -> str:
        decimals = formats.exact_decimals(
            [100 * t for t in self._ticks] if self.share else self._ticks
        )  # the fewest that write every tick exactly (2.5 needs one)
        if self.share:
            return formats.number(x, self.lang, decimals, "share")
        return formats.number(x, self.lang, decimals)


class DateFormatter(Formatter):
    """Date tick labels from the i18n month tables (years only on long axes)."""

    def __init__(self, lang: Lang, years_only: bool) -> None:
        self.lang = lang
        self.years_only = years_only

    def __call__(self, x: float, pos: int | None = None) -> str:
        d = mdates.num2date(x).date()  # type: ignore[no-untyped-call]
        return str(d.year) if self.years_only else i18n.month_year(d, self.lang)


def date_axis(ax: Axes, first: np.datetime64, last: np.datetime64, lang: Lang) -> None:
    span_days = float((last - first) / np.timedelta64(1, "D"))
    ax.set_xlim(date_num(first), date_num(last))
    if span_days > 3 * 365:
        ax.xaxis.set_major_locator(mdates.YearLocator())  # type: ignore[no-untyped-call]
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter(lang, years_only=True))
    else:
        months = (1, 7) if span_days > 2 * 365 else (1, 4, 7, 10) if span_days > 300 else None
        locator = mdates.MonthLocator(bymonth=months)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(DateFormatter(lang, years_only=False))


def number_axis(ax: Axes, lang: Lang, share: bool = False, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    target.set_major_formatter(NumberFormatter(lang, share))


def short_labels(labels: list[str]) -> tuple[str | None, list[str]]:
    """The words all scenario labels start with (as a legend title) and what is left of each,
    when there are several and that leaves something of every one."""
    if len(labels) < 2:
        return None, labels
    words = [label.split(" ") for label in labels]
    common = 0
    while all(len(w) > common + 1 for w in words) and (
        len({w[common].rstrip(PUNCTUATION) for w in words}) == 1
    ):
        common += 1
    if common == 0:
        return None, labels
    rests = [" ".join(w[common:]).lstrip(PUNCTUATION) for w in words]
    if not all(rests):
        return None, labels
    title = " ".join(words[0][:common]).rstrip(PUNCTUATION)
    return title, [r[0].upper() + r[1:] for r in rests]

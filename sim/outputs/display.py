"""Terminal tables (rich) for run results, with the KPI labels of :mod:`sim.outputs.i18n`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.table import Table

from sim.inputs.scenario import AccommodationNode, DownstreamNode, Scenario
from sim.outputs import i18n

_KPIS = (
    "street.mean",
    "street.end",
    "housed.mean",
    "positive_share",
    "exits.positive.per_month",
    "contact_to_housing.mean",
    "time_to_positive_exit.mean",
    "street_episodes_per_person.mean",
)
_NODE_KPIS = (
    "waiting.{}.mean",
    "waiting.{}.max",
    "occupancy.{}.mean",
    "utilisation.{}",
    "exits.{}.per_month",
    "positive_share.{}",
    "stay.{}.mean",
    "blocked.{}.mean",
)


def headline_kpis(scenario: Scenario) -> list[tuple[str, str]]:
    """The KPIs shown by default, with their labels (:mod:`sim.outputs.i18n`), in reading order."""
    names = {k: i18n.node_name(n.name, "en") for k, n in scenario.nodes.items()}
    keys = list(_KPIS)
    for node_id in scenario.nodes_of(AccommodationNode):
        keys += [k.format(node_id) for k in _NODE_KPIS]
    keys += [f"blocked_time.{node_id}.mean" for node_id in scenario.nodes_of(DownstreamNode)]
    keys.append("cost.total.per_year")
    return [(k, i18n.kpi_label(k, "en", names)) for k in keys]


def fmt(value: Any) -> str:
    """A number for a table: NaN as a dash, magnitudes with sensible precision."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def run_table(scenario: Scenario, summary: pd.DataFrame, title: str) -> Table:
    """KPIs with mean ± 95% CI half-width, then observations with targets and marks."""
    by_kpi = summary.set_index("kpi")
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("± 95% CI", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="center")
    for kpi, label in headline_kpis(scenario):
        if kpi not in by_kpi.index or by_kpi.loc[kpi, "n"] == 0:
            continue
        row = by_kpi.loc[kpi]
        table.add_row(label, fmt(row["mean"]), fmt(row["ci95"]), "", "")
    if scenario.observations:
        table.add_section()
    for name, obs in scenario.observations.items():
        key = f"obs.{name}"
        if key not in by_kpi.index:
            continue
        row = by_kpi.loc[key]
        mark = ""
        if "target_met" in by_kpi.columns and obs.target is not None:
            met = row["target_met"]
            mark = "[green]✓[/]" if met is True or met == "True" else "[red]✗[/]"
        label = f"{obs.label or name} [dim]({obs.role})[/]"
        target = "" if obs.target is None else fmt(obs.target)
        table.add_row(label, fmt(row["mean"]), fmt(row["ci95"]), target, mark)
    return table

"""Terminal tables (rich) for run results."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.table import Table

from sim.scenario import AccommodationNode, DownstreamNode, Scenario

_KPI_LABELS = {
    "street.mean": "People on the street (mean)",
    "street.end": "People on the street (end)",
    "housed.mean": "People housed in accommodation (mean)",
    "positive_share": "Positive share of pathway exits",
    "exits.positive.per_month": "Positive exits per month",
    "contact_to_housing.mean": "Referral to accommodation (days)",
    "time_to_positive_exit.mean": "First street day to positive exit (days)",
    "street_episodes_per_person.mean": "Street episodes per person",
    "cost.total.per_year": "Cost per year (EUR)",
}


def headline_kpis(scenario: Scenario) -> list[tuple[str, str]]:
    """The KPIs shown by default, with their labels, in reading order."""
    rows = [(k, v) for k, v in _KPI_LABELS.items() if not k.startswith("cost")]
    for node_id, node in scenario.nodes_of(AccommodationNode).items():
        name = node.name.en
        rows += [
            (f"waiting.{node_id}.mean", f"{name}: waiting list (mean)"),
            (f"waiting.{node_id}.max", f"{name}: waiting list (max)"),
            (f"occupancy.{node_id}.mean", f"{name}: occupancy (mean)"),
            (f"utilisation.{node_id}", f"{name}: utilisation"),
            (f"exits.{node_id}.per_month", f"{name}: exits per month"),
            (f"positive_share.{node_id}", f"{name}: positive share of exits"),
            (f"stay.{node_id}.mean", f"{name}: mean stay (days)"),
            (f"blocked.{node_id}.mean", f"{name}: residents blocked (mean)"),
        ]
    for node_id, node in scenario.nodes_of(DownstreamNode).items():
        rows.append(
            (f"blocked_time.{node_id}.mean", f"{node.name.en}: time blocked waiting (days)")
        )
    rows.append(("cost.total.per_year", _KPI_LABELS["cost.total.per_year"]))
    return rows


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

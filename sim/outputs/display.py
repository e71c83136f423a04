"""Terminal tables (rich) for run results, with the KPI labels of :mod:`sim.outputs.i18n`, and
the one rule for a table of numbers on a terminal: a number is never broken or cut (its column
does not wrap and is as wide as its widest line), names wrap; when the columns do not fit the
terminal, they go into several tables, each under the labels."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from sim.inputs.scenario import AccommodationNode, DownstreamNode, Scenario
from sim.outputs import formats, i18n
from sim.running import catalogue

_SHOWN = (
    "street.mean",
    "street.end",
    "housed.mean",
    "positive_share",
    "exits.positive.per_month",
    "contact_to_housing.mean",
    "time_to_positive_exit.mean",
    "street_episodes_per_person.mean",
)
"""Catalogue patterns (:mod:`sim.running.catalogue`) of a run's terminal table, then those of
each accommodation node, of each downstream node, and the closing rows."""
_SHOWN_ACCOMMODATION = (
    "waiting.{node}.mean",
    "waiting.{node}.max",
    "occupancy.{node}.mean",
    "utilisation.{node}",
    "exits.{node}.per_month",
    "positive_share.{node}",
    "stay.{node}.mean",
    "blocked.{node}.mean",
)
_SHOWN_DOWNSTREAM = ("blocked_time.{node}.mean",)
_SHOWN_LAST = ("cost.total.per_year",)


def headline_kpis(scenario: Scenario) -> list[tuple[str, str]]:
    """The KPIs shown by default, with their labels (:mod:`sim.outputs.i18n`), in reading order:
    those of the KPI catalogue's plan for ``scenario`` whose pattern is shown."""
    planned: dict[tuple[str, str], str] = {}
    for name, entry, family in catalogue.plan(scenario):
        place = family[1] if family[0] == "node" else ""
        planned.setdefault((entry.pattern, place), name)

    def shown(patterns: tuple[str, ...], place: str = "") -> list[str]:
        return [planned[p, place] for p in patterns if (p, place) in planned]

    keys = shown(_SHOWN)
    for node_id in scenario.nodes_of(AccommodationNode):
        keys += shown(_SHOWN_ACCOMMODATION, node_id)
    for node_id in scenario.nodes_of(DownstreamNode):
        keys += shown(_SHOWN_DOWNSTREAM, node_id)
    keys += shown(_SHOWN_LAST)
    names = {k: i18n.node_name(n.name, "en") for k, n in scenario.nodes.items()}
    return [(k, i18n.kpi_label(k, "en", names)) for k in keys]


def _value_cells(mean: Any, ci: Any, unit: str, *others: Any) -> list[str]:
    """A row's mean, interval and ``others`` (a target) at the decimals and scale of its mean
    (:func:`sim.outputs.formats.row_style`); an interval that is zero shows as nothing."""
    decimals, millions = formats.row_style(unit, mean)
    interval = formats.interval(ci, "en", decimals, unit, millions)
    rest = [formats.number(x, "en", decimals, unit, millions=millions) for x in others]
    return [formats.number(mean, "en", decimals, unit, millions=millions), interval, *rest]


def run_table(scenario: Scenario, summary: pd.DataFrame, title: str) -> Table:
    """KPIs with mean ± 95% CI half-width, then observations with targets and marks."""
    by_kpi = summary.set_index("kpi")
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("KPI", overflow="fold")
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("± 95% CI", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("", justify="center", no_wrap=True)
    for kpi, label in headline_kpis(scenario):
        if kpi not in by_kpi.index or by_kpi.loc[kpi, "n"] == 0:
            continue
        row = by_kpi.loc[kpi]
        unit = catalogue.unit(kpi, scenario)
        table.add_row(label, *_value_cells(row["mean"], row["ci95"], unit), "", "")
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
        label = f"{obs.labelled('en') or name} [dim]({obs.role})[/]"
        unit = catalogue.unit(key, scenario)
        mean, ci, target = _value_cells(row["mean"], row["ci95"], unit, obs.target)
        table.add_row(label, mean, ci, "" if obs.target is None else target, mark)
    return table


LABEL_WIDTH = (16, 36)
"""Narrowest and widest label column (it wraps within)."""
CELL_EXTRA = 3  # padding either side and a rule


@dataclasses.dataclass(frozen=True)
class NumberColumn:
    """A column of numbers: its header (wraps) and its cells (rich markup, lines by ``\n``)."""

    header: str
    cells: Sequence[str]
    justify: str = "right"

    @property
    def width(self) -> int:
        """The widest line of its cells, or the longest piece of its header if wider: the
        column never gets narrower."""
        lines = [line for cell in self.cells for line in Text.from_markup(cell).split()]
        widest = max((line.cell_len for line in lines), default=1)
        return max(widest, *(len(piece.rstrip()) for piece in _pieces(self.header)))

    def header_lines(self) -> str:
        """The header wrapped to the column's width, at spaces and after hyphens."""
        width, lines = self.width, [""]
        for piece in _pieces(self.header):
            joined = lines[-1] + piece
            if lines[-1] and len(joined.rstrip()) > width:
                lines[-1] = lines[-1].rstrip()
                lines.append(piece)
            else:
                lines[-1] = joined
        return "\n".join(line.rstrip() for line in lines)


def _pieces(text: str) -> list[str]:
    """``text`` cut after each space and hyphen (where a name may wrap)."""
    return re.findall(r"[^\s-]*(?:-|\s+|$)", text)[:-1] or [text]


def fitted_tables(
    label_header: str,
    labels: Sequence[str],
    columns: Sequence[NumberColumn],
    width: int,
    title: str | None = None,
    caption: str | None = None,
    show_lines: bool = False,
) -> list[Table]:
    """``labels`` beside ``columns`` in as few tables of at most ``width`` characters as
    possible: numbers whole on one line, headers and labels wrapped (never cut)."""
    longest_word = max((len(w) for label in labels for w in label.split()), default=1)
    longest = max([len(label_header), *(len(label) for label in labels)])
    label_width = max(min(LABEL_WIDTH[0], longest), min(LABEL_WIDTH[1], longest_word))
    start = 1 + label_width + CELL_EXTRA
    chunks: list[list[NumberColumn]] = [[]]
    used = start
    for column in columns:
        need = column.width + CELL_EXTRA
        if chunks[-1] and used + need > width:
            chunks.append([])
            used = start
        chunks[-1].append(column)
        used += need
    tables = []
    for i, chunk in enumerate(chunks):
        table = Table(
            title=title if i == 0 else None,
            title_justify="left",
            caption=caption if i == len(chunks) - 1 else None,
            caption_justify="left",
            show_lines=show_lines,
        )
        table.add_column(label_header, overflow="fold", min_width=label_width)
        for column in chunk:
            table.add_column(
                Text(column.header_lines(), no_wrap=False, overflow="fold", justify=column.justify),  # type: ignore[arg-type]
                justify=column.justify,  # type: ignore[arg-type]
                no_wrap=True,
                min_width=column.width,
                max_width=column.width,
            )
        for r, label in enumerate(labels):
            table.add_row(label, *(column.cells[r] for column in chunk))
        tables.append(table)
    return tables

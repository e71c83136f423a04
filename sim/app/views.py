"""What the app shows, as plain data: table rows and Plotly figures (as dictionaries, drawn
in the browser by the plotly.js the framework serves; hover, zoom and legend toggles come
with it). Numbers are written by :mod:`sim.outputs.formats` (the table cells by
:mod:`sim.outputs.comparison`), words come from
:mod:`sim.outputs.i18n` and :mod:`sim.app.text`."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.app.text import tr
from sim.inputs.scenario import Scenario, schedule_steps
from sim.outputs import formats
from sim.outputs.charts import legend_label, node_names, observation_labels
from sim.outputs.comparison import difference_cell, value_cell
from sim.outputs.i18n import Lang, date_short, kpi_label, node_name, t
from sim.outputs.plots import Folder, main_node
from sim.running.statistics import mean_ci, paired_difference

COLOURS = ("#1f5f8b", "#d4722a", "#2e8b57", "#8b3a62", "#6a5acd", "#b8860b", "#555555")
_SCHEDULES = ("capacity", "places", "releases_per_month")


def _scenario_columns(folder: Folder, names: list[str], lang: Lang) -> list[dict[str, Any]]:
    """Table columns: the KPI, then each scenario's value and, for alternatives, its Δ."""
    columns = [{"name": "kpi", "label": tr("kpi", lang), "field": "kpi", "align": "left"}]
    for i, name in enumerate(names):
        label = legend_label(folder.runs[name].scenario, lang)
        columns.append({"name": f"s{i}", "label": label, "field": f"s{i}", "align": "right"})
        if i:
            columns.append(
                {"name": f"d{i}", "label": f"Δ {label}", "field": f"d{i}", "align": "right"}
            )
    return columns


def _layout(title: str, lang: Lang, y_title: str = "") -> dict[str, Any]:
    return {
        "separators": formats.separators(lang),  # hover and axis numbers as in the tables
        "title": {"text": title, "font": {"size": 15}},
        "hovermode": "x unified",
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "legend": {"orientation": "h", "y": -0.15},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "xaxis": {"type": "date"},
        "height": 420,
    }


def capacity_figure(sc: Scenario, lang: Lang) -> dict[str, Any]:
    """Places (and releases per month) of every node over the run, one step line each; a
    click on a legend entry hides or shows that node."""
    end = sc.end.isoformat()
    traces = []
    for i, node in enumerate(sc.nodes.values()):
        for field in _SCHEDULES:
            schedule = getattr(node, field, None)
            if schedule is None:
                continue
            steps = schedule_steps(schedule, sc.start)
            xs = [(sc.start + dt.timedelta(days=max(day, 0.0))).isoformat() for day, _ in steps]
            ys = [value for _, value in steps]
            name = node_name(node.name, lang)
            if field == "releases_per_month":
                name += tr("per_month", lang)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "line": {"shape": "hv", "color": COLOURS[i % len(COLOURS)]},
                    "x": [*xs, end],
                    "y": [*ys, ys[-1]],
                    "name": name,
                    "hovertemplate": "%{y:,.0f}",
                }
            )
    return {"data": traces, "layout": _layout(tr("capacities", lang), lang, tr("places", lang))}


def _daily(folder: Folder, name: str, column: str) -> pd.DataFrame | None:
    ts = folder.runs[name].timeseries
    if ts.empty or column not in ts.columns:
        return None
    return ts.pivot_table(index="day", columns="replication", values=column, aggfunc="mean")


def series_columns(folder: Folder) -> list[str]:
    """The series the charts offer: street, then the main place's waiting list, occupancy
    and blocked residents."""
    node = main_node(folder)
    columns = ["street"]
    if node is not None:
        columns += [f"waiting.{node}", f"occupancy.{node}", f"blocked.{node}"]
    return columns


def series_title(folder: Folder, column: str, lang: Lang) -> str:
    if column == "street":
        return t("chart.street", lang)
    what, node = column.split(".", 1)
    return t(f"chart.{what}", lang, node=node_names(folder.scenario, lang).get(node, node))


def series_figure(
    folder: Folder, column: str, lang: Lang, window: tuple[dt.date, dt.date] | None = None
) -> dict[str, Any]:
    """A time series per scenario: the mean of the replications (weekly points) and a band
    holding 90% of them; the chosen window shaded."""
    traces: list[dict[str, Any]] = []
    for i, (name, result) in enumerate(folder.runs.items()):
        daily = _daily(folder, name, column)
        if daily is None:
            continue
        daily = daily.iloc[::7]
        start = result.scenario.start
        dates = [(start + dt.timedelta(days=float(d))).isoformat() for d in daily.index]
        colour = COLOURS[i % len(COLOURS)]
        label = legend_label(result.scenario, lang)
        low = daily.quantile(0.05, axis=1).round(1).tolist()
        high = daily.quantile(0.95, axis=1).round(1).tolist()
        group = f"g{i}"
        traces.append(
            {"type": "scatter", "x": dates, "y": low, "mode": "lines", "line": {"width": 0},
             "legendgroup": group, "showlegend": False, "hoverinfo": "skip"}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "x": dates, "y": high, "mode": "lines", "line": {"width": 0},
             "fill": "tonexty", "fillcolor": _alpha(colour, 0.18), "legendgroup": group,
             "showlegend": False, "hoverinfo": "skip"}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "x": dates, "y": daily.mean(axis=1).round(1).tolist(),
             "mode": "lines", "name": label, "legendgroup": group,
             "line": {"color": colour, "width": 2}, "hovertemplate": "%{y:,.1f}"}
        )  # fmt: skip
    layout = _layout(series_title(folder, column, lang), lang)
    if window is not None:
        layout["shapes"] = [
            {"type": "rect", "xref": "x", "yref": "paper", "x0": window[0].isoformat(),
             "x1": window[1].isoformat(), "y0": 0, "y1": 1, "fillcolor": "#888888",
             "opacity": 0.12, "line": {"width": 0}}
        ]  # fmt: skip
    return {"data": traces, "layout": layout}


def _alpha(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _label(rows: pd.DataFrame, lang: Lang) -> str:
    return str(rows["label_fr" if lang == "fr" else "label_en"].iloc[0])


def comparison_rows(
    folder: Folder, lang: Lang
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The headline rows of a comparison folder's ``comparison.csv``: each scenario's mean ±
    95% interval and, for alternatives, the paired difference ± its interval (* where the
    interval excludes zero). Returns Quasar table columns and rows."""
    table = folder.comparison
    names = list(folder.runs)
    columns = _scenario_columns(folder, names, lang)
    rows: list[dict[str, Any]] = []
    if table is None:
        return columns, rows
    head = table[table["headline"].astype(bool)]
    for kpi in dict.fromkeys(head["kpi"]):
        part = head[head["kpi"] == kpi].set_index("scenario")
        kind = str(part["kind"].iloc[0])
        row: dict[str, Any] = {"key": kpi, "kpi": _label(part, lang)}
        reference = part.loc[names[0], "mean"] if names[0] in part.index else math.nan
        style = formats.row_style(kind, reference)  # as the written tables
        for i, name in enumerate(names):
            if name not in part.index:
                continue
            r = part.loc[name]
            row[f"s{i}"] = value_cell(r, lang, style)
            if i:
                row[f"d{i}"] = difference_cell(r, lang, style, star=" *")
        rows.append(row)
    return columns, rows


def differences_figure(folder: Folder, lang: Lang) -> dict[str, Any]:
    """The paired differences of the headline KPIs, in % of the reference's mean, with their
    95% intervals: one marker series per alternative (toggle them in the legend)."""
    table = folder.comparison
    traces: list[dict[str, Any]] = []
    if table is not None:
        head = table[table["headline"].astype(bool)]
        names = list(folder.runs)
        for i, name in enumerate(names[1:], start=1):
            xs, errors, ys, texts = [], [], [], []
            for kpi in dict.fromkeys(head["kpi"]):
                part = head[head["kpi"] == kpi].set_index("scenario")
                if name not in part.index or names[0] not in part.index:
                    continue
                ref = float(part.loc[names[0], "mean"])
                r = part.loc[name]
                if not math.isfinite(ref) or ref == 0 or not math.isfinite(float(r["diff"])):
                    continue
                kind = str(part["kind"].iloc[0])
                xs.append(round(100 * float(r["diff"]) / abs(ref), 2))
                ci = float(r["diff_ci"])
                errors.append(round(100 * ci / abs(ref), 2) if math.isfinite(ci) else 0)
                ys.append(_label(part, lang))
                texts.append(difference_cell(r, lang, formats.row_style(kind, ref), star=""))
            traces.append(
                {"type": "scatter", "mode": "markers", "x": xs, "y": ys, "text": texts,
                 "error_x": {"type": "data", "array": errors, "visible": True},
                 "name": legend_label(folder.runs[name].scenario, lang),
                 "marker": {"color": COLOURS[i % len(COLOURS)], "size": 9},
                 "hovertemplate": "%{text} (%{x:+.1f} %)<extra>%{fullData.name}</extra>"}
            )  # fmt: skip
    layout = _layout(tr("differences_chart", lang), lang)
    layout.update(
        hovermode="closest",
        xaxis={"title": {"text": tr("percent_of_reference", lang)}, "zeroline": True},
        yaxis={"automargin": True},
        height=120 + 36 * max((len(tr_["y"]) for tr_ in traces), default=1),
    )
    return {"data": traces, "layout": layout}


def window_rows(
    folder: Folder, lang: Lang, start: dt.date, end: dt.date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each series' mean over a chosen window (both days included), per scenario with its 95%
    interval, and the paired difference to the reference: the headline rows for any window."""
    names = list(folder.runs)
    columns = _scenario_columns(folder, names, lang)
    sc = folder.scenario
    a, b = sc.day(start), sc.day(end)
    rows = []
    for column in series_columns(folder):
        per_run: list[np.ndarray] = []
        for name in names:
            daily = _daily(folder, name, column)
            if daily is None:
                break
            window = daily[(daily.index >= a) & (daily.index <= b)]
            per_run.append(window.mean(axis=0).to_numpy(dtype=float))
        if len(per_run) < len(names) or not len(per_run[0]):
            continue
        what = series_title(folder, column, lang)
        row: dict[str, Any] = {"key": column, "kpi": what}
        decimals = formats.row_style("number", mean_ci(per_run[0])[0])[0]  # the reference's
        for i, values in enumerate(per_run):
            mean, ci, _ = mean_ci(values)
            row[f"s{i}"] = formats.plus_minus(
                formats.number(mean, lang, decimals), formats.interval(ci, lang, decimals)
            )
            if i:
                p = paired_difference(per_run[0], values)
                row[f"d{i}"] = formats.plus_minus(
                    formats.number(p.mean, lang, decimals, signed=True),
                    formats.interval(p.ci, lang, decimals),
                ) + (" *" if p.significant else "")
        rows.append(row)
    return columns, rows


def window_text(start: dt.date, end: dt.date, lang: Lang) -> str:
    return f"{date_short(start, lang)} – {date_short(end, lang)}"


def kpi_name(kpi: str, sc: Scenario, lang: Lang) -> str:
    return kpi_label(kpi, lang, node_names(sc, lang), observations=observation_labels(sc, lang))

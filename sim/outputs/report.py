"""One self-contained HTML report of a run, compare or calibration folder.

The question, the scenarios and what differs between them, the KPI table with confidence
intervals and significance marks, the charts (inline SVG), calibration targets against simulated
values, and where the numbers come from (the manifest). No script, no external request: the
file opens offline and can be sent by e-mail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from sim.engine.schedule import Steps
from sim.inputs.scenario import (
    AccommodationNode,
    DownstreamNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
)
from sim.outputs import formats, i18n, style
from sim.outputs.abc_output import (
    CalibrationFolder,
    calibration_chart,
    load_calibration,
    report_sections,
)
from sim.outputs.caveats import limits
from sim.outputs.charts import node_names, observation_labels, scenario_label
from sim.outputs.differences import changes
from sim.outputs.i18n import Lang, t
from sim.outputs.plots import Folder, chart, load_folder, main_node
from sim.outputs.style import Metric
from sim.running import catalogue
from sim.running.folders import FolderError, folder_kind
from sim.running.results import write_text_atomic

REPORT_SIZE: style.SizeName = "a4"
NETWORK_SIZE: style.SizeName = "slide"  # the network needs the room; the SVG scales to the page
MAX_DIFFERENCES = 40


@dataclasses.dataclass(frozen=True)
class Cell:
    """A formatted table cell and whether it is marked significant."""

    text: str
    significant: bool = False


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


FIXED = "\u2020"
"""Marks a value that is the same in every replication (no interval to show)."""


def interval_text(
    ci: float | None, lang: Lang, decimals: int | None, unit: str = "number", millions: bool = False
) -> str:
    """`` ± 1 234`` (:func:`sim.outputs.formats.interval`: never a misleading ``± 0``); a value
    the same in every replication gets :data:`FIXED`; nothing when there is no interval."""
    if formats.missing(ci):
        return ""
    text = formats.interval(ci, lang, decimals, unit, millions)
    return f" ±\u00a0{text}" if text else f"\u00a0{FIXED}"  # breaks before ±, never after


class _Formatter:
    """KPI values, intervals and differences of one table row, by unit, in one language: the
    row's decimals and scale come from the reference's value (:func:`formats.row_style`)."""

    def __init__(self, scenario: Scenario, lang: Lang) -> None:
        self.lang = lang
        self.scenario = scenario

    def value(self, kpi: str, mean: float, ci: float | None, reference: float) -> str:
        if formats.missing(mean):
            return formats.DASH
        unit = catalogue.unit(kpi, self.scenario)
        decimals, millions = formats.row_style(unit, reference)
        text = formats.number(mean, self.lang, decimals, unit, millions=millions, symbol=True)
        return text + interval_text(ci, self.lang, decimals, unit, millions)

    def difference(self, kpi: str, diff: float, ci: float | None, reference: float) -> str:
        if formats.missing(diff):
            return formats.DASH
        kind = catalogue.unit(kpi, self.scenario)
        decimals, millions = formats.row_style(kind, reference)
        unit = formats.difference_unit(kind)
        text = formats.number(diff, self.lang, decimals, unit, signed=True, millions=millions)
        return text + interval_text(ci, self.lang, decimals, unit, millions)


def headline_kpis(folder: Folder) -> list[str]:
    """The KPIs of the main table, in reading order; the others go under "all indicators"."""
    node = main_node(folder)
    rows = ["street.mean", "street.end", "housed.mean"]
    if node:
        rows += [
            f"waiting.{node}.mean",
            f"occupancy.{node}.mean",
            f"blocked.{node}.mean",
            f"entries.{node}.per_month",
            f"exits.{node}.per_month",
            f"stay.{node}.mean",
            f"positive_share.{node}",
        ]
    rows += [
        "exits.positive.per_month",
        "positive_share",
        "contact_to_housing.mean",
        "cost.total.per_year",
        "cost.per_positive_exit",
    ]
    return rows


def _kpi_frame(folder: Folder) -> pd.DataFrame:
    """Long table ``scenario, kpi, mean, ci, diff, diff_ci, significant`` (reference first)."""
    if folder.comparison is not None:
        frame = folder.comparison.copy()
        for column in ("diff", "diff_ci"):
            if column not in frame.columns:
                frame[column] = math.nan
        if "significant" not in frame.columns:
            frame["significant"] = False
        return frame
    rows = []
    for name, run in folder.runs.items():
        for r in run.summary.to_dict("records"):
            rows.append(
                {"scenario": name, "kpi": r["kpi"], "mean": r["mean"], "ci": r["ci95"],
                 "diff": math.nan, "diff_ci": math.nan, "significant": False}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _significant(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() == "true"
    return bool(x) if x == x else False


def kpi_tables(folder: Folder, lang: Lang) -> dict[str, Any]:
    """Headers, headline rows and all rows of the KPI table, formatted."""
    sc = folder.scenario
    fmt = _Formatter(sc, lang)
    frame = _kpi_frame(folder)
    names = list(folder.runs)
    others = names[1:]
    labels = {
        "node_names": node_names(sc, lang),
        "groups": {k: i18n.node_name(a.label, lang) for k, a in sc.attributes.items() if a.label},
        "observations": observation_labels(sc, lang),
    }
    headers = names
    by_key = {(str(r["scenario"]), str(r["kpi"])): r for r in frame.to_dict("records")}
    column = f"label_{lang}"  # a comparison's own labels (observations included) when it has them
    written = {
        str(r["kpi"]): str(r[column])
        for r in frame.to_dict("records")
        if column in r and isinstance(r[column], str) and r[column]
    }
    order = list(dict.fromkeys(str(k) for k in frame["kpi"]))

    def row(kpi: str) -> dict[str, Any] | None:
        ref = by_key.get((names[0], kpi))
        if ref is None:
            return None
        values = []
        for name in names:
            r = by_key.get((name, kpi))
            text = fmt.value(kpi, r["mean"], r["ci"], ref["mean"]) if r else formats.DASH
            values.append(Cell(text))
        diffs = []
        for name in others:
            r = by_key.get((name, kpi))
            if r is None:
                diffs.append(Cell(formats.DASH))
                continue
            text = fmt.difference(kpi, float(r["diff"]), float(r["diff_ci"]), float(ref["mean"]))
            significant = _significant(r["significant"])
            diffs.append(Cell(text + ("\u00a0*" if significant else ""), significant))
        return {
            "kpi": kpi,
            "label": written.get(kpi) or i18n.kpi_label(kpi, lang, **labels),
            "values": values,
            "diffs": diffs,
        }

    chosen = headline_kpis(folder)
    if "headline" in frame.columns:  # a comparison's headline rows: the scenario's own choice
        marked = frame[frame["headline"].astype(str).str.lower() == "true"]["kpi"]
        chosen = list(dict.fromkeys(str(k) for k in marked)) or chosen
    headline = [r for r in (row(k) for k in chosen) if r is not None]
    every = [r for r in (row(k) for k in order) if r is not None]
    return {
        "headers": headers,
        "diff_headers": others,
        "headline": headline,
        "all": every,
        "has_diffs": bool(others) and folder.comparison is not None,
    }


def _capacity_text(schedule: Any, sc: Scenario, lang: Lang) -> str:
    """A schedule as ``first → last`` over the run (one value when it does not change)."""
    if schedule is None:
        return formats.DASH
    steps = Steps.of(schedule, sc.start)
    first, last = (formats.number(x, lang, unit="count") for x in (steps.at(0.0), steps.values[-1]))
    return first if first == last else f"{first} → {last}"


def _capacity(sc: Scenario, node_id: str, lang: Lang) -> str | None:
    node = sc.nodes.get(node_id)
    if isinstance(node, AccommodationNode | DownstreamNode):
        if node.capacity is None:
            releases = node.releases_per_month
            if releases is None:
                return None
            last = Steps.of(releases, sc.start).values[-1]
            rate = _capacity_text(releases, sc, lang)
            return i18n.count(float(last), "diagram.releases", lang, rate)
        return _capacity_text(node.capacity, sc, lang)
    if isinstance(node, RestSpaceNode):
        return _capacity_text(node.places, sc, lang)
    if isinstance(node, OutreachNode):
        return t("diagram.contacts", lang, n=_capacity_text(node.contacts_per_week, sc, lang))
    return None


def scenario_rows(folder: Folder, lang: Lang) -> list[dict[str, Any]]:
    """Each scenario: name, title, description, period, colour."""
    out = []
    for i, (name, run) in enumerate(folder.runs.items()):
        sc = run.scenario
        last = sc.end - dt.timedelta(days=1)
        out.append(
            {
                "name": name,
                "title": scenario_label(sc, lang),
                "description": sc.described(lang),
                "period": f"{i18n.date_long(sc.start, lang)} – {i18n.date_long(last, lang)}",
                "reference": i == 0 and len(folder.runs) > 1,
                "colour": style.SCENARIO_COLOURS[i % len(style.SCENARIO_COLOURS)],
            }
        )
    return out


def capacity_rows(folder: Folder, lang: Lang) -> list[dict[str, Any]]:
    """Services and places with their capacity (start → end) in each scenario."""
    rows: dict[str, dict[str, Any]] = {}
    for run in folder.runs.values():
        for node_id, node in run.scenario.nodes.items():
            if node_id not in rows and _capacity(run.scenario, node_id, lang) is not None:
                rows[node_id] = {
                    "name": i18n.node_name(node.name, lang),
                    "kind": t(f"kind.{node.kind}", lang),
                }
    for node_id, row in rows.items():
        cells = [
            _capacity(run.scenario, node_id, lang) or formats.DASH for run in folder.runs.values()
        ]
        row["cells"] = cells
        row["differs"] = len(set(cells)) > 1
    return list(rows.values())


def differences(folder: Folder, lang: Lang) -> list[dict[str, Any]]:
    """For each scenario after the reference: what differs, setting by setting, in words."""
    resolved = {
        s["name"]: s.get("resolved") for s in folder.manifest.get("scenarios", []) if "name" in s
    }
    names = list(folder.runs)
    if len(names) < 2:
        return []

    def data(name: str) -> dict[str, Any]:
        found = resolved.get(name)
        if isinstance(found, dict):
            return found
        return folder.runs[name].scenario.model_dump(mode="json", by_alias=True)

    reference = data(names[0])
    out = []
    for name in names[1:]:
        rows = changes(reference, data(name), lang)
        out.append(
            {
                "name": name,
                "title": scenario_label(folder.runs[name].scenario, lang),
                "rows": rows[:MAX_DIFFERENCES],
                "more": max(0, len(rows) - MAX_DIFFERENCES),
            }
        )
    return out


def target_rows(folder: Folder, lang: Lang) -> list[dict[str, Any]]:
    """Calibration targets against simulated values, formatted."""
    out = []
    for target in folder.targets:
        obs = target.observation
        share = obs is not None and obs.metric in catalogue.SHARE_METRICS

        unit = "share" if share else "number"
        decimals = formats.row_style(unit, target.target)[0]
        target_text = formats.number(target.target, lang, decimals, unit)
        if target.tolerance:
            target_text += f" ±\u00a0{formats.interval(target.tolerance, lang, decimals, unit)}"
        simulated = formats.number(target.mean, lang, decimals, unit) + interval_text(
            target.ci95, lang, decimals, unit
        )
        role_key = f"report.role.{target.role}"
        out.append(
            {
                "label": (obs.labelled(lang) if obs is not None else "") or target.label,
                "role": t(role_key, lang) if role_key in i18n.LABELS else target.role,
                "target": target_text,
                "simulated": simulated,
                "met": None if target.met is None else target.met,
                "source": target.source,
            }
        )
    return out


def chart_list(folder: Folder, lang: Lang) -> list[tuple[Metric, str | None, str | None, str]]:
    """The report's charts: ``(metric, node, scenario, id)``."""
    node = main_node(folder)
    out: list[tuple[Metric, str | None, str | None, str]] = [("street", None, None, "street")]
    if node:
        metrics: tuple[Metric, ...] = ("waiting", "occupancy", "blocked", "entries-exits", "stay")
        for metric in metrics:
            out.append((metric, node, None, f"{metric}-{node}"))
    out.append(("time-to-housing", None, None, "time-to-housing"))
    for name in folder.runs:
        out.append(("sankey", None, name, f"sankey-{name}"))
    return out


def charts(folder: Folder, lang: Lang) -> list[dict[str, Any]]:
    """Every chart of the report as inline SVG markup."""
    out = []
    for metric, node, scenario, chart_id in chart_list(folder, lang):
        with style.context(REPORT_SIZE):
            fig = chart(folder, metric, node, lang, REPORT_SIZE, scenario=scenario, compact=True)
            title = fig.get_suptitle().replace("\n", " ")
            svg = style.svg_markup(fig, salt=f"c-{chart_id}")
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)
        out.append({"id": chart_id, "title": title, "svg": Markup(svg)})
    return out


def network(folder: Folder, lang: Lang) -> dict[str, Any]:
    """The reference scenario's network diagram as inline SVG."""
    from sim.outputs.diagram import diagram_chart

    with style.context(NETWORK_SIZE):
        fig = diagram_chart(folder.scenario, lang, NETWORK_SIZE)
        svg = style.svg_markup(fig, salt="c-network")
    title = t("report.network", lang)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)
    return {"id": "network", "title": title, "svg": Markup(svg)}


def _attr(text: str) -> str:
    return str(Markup.escape(text))


def provenance(folder: Folder) -> dict[str, Any]:
    """Where the numbers come from: the manifest of the folder (and of each run)."""
    return manifest_provenance(folder.path, folder.kind, folder.manifest)


def manifest_provenance(path: Path, kind: str, info: dict[str, Any]) -> dict[str, Any]:
    """Where the numbers of the folder ``path`` come from: its manifest ``info``."""
    version = str(info.get("versions", {}).get("parcours", "?"))
    return {
        "folder": path.name,
        "kind": kind,
        "version": version,
        "commit": info.get("git_commit") or formats.DASH,
        "seed": info.get("seed", formats.DASH),
        "replications": info.get("replications", formats.DASH),
        "created": info.get("created", formats.DASH),
        "command": info.get("command", ""),
        "scenarios": [
            {"name": s.get("name", ""), "sha256": s.get("sha256", "")}
            for s in info.get("scenarios", [])
        ],
        "packages": ", ".join(f"{k} {v}" for k, v in sorted(info.get("versions", {}).items())),
    }


def render(folder: Folder, lang: Lang = "fr") -> str:
    """The report of a loaded folder as an HTML string."""
    sc = folder.scenario
    scenario_title = scenario_label(sc, lang)
    if folder.kind == "compare":
        title = t("report.title_compare", lang)
    else:
        title = t("report.title_run", lang, title=scenario_title)
    questions = [
        (scenario_label(run.scenario, lang), run.scenario.described(lang))
        for run in folder.runs.values()
    ]
    prov = provenance(folder)
    context = {
        "lang": lang,
        "t": lambda key, **values: t(key, lang, **values),
        "title": title,
        "subtitle": " · ".join(scenario_label(r.scenario, lang) for r in folder.runs.values()),
        "questions": questions,
        "scenarios": scenario_rows(folder, lang),
        "capacities": capacity_rows(folder, lang),
        "network": network(folder, lang),
        "differences": differences(folder, lang),
        "kpis": kpi_tables(folder, lang),
        "replications": folder.replications,
        "draws": int(folder.manifest.get("draws") or 0),
        "charts": charts(folder, lang),
        "targets": target_rows(folder, lang),
        "limits": limits(folder, lang),
        "fixed": FIXED,
        "provenance": prov,
        "compare": len(folder.runs) > 1,
        "colon": i18n.colon(lang),
    }
    return _env().get_template("report.html.j2").render(**context)


def write_report(
    folder: Path | str,
    out_html: Path | str | None = None,
    lang: str = "fr",
    force: bool = False,
) -> Path:
    """Write the HTML report of a run, compare or calibration folder (default
    ``<folder>/report-<lang>.html``) and return its path; an existing report is replaced
    only with ``force``."""
    language = i18n.check_lang(lang)
    calibration = load_calibration(folder) if folder_kind(folder) == "calibrate" else None
    loaded = load_folder(folder) if calibration is None else None
    path = calibration.path if calibration is not None else Path(folder)
    target = Path(out_html) if out_html is not None else path / f"report-{language}.html"
    if target.exists() and not force:
        raise FolderError(f"{target} exists; use --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    if calibration is not None:
        html = render_calibration(calibration, language)
    else:
        assert loaded is not None
        html = render(loaded, language)
    write_text_atomic(target, html)
    return target


def render_calibration(folder: CalibrationFolder, lang: Lang = "fr") -> str:
    """The report of a calibration folder as an HTML string: the sections of its
    ``report.md`` (:func:`~sim.outputs.abc_output.report_sections`), each with its chart."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark").enable("table")
    sections = []
    for section in report_sections(folder, lang):
        chart_svg = None
        if section.chart:
            with style.context(REPORT_SIZE):
                fig = calibration_chart(folder, section.chart, lang)
                svg = style.svg_markup(fig, salt=f"c-{section.chart}")
            label = _attr(section.heading)
            svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
            chart_svg = {"id": section.chart, "svg": Markup(svg)}
        sections.append(
            {
                "id": section.id,
                "heading": section.heading,
                "body": Markup(markdown.render("\n".join(section.lines))),
                "chart": chart_svg,
            }
        )
    sc = folder.scenario
    context = {
        "lang": lang,
        "t": lambda key, **values: t(key, lang, **values),
        "title": t("report.title_calibrate", lang, title=scenario_label(sc, lang)),
        "subtitle": t("cal.title", lang, name=sc.name),
        "sections": sections,
        "provenance": manifest_provenance(folder.path, "calibrate", folder.manifest),
        "colon": i18n.colon(lang),
    }
    return _env().get_template("calibration.html.j2").render(**context)

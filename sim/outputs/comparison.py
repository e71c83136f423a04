"""The comparison as people read it: formatted numbers, Markdown, the terminal table, the
spreadsheet, the README blocks and the comparison folder."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from sim.analysis.compare import CompareError, Comparison
from sim.inputs.scenario import Scenario
from sim.outputs import formats
from sim.outputs.formats import DASH, MINUS, NNBSP, number
from sim.outputs.i18n import LABELS, Lang, node_name, series_label, table_kpi_label
from sim.running import catalogue
from sim.running.folders import read_manifest
from sim.running.periods import Period, series_table
from sim.running.results import atomic_dir, manifest, write_period_tables, write_run
from sim.running.runner import RunResult


def _t(key: str, lang: Lang) -> str:
    """A text of the comparison tables, from the one translation table (``sim.outputs.i18n``)."""
    return LABELS[f"table.{key}"][lang]


def kpi_label(kpi: str, scenario: Scenario, lang: Lang = "en") -> str:
    """A KPI's label in the tables: the text written for that very KPI (``table.kpi.<name>``,
    an observation over the question's window saying which), an observation's own label, else
    its catalogue label in the tables' wording (:func:`sim.outputs.i18n.table_kpi_label`)."""
    if f"table.kpi.{kpi}" in LABELS:
        text = LABELS[f"table.kpi.{kpi}"][lang]
        if "{window}" in text:  # an observation over the question's window: say which
            obs = scenario.observations.get(kpi.removeprefix("obs.").partition(".")[0])
            dates = (obs.start, obs.end) if obs is not None else (None, None)
            return text.format(window=period_text(*dates))
        return text
    if kpi.startswith("obs."):
        name, _, rate = kpi.removeprefix("obs.").partition(".")
        obs = scenario.observations.get(name)
        base = (obs.labelled(lang) if obs is not None else "") or name
        suffix = f"table.obs.{rate}"
        return base + (LABELS[suffix][lang] if suffix in LABELS else "")
    names = {k: node_name(n.name, lang) for k, n in scenario.nodes.items()}
    groups = {k: node_name(a.label, lang) for k, a in scenario.attributes.items() if a.label}
    return table_kpi_label(kpi, lang, names, groups)


def period_text(start: dt.date | None, end: dt.date | None) -> str:
    """A window as people say it: ``2025``, ``2026-2027``, else ``2026-03-01 – 2026-09-30``."""
    if start is None or end is None:
        return "?"
    whole = (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)
    if whole:
        return str(start.year) if start.year == end.year else f"{start.year}-{end.year}"
    return f"{start.isoformat()} – {end.isoformat()}"


def with_labels(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """A long table with each KPI's English and French label (``label_en``, ``label_fr``),
    named after ``scenario``'s nodes and observations."""
    table = table.copy()
    table["label_en"] = [kpi_label(k, scenario, "en") for k in table["kpi"]]
    table["label_fr"] = [kpi_label(k, scenario, "fr") for k in table["kpi"]]
    return table


def labelled(comp: Comparison) -> pd.DataFrame:
    """The comparison's long table with its labels (:func:`with_labels`, reference's names)."""
    return with_labels(comp.table, comp.runs[comp.reference].scenario)


# --- formatting ---------------------------------------------------------------------------------


def _zero(text: str) -> bool:
    """Whether a formatted number shows zero (or nothing)."""
    return text == DASH or text.lstrip("+" + MINUS).strip(f"0.,%M{NNBSP}") == ""


Style = tuple[int | None, bool]
"""A row's decimals and scale (in millions or not): :func:`sim.outputs.formats.row_style`."""


def value_cell(row: pd.Series, lang: Lang, style: Style = (None, False)) -> str:
    """A scenario's value in a table row: ``mean ± half-width`` (the mean alone when the
    interval shows nothing)."""
    kind = str(row["kind"])
    decimals, millions = style
    value = number(row["mean"], lang, decimals, kind, millions=millions)
    ci = formats.interval(row["ci"], lang, decimals, kind, millions)
    return formats.plus_minus(value, ci)


def difference_cell(
    row: pd.Series, lang: Lang, style: Style = (None, False), star: str = "*"
) -> str:
    """An alternative's paired difference to the reference in a table row: ``+12 ± 3`` (in
    percentage points for shares), with ``star`` when its interval excludes zero."""
    unit = formats.difference_unit(str(row["kind"]))
    decimals, millions = style
    diff = number(row["diff"], lang, decimals, unit, signed=True, millions=millions)
    dci = formats.interval(row["diff_ci"], lang, decimals, unit, millions)
    mark = star if _is_true(row["significant"]) and not _zero(diff) else ""
    return formats.plus_minus(diff, dci) + mark


def _cell(
    row: pd.Series,
    lang: Lang,
    reference: bool,
    newline: str,
    star: str,
    style: Style = (None, False),
) -> str:
    text = value_cell(row, lang, style)
    if reference:
        return text
    return f"{text}{newline}Δ {difference_cell(row, lang, style, star)}"


def _number(rows: pd.DataFrame, name: str, column: str = "mean") -> float:
    value = _plain(rows.loc[name, column]) if name in rows.index else None
    return math.nan if value is None else value


def _is_true(value: Any) -> bool:
    return not pd.isna(value) and bool(value)


def _crn_summary(head: pd.DataFrame, lang: Lang) -> str | None:
    alt = head[head["diff_ci"] > 0]
    if alt.empty:
        return None
    ratio = (alt["diff_ci_independent"] / alt["diff_ci"]).replace([np.inf, -np.inf], np.nan)
    reduction = alt["variance_reduction"].dropna()
    if ratio.dropna().empty or reduction.empty:
        return None
    factor = number(float(ratio.median()), lang, 1)
    return _t("crn_line", lang).format(
        factor=factor, reduction=number(float(reduction.median()), lang, 0, "share")
    )


def _window(meta: Mapping[str, Any], lang: Lang) -> str:
    a, b = meta.get("kpi_window", ["?", "?"])
    return _t("window", lang).format(a=a, b=b)


def _notes(meta: Mapping[str, Any], head: pd.DataFrame, lang: Lang) -> str:
    """The lines under a table: what a cell is, parameter draws, the CRN gain."""
    text = _t("meta", lang).format(
        n=meta["replications"], seed=meta["seed"], window=_window(meta, lang)
    )
    draws = int(meta.get("draws") or 0)
    if draws >= 2:
        per_draw = number(int(meta["replications"]) / draws, lang, 0)
        text += "\n" + _t("draws_line", lang).format(draws=draws, per_draw=per_draw, df=draws - 1)
    crn = _crn_summary(head, lang)
    return text + ("\n" + crn if crn else "")


def markdown(table: pd.DataFrame, meta: Mapping[str, Any], lang: Lang = "en") -> str:
    """The headline rows of a long table as a Markdown table, with the CRN summary below."""
    head = table[table["headline"].astype(bool)]
    names = list(meta["scenario_names"])
    reference = str(meta["reference"])
    label = "label_fr" if lang == "fr" else "label_en"
    kpis = list(dict.fromkeys(head["kpi"]))
    columns = [f"{reference} ({_t('reference', lang)})", *names[1:]]
    lines = [
        "| " + " | ".join([_t("kpi", lang), *columns, _t("crn", lang)]) + " |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for kpi in kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        cells = [str(rows[label].iloc[0])]
        style = formats.row_style(str(rows["kind"].iloc[0]), _number(rows, reference))
        for name in names:
            if name not in rows.index:
                cells.append(DASH)
                continue
            row = cast(pd.Series, rows.loc[name])
            cell = _cell(row, lang, name == reference, "<br>", "\\*", style)
            cells.append(cell)
        reduction = rows["variance_reduction"].drop(reference, errors="ignore").dropna()
        cells.append(
            number(float(reduction.median()), lang, 0, "share") if len(reduction) else DASH
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + _notes(meta, head, lang) + "\n"


def rich_tables(comp: Comparison, lang: Lang = "en", width: int = 120) -> list[Any]:
    """The headline table for a terminal ``width`` characters wide (:class:`rich.table.Table`
    objects: more than one when the scenarios do not fit side by side)."""
    from sim.outputs.display import NumberColumn, fitted_tables

    labels = labelled(comp)
    head = labels[labels["headline"]].reset_index(drop=True)
    meta = comp.meta()
    label = "label_fr" if lang == "fr" else "label_en"
    names: list[str] = []
    cells: dict[str, list[str]] = {name: [] for name in [*comp.scenarios, "crn"]}
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        names.append(str(rows[label].iloc[0]))
        style = formats.row_style(str(rows["kind"].iloc[0]), _number(rows, comp.reference))
        for name in comp.scenarios:
            row = cast(pd.Series, rows.loc[name])
            cells[name].append(_cell(row, lang, name == comp.reference, "\n", "[bold] *[/]", style))
        reduction = rows["variance_reduction"].drop(comp.reference).dropna()
        cells["crn"].append(
            number(float(reduction.median()), lang, 0, "share") if len(reduction) else DASH
        )
    columns = [
        NumberColumn(f"{name} ({_t('reference', lang)})" if name == comp.reference else name,
                     cells[name])
        for name in comp.scenarios
    ]  # fmt: skip
    columns.append(NumberColumn(_t("crn", lang), cells["crn"]))
    return fitted_tables(
        _t("kpi", lang),
        names,
        columns,
        width,
        title=_t("title", lang).format(ref=comp.reference),
        caption=_notes(meta, head, lang),
        show_lines=True,
    )


# --- writing ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "scenario",
    "kpi",
    "mean",
    "ci",
    "diff",
    "diff_ci",
    "significant",
    "diff_ci_independent",
    "variance_reduction",
    "n",
    "headline",
    "kind",
    "label_en",
    "label_fr",
)


def _folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "scenario"


def write_comparison(
    comp: Comparison, out: Path | str, force: bool = False, lang: Lang = "en"
) -> Path:
    """Write a comparison folder atomically: ``comparison.csv`` (long), ``comparison.md``,
    ``comparison.xlsx``, the series by month and by year (``series-by-month.csv``,
    ``series-by-year.csv``), ``queues.png``, ``manifest.json`` and ``runs/<scenario>/`` (full
    run folders, copied when the runs were read from folders)."""
    from sim.outputs.compare_chart import plot_queues

    out = Path(out)
    folders = {name: _folder_name(name) for name in comp.scenarios}
    if len(set(folders.values())) < len(folders):
        raise CompareError("two scenario names map to the same folder name; rename one")
    with atomic_dir(out, force) as tmp:
        labelled(comp).loc[:, list(CSV_COLUMNS)].to_csv(tmp / "comparison.csv", index=False)
        meta = comp.meta()
        title = "# " + _t("title", lang).format(ref=comp.reference) + "\n\n"
        (tmp / "comparison.md").write_text(title + markdown(labelled(comp), meta, lang), "utf-8")
        periods = write_period_tables(ordered_runs(comp), tmp)
        write_xlsx(comp, tmp / "comparison.xlsx", lang)
        for name, result in comp.runs.items():
            target = tmp / "runs" / folders[name]
            source = comp.sources.get(name)
            if source is not None:
                shutil.copytree(source, target)
            else:
                write_run(result, target, extra=comp.parameters or None)
        charts = plot_queues(comp, tmp / "queues.png", lang)
        extra = {
            **meta,
            **comp.parameters,
            "kpis": list(comp.kpis),
            "lang": lang,
            "run_folders": [folders[n] for n in comp.scenarios],
            "sources": {n: str(p) for n, p in comp.sources.items()},
            "files": ["comparison.csv", "comparison.md", "comparison.xlsx", *periods]
            + ([charts.name] if charts else []),
        }
        info = manifest(
            "compare",
            [r.scenario for r in comp.runs.values()],
            comp.seed,
            comp.replications,
            comp.seconds,
            extra,
        )
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
    return out


_SHEETS: dict[str, tuple[str, str]] = {
    "values": ("Values", "Valeurs"),
    "differences": ("Differences", "Écarts"),
    "all": ("All KPIs", "Tous les indicateurs"),
    "replications": ("Replications", "Réplications"),
    "scenarios": ("Scenarios", "Scénarios"),
    "month": ("By month", "Par mois"),
    "year": ("By year", "Par année"),
}

_HEADERS: dict[str, tuple[str, str]] = {
    "label": ("KPI", "Indicateur"),
    "kpi": ("key", "clé"),
    "mean": ("mean", "moyenne"),
    "ci": ("± 95% CI", "± IC 95 %"),
    "diff": ("Δ", "Δ"),
    "diff_ci": ("Δ ± 95% CI", "Δ ± IC 95 %"),
    "significant": ("significant", "significatif"),
    "diff_ci_independent": ("Δ ± CI without CRN", "Δ ± IC sans NAC"),
    "variance_reduction": ("CRN variance reduction", "réduction de variance NAC"),
    "n": ("pairs", "paires"),
    "scenario": ("scenario", "scénario"),
    "replication": ("replication", "réplication"),
    "question": ("question", "question"),
    "description": ("description (as written in the file)", "description (telle qu'écrite)"),
    "sha256": ("SHA-256", "SHA-256"),
    "source": ("run folder", "dossier de simulation"),
    "series": ("series", "série"),
    "series_label": (
        "daily series (mean over the period)",
        "série quotidienne (moyenne sur la période)",
    ),
    "month": ("month", "mois"),
    "year": ("year", "année"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
}


def _h(key: str, lang: Lang) -> str:
    en, fr = _HEADERS[key]
    return fr if lang == "fr" else en


def number_format(kind: str, lang: Lang, value: float | None = None) -> str:
    """An Excel number format for a KPI kind: percent, euros or a plain number.

    Format codes always use ``,`` for the thousands and ``.`` for the decimal separator, and
    the spreadsheet shows them with the *reader's* system separators: no code can force
    ``1 234,5`` on a reader whose system is set to English (a locale tag such as ``[$-40C]``
    only changes month and day names). What ``fr`` changes is the French layout the code
    controls: a space before ``%`` (``12,3 %``) and ``€`` after the amount (``1 234 €``);
    a reader with French system settings then sees French numbers throughout.
    """
    if kind == "share":
        return "0.0\\ %" if lang == "fr" else "0.0%"
    if kind == "euro":
        return '#,##0\\ "€"' if lang == "fr" else '"€"#,##0'
    decimals = formats.decimals_for(value)
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def question(sc: Scenario, lang: Lang = "en") -> str:
    """The question a scenario answers, in ``lang``: its title (the one text a scenario carries
    in both languages), else its description, else its name."""
    if sc.title is not None:
        return sc.title.fr if lang == "fr" else sc.title.en
    return sc.described(lang) or sc.name


def write_xlsx(comp: Comparison, path: Path, lang: Lang = "en") -> None:
    """A workbook with one sheet per view: values, differences, all KPIs, replications,
    scenarios. Numbers stay numbers, formatted per KPI (French formats under ``fr``)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = Workbook()
    bold = Font(bold=True)
    labels = labelled(comp)
    head = labels[labels["headline"]].reset_index(drop=True)
    label = "label_fr" if lang == "fr" else "label_en"
    names = comp.scenarios
    alternatives = names[1:]

    def sheet(key: str, header: list[str], first: bool = False) -> Any:
        ws = wb.active if first else wb.create_sheet()
        ws.title = _SHEETS[key][1 if lang == "fr" else 0]
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "B2"
        return ws

    def widths(ws: Any, first: int = 60, rest: int = 16) -> None:
        for i in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(i)].width = first if i == 1 else rest

    # values: one row per KPI, mean and CI per scenario
    header = [_h("label", lang), _h("kpi", lang)]
    for name in names:
        header += [f"{name}: {_h('mean', lang)}", f"{name}: {_h('ci', lang)}"]
    ws = sheet("values", header, first=True)
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        kind = str(rows["kind"].iloc[0])
        fmt = number_format(kind, lang, _plain(rows.loc[comp.reference, "mean"]))
        values: list[Any] = [rows[label].iloc[0], kpi]
        for name in names:
            values += [_plain(rows.loc[name, "mean"]), _plain(rows.loc[name, "ci"])]
        ws.append(values)
        for cell in ws[ws.max_row][2:]:
            cell.number_format = fmt
    widths(ws)

    # differences: one row per KPI, paired difference per alternative
    header = [_h("label", lang), _h("kpi", lang)]
    for name in alternatives:
        header += [
            f"{name}: {_h(k, lang)}"
            for k in ("diff", "diff_ci", "significant", "diff_ci_independent", "variance_reduction")
        ]
    ws = sheet("differences", header)
    for kpi in comp.kpis:
        rows = head[head["kpi"] == kpi].set_index("scenario")
        kind = str(rows["kind"].iloc[0])
        fmt = number_format(kind, lang, _plain(rows.loc[comp.reference, "mean"]))
        values = [rows[label].iloc[0], kpi]
        for name in alternatives:
            r = rows.loc[name]
            sig = r["significant"]
            values += [
                _plain(r["diff"]),
                _plain(r["diff_ci"]),
                "" if pd.isna(sig) else _h("yes" if sig else "no", lang),
                _plain(r["diff_ci_independent"]),
                _plain(r["variance_reduction"]),
            ]
        ws.append(values)
        cells = ws[ws.max_row]
        for j in range(len(alternatives)):
            base = 2 + 5 * j
            for k in (0, 1, 3):
                cells[base + k].number_format = fmt
            cells[base + 4].number_format = number_format("share", lang)
    widths(ws)

    # all KPIs: the long table
    columns = ["scenario", "kpi", "mean", "ci", "diff", "diff_ci", "significant"]
    columns += ["diff_ci_independent", "variance_reduction", "n"]
    ws = sheet("all", [_h(c, lang) for c in columns])
    ws.freeze_panes = "C2"
    for _, r in labelled(comp).iterrows():
        sig = r["significant"]
        ws.append(
            [
                r["scenario"],
                r["kpi"],
                *(_plain(r[c]) for c in ("mean", "ci", "diff", "diff_ci")),
                "" if pd.isna(sig) else _h("yes" if sig else "no", lang),
                _plain(r["diff_ci_independent"]),
                _plain(r["variance_reduction"]),
                int(r["n"]),
            ]
        )
        fmt = number_format(str(r["kind"]), lang, _plain(r["mean"]))
        cells = ws[ws.max_row]
        for k in (2, 3, 4, 5, 7):
            cells[k].number_format = fmt
        cells[8].number_format = number_format("share", lang)
    widths(ws, 24, 14)

    # replications: the shown KPIs per scenario and replication (the pairs)
    ws = sheet("replications", [_h("scenario", lang), _h("replication", lang), *comp.kpis])
    formats = [
        number_format(
            catalogue.unit(k, comp.runs[comp.reference].scenario),
            lang,
            float(head.loc[head["kpi"] == k, "mean"].iloc[0]),
        )
        for k in comp.kpis
    ]
    for name in names:
        t = comp.tables[name]
        for rep, row in t.iterrows():
            ws.append([name, int(str(rep)), *(_plain(row.get(k)) for k in comp.kpis)])
            for cell, fmt in zip(ws[ws.max_row][2:], formats, strict=True):
                cell.number_format = fmt
    widths(ws, 24, 16)

    # scenarios: what was compared, and the question each one answers
    header = [_h(k, lang) for k in ("scenario", "question", "description", "sha256", "source")]
    ws = sheet("scenarios", header)
    for name, result in comp.runs.items():
        sc = result.scenario
        source = comp.sources.get(name)
        ws.append([name, question(sc, lang), sc.described(lang), sc.digest(), str(source or "")])
    widths(ws, 24, 60)

    # by month, by year: every daily series, one row per series and period
    runs = ordered_runs(comp)
    nodes = {
        k: node_name(n.name, lang)
        for r in reversed(list(runs.values()))
        for k, n in r.scenario.nodes.items()
    }
    periods: tuple[Period, ...] = ("month", "year")
    for by in periods:
        if any(r.timeseries.empty for r in runs.values()):
            break
        _period_sheet(sheet, series_table(runs, by), by, names, nodes, lang)
        widths(wb[_SHEETS[by][1 if lang == "fr" else 0]], 48, 14)
    wb.save(path)


def ordered_runs(comp: Comparison) -> dict[str, RunResult]:
    """The runs of a comparison, the reference first."""
    return {name: comp.runs[name] for name in comp.scenarios}


def _period_sheet(
    sheet: Callable[[str, list[str]], Any],
    table: pd.DataFrame,
    by: str,
    names: Sequence[str],
    nodes: dict[str, str],
    lang: Lang,
) -> None:
    """A sheet of :func:`sim.running.periods.series_table`, wide: one row per series and
    period, mean and 95% CI per scenario, then the difference to the reference per
    alternative."""
    header = [_h("series_label", lang), _h("series", lang), _h(by, lang)]
    for name in names:
        header += [f"{name}: {_h('mean', lang)}", f"{name}: {_h('ci', lang)}"]
    for name in names[1:]:
        header += [f"{name}: {_h('diff', lang)}", f"{name}: {_h('diff_ci', lang)}"]
    ws = sheet(by, header)
    ws.freeze_panes = "D2"
    wide = table.set_index(["series", "period", "scenario"])
    fmt = "#,##0.0"
    row = 1  # counted: ws.max_row scans every cell, quadratic over thousands of rows
    for (series, period), rows in wide.groupby(level=[0, 1], sort=False):
        rows = rows.droplevel([0, 1])
        values: list[Any] = [series_label(str(series), lang, nodes), series, period]
        for name in names:
            values += [_plain(rows["mean"].get(name)), _plain(rows["ci95"].get(name))]
        for name in names[1:]:
            for column in ("diff", "diff_ci"):
                values.append(_plain(rows[column].get(name)) if column in rows else None)
        ws.append(values)
        row += 1
        for index in range(4, len(values) + 1):
            ws.cell(row=row, column=index).number_format = fmt


def _plain(x: Any) -> float | None:
    """A cell value: a float, or None (an empty cell) for NaN and missing values."""
    if x is None or pd.isna(x):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


# --- generated blocks of Markdown files (README, docs) -------------------------------------------

README_START = "<!-- compare-table:start -->"
README_END = "<!-- compare-table:end -->"
_MARKER = re.compile(r"<!-- compare-([a-z0-9-]+):(start|end) -->")


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the generated block ``name``."""
    return f"<!-- compare-{name}:start -->", f"<!-- compare-{name}:end -->"


def block_names(text: str) -> list[str]:
    """Names of the generated blocks a Markdown text holds, in order."""
    return list(dict.fromkeys(m.group(1) for m in _MARKER.finditer(text)))


def read_block(text: str, name: str = "table") -> str:
    """The content of block ``name`` (without its markers and surrounding blank lines)."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"no {start} ... {end} block in the text")
    return text[i + len(start) : j].strip()


def replace_block(text: str, block: str, name: str = "table") -> str:
    """``text`` with the part between the markers of block ``name`` replaced by ``block``."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"no {start} ... {end} block in the text")
    return text[: i + len(start)] + "\n" + block.strip() + "\n" + text[j:]


def update_markdown(path: Path | str, blocks: Mapping[str, str]) -> list[str]:
    """Regenerate every marked block of a Markdown file from ``blocks`` (name -> content),
    atomically; refuse a file with no block, or with a block that ``blocks`` lacks (it would
    stay stale). Returns the names replaced."""
    from sim.running.results import write_text_atomic

    path = Path(path)
    text = path.read_text("utf-8")
    names = block_names(text)
    if not names:
        raise ValueError(f"{path}: no <!-- compare-NAME:start --> block to regenerate")
    missing = [n for n in names if n not in blocks]
    if missing:
        raise ValueError(f"{path}: no generator for the block(s) {', '.join(missing)}")
    for name in names:
        text = replace_block(text, blocks[name], name)
    write_text_atomic(path, text)
    return names


def readme_table(folder: Path | str, lang: Lang = "en") -> str:
    """The Markdown table of a comparison folder (from its ``comparison.csv`` and manifest):
    the same text as :func:`markdown` on the comparison that wrote the folder."""
    folder = Path(folder)
    table = pd.read_csv(folder / "comparison.csv", keep_default_na=True)
    table["significant"] = table["significant"].map(lambda v: str(v).lower() == "true")
    info = read_manifest(folder, ("compare",))
    return markdown(table, info, lang)

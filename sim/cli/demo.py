"""The demo job behind ``make demo``: the étape 2 scenarios compared (common random numbers),
then their charts and report for presenters, in French; and the generated blocks of the README
and ``docs/compare.md`` (tables and figures regenerated from that one comparison)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
from rich.table import Table

from sim.analysis.compare import (
    Comparison,
    build,
    capacity_rises,
    compare_files,
    with_exit_channels,
)
from sim.inputs.scenario import DisplayName, FreeParameter, Scenario
from sim.outputs.comparison import (
    labelled,
    markdown,
    rich_tables,
    update_markdown,
    write_comparison,
)
from sim.outputs.formats import DASH, decimals_for, difference_unit, interval, number
from sim.outputs.i18n import Lang
from sim.running.results import write_text_atomic
from sim.running.runner import RunResult, default_workers, run
from sim.running.statistics import paired_difference

SCENARIO_DIR = Path("scenarios")
DEMO_METRICS = ("street", "waiting", "occupancy", "blocked", "entries-exits")
DOCS = Path("docs") / "compare.md"
MARKDOWN_TABLE = "comparison-readme.md"
"""The demo's table in Markdown, as the README shows it (English)."""
"""Regenerated with the README (relative to the README's folder), from the same comparison."""
DIFF_EXAMPLE = ("etape2-610.yaml", "etape2-610-fluid.yaml")
HELD_FROM = dt.date(2022, 1, 1)
"""The 400-place variant keeps ASSORE's capacity schedule before this date (400 places since
August 2020), dropping the 2022-2023 rises to 440, 510 and 610."""


def assore_held_at_400(reference: Scenario) -> Scenario:
    """``reference`` with ASSORE held at its 2021 size (the rises from 2022 on removed): the
    "400 places, downstream unchanged" side of the audit's mechanism."""
    assore = reference.nodes["assore"]
    steps = getattr(assore, "capacity", None)
    if not isinstance(steps, list):
        raise ValueError("ASSORE's capacity is not a schedule")
    held = assore.model_copy(update={"capacity": [s for s in steps if s.start < HELD_FROM]})
    title = DisplayName(
        fr="Étape 2 avec ASSORE maintenu à 400 places, aval inchangé",
        en="Stage 2 with ASSORE held at 400 places, downstream unchanged",
    )
    return reference.model_copy(
        update={
            "name": "etape2-400-held",
            "title": title,
            "nodes": {**reference.nodes, "assore": held},
        }
    )


def mechanism_runs(
    comp: Comparison,
    workers: int = 1,
    parameter_sets: Sequence[Mapping[str, float]] | None = None,
    parameter_spec: Mapping[str, FreeParameter] | None = None,
) -> dict[str, RunResult]:
    """The runs of the mechanism: ASSORE held at 400, the 610 reference and 610 with the
    planned downstream places (the last two reused from ``comp``), with their positive exits
    by channel added to the KPIs. ``parameter_sets``: the posterior draws ``comp`` ran, which
    the held run shares (same draws, same seeds)."""
    reference = comp.runs["etape2-610"]
    n = reference.replications // (len(parameter_sets) if parameter_sets else 1)
    held = run(
        assore_held_at_400(reference.scenario),
        n,
        comp.seed,
        workers,
        parameter_sets=parameter_sets,
        parameter_spec=parameter_spec,
    )
    return {
        "400": with_exit_channels(held),
        "610": with_exit_channels(reference),
        "610+downstream": with_exit_channels(comp.runs["etape2-610-downstream"]),
    }


def _mean(table: pd.DataFrame, kpi: str) -> float:
    return float(table[kpi].mean()) if kpi in table.columns else 0.0


def mechanism_block(runs: Mapping[str, RunResult]) -> str:
    """The audit's mechanism as a Markdown table: each KPI for 400, 610 and 610 with the
    planned downstream, and the paired differences 400 -> 610 and 610 -> 610 + downstream."""
    comp = build(runs)
    tables = comp.tables
    channels = [
        str(c)
        for c in tables["610"].columns
        if str(c).startswith("exits.positive.from.")
        and max(_mean(t, str(c)) for t in tables.values()) >= 0.05
    ]
    channels.sort(key=lambda c: -_mean(tables["610"], c))
    kpis = ["exits.positive.per_month", *channels, "blocked.assore.mean", "utilisation.assore"]
    kpis += ["entries.assore.per_week", "entries.out_of_region.per_month", "street.mean"]
    first, last = comp.meta()["kpi_window"]
    header = f"| KPI, {first[:4]}-{last[:4]} | ASSORE 400 | ASSORE 610 (reference) | "
    header += "610 + planned downstream"
    header += " | Δ 400 → 610 | Δ 610 → 610 + downstream |"
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    table = labelled(comp)
    for kpi in kpis:
        row = table[(table["kpi"] == kpi) & (table["scenario"] == "610")].iloc[0]
        kind, label = str(row["kind"]), str(row["label_en"])
        if kpi.startswith("exits.positive.from."):
            label = "&nbsp;&nbsp;of which from " + label.rsplit(" from ", 1)[-1]
        reference_mean = _mean(tables["610"], kpi)
        # the rule's decimals, but two for the small monthly exit channels
        decimals = 2 if kpi.startswith("exits.") else decimals_for(reference_mean, kind)
        cells = [label]
        for name in runs:
            mean = _mean(tables[name], kpi)
            cells.append(number(mean, "en", decimals, kind))
        for a, b in (("400", "610"), ("610", "610+downstream")):
            p = paired_difference(tables[a][kpi], tables[b][kpi])
            base = _mean(tables[a], kpi)
            unit = difference_unit(kind)
            text = number(p.mean, "en", decimals, unit, signed=True)
            text += " ± " + (interval(p.ci, "en", decimals, unit) or "0")
            text += "\\*" if p.significant else ""
            if kind == "number" and base and math.isfinite(p.mean) and abs(base) > 1e-9:
                text += f" ({number(p.mean / base, 'en', 0, 'share', signed=True)})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"{comp.replications} replications per scenario, seed {comp.seed}, common random "
        f"numbers; KPIs over {first} to {last}. Δ: paired difference ± 95% CI (Student t), "
        "`*` the CI excludes zero, relative change in brackets. ASSORE 400 is `etape2-610` "
        "with the 2022-2023 rises removed (`sim.cli.demo.assore_held_at_400`); the positive exits "
        "are split by the node people left from (channels under 0.05 a month left out)."
    )
    return "\n".join(lines) + "\n\n" + note


def fill_block(result: RunResult, node: str = "assore") -> str:
    """How fast each rise of ``node``'s capacity filled in ``result``, as a Markdown table."""
    lines = [
        "| capacity rise | places | waiting list the day before | filled before the next "
        "change | days to fill: min / median / max |",
        "|---|---:|---:|---:|---:|",
    ]
    for rise in capacity_rises(result, node):
        days = pd.Series(rise.days_to_fill, dtype=float)
        low, high = (number(w, "en", 0) for w in rise.waiting_before)
        span = " / ".join(number(d, "en", 0) for d in (days.min(), days.median(), days.max()))
        span = DASH if days.empty else span
        before, after, available = (
            number(x, "en", 0) for x in (rise.before, rise.after, rise.days_available)
        )
        lines.append(
            f"| {rise.date.isoformat()} | {before} → {after} | {low}–{high} "
            f"| {len(days)} of {rise.replications} (within {available} days) "
            f"| {span} |"
        )
    note = (
        f"From the reference's {result.replications} replications (seed {result.seed}): the "
        "first day the occupancy reaches the new capacity, 0 = the same day."
    )
    return "\n".join(lines) + "\n\n" + note


def crn_block(comp: Comparison) -> str:
    """What common random numbers gained on ``comp``'s table, in a sentence or two."""
    labels = labelled(comp)
    head = labels[labels["headline"]].reset_index(drop=True)
    alt = head[(head["scenario"] != comp.reference) & (head["diff_ci"] > 0)]
    ratio = (alt["diff_ci_independent"] / alt["diff_ci"]).median()
    reduction = alt["variance_reduction"].dropna()
    first = alt[alt["kpi"] == comp.kpis[0]]
    label = f'"{first["label_en"].iloc[0]}"' if len(first) else f"`{comp.kpis[0]}`"
    text = (
        f"On the étape-2 family with {comp.replications} replications, the intervals of the "
        f"differences are {ratio:.1f} times narrower than with independent runs (variance "
        f"{number(float(reduction.median()), 'en', 0, 'share')} smaller, median over "
        f"the table). For {label}, differences come out at "
        f"±{number(float(first['diff_ci'].median()), 'en', 0)} where "
        f"independent runs would give "
        f"±{number(float(first['diff_ci_independent'].median()), 'en', 0)} "
        "(median over the alternatives)."
    )
    if len(reduction):
        low = alt.loc[reduction.index[int(reduction.to_numpy().argmin())]]
        text += (
            f' The smallest gain is on "{low["label_en"]}" for `{low["scenario"]}` '
            f"({number(float(low['variance_reduction']), 'en', 0, 'share')})."
        )
    return text


def diff_block(scenario_dir: Path = SCENARIO_DIR) -> str:
    """``parcours diff`` between the reference and the fluid alternative, as a code block."""
    from sim.inputs.diff import format_diff, resolved, scenario_diff
    from sim.inputs.loading import load_scenario

    a, b = (scenario_dir / f for f in DIFF_EXAMPLE)
    shown_a, shown_b = (f"scenarios/{f}" for f in DIFF_EXAMPLE)
    text = format_diff(
        scenario_diff(resolved(load_scenario(a)), resolved(load_scenario(b))), shown_a, shown_b
    )
    return f"```\n$ parcours diff {shown_a} {shown_b}\n{text.rstrip()}\n```"


def doc_blocks(
    comp: Comparison,
    mechanism: Mapping[str, RunResult] | None = None,
    scenario_dir: Path = SCENARIO_DIR,
) -> dict[str, str]:
    """Every generated block of the README and ``docs/compare.md``, from one comparison of the
    étape-2 family (and the runs of the mechanism, :func:`mechanism_runs`)."""
    blocks = {
        "table": markdown(labelled(comp), comp.meta(), "en"),
        "crn": crn_block(comp),
        "diff": diff_block(scenario_dir),
        "fill": fill_block(comp.runs[comp.reference]),
    }
    if mechanism is not None:
        blocks["mechanism"] = mechanism_block(mechanism)
    return blocks


def limits_block(folder: Path, lang: Lang = "en") -> str:
    """The limits of a comparison folder, as its report states them (:mod:`sim.outputs.caveats`:
    the street counts fitted and checked, the parameters the figures leave open, what the
    intervals hold), one Markdown bullet each."""
    from sim.outputs.caveats import limits
    from sim.outputs.plots import load_folder

    return "\n".join(f"- {paragraph}" for paragraph in limits(load_folder(folder), lang))


def posterior_path(scenario_file: Path) -> Path | None:
    """The posterior file the scenario's calibration block names (None: none)."""
    from sim.inputs.loading import load_scenario

    spec = load_scenario(scenario_file).calibration
    if spec is None or spec.posterior is None:
        return None
    return scenario_file.parent / spec.posterior


def posterior_draws(
    scenario_file: Path,
) -> tuple[list[dict[str, float]] | None, dict[str, FreeParameter] | None]:
    """The posterior draws the scenario's calibration block names (None: no posterior), so the
    demo's intervals include parameter uncertainty."""
    from sim.inputs.loading import load_scenario
    from sim.inputs.parameters import draws

    spec = load_scenario(scenario_file).calibration
    if spec is None or spec.posterior is None:
        return None, None
    sets, parameters = draws(scenario_file.parent / spec.posterior, spec.draws)
    return [dict(values) for values in sets], parameters


def run_demo(
    out: Path,
    replications: int = 20,
    workers: int | None = None,
    readme: Path | None = None,
    docs: Sequence[Path] | None = None,
    width: int = 120,
) -> Iterator[str | Table]:
    """Compare ``scenarios/etape2-*.yaml`` into ``out/etape2-compare-<timestamp>/`` with charts
    and an HTML report; yield a line per thing written. With ``readme``, regenerate the marked
    blocks of ``readme`` and of ``docs`` (default: ``docs/compare.md`` beside the README)
    from this one comparison. The comparison table comes as rich tables for a terminal
    ``width`` characters wide; its Markdown goes to ``MARKDOWN_TABLE`` in the folder."""
    from sim.outputs.plots import plot_folder
    from sim.outputs.report import write_report

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = out / f"etape2-compare-{stamp}"
    files = sorted(SCENARIO_DIR.glob("etape2-*.yaml"))
    workers = workers or default_workers()
    sets, spec = posterior_draws(files[0])
    per_draw = replications if sets is None else max(2, replications // len(sets))
    comp = compare_files(files, per_draw, workers=workers, parameter_sets=sets, parameter_spec=spec)
    posterior = posterior_path(files[0])
    if sets is not None and posterior is not None:  # the limits read its calibration's intervals
        comp.parameters["parameters"] = str(posterior)
    write_comparison(comp, folder, lang="fr")
    drawn = "" if sets is None else f" x {len(sets)} posterior parameter draws"
    yield f"comparison of {len(files)} étape 2 scenarios, {per_draw} replications{drawn}: {folder}"
    yield from rich_tables(comp, "en", width)
    table = folder / MARKDOWN_TABLE
    write_text_atomic(table, markdown(labelled(comp), comp.meta(), "en"))
    yield f"the table in Markdown (as in the README): {table}"
    if readme is not None:
        targets = [readme, *(docs if docs is not None else [readme.parent / DOCS])]
        blocks = doc_blocks(comp, mechanism_runs(comp, workers, sets, spec))
        blocks["limits"] = limits_block(folder)
        for target in targets:
            names = update_markdown(target, blocks)
            yield f"regenerated in {target}: {', '.join(names)}"
    charts = plot_folder(folder, lang="fr", metrics=list(DEMO_METRICS), nodes=["assore"])
    yield f"charts ({len(charts)}): {folder / 'charts'}"
    for chart in charts:
        yield f"  {chart}"
    yield f"report: {write_report(folder, lang='fr')}"

"""The calibration folder (ABC-SMC): history, posterior, diagnostics, checks, charts, report.

Files: ``manifest.json`` (what produced the folder: scenario and its hash, ABC settings,
executor, fit and held-out figures, versions; ``state`` ``running`` from the start, ``complete``
with the outcome at the end), ``history.db`` (pyabc's SQLite history, resumable),
``posterior.parquet`` (equally weighted draws for ``--parameters``), ``generations.csv``
(epsilon, proposals, acceptance rate, effective sample size), ``intervals.csv`` (prior bounds,
posterior 5/50/95%, width ratio and identification per parameter), ``correlations.csv``,
``predictive.csv`` (posterior predictive against every fit and held-out figure), ``charts/``
and ``report.md``.

The charts and the report are drawn from the folder's files (:class:`CalibrationFolder`), so
``parcours plot`` and ``parcours report`` give, in either language, what the calibration wrote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.abc_smc import (
    IDENTIFIED_WIDTH,
    AbcResult,
    AbcSettings,
    correlations,
    fit_observations,
    intervals,
    population_sizes,
    predictive,
    save_posterior,
)
from sim.analysis.calibrate import calibrate, settings_for
from sim.inputs.parameters import read_parameter_sets
from sim.inputs.scenario import Scenario
from sim.outputs import formats, i18n
from sim.outputs.i18n import Lang, t
from sim.running.executors import Executor, make_executor
from sim.running.folders import (
    FolderError,
    FolderMismatchError,
    OutputExistsError,
    calibration_files,
    clear_calibration_folder,
    folder_lock,
    read_manifest,
)
from sim.running.results import manifest, write_atomic, write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PREDICTIVE_DRAWS = 50
"""Posterior draws (one replication each) for the predictive check."""
CHARTS = ("parameters", "correlations", "predictive")
"""The calibration folder's charts (``charts/<name>.png``)."""
SETTINGS_CHECKED = (
    "population",
    "generations",
    "replications",
    "seed",
    "minimum_epsilon",
    "first_population",
    "intermediate_population",
    "chunk_size",
    "early_rejection",
)
"""The ABC settings a resumed calibration must share with the one it continues."""


def run_calibration(
    scenario: Scenario,
    out: Path | str,
    seed: int = 1,
    population: int | None = None,
    generations: int | None = None,
    replications: int | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    lang: str = "en",
) -> tuple[AbcResult, pd.DataFrame]:
    """Calibrate ``scenario`` by ABC-SMC into the folder ``out`` (:func:`~sim.analysis.calibrate.
    calibrate`: the effort options default to its calibration block) and write every output,
    the charts and ``report.md`` in ``lang``; return the result and the posterior predictive
    check (one row per targeted figure).

    The manifest is written first (``state: running``) and completed last. An existing folder
    is continued with ``resume`` (from its ``history.db``; the manifest must name the same
    scenario and settings) or started again with ``force`` (only a calibration folder, and
    only the files parcours wrote there are deleted); a folder being written by another
    process is refused at once."""
    language = i18n.check_lang(lang)
    out = Path(out)
    settings = settings_for(scenario, seed, population, generations, replications)
    with folder_lock(out):
        previous = _prepare(out, scenario, settings, resume, force)
        owned = executor is None
        executor = executor or make_executor(workers)
        try:
            info = _running_manifest(scenario, settings, executor, previous)
            out.mkdir(parents=True, exist_ok=True)
            _write_manifest(out, info)
            started = time.perf_counter()
            result = calibrate(
                scenario, out, seed, population, generations, replications,
                resume=resume, executor=executor, progress=progress,
            )  # fmt: skip
            check = predictive(result, PREDICTIVE_DRAWS, executor)
            seconds = time.perf_counter() - started
        finally:
            if owned:
                executor.close()
        _write_outputs(result, check, out)
        info = _complete(info, result, seconds)
        folder = CalibrationFolder.read(out, info)
        write_charts(folder, out / "charts", language)
        write_text_atomic(out / "report.md", report_markdown(folder, language))
        _write_manifest(out, info)  # last: a complete manifest means a complete folder
    return result, check


def _prepare(
    out: Path, scenario: Scenario, settings: AbcSettings, resume: bool, force: bool
) -> dict[str, Any] | None:
    """Check the folder before anything runs; return the manifest a resumed folder holds."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    if not (resume or force):
        raise OutputExistsError(f"{out} exists: continue with --resume or replace with --force")
    calibration_files(out)  # a calibration folder holding nothing a user owns, else one line
    if not resume:
        clear_calibration_folder(out)
        return None
    try:
        info = read_manifest(out, ("calibrate",))
    except FolderError:
        return None  # written before calibrations had a manifest: nothing to check
    _check_same(out, info, scenario, settings)
    return info


def _check_same(out: Path, info: dict[str, Any], scenario: Scenario, settings: AbcSettings) -> None:
    """A resumed calibration continues the same scenario with the same settings."""
    was = (info.get("scenarios") or [{}])[0]
    if was.get("sha256") != scenario.digest():
        raise FolderMismatchError(
            f"{out}: holds a calibration of scenario {was.get('name')!r} "
            f"(sha256 {str(was.get('sha256'))[:12]}), not of this {scenario.name!r} "
            f"(sha256 {scenario.digest()[:12]}); --resume continues the same scenario: "
            "choose another --out"
        )
    abc = info.get("abc") or {}
    now = dataclasses.asdict(settings)
    differ = [f"{k} {abc.get(k)!r} -> {now[k]!r}" for k in SETTINGS_CHECKED if abc.get(k) != now[k]]
    if differ:
        raise FolderMismatchError(
            f"{out}: --resume needs the settings it was started with ({', '.join(differ)}); "
            "use the same options, or choose another --out"
        )


def _running_manifest(
    scenario: Scenario,
    settings: AbcSettings,
    executor: Executor,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    fit = list(fit_observations(scenario))
    held_out = [
        n for n, o in scenario.observations.items() if o.role == "validate" and o.target is not None
    ]
    info = manifest(
        "calibrate",
        [scenario],
        settings.seed,
        settings.replications,
        0.0,
        {
            "state": "running",
            "abc": {
                **dataclasses.asdict(settings),
                "population_sizes": population_sizes(settings),
            },
            "executor": {"name": executor.name, "workers": executor.workers},
            "fit": fit,
            "held_out": held_out,
            "predictive_draws": PREDICTIVE_DRAWS,
        },
    )
    if previous is not None:  # resumed: keep when it started, note each resumption
        info["created"] = previous.get("created", info["created"])
        info["resumed"] = [*previous.get("resumed", []), _now()]
    return info


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _complete(info: dict[str, Any], result: AbcResult, seconds: float) -> dict[str, Any]:
    last = result.generations.iloc[-1]
    return {
        **info,
        "state": "complete",
        "completed": _now(),
        "wall_seconds": round(seconds, 3),
        "outcome": {
            "generations_done": len(result.generations),
            "final_epsilon": float(last["epsilon"]),
            "final_ess": float(last["ess"]),
            "final_particles": int(last["accepted"]),
            "largest_weight": float(result.posterior["weight"].max()),
            "sampling_seconds": float(result.generations["seconds"].sum()),
        },
    }


def _write_manifest(out: Path, info: dict[str, Any]) -> None:
    write_text_atomic(out / "manifest.json", json.dumps(info, indent=2, default=str))


def _csv(path: Path, frame: pd.DataFrame, index: bool = False) -> None:
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=index))


def _write_outputs(result: AbcResult, check: pd.DataFrame, out: Path) -> None:
    def posterior(tmp: Path) -> None:
        save_posterior(result, tmp, max(result.settings.population, 500))

    write_atomic(out / "posterior.parquet", posterior)
    _csv(out / "generations.csv", result.generations)
    _csv(out / "intervals.csv", intervals(result))
    _csv(out / "correlations.csv", correlations(result), index=True)
    _csv(out / "predictive.csv", check)


# --- the folder read back -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CalibrationFolder:
    """A calibration folder's results as its files hold them (what the charts and the
    report are drawn from)."""

    path: Path
    manifest: dict[str, Any]
    scenario: Scenario
    settings: AbcSettings | None
    """None for a folder whose manifest does not record them."""
    generations: pd.DataFrame
    intervals: pd.DataFrame
    correlations: pd.DataFrame
    predictive: pd.DataFrame
    posterior: pd.DataFrame
    """The equally weighted draws of ``posterior.parquet``."""

    @classmethod
    def read(cls, path: Path | str, info: dict[str, Any] | None = None) -> CalibrationFolder:
        """Read the folder ``path`` (``info``: its manifest, if already in hand);
        :class:`~sim.running.results.FolderError` with one line if it is not a complete
        calibration folder."""
        path = Path(path)
        info = info if info is not None else read_manifest(path, ("calibrate",))
        if info.get("state") != "complete":
            raise FolderError(
                f"{path}: an unfinished calibration (state {info.get('state', 'unknown')!r}); "
                "continue it with calibrate --resume"
            )
        missing = [
            n
            for n in ("generations.csv", "intervals.csv", "correlations.csv", "predictive.csv")
            if not (path / n).is_file()
        ]
        if missing or not (path / "posterior.parquet").is_file():
            absent = ", ".join(missing or ["posterior.parquet"])
            raise FolderError(f"{path}: a calibration folder without {absent}")
        scenario = Scenario.model_validate_json(json.dumps(info["scenarios"][0]["resolved"]))
        abc = info.get("abc") or {}
        fields = {f.name for f in dataclasses.fields(AbcSettings)}
        settings = AbcSettings(**{k: v for k, v in abc.items() if k in fields}) if abc else None
        draws, _ = read_parameter_sets(path / "posterior.parquet")
        return cls(
            path=path,
            manifest=info,
            scenario=scenario,
            settings=settings,
            generations=pd.read_csv(path / "generations.csv"),
            intervals=pd.read_csv(path / "intervals.csv"),
            correlations=pd.read_csv(path / "correlations.csv", index_col=0),
            predictive=pd.read_csv(path / "predictive.csv"),
            posterior=draws,
        )


def load_calibration(path: Path | str) -> CalibrationFolder:
    """Read a calibration folder (:meth:`CalibrationFolder.read`)."""
    return CalibrationFolder.read(path)


# --- charts ---------------------------------------------------------------------------------


def calibration_chart(folder: CalibrationFolder, name: str, lang: Lang) -> Figure:
    """One of :data:`CHARTS` of ``folder`` in ``lang``."""
    if name == "parameters":
        return _parameters_chart(folder, lang)
    if name == "correlations":
        return _correlations_chart(folder.correlations, lang)
    if name == "predictive":
        return _predictive_chart(folder, lang)
    raise FolderError(f"unknown calibration chart {name!r} (use one of {', '.join(CHARTS)})")


def write_charts(
    folder: CalibrationFolder,
    target: Path,
    lang: Lang,
    fmt: str = "png",
    force: bool = True,
) -> list[Path]:
    """Draw :data:`CHARTS` into ``target`` (``<name>.<fmt>``); existing files are replaced
    only with ``force``. Returns the files written."""
    from sim.outputs import style

    if fmt not in style.FORMATS:
        raise FolderError(f"unknown format {fmt!r} (use {', '.join(style.FORMATS)})")
    paths = [target / f"{name}.{fmt}" for name in CHARTS]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise FolderError(f"{existing[0]}{more} exist; use --force to replace them")
    for name, path in zip(CHARTS, paths, strict=True):
        style.save(calibration_chart(folder, name, lang), path, fmt, salt=name)
    return paths


def _parameters_chart(folder: CalibrationFolder, lang: Lang) -> Figure:
    spec = folder.scenario.calibration
    assert spec is not None
    names = list(spec.parameters)
    cols = 4
    rows = -(-len(names) // cols)
    fig = _figure((3.2 * cols, 2.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        p = spec.parameters[name]
        log = p.prior == "loguniform"
        bins = np.geomspace(p.lower, p.upper, 25) if log else np.linspace(p.lower, p.upper, 25)
        ax.hist(folder.posterior[name], bins=bins, density=True, label=t("cal.posterior", lang))
        if log:
            ax.plot(bins, 1.0 / (np.log(p.upper / p.lower) * bins), color="grey",
                    label=t("cal.prior", lang))  # fmt: skip
            ax.set_xscale("log")
        else:
            ax.axhline(1.0 / (p.upper - p.lower), color="grey", label=t("cal.prior", lang))
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(t("cal.chart_parameters", lang))
    return fig


def _correlations_chart(corr: pd.DataFrame, lang: Lang) -> Figure:
    fig = _figure((7, 6))
    ax = fig.subplots()
    image = ax.imshow(corr.to_numpy(float), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(corr)), list(corr.columns), rotation=90, fontsize=7)
    ax.set_yticks(range(len(corr)), list(corr.index), fontsize=7)
    fig.colorbar(image, ax=ax, label=t("cal.chart_correlation", lang))
    fig.suptitle(t("cal.correlations", lang))
    return fig


def _label(folder: CalibrationFolder, name: str, fallback: str, lang: Lang) -> str:
    obs = folder.scenario.observations.get(name)
    return (obs.labelled(lang) if obs is not None else "") or fallback or name


def _predictive_chart(folder: CalibrationFolder, lang: Lang) -> Figure:
    check = folder.predictive
    fig = _figure((8, 0.4 * len(check) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(check))[::-1]
    scale = check["tolerance"].to_numpy(float)
    lo = (check["q05"] - check["target"]).to_numpy(float) / scale
    hi = (check["q95"] - check["target"]).to_numpy(float) / scale
    mid = (check["mean"] - check["target"]).to_numpy(float) / scale
    colours = ["tab:blue" if r == "fit" else "tab:orange" for r in check["role"]]
    ax.hlines(y, lo, hi, colors=colours, lw=3)
    ax.scatter(mid, y, color="black", zorder=3, s=12)
    ax.axvspan(-1, 1, color="green", alpha=0.1)
    ax.axvline(0, color="green")
    labels = [
        f"{_label(folder, str(n), str(lab), lang)[:60]} ({t(f'cal.role.{role}', lang)})"
        for n, lab, role in zip(check["observation"], check["label"], check["role"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(t("cal.chart_predictive_x", lang))
    ax.set_title(t("cal.chart_predictive", lang))
    return fig


def _figure(size: tuple[float, float]) -> Figure:
    """A figure on its own canvas (no pyplot: nothing global, no backend chosen); matplotlib
    loads only when a calibration's charts are drawn."""
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="tight")


# --- the report -----------------------------------------------------------------------------


def _cell(value: Any, lang: Lang) -> str:
    if isinstance(value, bool | np.bool_):
        return t("cal.yes" if value else "cal.no", lang)
    if isinstance(value, float | np.floating):
        return formats.significant(value, lang)  # 36,741, not 3.674e+04
    return str(value)


def _md(frame: pd.DataFrame, lang: Lang) -> list[str]:
    names = [str(c) for c in frame.columns]
    cols = [t(f"cal.col.{c}", lang) if f"cal.col.{c}" in i18n.LABELS else c for c in names]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        out.append("| " + " | ".join(_cell(v, lang) for v in row) + " |")
    return out


LOW_ESS_SHARE = 0.1
"""An effective sample size below this share of the particles: the posterior is approximate."""
DEGENERATE_ESS = 10.0
"""An effective sample size below this many particles: the weights are degenerate."""


def weights_verdict(
    generations: pd.DataFrame, largest_weight: float | None, lang: Lang = "en"
) -> str:
    """The final generation's effective sample size, and a warning when it is low (the
    intervals are approximate) or degenerate (the posterior rests on a few particles)."""
    last = generations.iloc[-1]
    ess, n = float(last["ess"]), int(last["accepted"])
    text = t("cal.ess", lang, ess=formats.number(ess, lang, 1), n=n)
    if largest_weight is not None:
        largest = formats.number(largest_weight, lang, 0, "share")
        text += " " + t("cal.largest_weight", lang, share=largest)
    if ess < DEGENERATE_ESS:
        text += " " + t("cal.ess_degenerate", lang)
    elif ess < LOW_ESS_SHARE * n:
        share = formats.number(LOW_ESS_SHARE, lang, 0, "share")
        text += " " + t("cal.ess_low", lang, share=share, ess=formats.number(ess, lang, 0))
    return text


def _verdict(folder: CalibrationFolder, lang: Lang) -> list[str]:
    """How many figures are met, and how far off the others are (in % of their target)."""
    check = folder.predictive
    lines = []
    for role in ("fit", "validate"):
        rows = check[check["role"] == role]
        if rows.empty:
            continue
        met = int(rows["met"].astype(bool).sum())
        lines.append("- " + t(f"cal.met.{role}", lang, met=met, n=len(rows)))
        missed = rows[~rows["met"].astype(bool)]
        for name, mean, target, tol in zip(
            missed["observation"], missed["mean"], missed["target"], missed["tolerance"],
            strict=True,
        ):  # fmt: skip
            m, tg = float(mean), float(target)
            off = (m / tg - 1.0) * 100.0 if tg else math.nan
            values = (_cell(m, lang), _cell(tg, lang), _cell(float(tol), lang))
            pct = f"{off:+.0f}\u00a0%" if lang == "fr" else f"{off:+.0f}%"
            missed_text = t("cal.missed", lang, mean=values[0], target=values[1], tol=values[2])
            lines.append(f"  - {name}: {missed_text} ({pct})")
    return lines


def not_identified(folder: CalibrationFolder) -> list[str]:
    """The parameters whose posterior 90% interval stays wider than
    :data:`~sim.analysis.abc_smc.IDENTIFIED_WIDTH` of the prior's (``intervals.csv``)."""
    table = folder.intervals
    return [str(n) for n, ok in zip(table["parameter"], table["identified"], strict=True) if not ok]


def _method(folder: CalibrationFolder, lang: Lang) -> str:
    from sim.analysis.abc_proposal import (
        DEGREES_OF_FREEDOM,
        FIT_ESS_SHARE,
        PRIOR_SHARE,
        SCALING,
    )

    s = folder.settings
    sampling = float(folder.generations["seconds"].sum()) / 60
    seconds = float(folder.manifest.get("wall_seconds") or 0.0) / 60
    head = (
        t(
            "cal.settings",
            lang,
            seed=s.seed,
            generations=s.generations,
            sizes=", ".join(str(n) for n in population_sizes(s)),
            replications=s.replications,
        )
        if s is not None
        else t("cal.settings_unknown", lang)
    )
    text = (
        head
        + " "
        + t(
            "cal.minutes",
            lang,
            sampling=_cell(round(sampling, 1), lang),
            command=_cell(round(seconds, 1), lang),
        )
        + " "
        + t(
            "cal.proposal",
            lang,
            df=formats.significant(DEGREES_OF_FREEDOM, lang),
            ess=formats.number(FIT_ESS_SHARE, lang, 0, "share"),
            scaling=_cell(float(SCALING), lang),
            prior=formats.number(PRIOR_SHARE, lang, 0, "share"),
        )
    )
    if s is not None and s.early_rejection:
        text += " " + t("cal.early", lang)
    if s is not None and s.minimum_epsilon > 0:
        text += " " + t("cal.stop", lang, eps=_cell(float(s.minimum_epsilon), lang))
    return text


@dataclasses.dataclass(frozen=True)
class Section:
    """A section of the calibration's report."""

    id: str
    heading: str
    """Empty for the opening paragraph."""
    lines: list[str]
    """Markdown."""
    chart: str = ""
    """One of :data:`CHARTS`, drawn after the text in the HTML report."""


def report_sections(folder: CalibrationFolder, lang: Lang) -> list[Section]:
    """The report's sections; the Markdown report and the HTML one
    (:func:`sim.outputs.report.render_calibration`) are both made of them."""
    corr = folder.correlations
    pairs = [
        (a, b, float(corr.loc[a, b]))
        for i, a in enumerate(corr.index)
        for b in corr.columns[i + 1 :]
        if abs(float(corr.loc[a, b])) >= 0.4
    ]
    outcome = folder.manifest.get("outcome") or {}
    largest = outcome.get("largest_weight")
    check = folder.predictive.copy()
    check["label"] = [
        _label(folder, str(n), str(lab), lang)
        for n, lab in zip(check["observation"], check["label"], strict=True)
    ]
    check["role"] = [t(f"cal.role.{r}", lang) for r in check["role"]]
    open_names = not_identified(folder)
    limit = (
        t("cal.not_identified", lang, names=", ".join(open_names), share=_share(lang))
        if open_names
        else t("cal.all_identified", lang, share=_share(lang))
    )
    ratio = folder.intervals.copy()
    return [
        Section("method", "", [_method(folder, lang), t("cal.distance", lang)]),
        Section(
            "generations",
            t("cal.generations", lang),
            [
                *_md(folder.generations, lang),
                "",
                weights_verdict(folder.generations, largest, lang),
            ],
        ),
        Section(
            "parameters",
            t("cal.parameters", lang),
            [t("cal.parameters_note", lang, share=_share(lang)), "", *_md(ratio, lang)],
            "parameters",
        ),
        Section(
            "correlations",
            t("cal.correlations", lang),
            [f"- {a} / {b}: {_cell(round(r, 2), lang)}" for a, b, r in pairs]
            or [f"- {t('cal.none', lang)}"],
            "correlations",
        ),
        Section(
            "predictive",
            t("cal.predictive", lang),
            [
                t(
                    "cal.predictive_note",
                    lang,
                    draws=folder.manifest.get("predictive_draws", PREDICTIVE_DRAWS),
                ),
                "",
                *_md(
                    check[["label", "role", "target", "tolerance", "mean", "q05", "q95", "met"]],
                    lang,
                ),
                "",
                *_verdict(folder, lang),
            ],
            "predictive",
        ),
        Section("limits", t("cal.limits", lang), [limit]),
    ]


def _share(lang: Lang) -> str:
    return formats.number(IDENTIFIED_WIDTH, lang, 0, "share")


def report_markdown(folder: CalibrationFolder, lang: Lang = "en") -> str:
    """The calibration's ``report.md``: settings, generations, intervals, correlations,
    predictive checks, limits; the charts named."""
    lines = [f"# {t('cal.title', lang, name=folder.scenario.name)}", ""]
    for section in report_sections(folder, lang):
        if section.heading:
            lines += [f"## {section.heading}", ""]
        lines += [*section.lines, ""]
    charts = ", ".join(f"charts/{name}.png" for name in CHARTS)
    lines += [t("cal.charts", lang, charts=charts), ""]
    return "\n".join(lines)

"""The calibration folder: streamed evaluations (resumable), fitted scenario, posterior,
targets against simulated values, charts and a Markdown report."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shlex
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.analysis.calibrate import (
    CalibrationResult,
    Evaluation,
    OnEvaluation,
    ParameterSpace,
    calibrate,
    correlations,
    evaluations_frame,
    evaluations_from_frame,
    save_posterior,
    targets_table,
    to_json,
)
from sim.inputs.loading import load_scenario
from sim.inputs.parameters import scenario_data
from sim.inputs.paths import resolve_path
from sim.inputs.scenario import Scenario
from sim.outputs.i18n import Lang
from sim.running.executors import Executor, make_executor
from sim.running.folders import check_destination, check_replaceable, folder_lock
from sim.running.results import (
    OutputExistsError,
    git_commit,
    manifest,
    put_in_place,
    versions,
    write_run,
)
from sim.running.runner import RunResult, run


class EvaluationLog:
    """Appends each evaluation to ``<folder>/evaluations/`` as it completes (atomic files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "evaluations"
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, evaluation: Evaluation) -> None:
        frame = evaluations_frame([evaluation])
        final = self.folder / f"eval-{evaluation.index:06d}.parquet"
        tmp = self.folder / f".{final.name}.{uuid.uuid4().hex[:8]}"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, final)

    @staticmethod
    def load(folder: Path, names: list[str]) -> list[Evaluation]:
        parts = sorted((folder / "evaluations").glob("eval-*.parquet"))
        if not parts:
            return []
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        return evaluations_from_frame(frame, names)


def partial_folder(out: Path) -> Path:
    """Where an unfinished calibration keeps its evaluations."""
    return out.parent / f".{out.name}.partial"


def command_line(
    scenario_path: Path | str,
    seed: int,
    budget: int,
    replications: int,
    overrides: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> str:
    """The ``parcours calibrate`` command that reproduces a fit (effort written out in full)."""
    parts = ["parcours", "calibrate", str(scenario_path)]
    for override in overrides:
        parts += ["--set", override]
    parts += ["--budget", str(budget), "-n", str(replications), "--seed", str(seed), *extra]
    return shlex.join(parts)


def run_calibration(
    scenario_path: Path,
    out: Path,
    replications: int | None = None,
    seed: int = 1,
    budget: int | None = None,
    workers: int = 1,
    resume: bool = False,
    force: bool = False,
    overrides: tuple[str, ...] = (),
    progress: OnEvaluation | None = None,
    lang: Lang = "en",
    executor: Executor | None = None,
) -> tuple[Path, CalibrationResult, RunResult]:
    """Calibrate, check the best fit with twice the replications, and write the folder (its
    charts in ``lang``).

    ``progress`` is called with each evaluation and whether it was reloaded by ``resume``."""
    with folder_lock(out):
        check_destination(out, force)
        return _calibrate_into(
            scenario_path, out, replications, seed, budget, workers, resume, force,
            overrides, progress, lang, executor,
        )  # fmt: skip


def _calibrate_into(
    scenario_path: Path,
    out: Path,
    replications: int | None,
    seed: int,
    budget: int | None,
    workers: int,
    resume: bool,
    force: bool,
    overrides: tuple[str, ...],
    progress: OnEvaluation | None,
    lang: Lang,
    executor: Executor | None,
) -> tuple[Path, CalibrationResult, RunResult]:
    scenario = load_scenario(scenario_path, overrides)
    if scenario.calibration is None:
        raise ValueError(f"{scenario_path}: no calibration block (see docs/calibration.md)")
    work = partial_folder(out)
    if work.exists() and not resume:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    names = list(scenario.calibration.parameters)
    known = EvaluationLog.load(work, names) if resume else []
    log = EvaluationLog(work)

    def record(evaluation: Evaluation, reloaded: bool) -> None:
        if not reloaded:
            log(evaluation)
        if progress is not None:
            progress(evaluation, reloaded)

    owned = executor is None
    executor = executor or make_executor(workers)
    try:
        result = calibrate(
            scenario, replications, seed, budget, known=known, on_evaluation=record,
            executor=executor,
        )  # fmt: skip
        check = run(result.calibrated, 2 * result.replications, seed, executor=executor)
    finally:
        if owned:
            executor.close()
    effort = budget or scenario.calibration.budget
    command = command_line(scenario_path, seed, effort, result.replications, overrides)
    _write_outputs(work, scenario_path, result, check, overrides, command, lang)
    if out.exists() or out.is_symlink():
        if not force:
            raise OutputExistsError(f"{out} exists; use --force to replace it")
        check_replaceable(out)  # again: it may have changed while the calibration ran
    put_in_place(work, out)
    return out, result, check


def _write_outputs(
    folder: Path,
    scenario_path: Path,
    result: CalibrationResult,
    check: RunResult,
    overrides: tuple[str, ...],
    command: str,
    lang: Lang = "en",
) -> None:
    from sim.outputs.calibration_plots import save_charts

    result.evaluations_frame().to_parquet(folder / "evaluations.parquet", index=False)
    save_posterior(result, folder / "posterior.parquet")
    write_run(check, folder / "runs" / "best", force=True)
    targets = targets_table(check)
    targets.to_csv(folder / "targets.csv", index=False)
    result.identification.to_csv(folder / "identification.csv", index=False)
    stamp = dt.date.today().isoformat()
    run_id = f"{command} ({stamp})"
    extends = os.path.relpath(scenario_path.resolve(), folder.resolve())  # same depth as out
    (folder / "calibrated.yaml").write_text(
        calibrated_yaml(result, extends, run_id, provenance(result), overrides),
        encoding="utf-8",
    )
    charts = save_charts(folder, result, check, lang)
    (folder / "report.md").write_text(report_markdown(result, check, charts, run_id), "utf-8")
    info = manifest(
        "calibrate",
        [result.scenario, result.calibrated],
        result.seed,
        result.replications,
        result.seconds,
        {"calibration": to_json(result), "overrides": list(overrides)},
    )
    (folder / "manifest.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")


# --- the fitted scenario as a file that extends the original ----------------------------------
def provenance(result: CalibrationResult) -> str:
    """What else fixes the numbers: the code's commit and versions, the scenario's digest."""
    found = versions()
    packages = ", ".join(f"{k} {v}" for k, v in found.items())
    return (
        f"git commit {git_commit() or 'unknown'}; scenario sha256 "
        f"{result.scenario.digest()[:16]}; {packages}"
    )


def calibrated_yaml(
    result: CalibrationResult,
    extends: str,
    run_id: str,
    produced_by: str = "",
    overrides: Sequence[str] = (),
) -> str:
    """``extends`` the original and sets the fitted numbers, each with a comment, and what the
    ``--set`` ``overrides`` changed (the fit holds only with them).

    The header holds what reproduces the fit: the command (scenario, ``--set`` overrides,
    budget, replications, seed), the rejection-sample settings and ``produced_by``."""
    spec = result.scenario.calibration
    assert spec is not None
    fitted = scenario_data(result.calibrated)
    written: dict[str, Any] = {}
    comments: dict[tuple[Any, ...], str] = {}

    def copy(path: str, whole_mapping: bool, comment: str) -> None:
        parts: list[Any] = resolve_path(fitted, path)  # -1 counts from the end, as for --set
        cut = next((i for i, p in enumerate(parts) if isinstance(p, int)), len(parts))
        if whole_mapping:
            cut = len(parts) - 1
        container = tuple(parts[:cut])
        value: Any = fitted
        for p in container:
            value = value[p]
        _set_nested(written, container, value)
        comments[tuple(parts)] = comment

    for override in overrides:
        path = override.split("=", 1)[0].strip()
        if path.split(".")[0] in ("name", "extends", "calibration"):
            continue
        try:
            copy(path, False, f"--set {override} when calibrating")
        except (KeyError, IndexError, TypeError):
            continue  # removed by the override (null): nothing to copy
    for name, parameter in spec.parameters.items():
        for path in parameter.paths:
            copy(
                path,
                parameter.rescale_siblings,
                f"calibrated: {name} = {result.best.values[name]:.6g} in "
                f"[{parameter.lower:g}, {parameter.upper:g}] ({parameter.prior}); {run_id}",
            )
    header = [
        f"# {result.scenario.name}, calibrated. Reproduce with:",
        f"#   {run_id}",
        f"# (rejection sample from its calibration: block: {spec.abc_samples} draws x "
        f"{spec.abc_replications} replications; the number of workers does not change results)",
        *([f"# Produced with {produced_by}."] if produced_by else []),
        f"# Distance {result.best.distance:.3f} (RMS of tolerance-scaled misses on fit targets);",
        f"# {_searched(result)} search evaluations x {result.replications} replications; "
        "see report.md.",
        "",
        f"extends: {extends}",
        f"name: {result.scenario.name}-calibrated",
    ]
    body = _dump(written, (), comments, 0)
    return "\n".join(header + body) + "\n"


def _searched(result: CalibrationResult) -> int:
    return sum(1 for e in result.evaluations if e.stage != "abc")


def _set_nested(target: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        target = target.setdefault(p, {})
    target[path[-1]] = value


def _dump(
    data: Any, path: tuple[Any, ...], comments: dict[tuple[Any, ...], str], depth: int
) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for key, value in data.items():
        here = (*path, key)
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines += _dump(value, here, comments, depth + 1)
        elif isinstance(value, list):
            lines.append(f"{pad}{key}:")
            for i, item in enumerate(value):
                flow = yaml.safe_dump(item, default_flow_style=True, sort_keys=False).strip()
                note = next(
                    (c for p, c in comments.items() if p[: len(here) + 1] == (*here, i)),
                    comments.get(here, "") if i == 0 else "",  # a whole schedule: on its first step
                )
                lines.append(f"{pad}  - {flow}" + (f"   # {note}" if note else ""))
        else:
            note = comments.get(here, "")
            scalar = (
                yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
            )
            lines.append(f"{pad}{key}: {scalar}" + (f"   # {note}" if note else ""))
    return lines


# --- report ---------------------------------------------------------------------------------
def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def _table(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    return lines


def report_markdown(
    result: CalibrationResult, check: RunResult, charts: list[Path], run_id: str
) -> str:
    """The calibration report: fit, validation, parameters, identification, charts."""
    targets = targets_table(check)
    spec = result.scenario.calibration
    assert spec is not None
    lines = [
        f"# Calibration of {result.scenario.name}",
        "",
        f"{run_id}: {_searched(result)} search evaluations of {result.replications} replications "
        f"each (common random numbers) and {len(result.evaluations) - _searched(result)} "
        f"rejection-sample draws, {result.seconds / 60:.1f} minutes. Best distance "
        f"{result.best.distance:.3f} (evaluation {result.best.index}, root mean square of "
        "(simulated - target) / tolerance over the fit targets). The best parameters were "
        f"checked with {check.replications} replications; 95% confidence intervals below.",
        "",
        "## Fitted targets",
        "",
    ]
    lines += _table(
        targets[targets["role"] == "fit"], ["label", "target", "tolerance", "mean", "ci95", "met"]
    )
    lines += ["", "## Validation figures (never fitted)", ""]
    lines += _table(
        targets[targets["role"] == "validate"],
        ["label", "target", "tolerance", "mean", "ci95", "met"],
    )
    params = pd.DataFrame(
        [
            {
                "parameter": n,
                "path": ", ".join(p.paths),
                "bounds": f"[{p.lower:g}, {p.upper:g}] {p.prior}",
                "fitted": result.best.values[n],
                "source": p.source or "",
            }
            for n, p in spec.parameters.items()
        ]
    )
    lines += ["", "## Parameters", ""]
    lines += _table(params, ["parameter", "path", "bounds", "fitted", "source"])
    design = int(result.identification["design"].iloc[0]) if len(result.identification) else 0
    lines += [
        "",
        "## What the targets identify",
        "",
        f"Approximate Bayesian computation by rejection: of {design} Sobol draws from the prior "
        f"({spec.abc_replications} replications each), {len(result.accepted)} put every fit "
        "target within its "
        "tolerance; they are saved in `posterior.parquet` and can be propagated with "
        "`parcours run --parameters posterior.parquet --draws K`. A parameter whose accepted "
        "5-95% range spans more than 75% of its prior range is not identified by the targets: "
        "its value in `calibrated.yaml` is one choice among many that fit equally well.",
        "",
    ]
    lines += _table(
        result.identification,
        ["parameter", "lower", "upper", "q05", "q95", "width_ratio", "verdict"],
    )
    corr = correlations(ParameterSpace(spec.parameters), result.accepted)
    pairs = [
        f"{a} and {b} (Spearman {corr.loc[a, b]:+.2f})"
        for i, a in enumerate(corr.index)
        for b in corr.columns[i + 1 :]
        if abs(corr.loc[a, b]) >= 0.5
    ]
    if pairs:
        lines += [
            "",
            "Among the accepted sets these move together, so the targets pin down a "
            "combination rather than each value: " + "; ".join(pairs) + ".",
        ]
    lines += ["", "## Charts", ""]
    lines += [f"![{c.stem}](charts/{c.name})" for c in charts]
    return "\n".join(lines) + "\n"


def load_calibrated(folder: Path) -> Scenario:
    """The calibrated scenario of a calibration folder."""
    return load_scenario(folder / "calibrated.yaml")

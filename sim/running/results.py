"""Results folders: written atomically, never overwritten without ``force``, with a manifest
recording what produced them; and read back for comparisons and charts."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.inputs.scenario import Scenario
from sim.running.folders import (
    FolderError,
    OutputExistsError,
    check_replaceable,
    folder_lock,
    read_manifest,
)
from sim.running.periods import Period, series_table
from sim.running.runner import RunResult

__all__ = ["OutputExistsError", "atomic_dir", "load_run", "write_run"]

PACKAGES = (
    "parcours",
    "simpy",
    "numpy",
    "scipy",
    "pandas",
    "pydantic",
    "pyarrow",
    "matplotlib",
    "pyabc",
)


@contextlib.contextmanager
def atomic_dir(final: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it into place only on success.

    The folder is locked meanwhile (:func:`~sim.running.folders.folder_lock`). An existing
    ``final`` is replaced only with ``force`` and only if parcours wrote it
    (:func:`~sim.running.folders.check_replaceable`), checked again at the end. A crash
    leaves no half-written folder under the final name (only a hidden temporary one, removed
    here when the error is a Python exception, the final rename's included).
    """
    final = Path(final)
    with folder_lock(final):
        _check_target(final, force)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            yield tmp
            _check_target(final, force)  # it may have appeared while the work ran
            put_in_place(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _check_target(final: Path, force: bool) -> None:
    if final.exists() or final.is_symlink():
        if not force:
            raise OutputExistsError(f"{final} exists; use --force to replace it")
        check_replaceable(final)


def put_in_place(tmp: Path, final: Path) -> None:
    """Rename the finished folder ``tmp`` to ``final``, replacing a folder already there
    (put back if the rename fails)."""
    if not (final.exists() or final.is_symlink()):
        tmp.rename(final)
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    final.rename(old)
    try:
        tmp.rename(final)
    except BaseException:
        old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def temporary_path(path: Path) -> Path:
    """A hidden name beside ``path`` to write to before :func:`replace_durably`."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")


def replace_durably(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path`` atomically, and flush the folder's entry where one can."""
    os.replace(tmp, path)
    if os.name == "posix":
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """The one atomic write: ``write`` fills a temporary file beside ``path``, which is flushed
    to disk and renamed into place, so a crash leaves the old file or the new one, never half
    of one."""
    tmp = temporary_path(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as file:
            os.fsync(file.fileno())
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def git_commit() -> str | None:
    """The git commit of the parcours source that is running (with ``-dirty``), if any: the
    code's own, not that of the folder the command is run from."""
    source = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
            cwd=source,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
            cwd=source,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (what ran)."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def manifest(
    kind: str,
    scenarios: Sequence[Scenario],
    seed: int,
    replications: int,
    seconds: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What produced a results folder."""
    return {
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["parcours", *sys.argv[1:]]) if sys.argv else "",
        "git_commit": git_commit(),
        "versions": versions(),
        "seed": seed,
        "replications": replications,
        "wall_seconds": round(seconds, 3),
        "scenarios": [
            {
                "name": s.name,
                "sha256": s.digest(),
                "resolved": s.model_dump(mode="json", by_alias=True),
            }
            for s in scenarios
        ],
        **(extra or {}),
    }


def summary_with_targets(result: RunResult) -> pd.DataFrame:
    """The summary with each observation's target, tolerance and whether the CI covers it."""
    summary = result.summary.copy()
    targets: list[float | None] = []
    tolerances: list[float | None] = []
    roles: list[str | None] = []
    covered: list[bool | None] = []
    observations = result.scenario.observations
    for _, row in summary.iterrows():
        obs = observations.get(str(row["kpi"]).removeprefix("obs."))
        if obs is None or not str(row["kpi"]).startswith("obs.") or obs.target is None:
            targets.append(None)
            tolerances.append(None)
            roles.append(obs.role if obs is not None and row["kpi"].startswith("obs.") else None)
            covered.append(None)
            continue
        targets.append(obs.target)
        tolerances.append(obs.tolerance)
        roles.append(obs.role)
        covered.append(target_met(row["mean"], row["ci95"], obs.target, obs.tolerance))
    summary["target"] = targets
    summary["tolerance"] = tolerances
    summary["role"] = roles
    summary["target_met"] = covered
    return summary


def target_met(mean: float, ci95: float, target: float, tolerance: float | None) -> bool:
    """A target is met when the 95% CI covers it or the mean lies within the tolerance."""
    ci = 0.0 if ci95 != ci95 else ci95  # NaN with one replication
    if abs(mean - target) <= ci:
        return True
    return tolerance is not None and abs(mean - target) <= tolerance


PERIOD_FILES: dict[Period, str] = {"month": "series-by-month.csv", "year": "series-by-year.csv"}
"""Every daily series by month and by year, in every run and comparison folder."""


def write_period_tables(runs: Mapping[str, RunResult], folder: Path) -> list[str]:
    """Write :data:`PERIOD_FILES` into ``folder`` (each scenario's mean and 95% interval of
    every series per period, and the paired difference to the first run); return the names
    written (none when the runs kept no daily series)."""
    if any(r.timeseries.empty for r in runs.values()):
        return []
    written = []
    for by, name in PERIOD_FILES.items():
        write_text_atomic(folder / name, series_table(runs, by).to_csv(index=False))
        written.append(name)
    return written


def write_run(
    result: RunResult, out: Path, force: bool = False, extra: dict[str, Any] | None = None
) -> Path:
    """Write a run folder: manifest, scenario, time series, episodes, KPIs, summary, and the
    series by month and by year (:data:`PERIOD_FILES`)."""
    with atomic_dir(out, force) as tmp:
        result.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
        result.episodes.to_parquet(tmp / "episodes.parquet", index=False)
        result.kpis.to_csv(tmp / "kpis.csv", index=False)
        summary_with_targets(result).to_csv(tmp / "summary.csv", index=False)
        write_period_tables({result.scenario.name: result}, tmp)
        (tmp / "scenario.yaml").write_text(scenario_yaml(result.scenario), encoding="utf-8")
        info = manifest(
            "run",
            [result.scenario],
            result.seed,
            result.replications,
            result.seconds,
            {"events": result.events, **(extra or {})},
        )
        (tmp / "manifest.json").write_text(
            json.dumps(info, indent=2, default=str), encoding="utf-8"
        )
    return Path(out)


def run_paths(folder: Path | str) -> list[Path]:
    """The run folders a results folder holds, in order: a run folder itself, the runs of a
    compare folder (``runs/<name>``)."""
    folder = Path(folder)
    info = read_manifest(folder, ("run", "compare"))
    kind = info.get("kind", "run")
    if kind == "run":
        return [folder]
    names = info.get("run_folders") or [s["name"] for s in info.get("scenarios", [])]
    if not names and (folder / "runs").is_dir():
        names = sorted(p.name for p in (folder / "runs").iterdir() if p.is_dir())
    paths = [folder / "runs" / str(name) for name in names]
    missing = [p.name for p in paths if not (p / "manifest.json").is_file()]
    if missing or not paths:
        raise FolderError(f"{folder}: compare folder without its runs ({', '.join(missing)})")
    return paths


def load_run(folder: Path | str) -> RunResult:
    """Read a run folder back into a :class:`RunResult` (:class:`FolderError` if ``folder`` is
    not one: a compare folder holds its runs under ``runs/``)."""
    folder = Path(folder)
    info = read_manifest(folder, ("run",))
    scenario = Scenario.model_validate_json(json.dumps(info["scenarios"][0]["resolved"]))
    kpis = pd.read_csv(folder / "kpis.csv")
    summary = pd.read_csv(folder / "summary.csv")[["kpi", "mean", "sd", "ci95", "n"]]
    ts_path, ep_path = folder / "timeseries.parquet", folder / "episodes.parquet"
    return RunResult(
        scenario=scenario,
        seed=int(info["seed"]),
        replications=int(info["replications"]),
        kpis=kpis,
        summary=summary,
        timeseries=pd.read_parquet(ts_path) if ts_path.exists() else pd.DataFrame(),
        episodes=pd.read_parquet(ep_path) if ep_path.exists() else pd.DataFrame(),
        events=int(info.get("events", 0)),
        seconds=float(info.get("wall_seconds", 0.0)),
    )


def default_out(name: str, root: Path = Path("results")) -> Path:
    """``results/<name>-<timestamp>``."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{name}-{stamp}"

"""The sweep folder: what persists a sweep's progress, so that a sweep stopped at any moment
resumes where it was and runs only its missing points.

A sweep folder holds ``scenario.yaml`` (the base raw data), ``design.json`` (the parameters and
every point), ``manifest.json`` and, while it runs, Parquet parts in ``parts/``. Finished points
are buffered and written as a part, after which ``manifest.json`` (the parts, the finished and
the failed points) is replaced atomically, each file flushed to disk before its rename. At the
end the parts are merged into ``sweep.parquet`` (one row per point x replication) beside
``points.csv`` (one row per point, computed by the caller) and the parts are removed. A folder
is locked (``filelock``, :func:`sim.running.folders.folder_lock`) while a sweep writes or
resumes it. The readers (:func:`load_rows`, :func:`plan_from_folder`, with
:func:`sim.running.folders.read_manifest`)
work on a running or interrupted sweep too.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.inputs.loading import load_raw, load_scenario, validate_data
from sim.inputs.sweep_plan import SweepPlan, check_points, decode_value, encode_point
from sim.inputs.sweep_spec import plain
from sim.running.folders import MANIFEST, FolderError, OutputExistsError, folder_lock, read_manifest
from sim.running.results import (
    atomic_dir,
    manifest,
    write_atomic,
    write_text_atomic,
)

META_COLUMNS = ("point", "replication", "seed")
EXTRA_COLUMNS = ("events",)
SCENARIO_FILE = "scenario.yaml"
DESIGN_FILE = "design.json"
TABLE_FILE = "sweep.parquet"
POINTS_FILE = "points.csv"
PARTS = "parts"

PointsTable = Callable[[pd.DataFrame, dict[int, str]], pd.DataFrame]
"""Makes ``points.csv`` from the rows of a sweep and its failed points (point -> error)."""


class SweepError(FolderError):
    """A sweep folder cannot be used as asked (not a sweep, or made with another design)."""


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """One replication of one point: its KPIs, or the error it raised."""

    point: int
    replication: int
    kpis: dict[str, float] | None
    error: str | None
    events: int = 0
    seconds: float = 0.0
    """Time spent inside the replication (for the machinery's overhead; not in the tables)."""


# --- the columns of the tables --------------------------------------------------------------------


def column_kinds(plan: SweepPlan) -> dict[str, str]:
    """How each parameter is stored in the tables: number, text, or as given."""
    kinds = {}
    for p in plan.parameters:
        values = [pt[p] for pt in plan.points if p in pt]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            kinds[p] = "float" if any(isinstance(v, float) for v in values) else "int"
        elif values and all(isinstance(v, (str, bool, dt.date)) for v in values):
            kinds[p] = "plain" if len({type(v) for v in values}) == 1 else "text"
        else:
            kinds[p] = "text"
    return kinds


def column_value(kind: str, value: Any) -> Any:
    """A parameter's value as its column stores it (:func:`column_kinds`)."""
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind in ("int", "plain"):
        return value
    return str(plain(value))


def kpi_columns(table: pd.DataFrame, parameters: Iterable[str] = ()) -> list[str]:
    """The KPI (and observation) columns of a sweep table."""
    skip = {*META_COLUMNS, *EXTRA_COLUMNS, *parameters}
    return [c for c in table.columns if c not in skip]


# --- writing ------------------------------------------------------------------------------------


class SweepStore:
    """The sweep folder: parts, finished points and the manifest, each written atomically."""

    def __init__(self, out: Path, plan: SweepPlan, info: dict[str, Any]) -> None:
        self.out = out
        self.plan = plan
        self.info = info
        self.parts: list[str] = list(info.get("parts", []))
        self.finished: set[int] = set(info.get("finished", []))
        self.failed: dict[int, str] = {int(k): v for k, v in info.get("failed", {}).items()}
        self.rows: list[dict[str, Any]] = []
        self.buffered: list[int] = []
        self.kinds = column_kinds(plan)

    @classmethod
    def create(cls, out: Path, plan: SweepPlan, force: bool, extra: dict[str, Any]) -> SweepStore:
        """A new folder for ``plan`` (replacing ``out`` if ``force``), written atomically."""
        base_scenario = validate_data(copy.deepcopy(plan.base))
        info = manifest("sweep", [base_scenario], plan.seed, plan.replications, 0.0, extra)
        info.update(
            status="running",
            name=plan.name,
            digest=plan.digest(),
            crn=plan.crn,
            **({} if plan.kpis is None else {"computed_kpis": list(plan.kpis)}),
            parameters=list(plan.parameters),
            points=len(plan.points),
            design=plan.request,
            parts=[],
            finished=[],
            failed={},
        )
        design = {
            "parameters": list(plan.parameters),
            "points": [encode_point(p) for p in plan.points],
        }
        with atomic_dir(out, force) as tmp:
            text = yaml.safe_dump(plan.base, sort_keys=False, allow_unicode=True)
            (tmp / SCENARIO_FILE).write_text(text, encoding="utf-8")
            (tmp / DESIGN_FILE).write_text(json.dumps(design), encoding="utf-8")
            (tmp / PARTS).mkdir()
            (tmp / MANIFEST).write_text(_json(info), encoding="utf-8")
        return cls(out, plan, info)

    @classmethod
    def reopen(cls, out: Path, plan: SweepPlan) -> SweepStore:
        """The folder of an earlier run of ``plan`` (:class:`SweepError` for another plan)."""
        info = read_manifest(out, ("sweep",), SweepError)
        if info.get("digest") != plan.digest():
            raise SweepError(
                f"{out} holds a different sweep (other scenario, design, seed or "
                "replications); start a new folder or use --force"
            )
        (out / PARTS).mkdir(exist_ok=True)
        return cls(out, plan, info)

    @classmethod
    def open(
        cls, out: Path, plan: SweepPlan, *, resume: bool, force: bool, extra: dict[str, Any]
    ) -> SweepStore:
        """The store of ``plan`` in ``out``: reopened with ``resume`` (``out`` must hold the
        same plan), else created (``out`` must not exist, unless ``force`` replaces it).
        ``extra`` (the executor) goes into the manifest either way."""
        if resume and (out / MANIFEST).exists():
            store = cls.reopen(out, plan)
        elif resume:
            raise SweepError(f"{out} is not a sweep folder (no {MANIFEST}); nothing to resume")
        else:
            if out.exists() and not force:
                raise OutputExistsError(f"{out} exists; use --force to replace it or --resume")
            store = cls.create(out, plan, force, extra)
        store.info.update(extra)
        return store

    @property
    def complete(self) -> bool:
        """Whether the folder already holds the finished sweep (its table merged)."""
        return self.info.get("status") == "complete" and (self.out / TABLE_FILE).exists()

    def add(self, point: int, outcomes: Sequence[RunOutcome]) -> None:
        """A point whose replications all came back: buffer its rows, or record its error."""
        errors = sorted((o.replication, o.error) for o in outcomes if o.error is not None)
        if errors:
            r, message = errors[0]
            self.failed[point] = f"replication {r}: {message}"
            return
        self.failed.pop(point, None)
        values = self.plan.points[point]
        params = {p: column_value(self.kinds[p], values.get(p)) for p in self.plan.parameters}
        seed = self.plan.seed_of(point)
        for o in sorted(outcomes, key=lambda o: o.replication):
            assert o.kpis is not None
            row = {"point": point, "replication": o.replication, "seed": seed, **params}
            row.update(o.kpis)
            row["events"] = o.events
            self.rows.append(row)
        self.buffered.append(point)

    def flush(self, status: str = "running", seconds: float | None = None) -> None:
        """Write buffered points as a part, then the manifest that lists it."""
        if self.rows:
            name = f"{PARTS}/part-{len(self.parts):05d}-{uuid.uuid4().hex[:8]}.parquet"
            _write_parquet(pd.DataFrame(self.rows), self.out / name)
            self.parts.append(name)
            self.finished.update(self.buffered)
            self.rows, self.buffered = [], []
        self.save(status, seconds)

    def save(self, status: str, seconds: float | None = None) -> None:
        """Replace the manifest (status, parts, finished and failed points, time spent)."""
        self.info.update(
            status=status,
            parts=self.parts,
            finished=sorted(self.finished),
            failed={str(k): v for k, v in sorted(self.failed.items())},
        )
        if seconds is not None:
            self.info["wall_seconds"] = round(float(self.info.get("wall_seconds", 0)) + seconds, 3)
        write_text_atomic(self.out / MANIFEST, _json(self.info))

    def finish(self, seconds: float, points_table: PointsTable) -> None:
        """Merge the parts into ``sweep.parquet``, write ``points.csv`` (``points_table`` of
        the rows and the failed points), drop the parts."""
        self.flush("running")
        table = _read_parts(self.out, self.parts)
        _write_parquet(table, self.out / TABLE_FILE)
        summary = points_table(table, self.failed)
        write_text_atomic(self.out / POINTS_FILE, summary.to_csv(index=False))
        old = [p for p in self.parts if p != TABLE_FILE]
        self.parts = [TABLE_FILE]
        self.save("complete", seconds)
        for name in old:
            (self.out / name).unlink(missing_ok=True)
        parts = self.out / PARTS
        for stray in [*parts.glob("*"), *self.out.glob(".*.tmp-*")]:
            stray.unlink()  # parts and temporary files of a killed run, never listed
        parts.rmdir()


@contextlib.contextmanager
def open_store(
    out: Path, plan: SweepPlan, *, resume: bool, force: bool, extra: dict[str, Any]
) -> Iterator[SweepStore]:
    """:meth:`SweepStore.open`, with the folder locked until the block ends: a second writer
    or resumer gets a ``FolderBusyError`` at once."""
    with folder_lock(out):
        yield SweepStore.open(out, plan, resume=resume, force=force, extra=extra)


def _json(info: dict[str, Any]) -> str:
    return json.dumps(info, indent=2, default=str)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _read_parts(folder: Path, parts: Sequence[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(folder / p) for p in parts if (folder / p).exists()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(META_COLUMNS))
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # A killed run may have merged parts into sweep.parquet before replacing the manifest:
    # rows are deterministic, so duplicates are identical and dropping them is exact.
    table = table.drop_duplicates(subset=["point", "replication"], keep="last")
    return table.sort_values(["point", "replication"], ignore_index=True)


# --- reading ------------------------------------------------------------------------------------


def load_rows(folder: Path | str) -> pd.DataFrame:
    """The rows of a sweep (one per point x replication), finished points only.

    Works on a running or interrupted sweep too. ``df.attrs`` holds ``parameters``
    (the swept paths, which are also columns), ``kpis`` and ``status``.
    """
    folder = Path(folder)
    info = read_manifest(folder, ("sweep",), SweepError)
    table = _read_parts(folder, info.get("parts", []))
    table.attrs.update(
        parameters=list(info.get("parameters", [])),
        kpis=kpi_columns(table, info.get("parameters", [])),
        status=info.get("status"),
    )
    return table


def plan_from_folder(folder: Path | str, check: bool = True) -> SweepPlan:
    """The plan stored in a sweep folder (its base scenario and exact points), for resuming."""
    folder = Path(folder)
    info = read_manifest(folder, ("sweep",), SweepError)
    design = json.loads((folder / DESIGN_FILE).read_text(encoding="utf-8"))
    points = [{k: decode_value(v) for k, v in p.items()} for p in design["points"]]
    scenario = load_scenario(folder / SCENARIO_FILE)
    base = load_raw(folder / SCENARIO_FILE)
    if check:
        origins = {p: (str(folder / DESIGN_FILE), 1) for p in design["parameters"]}
        check_points(base, points, origins)
    return SweepPlan(
        name=str(info.get("name", scenario.name)),
        base=base,
        base_digest=scenario.digest(),
        parameters=tuple(design["parameters"]),
        points=tuple(points),
        replications=int(info["replications"]),
        seed=int(info["seed"]),
        crn=bool(info.get("crn", True)),
        request=dict(info.get("design", {})),
        kpis=tuple(info["computed_kpis"]) if "computed_kpis" in info else None,
    )

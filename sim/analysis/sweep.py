"""Parameter sweeps: designs, up-front validation, execution on any executor, streamed results
that survive interruptions, and loading helpers.

**Designs.** A sweep sets scenario values addressed by dotted paths, as ``--set`` does: list
positions count from 0, and from the end when negative (``nodes.assore.capacity.-1.value`` is
the last step of a capacity schedule; ``nodes.assore.capacity`` alone replaces the whole
schedule with one value, with a warning). Its points are the full factorial of the grid axes
(``--grid path=v1,v2``, ``--range path=lo:hi:n``), crossed with ``samples`` space-filling
points (Latin hypercube or scrambled Sobol') inside ``--bounds path=lo:hi``, crossed with any
explicit ``points`` (used by sensitivity analyses). A numeric range or bound is *integer*
(values rounded) when both ends are written as integers and the scenario's current value there
is not a decimal number, so ``capacity=400:800`` gives whole places and
``readiness.mean=300:400.0`` gives decimals. Every point is resolved and validated before
anything runs; invalid points are reported as ``origin:line: path: message (point i: ...)`` and
nothing starts.

**Seeds and common random numbers.** Replication ``r`` of a point runs with the streams of
``(point seed, r)`` (see :mod:`sim.engine.streams`). With common random numbers (the default) every
point uses the sweep seed itself: replication ``r`` of every point sees the same arrivals,
stays and choices wherever the scenarios agree, so differences between points are paired and
far less noisy than with independent seeds (a sweep point is then exactly ``parcours run
--seed S --set path=value``). Without them (``crn=False``) each point's seed derives from
``(sweep seed, point index)`` through :class:`numpy.random.SeedSequence`, which gives
independent replications per point (what a variance estimate across points assumes). Either
way seeds depend only on (sweep seed, point, replication): never on the executor, the number of
workers or the completion order, and no random generator is shared between processes.

**Execution and results.** Runs are grouped into tasks of a few runs (``chunk_runs``) so that
scheduling costs little. As points complete they are buffered and written every
``checkpoint_seconds`` as a Parquet part, after which ``manifest.json`` (the list of parts and
finished points) is replaced atomically, each file flushed to disk before its rename: a sweep
killed at any moment can be resumed and only the missing points run. A point whose run raises
is recorded with its error and the sweep goes on; so is a point that kills its worker process
twice (the pool is restarted, and a task of several points is split to find the one). At the
end the parts are merged into ``sweep.parquet`` (one row per point x replication) and
``points.csv`` (one row per point: mean and 95% CI half-width of every KPI).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import hashlib
import itertools
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import yaml

from sim.engine.streams import stream_key
from sim.inputs.loading import (
    Problem,
    ScenarioError,
    load_raw,
    load_scenario,
    missing_entry,
    schedule_replaced,
    validate_data,
    warn_once,
)
from sim.inputs.paths import PathError, entry_key, path_parts, set_value
from sim.inputs.scenario import Scenario
from sim.running import catalogue
from sim.running.executors import Executor, SerialExecutor, WorkerCrashedError, chunk_size
from sim.running.folders import folder_lock
from sim.running.results import (
    OutputExistsError,
    atomic_dir,
    manifest,
    replace_durably,
    temporary_path,
    write_text_atomic,
)
from sim.running.runner import DEFAULT_SEED, replicate
from sim.running.statistics import grouped_mean_ci

Origin = tuple[str, int]
"""Where a swept parameter was given: a file and line, or an option and its position."""

DesignKind = Literal["grid", "lhs", "sobol"]
META_COLUMNS = ("point", "replication", "seed")
EXTRA_COLUMNS = ("events",)
MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.yaml"
DESIGN_FILE = "design.json"
TABLE_FILE = "sweep.parquet"
POINTS_FILE = "points.csv"
PARTS = "parts"


class SweepError(ValueError):
    """A sweep folder cannot be used as asked (not a sweep, or made with another design)."""


# --- what the user asks for ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Axis:
    """A factorial axis: explicit ``values``, or ``span`` = (low, high, n) evenly spaced."""

    path: str
    values: tuple[Any, ...] = ()
    span: tuple[int | float, int | float, int] | None = None
    origin: Origin = ("<sweep>", 1)


@dataclasses.dataclass(frozen=True)
class Bound:
    """A parameter's interval for space-filling designs and sensitivity analyses."""

    path: str
    low: int | float
    high: int | float
    origin: Origin = ("<sweep>", 1)
    kind: Literal["auto", "int", "float"] = "auto"


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep as asked: base scenario, design and replications (not yet resolved)."""

    scenario: Path
    overrides: tuple[str, ...] = ()
    axes: tuple[Axis, ...] = ()
    design: DesignKind = "grid"
    samples: int = 0
    bounds: tuple[Bound, ...] = ()
    points: tuple[dict[str, Any], ...] = ()
    points_origin: Origin = ("<points>", 1)
    replications: int = 10
    seed: int = DEFAULT_SEED
    crn: bool = True
    name: str | None = None

    def request(self) -> dict[str, Any]:
        """The design as asked, for the manifest."""
        return {
            "scenario": str(self.scenario),
            "set": list(self.overrides),
            "axes": [
                {"path": a.path, "values": [_plain(v) for v in a.values]}
                if a.span is None
                else {"path": a.path, "range": list(a.span)}
                for a in self.axes
            ],
            "design": self.design,
            "samples": self.samples,
            "bounds": [
                {"path": b.path, "low": b.low, "high": b.high, "kind": b.kind} for b in self.bounds
            ],
            "explicit_points": len(self.points),
            "replications": self.replications,
            "seed": self.seed,
            "crn": self.crn,
        }


# --- parsing options and sweep files --------------------------------------------------------------

_INT = re.compile(r"[-+]?\d+")


def _number(text: str) -> int | float:
    """An integer or a finite decimal number written as text."""
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    return value


def _split(text: str, origin: Origin, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise ScenarioError([Problem(*origin, "<option>", f"'{text}': expected path={what}")])
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path or any(not part for part in path.split(".")):
        raise ScenarioError([Problem(*origin, path or "<option>", "empty name in the path")])
    return path, raw.strip()


def _yaml_scalar(text: str) -> Any:
    """A value written on the command line, read as YAML (safe loader) like ``--set``."""
    value = yaml.safe_load(text) if text else ""
    return text if value is None else value


def parse_grid(text: str, origin: Origin = ("--grid", 1)) -> Axis:
    """``path=v1,v2,...`` (each value read as YAML: numbers, words, dates)."""
    path, raw = _split(text, origin, "v1,v2,...")
    values = tuple(_yaml_scalar(v.strip()) for v in raw.split(","))
    if not raw or any(v == "" for v in values):
        raise ScenarioError([Problem(*origin, path, f"'{text}': empty value in the list")])
    return Axis(path, values=values, origin=origin)


def parse_range(text: str, origin: Origin = ("--range", 1)) -> Axis:
    """``path=lo:hi:n``: ``n`` evenly spaced values from ``lo`` to ``hi`` inclusive."""
    path, raw = _split(text, origin, "lo:hi:n")
    return Axis(path, span=_span(raw.split(":"), path, origin), origin=origin)


def _span(parts: Sequence[Any], path: str, origin: Origin) -> tuple[int | float, int | float, int]:
    try:
        if len(parts) != 3:
            raise ValueError("expected lo:hi:n (three numbers)")
        low, high = (_number(str(p)) for p in parts[:2])
        n = _number(str(parts[2]))
        if not isinstance(n, int) or n < 1:
            raise ValueError("n must be a whole number of values, at least 1")
        if high < low:
            raise ValueError("hi must not be below lo")
    except ValueError as err:
        raise ScenarioError([Problem(*origin, path, f"invalid range: {err}")]) from None
    return low, high, n


def parse_bounds(text: str, origin: Origin = ("--bounds", 1)) -> Bound:
    """``path=lo:hi`` or ``path=lo:hi:int`` / ``:float`` to force the kind of values."""
    path, raw = _split(text, origin, "lo:hi")
    parts = raw.split(":")
    kind = "auto"
    if len(parts) == 3 and parts[2].strip() in ("int", "float"):
        kind = parts.pop().strip()
    return _bound(parts, path, origin, kind)


def _bound(parts: Sequence[Any], path: str, origin: Origin, kind: str = "auto") -> Bound:
    try:
        if len(parts) != 2:
            raise ValueError("expected lo:hi (two numbers)")
        low, high = (_number(str(p)) for p in parts)
        if not high > low:
            raise ValueError("hi must be above lo")
    except ValueError as err:
        raise ScenarioError([Problem(*origin, path, f"invalid bounds: {err}")]) from None
    return Bound(path, low, high, origin, cast(Literal["auto", "int", "float"], kind))


SWEEP_KEYS = (
    "scenario",
    "name",
    "description",
    "set",
    "replications",
    "seed",
    "crn",
    "grid",
    "range",
    "design",
    "samples",
    "bounds",
    "points",
)


def is_sweep_file(path: Path) -> bool:
    """Whether ``path`` holds a sweep (a ``scenario:`` key and no ``nodes:``)."""
    from sim.inputs.loading import peek  # with the scenario files' limits (size, aliases)

    data = peek(Path(path))
    return isinstance(data, dict) and "scenario" in data and "nodes" not in data


def load_sweep_file(path: Path | str) -> SweepSpec:
    """Read a sweep file (``scenarios/sweeps/*.yaml``); every problem is located by line.

    Keys: ``scenario`` (relative to the sweep file), ``set`` (list of ``path=value``),
    ``replications``, ``seed``, ``crn``, ``grid`` (path: list of values), ``range`` (path:
    ``[lo, hi, n]``), ``design`` (grid, lhs or sobol), ``samples``, ``bounds`` (path:
    ``[lo, hi]``), ``points`` (a list of path: value mappings), ``name``, ``description``.
    """
    from sim.inputs.loading import read_text, read_yaml  # the scenario files' safe reader

    path = Path(path)
    file = str(path)
    doc = read_yaml(read_text(path, file), file)
    data, where = doc.data, doc.where
    problems: list[Problem] = []

    def at(*keys: Any) -> Origin:
        for n in range(len(keys), 0, -1):
            if tuple(keys[:n]) in where:
                return where[tuple(keys[:n])]
        return (file, 1)

    def bad(message: str, *keys: Any) -> None:
        problems.append(Problem(*at(*keys), ".".join(map(str, keys)) or "<document>", message))

    for key in data:
        if key not in SWEEP_KEYS:
            hint = difflib.get_close_matches(str(key), SWEEP_KEYS, n=1)
            bad("unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else ""), key)
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        bad("expected the scenario file (relative to this file)", "scenario")
        scenario = ""
    overrides = data.get("set", [])
    if isinstance(overrides, str):
        overrides = [overrides]
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        bad("expected a list of path=value texts", "set")
        overrides = []
    settings: dict[str, Any] = {}
    for key, low in (("replications", 1), ("samples", 0), ("seed", 0)):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            bad(f"expected a whole number, at least {low}", key)
        else:
            settings[key] = value
    if "crn" in data:
        if isinstance(data["crn"], bool):
            settings["crn"] = data["crn"]
        else:
            bad("expected true or false", "crn")
    design = data.get("design", "grid")
    if design not in ("grid", "lhs", "sobol"):
        bad("unknown design; use grid, lhs or sobol", "design")
        design = "grid"
    axes: list[Axis] = []
    for section in ("grid", "range"):
        block = data.get(section, {}) or {}
        if not isinstance(block, dict):
            bad("expected a mapping of path: values", section)
            continue
        for key, value in block.items():
            origin = at(section, key)
            try:
                if section == "grid":
                    values = tuple(value) if isinstance(value, list) else (value,)
                    if not values:
                        raise ScenarioError([Problem(*origin, str(key), "empty list of values")])
                    axes.append(Axis(str(key), values=values, origin=origin))
                else:
                    parts = value if isinstance(value, list) else str(value).split(":")
                    if isinstance(value, int) and not isinstance(value, bool):
                        raise ScenarioError(
                            [Problem(*origin, str(key), "write the range as [lo, hi, n]")]
                        )
                    axes.append(Axis(str(key), span=_span(parts, str(key), origin), origin=origin))
            except ScenarioError as err:
                problems.extend(err.problems)
    bounds: list[Bound] = []
    block = data.get("bounds", {}) or {}
    if not isinstance(block, dict):
        bad("expected a mapping of path: [lo, hi]", "bounds")
        block = {}
    for key, value in block.items():
        origin = at("bounds", key)
        try:
            if isinstance(value, dict):
                kind = str(value.get("type", "auto"))
                parts = [value.get("low"), value.get("high")]
                bounds.append(_bound(parts, str(key), origin, kind))
            else:
                parts = value if isinstance(value, list) else str(value).split(":")
                bounds.append(_bound(parts, str(key), origin))
        except ScenarioError as err:
            problems.extend(err.problems)
    points = data.get("points", []) or []
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        bad("expected a list of mappings path: value", "points")
        points = []
    if problems:
        raise ScenarioError(problems)
    return SweepSpec(
        scenario=path.parent / scenario,
        overrides=tuple(overrides),
        axes=tuple(axes),
        design=cast(DesignKind, design),
        bounds=tuple(bounds),
        points=tuple({str(k): v for k, v in p.items()} for p in points),
        points_origin=at("points"),
        name=data.get("name") if isinstance(data.get("name"), str) else None,
        **settings,
    )


# --- the resolved plan ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Every point of a sweep, resolved against the base scenario's raw data and validated."""

    name: str
    base: dict[str, Any]
    base_digest: str
    parameters: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    replications: int
    seed: int
    crn: bool
    request: dict[str, Any] = dataclasses.field(default_factory=dict)
    kpis: tuple[str, ...] | None = None
    """The KPI columns its runs compute (None: every one)."""

    @property
    def runs(self) -> int:
        return len(self.points) * self.replications

    def seed_of(self, point: int) -> int:
        """The seed of ``point``'s replications (the sweep seed under common random numbers)."""
        return point_seed(self.seed, point, self.crn)

    def digest(self) -> str:
        """What determines the numbers: base scenario, points, seeds and replications."""
        text = json.dumps(
            {
                "base": self.base_digest,
                "points": [_encode_point(p) for p in self.points],
                "replications": self.replications,
                "seed": self.seed,
                "crn": self.crn,
                **({} if self.kpis is None else {"kpis": list(self.kpis)}),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self, point: int) -> str:
        """``path=value, ...`` of one point."""
        return ", ".join(f"{k}={_plain(v)}" for k, v in self.points[point].items())


def point_seed(seed: int, point: int, crn: bool) -> int:
    """Seed of a point: the sweep seed with common random numbers, else derived from
    ``(seed, point)`` (63 bits, so that it fits a signed 64-bit column)."""
    if crn:
        return seed
    state = np.random.SeedSequence([seed, point]).generate_state(1, np.uint64)[0]
    return int(state) >> 1


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """Resolve a sweep: load the base, build the design and validate every point up front.

    Raises :class:`ScenarioError` listing every problem (base file, design, invalid points).
    """
    scenario = load_scenario(spec.scenario, spec.overrides)  # located errors of the base
    base = load_raw(spec.scenario, spec.overrides)
    parameters, points, origins = design_points(spec, base)
    check_points(base, points, origins)
    warn_replaced_schedules(base, points, origins)
    return SweepPlan(
        name=spec.name or scenario.name,
        base=base,
        base_digest=scenario.digest(),
        parameters=parameters,
        points=tuple(points),
        replications=spec.replications,
        seed=spec.seed,
        crn=spec.crn,
        request=spec.request(),
    )


def design_points(
    spec: SweepSpec, base: dict[str, Any]
) -> tuple[tuple[str, ...], list[dict[str, Any]], dict[str, Origin]]:
    """The parameters, the points (path -> value) and where each parameter was given."""
    origins: dict[str, Origin] = {}
    problems: list[Problem] = []

    def claim(path: str, origin: Origin) -> None:
        if path in origins:
            first = origins[path]
            problems.append(Problem(*origin, path, f"swept twice (first at {first[0]}:{first[1]})"))
        origins.setdefault(path, origin)

    grid: list[list[tuple[str, Any]]] = []
    for axis in spec.axes:
        claim(axis.path, axis.origin)
        try:
            values = axis.values if axis.span is None else _expand(axis, base)
        except ValueError as err:
            problems.append(Problem(*axis.origin, axis.path, str(err)))
            continue
        grid.append([(axis.path, v) for v in values])
    samples: list[dict[str, Any]] = [{}]
    if spec.design in ("lhs", "sobol"):
        for b in spec.bounds:
            claim(b.path, b.origin)
        if not spec.bounds:
            problems.append(Problem("--design", 1, spec.design, "needs --bounds path=lo:hi"))
        if spec.samples < 1:
            problems.append(Problem("--samples", 1, spec.design, "needs --samples N (N >= 1)"))
        if not problems:
            samples = space_filling(spec.bounds, spec.samples, spec.design, spec.seed, base)
    elif spec.bounds:
        problems.append(
            Problem(*spec.bounds[0].origin, spec.bounds[0].path, "bounds need --design lhs|sobol")
        )
    explicit: list[dict[str, Any]] = list(spec.points) or [{}]
    for path in dict.fromkeys(k for p in spec.points for k in p):
        claim(path, spec.points_origin)
    if problems:
        raise ScenarioError(problems)
    points = []
    for combo in itertools.product(*grid):
        for sample in samples:
            for extra in explicit:
                points.append({**dict(combo), **sample, **extra})
    return tuple(origins), points, origins


def current_value(base: dict[str, Any], path: str) -> Any:
    """The raw value at ``path`` (None if there is none)."""
    node: Any = base
    for part in path_parts(path):
        node = _child(node, part)
        if node is None:
            return None
    return node


def _is_integer(base: dict[str, Any], path: str, low: Any, high: Any, kind: str = "auto") -> bool:
    if kind != "auto":
        return kind == "int"
    current = current_value(base, path)
    return isinstance(low, int) and isinstance(high, int) and not isinstance(current, float)


def _expand(axis: Axis, base: dict[str, Any]) -> tuple[Any, ...]:
    assert axis.span is not None
    low, high, n = axis.span
    if n == 1:
        return (low,)
    raw = [low + (high - low) * i / (n - 1) for i in range(n)]
    if _is_integer(base, axis.path, low, high):
        values = [round(v) for v in raw]
        if len(set(values)) != len(values):
            raise ValueError(
                f"invalid range: {n} whole numbers from {low} to {high} repeat values "
                "(use fewer values, or write a bound with a decimal point)"
            )
        return tuple(values)
    return tuple(float(f"{v:.12g}") for v in raw)


def space_filling(
    bounds: Sequence[Bound], samples: int, design: str, seed: int, base: dict[str, Any]
) -> list[dict[str, Any]]:
    """``samples`` points of a Latin hypercube or a scrambled Sobol' sequence in ``bounds``."""
    from scipy.stats import qmc

    rng = design_rng(seed, design)
    d = len(bounds)
    unit: np.ndarray[Any, Any]
    if design == "lhs":
        unit = qmc.LatinHypercube(d, rng=rng).random(samples)
    else:
        m = max(0, math.ceil(math.log2(samples)))
        unit = qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)[:samples]
    return [scale(bounds, row, base) for row in unit]


def design_rng(seed: int, purpose: str) -> np.random.Generator:
    """The generator of a design, derived from the sweep seed (never global state)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(stream_key(f"sweep.design.{purpose}"),))
    return np.random.Generator(np.random.PCG64(sequence))


def scale(bounds: Sequence[Bound], unit: Iterable[float], base: dict[str, Any]) -> dict[str, Any]:
    """Map a point of the unit cube into ``bounds`` (integers uniform over low..high)."""
    out: dict[str, Any] = {}
    for b, u in zip(bounds, unit, strict=True):
        if _is_integer(base, b.path, b.low, b.high, b.kind):
            lo, hi = math.ceil(b.low), math.floor(b.high)
            out[b.path] = int(min(hi, lo + math.floor(float(u) * (hi - lo + 1))))
        else:
            out[b.path] = float(b.low + float(u) * (b.high - b.low))
    return out


def value_in(bound: Bound, x: float, base: dict[str, Any]) -> int | float:
    """A value of ``bound``'s parameter (rounded if the parameter is an integer)."""
    if _is_integer(base, bound.path, bound.low, bound.high, bound.kind):
        return round(x)
    return float(x)


# --- resolving and checking points --------------------------------------------------------------


def _child(container: Any, part: str | int) -> Any:
    key = entry_key(container, part)
    return None if key is None else container[key]


def with_values(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of raw scenario data with ``values`` set at their paths, by the one editor and
    its schedule rule (:mod:`sim.inputs.paths`, as ``--set`` does).

    Only the mappings and lists on the paths are copied; the rest is shared with ``base``,
    which is never modified. Raises :class:`PathError` for a path that does not exist.
    """
    data = dict(base)
    for path, value in values.items():
        set_value(data, path_parts(path), value, copy_on_write=True, missing=missing_entry)
    return data


def warn_replaced_schedules(
    base: dict[str, Any], points: Sequence[dict[str, Any]], origins: dict[str, Origin]
) -> None:
    """Warn (once per path) where a swept single value replaces a whole schedule."""
    for path, origin in origins.items():
        values = [p[path] for p in points if path in p]
        note = schedule_replaced(origin, path, current_value(base, path), next(iter(values), None))
        if note:
            warn_once(note)


def resolve_point(base: dict[str, Any], values: dict[str, Any]) -> Scenario:
    """The scenario of one point: the base raw data with the point's values, validated."""
    return validate_data(with_values(base, values))


def check_points(
    base: dict[str, Any], points: Sequence[dict[str, Any]], origins: dict[str, Origin]
) -> None:
    """Validate every point; raise one :class:`ScenarioError` naming each distinct problem
    (located at the option or sweep-file line of the parameter involved)."""
    found: dict[tuple[str, int, str, str], list[int]] = {}
    written = {_normal_path(base, p): p for p in origins}  # "-1" as the position it names
    for i, values in enumerate(points):
        try:
            resolve_point(base, values)
        except PathError as err:
            origin = _origin_for(err.path, values, origins)
            found.setdefault((*origin, err.path, err.message), []).append(i)
        except ScenarioError as err:
            for p in err.problems:
                origin = _origin_for(_as_written(p.path, written), values, origins)
                found.setdefault((*origin, p.path, p.message), []).append(i)
    if not found:
        return
    problems = []
    for (file, line, path, message), where in found.items():
        first = ", ".join(f"{k}={_plain(v)}" for k, v in points[where[0]].items())
        more = f" and {len(where) - 1} more" if len(where) > 1 else ""
        problems.append(Problem(file, line, path, f"{message} (point {where[0]}: {first}{more})"))
    raise ScenarioError(problems)


def _normal_path(base: dict[str, Any], path: str) -> str:
    """``path`` with positions counted from the end replaced by the ones they name in ``base``."""
    parts: list[Any] = []
    node: Any = base
    for part in path_parts(path):
        key = entry_key(node, part)
        parts.append(part if key is None else key)
        node = None if key is None else node[key]
    return ".".join(map(str, parts))


def _as_written(path: str, written: dict[str, str]) -> str:
    for normal, given in written.items():
        if path == normal or path.startswith(normal + "."):
            return given + path[len(normal) :]
    return path


def _origin_for(path: str, values: dict[str, Any], origins: dict[str, Origin]) -> Origin:
    """The origin of the swept parameter closest to ``path`` (the first one if none is)."""
    best: tuple[int, Origin] | None = None
    for swept in values:
        if path == swept or path.startswith(swept + ".") or swept.startswith(path + "."):
            score = min(len(path), len(swept))
            if best is None or score > best[0]:
                best = (score, origins.get(swept, ("<sweep>", 1)))
    if best is not None:
        return best[1]
    first = next(iter(values), None)
    return origins.get(first, ("<sweep>", 1)) if first is not None else ("<sweep>", 1)


# --- encoding values --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON/YAML-friendly text or number."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str, sort_keys=True)


def _encode(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return {"yaml": text.removesuffix("...").strip()}


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"yaml"}:
        return yaml.safe_load(value["yaml"])
    return value


def _encode_point(point: dict[str, Any]) -> dict[str, Any]:
    return {k: _encode(v) for k, v in point.items()}


def _column_kinds(plan: SweepPlan) -> dict[str, str]:
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


def _column_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind in ("int", "plain"):
        return value
    return str(_plain(value))


# --- running ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Task:
    """Runs for a worker: the base data once, and (point, values, seed, replications) items."""

    base: dict[str, Any]
    items: tuple[tuple[int, dict[str, Any], int, tuple[int, ...]], ...]
    kpis: tuple[str, ...] | None = None


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


def run_task(task: Task) -> list[RunOutcome]:
    """Run a task's replications (in a worker); an error is returned, never raised."""
    out: list[RunOutcome] = []
    for point, values, seed, reps in task.items:
        try:
            scenario = resolve_point(task.base, values)
        except Exception as err:
            out += [RunOutcome(point, r, None, _describe_error(err)) for r in reps]
            continue
        kpis = None
        if task.kpis is not None:  # a point's scenario may lack one (a cost set to none)
            known = set(catalogue.names(scenario))
            kpis = [k for k in task.kpis if k in known]
        for r in reps:
            try:
                result = replicate(
                    scenario,
                    r,
                    seed,
                    keep_timeseries=False,
                    keep_episodes=False,
                    kpis=kpis,
                )
            except Exception as err:
                out.append(RunOutcome(point, r, None, _describe_error(err)))
            else:
                out.append(RunOutcome(point, r, result.kpis, None, result.events, result.seconds))
    return out


def _worker_died(result: object) -> bool:
    """Whether a task came back as the death of its worker process (pool or Dask)."""
    return isinstance(result, WorkerCrashedError) or type(result).__name__ == "KilledWorker"


def _describe_error(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def make_tasks(plan: SweepPlan, todo: Sequence[int], size: int) -> list[Task]:
    """Contiguous groups of ``size`` runs, in point order (points complete roughly in order)."""
    runs = [(p, r) for p in todo for r in range(plan.replications)]
    tasks = []
    for start in range(0, len(runs), size):
        block = runs[start : start + size]
        items = []
        for point, group in itertools.groupby(block, key=lambda pr: pr[0]):
            reps = tuple(r for _, r in group)
            items.append((point, plan.points[point], plan.seed_of(point), reps))
        tasks.append(Task(plan.base, tuple(items), plan.kpis))
    return tasks


@dataclasses.dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep stands (given to the progress callback)."""

    points_done: int
    points_total: int
    points_failed: int
    runs_done: int
    runs_total: int
    elapsed: float

    @property
    def runs_per_second(self) -> float:
        return self.runs_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first run)."""
        rate = self.runs_per_second
        return (self.runs_total - self.runs_done) / rate if rate > 0 else None


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What a sweep did: counts, failed points and where its results are."""

    out: Path
    plan: SweepPlan
    finished: int
    resumed: int
    failed: dict[int, str]
    runs: int
    seconds: float
    executor: str
    workers: int
    run_seconds: float = 0.0
    """Sum over runs of the time spent inside replications (workers' time, not wall-clock)."""

    @property
    def ok(self) -> bool:
        return not self.failed


class _Store:
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
        self.kinds = _column_kinds(plan)

    @classmethod
    def create(cls, out: Path, plan: SweepPlan, force: bool, extra: dict[str, Any]) -> _Store:
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
            "points": [_encode_point(p) for p in plan.points],
        }
        with atomic_dir(out, force) as tmp:
            text = yaml.safe_dump(plan.base, sort_keys=False, allow_unicode=True)
            (tmp / SCENARIO_FILE).write_text(text, encoding="utf-8")
            (tmp / DESIGN_FILE).write_text(json.dumps(design), encoding="utf-8")
            (tmp / PARTS).mkdir()
            (tmp / MANIFEST).write_text(_json(info), encoding="utf-8")
        return cls(out, plan, info)

    @classmethod
    def reopen(cls, out: Path, plan: SweepPlan) -> _Store:
        info = read_manifest(out)
        if info.get("digest") != plan.digest():
            raise SweepError(
                f"{out} holds a different sweep (other scenario, design, seed or "
                "replications); start a new folder or use --force"
            )
        (out / PARTS).mkdir(exist_ok=True)
        return cls(out, plan, info)

    def add(self, point: int, outcomes: Sequence[RunOutcome]) -> None:
        """A point whose replications all came back: buffer its rows, or record its error."""
        errors = sorted((o.replication, o.error) for o in outcomes if o.error is not None)
        if errors:
            r, message = errors[0]
            self.failed[point] = f"replication {r}: {message}"
            return
        self.failed.pop(point, None)
        values = self.plan.points[point]
        params = {p: _column_value(self.kinds[p], values.get(p)) for p in self.plan.parameters}
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
        self.info.update(
            status=status,
            parts=self.parts,
            finished=sorted(self.finished),
            failed={str(k): v for k, v in sorted(self.failed.items())},
        )
        if seconds is not None:
            self.info["wall_seconds"] = round(float(self.info.get("wall_seconds", 0)) + seconds, 3)
        write_text_atomic(self.out / MANIFEST, _json(self.info))

    def finish(self, seconds: float) -> None:
        """Merge the parts into ``sweep.parquet``, write ``points.csv``, drop the parts."""
        self.flush("running")
        table = _read_parts(self.out, self.parts)
        _write_parquet(table, self.out / TABLE_FILE)
        summary = summarise_points(table, self.plan, self.failed)
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


def _json(info: dict[str, Any]) -> str:
    return json.dumps(info, indent=2, default=str)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = temporary_path(path)
    try:
        frame.to_parquet(tmp, index=False)
        with open(tmp, "rb+") as file:
            os.fsync(file.fileno())
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def run_sweep(
    plan: SweepPlan,
    out: Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
    chunk_runs: int | None = None,
    checkpoint_seconds: float = 10.0,
) -> SweepResult:
    """Run the points of ``plan`` not yet finished in ``out`` and write the results there.

    ``resume=True`` continues the sweep in ``out`` (which must hold the same plan): finished
    points are skipped, failed ones are tried again. Without it ``out`` must not exist, unless
    ``force`` (then it is replaced). A Ctrl-C saves the finished points before stopping.
    The folder is locked meanwhile: a second writer or resumer gets a ``FolderBusyError``.
    """
    out = Path(out)
    with folder_lock(out):
        return _sweep_into(
            plan, out, executor, resume, force, progress, chunk_runs, checkpoint_seconds
        )


def _sweep_into(
    plan: SweepPlan,
    out: Path,
    executor: Executor | None,
    resume: bool,
    force: bool,
    progress: Callable[[SweepProgress], None] | None,
    chunk_runs: int | None,
    checkpoint_seconds: float,
) -> SweepResult:
    executor = executor or SerialExecutor()
    extra = {"executor": {"name": executor.name, "workers": executor.workers}}
    if resume and (out / MANIFEST).exists():
        store = _Store.reopen(out, plan)
    elif resume:
        raise SweepError(f"{out} is not a sweep folder (no {MANIFEST}); nothing to resume")
    else:
        if out.exists() and not force:
            raise OutputExistsError(f"{out} exists; use --force to replace it or --resume")
        store = _Store.create(out, plan, force, extra)
    store.info.update(extra)
    resumed = len(store.finished)
    todo = [p for p in range(len(plan.points)) if p not in store.finished]
    size = chunk_size(len(todo) * plan.replications, executor.workers, chunk_runs)
    tasks = make_tasks(plan, todo, size)
    total_runs = len(todo) * plan.replications
    started = last_flush = time.perf_counter()
    waiting: dict[int, list[RunOutcome]] = {p: [] for p in todo}
    runs_done = 0
    run_seconds = 0.0
    completed = 0

    def report() -> None:
        if progress is not None:
            progress(
                SweepProgress(
                    points_done=resumed + completed,
                    points_total=len(plan.points),
                    points_failed=len(store.failed),
                    runs_done=runs_done,
                    runs_total=total_runs,
                    elapsed=time.perf_counter() - started,
                )
            )

    report()
    # Resuming a finished sweep runs nothing and rewrites nothing.
    done_before = not todo and store.info.get("status") == "complete"
    done_before = done_before and (out / TABLE_FILE).exists()
    try:
        while tasks:
            retry: list[Task] = []
            for index, result in executor.imap_unordered(run_task, tasks):
                task = tasks[index]
                if _worker_died(result) and len(task.items) > 1:
                    # One task per point, to tell which point kills its worker.
                    retry += [Task(task.base, (item,), task.kpis) for item in task.items]
                    continue
                if isinstance(result, BaseException):
                    message = f"task failed: {_describe_error(result)}"
                    result = [
                        RunOutcome(point, r, None, message)
                        for point, _, _, reps in task.items
                        for r in reps
                    ]
                for outcome in result:
                    waiting[outcome.point].append(outcome)
                    runs_done += 1
                    run_seconds += outcome.seconds
                    if len(waiting[outcome.point]) == plan.replications:
                        store.add(outcome.point, waiting.pop(outcome.point))
                        completed += 1
                if time.perf_counter() - last_flush >= checkpoint_seconds and store.rows:
                    store.flush()
                    last_flush = time.perf_counter()
                report()
            tasks = retry
    except BaseException:
        store.flush("interrupted", time.perf_counter() - started)
        raise
    seconds = time.perf_counter() - started
    if not done_before:
        store.finish(seconds)
    return SweepResult(
        out=out,
        plan=plan,
        finished=len(store.finished),
        resumed=resumed,
        failed=dict(store.failed),
        runs=runs_done,
        seconds=seconds,
        executor=executor.name,
        workers=executor.workers,
        run_seconds=run_seconds,
    )


# --- summaries and loading ---------------------------------------------------------------------


def kpi_names(scenario: Scenario) -> list[str]:
    """The KPI (and observation) columns that runs of ``scenario`` give, from the KPI
    catalogue: they depend on the scenario's nodes and observations, not on a run."""
    return catalogue.names(scenario)


def kpi_columns(table: pd.DataFrame, parameters: Iterable[str] = ()) -> list[str]:
    """The KPI (and observation) columns of a sweep table."""
    skip = {*META_COLUMNS, *EXTRA_COLUMNS, *parameters}
    return [c for c in table.columns if c not in skip]


def mean_ci(table: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Mean, 95% Student-t CI half-width and count of ``columns`` per group of ``by``."""
    return grouped_mean_ci(table, by, columns)


def summarise_points(
    table: pd.DataFrame, plan: SweepPlan, failed: dict[int, str] | None = None
) -> pd.DataFrame:
    """One row per point: parameters, status, error, and mean and CI of every KPI."""
    failed = failed or {}
    kinds = _column_kinds(plan)
    design: dict[str, Any] = {
        "point": np.arange(len(plan.points)),
        "seed": [plan.seed_of(i) for i in range(len(plan.points))],
    }
    for p in plan.parameters:
        design[p] = [_column_value(kinds[p], pt.get(p)) for pt in plan.points]
    done = set(table["point"].unique()) if len(table) else set()
    design["status"] = [
        "failed" if i in failed else ("done" if i in done else "missing")
        for i in range(len(plan.points))
    ]
    design["error"] = [failed.get(i, "") for i in range(len(plan.points))]
    frame = pd.DataFrame(design)
    columns = kpi_columns(table, plan.parameters)
    if not len(table) or not columns:
        return frame
    stats_ = mean_ci(table, ["point"], columns).rename(columns={"n": "replications"})
    return frame.merge(stats_, on="point", how="left")


def read_manifest(folder: Path | str) -> dict[str, Any]:
    """The manifest of a sweep folder (:class:`SweepError` if there is none)."""
    path = Path(folder) / MANIFEST
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{folder} is not a sweep folder (no {MANIFEST})") from None
    if info.get("kind") != "sweep":
        raise SweepError(f"{folder} is not a sweep folder (its manifest is a {info.get('kind')})")
    return info


def load_rows(folder: Path | str) -> pd.DataFrame:
    """The rows of a sweep (one per point x replication), finished points only.

    Works on a running or interrupted sweep too. ``df.attrs`` holds ``parameters``
    (the swept paths, which are also columns), ``kpis`` and ``status``.
    """
    folder = Path(folder)
    info = read_manifest(folder)
    table = _read_parts(folder, info.get("parts", []))
    table.attrs.update(
        parameters=list(info.get("parameters", [])),
        kpis=kpi_columns(table, info.get("parameters", [])),
        status=info.get("status"),
    )
    return table


@dataclasses.dataclass(frozen=True)
class SweepData:
    """A sweep folder read back (finished, running or interrupted): its rows, one per point
    and replication, its points with their status, and the base scenario the paths edit."""

    folder: Path
    rows: pd.DataFrame
    """One row per finished point and replication: ``point, replication, seed``, the swept
    parameters, every KPI (``rows.attrs`` as :func:`load_rows`)."""
    points: pd.DataFrame
    """One row per point of the design: parameters, ``status`` (done, failed, missing),
    ``error``, mean and 95% CI of every KPI over the finished replications."""
    parameters: tuple[str, ...]
    kpis: tuple[str, ...]
    status: str
    """``complete``, ``running`` or ``interrupted`` (the manifest's)."""
    scenario: Scenario
    """The base scenario (with the sweep's fixed ``--set``) that the parameter paths edit."""

    @property
    def done(self) -> int:
        """Points whose replications all finished."""
        return int((self.points["status"] == "done").sum())

    @property
    def total(self) -> int:
        """Points in the design."""
        return len(self.points)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def long(self) -> pd.DataFrame:
        """The rows in tidy long form: ``point, replication``, the parameters, ``kpi, value``."""
        ids = ["point", "replication", *self.parameters]
        return self.rows.melt(
            id_vars=ids, value_vars=list(self.kpis), var_name="kpi", value_name="value"
        )


def load_sweep(folder: Path | str) -> SweepData:
    """A sweep folder read back as :class:`SweepData` (:class:`SweepError` naming the kind of
    folder it is when it is not a sweep).

    >>> s = sim.load_sweep("results/sweep-etape2-610")                  # doctest: +SKIP
    >>> s.rows.groupby("nodes.assore.capacity")["street.mean"].mean()   # doctest: +SKIP
    >>> f"{s.done}/{s.total} points done"                                # doctest: +SKIP
    """
    folder = Path(folder)
    rows = load_rows(folder)
    return SweepData(
        folder=folder,
        rows=rows,
        points=load_points(folder),
        parameters=tuple(rows.attrs["parameters"]),
        kpis=tuple(rows.attrs["kpis"]),
        status=str(rows.attrs.get("status") or ""),
        scenario=load_scenario(folder / SCENARIO_FILE),
    )


def load_points(folder: Path | str) -> pd.DataFrame:
    """One row per point (``points.csv``; computed from the finished rows while running)."""
    folder = Path(folder)
    if (folder / POINTS_FILE).exists() and read_manifest(folder).get("status") == "complete":
        return pd.read_csv(folder / POINTS_FILE)
    return summarise_points(load_rows(folder), plan_from_folder(folder, check=False))


def plan_from_folder(folder: Path | str, check: bool = True) -> SweepPlan:
    """The plan stored in a sweep folder (its base scenario and exact points), for resuming."""
    folder = Path(folder)
    info = read_manifest(folder)
    design = json.loads((folder / DESIGN_FILE).read_text(encoding="utf-8"))
    points = [{k: _decode(v) for k, v in p.items()} for p in design["points"]]
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


def sweep(
    scenario: Path | str,
    out: Path | str,
    *,
    grid: dict[str, Sequence[Any]] | None = None,
    ranges: dict[str, tuple[float, float, int]] | None = None,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    overrides: Sequence[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    force: bool = False,
) -> SweepData:
    """The Python face of ``parcours sweep``: run a full-factorial design and return
    :func:`load_sweep` of the results folder (its ``rows`` one per point and replication).

    >>> sweep("scenarios/etape2-610.yaml", "results/s",
    ...       ranges={"nodes.housing.releases_per_month": (1, 6, 6)}, workers=2)  # doctest: +SKIP
    """
    from sim.running.executors import make_executor
    from sim.running.runner import default_workers

    axes = [parse_grid(f"{p}={','.join(map(str, v))}") for p, v in (grid or {}).items()]
    axes += [parse_range(f"{p}={lo}:{hi}:{n}") for p, (lo, hi, n) in (ranges or {}).items()]
    spec = SweepSpec(
        scenario=Path(scenario),
        overrides=tuple(overrides),
        axes=tuple(axes),
        replications=replications,
        seed=seed,
    )
    plan = plan_sweep(spec)
    executor = make_executor(workers or default_workers(), scheduler, dask_local)
    try:
        run_sweep(plan, Path(out), executor=executor, resume=resume, force=force)
    finally:
        executor.close()
    return load_sweep(out)

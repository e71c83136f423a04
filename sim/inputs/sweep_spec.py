"""What a sweep asks for: its parameters read from ``--grid``, ``--range`` and ``--bounds``
options or from a sweep file (``scenarios/sweeps/*.yaml``), every problem located as
``origin:line: path: message``.

A sweep sets scenario values addressed by dotted paths, as ``--set`` does. ``--grid
path=v1,v2`` and ``--range path=lo:hi:n`` give factorial axes (``n`` evenly spaced values from
``lo`` to ``hi``); ``--bounds path=lo:hi`` (optionally ``:int`` or ``:float``) gives the
interval of a space-filling design or a sensitivity analysis. Values on the command line are
read as YAML, like ``--set``. Nothing here loads the base scenario: the points are built and
checked against it by :mod:`sim.inputs.sweep_plan` and :mod:`sim.analysis.sweep`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from sim.inputs.loading import Problem, ScenarioError, peek, read_text, read_yaml
from sim.inputs.scenario import DEFAULT_SEED

Origin = tuple[str, int]
"""Where a swept parameter was given: a file and line, or an option and its position."""

DesignKind = Literal["grid", "lhs", "sobol"]


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
                {"path": a.path, "values": [plain(v) for v in a.values]}
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
    data = peek(Path(path))
    return isinstance(data, dict) and "scenario" in data and "nodes" not in data


def load_sweep_file(path: Path | str) -> SweepSpec:
    """Read a sweep file (``scenarios/sweeps/*.yaml``); every problem is located by line.

    Keys: ``scenario`` (relative to the sweep file), ``set`` (list of ``path=value``),
    ``replications``, ``seed``, ``crn``, ``grid`` (path: list of values), ``range`` (path:
    ``[lo, hi, n]``), ``design`` (grid, lhs or sobol), ``samples``, ``bounds`` (path:
    ``[lo, hi]``), ``points`` (a list of path: value mappings), ``name``, ``description``.
    """
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


def plain(value: Any) -> Any:
    """A value as JSON/YAML-friendly text or number."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str, sort_keys=True)

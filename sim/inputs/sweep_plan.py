"""A sweep resolved: every point (path -> value) of its design, the seed of each point, and
the checks that every point makes a valid scenario of the base, done before anything runs.

Points edit the base scenario's raw data with the one dotted-path editor and its schedule rule
(:mod:`sim.inputs.paths`, as ``--set`` does). An invalid point is reported at the option or
sweep-file line of the parameter involved: ``origin:line: path: message (point i: ...)``.
Replication ``r`` of a point runs with the streams of ``(point seed, r)``; with common random
numbers every point's seed is the sweep seed, otherwise it derives from ``(sweep seed,
point)``. Values that are not plain numbers or words are written as YAML in JSON
(:func:`encode_value`), which is how the plan is stored and what its digest reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import yaml

from sim.inputs.loading import (
    Problem,
    ScenarioError,
    missing_entry,
    schedule_replaced,
    validate_data,
    warn_once,
)
from sim.inputs.paths import PathError, entry_key, path_parts, set_value
from sim.inputs.scenario import Scenario
from sim.inputs.sweep_spec import Origin, plain


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
                "points": [encode_point(p) for p in self.points],
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
        return ", ".join(f"{k}={plain(v)}" for k, v in self.points[point].items())


def point_seed(seed: int, point: int, crn: bool) -> int:
    """Seed of a point: the sweep seed with common random numbers, else derived from
    ``(seed, point)`` (63 bits, so that it fits a signed 64-bit column)."""
    if crn:
        return seed
    state = np.random.SeedSequence([seed, point]).generate_state(1, np.uint64)[0]
    return int(state) >> 1


# --- resolving and checking points --------------------------------------------------------------


def current_value(base: dict[str, Any], path: str) -> Any:
    """The raw value at ``path`` (None if there is none)."""
    node: Any = base
    for part in path_parts(path):
        node = _child(node, part)
        if node is None:
            return None
    return node


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
        first = ", ".join(f"{k}={plain(v)}" for k, v in points[where[0]].items())
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


# --- encoding values ----------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """A value for JSON: plain numbers and words as they are, anything else as ``{"yaml": ...}``."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return {"yaml": text.removesuffix("...").strip()}


def decode_value(value: Any) -> Any:
    """The value :func:`encode_value` wrote."""
    if isinstance(value, dict) and set(value) == {"yaml"}:
        return yaml.safe_load(value["yaml"])
    return value


def encode_point(point: dict[str, Any]) -> dict[str, Any]:
    """A point's values for JSON (:func:`encode_value`)."""
    return {k: encode_value(v) for k, v in point.items()}

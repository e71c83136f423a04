"""What one scenario changes compared with another: differences of the resolved data as dotted
paths with both values (after ``extends`` and ``--set``), for reviewers of an alternative.

Mappings are compared key by key; schedules (lists of ``{from, value}`` steps) step by step,
keyed by date, so an added step reads ``nodes.assore.capacity[2024-01-01]: (absent) -> 400``;
other lists element by element when their lengths agree, whole otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sim.inputs.scenario import Scenario


class _Absent:
    """A key present in one scenario only."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
"""The value shown for a key one of the two scenarios does not have."""

Difference = tuple[str, object, object]


def resolved(scenario: Scenario) -> dict[str, Any]:
    """The data ``scenario_diff`` compares: the validated scenario with its defaults."""
    return scenario.model_dump(mode="json", by_alias=True)


def scenario_diff(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    """Every path where ``a`` and ``b`` differ, with the value in each (``ABSENT`` if none).

    >>> scenario_diff({"x": {"y": 1, "z": 2}}, {"x": {"y": 1, "z": 3}})
    [('x.z', 2, 3)]
    """
    return list(_walk("", a, b))


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def is_step(value: dict[Any, Any]) -> bool:
    """Whether a mapping is a schedule step: ``from`` and ``value``, perhaps ``ramp_until``."""
    return {"from", "value"} <= set(value) <= {"from", "value", "ramp_until"}


def _steps(value: Any) -> dict[str, Any] | None:
    """A schedule's steps keyed by date, or None if ``value`` is not a schedule."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(s, dict) and is_step(s) for s in value):
        return None
    keyed = {
        str(s["from"]): s["value"]
        if s.get("ramp_until") is None
        else f"{s['value']} (ramp until {s['ramp_until']})"
        for s in value
    }
    return keyed if len(keyed) == len(value) else None


def _walk(path: str, a: Any, b: Any) -> Iterator[Difference]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        for key in keys:
            yield from _walk(_join(path, key), a.get(key, ABSENT), b.get(key, ABSENT))
        return
    steps_a, steps_b = _steps(a), _steps(b)
    if steps_a is not None and steps_b is not None:
        dates = sorted(set(steps_a) | set(steps_b))
        for date in dates:
            va, vb = steps_a.get(date, ABSENT), steps_b.get(date, ABSENT)
            if va != vb:
                yield (f"{path}[{date}]", va, vb)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _walk(_join(path, i), x, y)
        return
    if a != b or (type(a) is not type(b) and not _same_number(a, b)):
        yield (path, a, b)


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def show(value: object) -> str:
    """A value on one line: schedules as ``date: value`` pairs, mappings as compact JSON."""
    if value is ABSENT:
        return "(absent)"
    steps = _steps(value)
    if steps is not None:
        return "[" + ", ".join(f"{d}: {_short(v)}" for d, v in steps.items()) + "]"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return _short(value)


def _short(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if value == "" or " " in value else value
    if value is None:
        return "null"
    return str(value)


def format_diff(differences: list[Difference], a_name: str = "A", b_name: str = "B") -> str:
    """The differences as lines ``path: a -> b``, or a line saying there are none."""
    if not differences:
        return f"no differences between {a_name} and {b_name}\n"
    lines = [f"{len(differences)} difference(s) from {a_name} to {b_name}:"]
    lines += [f"  {path}: {show(x)} -> {show(y)}" for path, x, y in differences]
    return "\n".join(lines) + "\n"

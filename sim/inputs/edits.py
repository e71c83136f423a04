"""Schedule edits: change a schedule from a date without retyping its history.

A scenario that ``extends`` another, or a ``--set``, may write one of these mappings where the
parent has a schedule (steps ``[{from, value}, ...]``) or a single value:

- ``{scale: 1.3, from: 2026-01-01}``: every value in force from that date on is multiplied by
  1.3 (a step is added on the date if none starts there); without ``from``, the whole schedule.
- ``{add_step: {from: 2025-01-01, value: 100}}``: a step from that date, replacing a step on the
  same date; the steps before and after it are kept (``add_steps:`` takes a list).

The edit is applied to the parent's schedule when the files are merged, so the resolved
scenario (``parcours diff``, the report, the run folder's ``scenario.yaml``) holds the
readable schedule it stands for. A single value turns into steps, the first from the scenario
start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

EDIT_KEYS = frozenset({"scale", "from", "add_step", "add_steps"})


class EditError(ValueError):
    """A schedule edit that cannot apply; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class ScheduleEdit:
    """An edit waiting for the scenario start (known once every file is merged)."""

    base: Any
    """What the edit applies to: a schedule, a single value, or another pending edit."""
    edit: dict[str, Any]


def is_edit(value: Any) -> bool:
    """Whether ``value`` is written as a schedule edit."""
    if not isinstance(value, dict) or not value or not set(value) <= EDIT_KEYS:
        return False
    return "scale" in value or "add_step" in value or "add_steps" in value


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise EditError(f"{what}: '{value}' is not a date (YYYY-MM-DD)") from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EditError(f"{what}: '{value}' is not a number")
    return float(value)


def _steps(base: Any, start: dt.date) -> list[dict[str, Any]]:
    """The base as a list of steps ``{from: date, value}`` (a copy)."""
    if isinstance(base, list) and all(isinstance(s, dict) and "from" in s for s in base):
        return [{**s, "from": _date(s["from"], "from")} for s in base]
    if base is None:
        raise EditError("a schedule edit needs a schedule or a value to edit in the parent")
    return [{"from": start, "value": _number(base, "value")}]


def apply_edit(base: Any, edit: dict[str, Any], start: dt.date) -> list[dict[str, Any]]:
    """The schedule ``edit`` makes of ``base`` (steps sorted by date)."""
    if isinstance(base, ScheduleEdit):
        base = apply_edit(base.base, base.edit, start)
    steps = _steps(base, start)
    if "scale" in edit:
        if set(edit) - {"scale", "from"}:
            raise EditError("scale goes with from only; write add_step as a second edit")
        factor = _number(edit["scale"], "scale")
        first = _date(edit["from"], "from") if "from" in edit else None
        if first is not None and all(s["from"] != first for s in steps):
            steps.append({"from": first, "value": _value_on(steps, first)})
        steps = [
            {**s, "value": s["value"] * factor} if first is None or s["from"] >= first else s
            for s in steps
        ]
    else:
        if "from" in edit:
            raise EditError("from goes with scale; add_step gives its own date")
        added = edit.get("add_steps", [edit.get("add_step")])
        if not isinstance(added, list) or not added:
            raise EditError("add_steps needs a list of steps {from: date, value: number}")
        for step in added:
            if not isinstance(step, dict) or set(step) != {"from", "value"}:
                raise EditError("a step is written {from: date, value: number}")
            when = _date(step["from"], "add_step.from")
            steps = [s for s in steps if s["from"] != when]
            steps.append({"from": when, "value": _number(step["value"], "add_step.value")})
    steps.sort(key=lambda s: s["from"])
    return [
        {"from": s["from"], "value": _plain(s["value"])}
        | ({"ramp_until": s["ramp_until"]} if s.get("ramp_until") is not None else {})
        for s in steps
    ]


def _value_on(steps: list[dict[str, Any]], day: dt.date) -> float:
    """The value in force on ``day`` (the first step's before it)."""
    ordered = sorted(steps, key=lambda s: s["from"])
    value = ordered[0]["value"]
    for s in ordered:
        if s["from"] <= day:
            value = s["value"]
    return float(value)


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def resolve_edits(data: Any, start: dt.date, path: tuple[Any, ...] = ()) -> list[tuple[Any, str]]:
    """Replace every pending :class:`ScheduleEdit` in ``data`` (in place) by the schedule it
    makes; return ``(path, message)`` for each edit that cannot apply."""
    problems: list[tuple[Any, str]] = []
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else []
    )
    for key, value in list(items):
        if isinstance(value, ScheduleEdit):
            try:
                data[key] = apply_edit(value.base, value.edit, start)
            except EditError as err:
                problems.append(((*path, key), str(err)))
        elif isinstance(value, (dict, list)):
            problems += resolve_edits(value, start, (*path, key))
    return problems

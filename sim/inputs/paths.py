"""The one dotted-path editor: ``--set``, sweeps, parameter draws and calibration particles all
set values in scenario data with it, so a path means the same thing everywhere.

**Paths.** ``nodes.assore.capacity.-1.value``: mapping keys and list positions separated by
dots; a position counts from 0, a negative one from the end (``-1`` is a schedule's last step); a
number also finds a text key.

**The schedule rule.** A single number set at a path that holds a schedule (a list of
``{from, value}`` steps) *replaces* the whole schedule by that value for the whole run; ``--set``
and sweeps print a warning saying so and naming the ``.-1.value`` form that changes only the last
step. A caller that must keep the schedule's shape asks for ``on_schedule="scale"`` explicitly
(a calibration parameter declares ``on_schedule: scale``): the first step then takes the value
and every later step keeps its ratio to the first, so an alternative's relative change survives
(the étape 2 fluid scenario's doubling of housing releases from 2024 stays a doubling). A
schedule whose first step is 0 cannot be scaled: name a step (``path.N.value``) instead.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any, Literal

OnSchedule = Literal["replace", "scale"]
_INDEX = re.compile(r"-?\d+")


class PathError(ValueError):
    """A path that names nothing settable; ``path`` is the part written up to the problem."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def dotted(parts: Sequence[str | int]) -> str:
    """Parts joined back into a dotted path."""
    return ".".join(str(p) for p in parts)


def path_parts(key: str) -> list[str | int]:
    """The parts of a dotted path; whole numbers are list positions (``-1`` is the last)."""
    return [int(p) if _INDEX.fullmatch(p) else p for p in key.split(".")]


def resolve_path(data: Any, path: str) -> list[str | int]:
    """The keys and non-negative positions ``path`` names in ``data`` (``KeyError`` if it
    names nothing)."""
    keys: list[str | int] = []
    for part in path_parts(path):
        key = entry_key(data, part)
        if key is None:
            raise KeyError(path)
        keys.append(key)
        data = data[key]
    return keys


def entry_key(container: Any, part: str | int) -> str | int | None:
    """The key or (non-negative) position that ``part`` names in ``container``, if any.

    A negative position counts from the end of a list; a number also finds a text key.
    """
    if isinstance(container, dict):
        if part in container:
            return part
        return str(part) if isinstance(part, int) and str(part) in container else None
    if isinstance(container, list) and isinstance(part, int) and -len(container) <= part:
        return part % len(container) if part < len(container) else None
    return None


def is_schedule(value: Any) -> bool:
    """Whether ``value`` is a schedule written as steps (``[{from: ..., value: ...}, ...]``)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(s, dict) and "from" in s for s in value)
    )


def locate(
    data: Any,
    parts: Sequence[str | int],
    *,
    copy_on_write: bool = False,
    missing: Any = None,
) -> tuple[Any, str | int, list[str | int]]:
    """The container holding the last part of ``parts``, the key there, and every part
    resolved to its key or non-negative position.

    With ``copy_on_write`` the mappings and lists on the way are copied (``data`` itself must be
    a copy the caller owns), so data shared with a base is never modified. A last key missing
    from a mapping is allowed (it is added by :func:`put`); anything else missing raises
    :class:`PathError`, with ``missing(data, parts, depth)`` as the message when given.
    """
    resolved: list[str | int] = list(parts)
    target: Any = data
    for depth, part in enumerate(parts[:-1]):
        step = entry_key(target, part)
        child = None if step is None else target[step]
        if not isinstance(child, (dict, list)):
            here = dotted(resolved[: depth + 1])
            if child is not None:
                inner = parts[depth + 1]
                message = f"cannot set '{inner}' inside {here}, which is a single value"
                raise PathError(dotted([*resolved[: depth + 1], inner]), message)
            raise PathError(here, _why(missing, data, parts, depth))
        assert step is not None
        if copy_on_write:
            child = copy.copy(child)
            target[step] = child
        resolved[depth] = step
        target = child
    last = parts[-1]
    key: str | int | None
    if isinstance(target, list):
        key = entry_key(target, last)
        if key is None:
            raise PathError(dotted(resolved), _why(missing, data, parts, len(parts) - 1))
    elif isinstance(target, dict):
        found = entry_key(target, last)
        key = last if found is None else found
        assert key is not None
    else:  # pragma: no cover - the loop above only descends into containers
        raise PathError(dotted(resolved), "no such entry")
    resolved[-1] = key
    return target, key, resolved


def _why(missing: Any, data: Any, parts: Sequence[str | int], depth: int) -> str:
    return str(missing(data, parts, depth)) if missing is not None else "no such entry"


def put(container: Any, key: str | int, value: Any, on_schedule: OnSchedule = "replace") -> Any:
    """Set ``container[key]`` by the schedule rule (see the module); return the old value."""
    old = container[key] if _has(container, key) else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if on_schedule == "scale" and number and isinstance(old, list) and is_schedule(old):
        scaled: list[dict[str, Any]] = copy.deepcopy(old)
        scale_schedule(scaled, float(value))
        container[key] = scaled
    else:
        container[key] = value
    return old


def _has(container: Any, key: str | int) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(key, int) and 0 <= key < len(container)


def scale_schedule(steps: list[dict[str, Any]], value: float) -> None:
    """Set the first step to ``value`` and scale the later steps by the same factor."""
    first = float(steps[0]["value"])
    if first == 0:
        raise ValueError("a schedule starting at 0 cannot be scaled")
    factor = value / first
    steps[0]["value"] = value
    for step in steps[1:]:
        step["value"] = float(step["value"]) * factor


def set_value(
    data: Any,
    parts: Sequence[str | int],
    value: Any,
    *,
    on_schedule: OnSchedule = "replace",
    copy_on_write: bool = False,
    missing: Any = None,
) -> Any:
    """Set the value at ``parts`` in ``data`` by the schedule rule; return the old value."""
    container, key, _ = locate(data, parts, copy_on_write=copy_on_write, missing=missing)
    return put(container, key, copy.deepcopy(value) if copy_on_write else value, on_schedule)

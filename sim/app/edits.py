"""What a planner edits in the app, and "Save as": a new scenario file that ``extends`` the one
opened and holds only what differs from it.

A :class:`Draft` is the opened file's merged data (after ``extends``) and a working copy the
forms change. Form values go into the working copy as typed (numbers and dates read as YAML
scalars, anything else kept as text), so that checking the draft is loading the file it would
write: the messages are those of ``parcours validate``, with the dotted path of the field.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from sim.app.workspace import PathRefusedError, Workspace
from sim.inputs.diff import format_diff, resolved, scenario_diff
from sim.inputs.loading import Problem, ScenarioError, load_raw, load_scenario
from sim.inputs.paths import is_schedule, path_parts
from sim.inputs.scenario import Scenario
from sim.running.results import temporary_path

FieldKind = Literal["schedule", "number", "routing", "date"]
SET_HERE = "assumption: set in the parcours app"
"""The comment on each value the app wrote (a planner's what-if: no source document)."""

_NODE_FIELDS: dict[str, tuple[tuple[str, FieldKind], ...]] = {
    "street": (("arrivals_per_year", "schedule"),),
    "outreach": (
        ("contacts_per_week", "schedule"),
        ("referral_probability", "number"),
        ("routing", "routing"),
        ("cost_per_year", "number"),
    ),
    "rest_space": (
        ("places", "schedule"),
        ("referral_probability_per_visit", "number"),
        ("routing", "routing"),
        ("cost_per_place_day", "number"),
    ),
    "accommodation": (
        ("capacity", "schedule"),
        ("routing", "routing"),
        ("cost_per_place_day", "number"),
    ),
    "downstream": (
        ("capacity", "schedule"),
        ("releases_per_month", "schedule"),
        ("routing", "routing"),
        ("cost_per_place_day", "number"),
    ),
}
"""The fields the forms show, by node kind: schedules (capacities, arrivals, outreach),
routing shares and costs. Absent fields of a node are not offered."""


@dataclasses.dataclass(frozen=True)
class Field:
    """One form field: a dotted path into the scenario data and how to edit it."""

    path: str
    kind: FieldKind


@dataclasses.dataclass(frozen=True)
class Group:
    """The fields of one node (or of the question's window)."""

    key: str
    names: dict[str, str]
    fields: tuple[Field, ...]


@dataclasses.dataclass
class Draft:
    """An opened scenario file and the working copy the forms edit."""

    file: str
    parent: dict[str, Any]
    data: dict[str, Any]
    scenario: Scenario

    def get(self, path: str) -> Any:
        """The working value at a dotted path (None if absent)."""
        value: Any = self.data
        for part in path_parts(path):
            if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
                continue
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def set(self, path: str, text: Any) -> None:
        """Set the working value at a dotted path from form input (text read as YAML)."""
        parts = path_parts(path)
        target: Any = self.data
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = read_value(text)

    def add_step(self, path: str) -> None:
        """Add a step to a schedule: a year after the last one, with its value (a constant
        becomes a schedule starting on the scenario's start)."""
        value = self.get(path)
        if not is_schedule(value):
            value = [{"from": self.scenario.start, "value": value}]
        last = value[-1]["from"]
        start = last if isinstance(last, dt.date) else self.scenario.start
        try:
            following = start.replace(year=start.year + 1)
        except ValueError:  # 29 February
            following = start + dt.timedelta(days=365)
        value = [*value, {"from": following, "value": value[-1]["value"]}]
        self.set_raw(path, value)

    def remove_step(self, path: str) -> None:
        """Remove the last step of a schedule (a schedule keeps at least one)."""
        value = self.get(path)
        if is_schedule(value) and len(value) > 1:
            self.set_raw(path, value[:-1])

    def set_raw(self, path: str, value: Any) -> None:
        parts = path_parts(path)
        target: Any = self.data
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value

    def changes(self) -> dict[str, Any]:
        """What the working copy changes: the mapping a child file holds."""
        return overlay(self.parent, self.data)


def open_draft(workspace: Workspace, file: str) -> Draft:
    """Open a scenario file of the workspace for editing (ScenarioError if it is invalid)."""
    path = workspace.scenario(file)
    scenario = load_scenario(path)
    parent = load_raw(path)
    parent.pop("extends", None)
    return Draft(file=file, parent=parent, data=copy.deepcopy(parent), scenario=scenario)


def groups(draft: Draft) -> list[Group]:
    """The form's groups: the question's window, then each node with editable fields."""
    window = [Field("end", "date"), Field("warmup", "date")]
    if isinstance(draft.data.get("window"), dict):  # the period the headline rows cover
        window += [Field("window.from", "date"), Field("window.to", "date")]
    out = [Group("window", {}, tuple(window))]
    nodes = draft.data.get("nodes", {})
    for node_id, node in draft.scenario.nodes.items():
        raw = nodes.get(node_id, {})
        fields = tuple(
            Field(f"nodes.{node_id}.{name}", kind)
            for name, kind in _NODE_FIELDS.get(node.kind, ())
            if raw.get(name) is not None
            or (kind == "number" and name.startswith("cost") and node.kind != "street")
        )
        if fields:
            out.append(Group(node_id, node.name.model_dump(), fields))
    return out


def read_value(text: Any) -> Any:
    """A form value as the YAML reader would read it: numbers and dates typed, other text
    kept as text (for the validator to name), blank as absent."""
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value = yaml.safe_load(stripped)
    except (yaml.YAMLError, ValueError, OverflowError):  # e.g. 2024-13-01: the reader says why
        return stripped
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date | str):
        return stripped
    return value


def overlay(parent: Any, child: Any) -> dict[str, Any]:
    """The mapping that, written under ``extends: parent``, gives ``child``: changed keys only,
    mappings key by key, anything else (schedules, lists) whole, ``None`` for a removed key."""
    out: dict[str, Any] = {}
    for key, value in child.items():
        if key not in parent:
            if value is not None:
                out[key] = value
        elif isinstance(value, dict) and isinstance(parent[key], dict):
            retagged = "dist" in value and value.get("dist") != parent[key].get("dist")
            sub = value if retagged else overlay(parent[key], value)
            if sub:
                out[key] = sub
        elif not _same(parent[key], value):
            out[key] = value
    for key in parent:
        if key not in child:
            out[key] = None
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)


# --- writing the child file ---------------------------------------------------------------


_DATE_LIKE = re.compile(r"\d{4}-\d\d?-\d\d?")


def _scalar(value: Any) -> str:
    if isinstance(value, str) and _DATE_LIKE.fullmatch(value):
        return value  # not a valid date: written as typed, so the reader names the problem
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip().removesuffix("...").strip()


def _steps_by_date(value: Any) -> dict[str, Any]:
    return {str(s.get("from")): s.get("value") for s in value} if is_schedule(value) else {}


def _emit(data: dict[str, Any], parent: Any, indent: int, source: str) -> Iterator[str]:
    pad = "  " * indent
    for key, value in data.items():
        before = parent.get(key) if isinstance(parent, dict) else None
        head = f"{pad}{_scalar(key)}:"
        if isinstance(value, dict) and value:
            yield head
            yield from _emit(value, before, indent + 1, source)
        elif is_schedule(value):
            yield head
            old = _steps_by_date(before)
            for step in value:
                when, amount = step.get("from"), step.get("value")
                same = str(when) in old and _same(old[str(when)], amount)
                note = f"as in {source}" if same else SET_HERE
                step_text = f"{{from: {_scalar(when)}, value: {_scalar(amount)}}}"
                yield f"{pad}  - {step_text}   # {note}"
        elif value is None:
            yield f"{head} null   # removed in the parcours app"
        else:
            yield f"{head} {_scalar(value)}   # {SET_HERE}"


def child_text(draft: Draft, name: str, title: str, when: dt.date | None = None) -> str:
    """The YAML of the file "Save as" writes: ``extends`` the opened file, a name and title,
    and only the values that differ, each with a comment."""
    changes = draft.changes()
    for key in ("name", "title", "legend", "description"):
        changes.pop(key, None)
    day = (when or dt.date.today()).isoformat()
    lines = [
        f"# Written from the parcours app on {day}: {draft.file} with the changes below.",
        "# Values marked 'set in the parcours app' are a planner's what-if (no source document).",
        "",
        f"extends: {_scalar(draft.file)}",
        f"name: {_scalar(name)}",
    ]
    text = _scalar(title.strip() or name)  # the opened file's title would mislabel it
    lines.append(f"title: {{fr: {text}, en: {text}}}")
    lines.append("")
    lines += _emit(changes, draft.parent, 0, draft.file)
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class Check:
    """A draft checked as the file it would write: its text and the validator's problems."""

    text: str
    problems: tuple[Problem, ...]
    scenario: Scenario | None

    @property
    def ok(self) -> bool:
        return not self.problems


def check(workspace: Workspace, draft: Draft, name: str, title: str = "") -> Check:
    """Load the file "Save as" would write, as ``parcours validate`` would, without writing it
    to the scenarios folder: its problems carry its future name, lines and dotted paths."""
    text = child_text(draft, name, title)
    shown = f"{name}.yaml"
    parent = workspace.scenario(draft.file)
    absolute = text.replace(f"extends: {_scalar(draft.file)}", f"extends: {_scalar(str(parent))}")
    with tempfile.TemporaryDirectory(prefix="parcours-app-") as folder:
        path = Path(folder) / shown
        path.write_text(absolute, encoding="utf-8")
        try:
            scenario = load_scenario(path)
        except ScenarioError as err:
            problems = tuple(
                dataclasses.replace(p, file=shown) if p.file == str(path) else p
                for p in err.problems
            )
            return Check(text, problems, None)
    return Check(text, (), scenario)


def save_as(workspace: Workspace, draft: Draft, name: str, title: str = "") -> Path:
    """Write the draft as ``<name>.yaml`` beside the file it extends; never over a file that
    exists. Raises ScenarioError (the validator's problems) or PathRefusedError."""
    target = workspace.new_scenario(name)
    result = check(workspace, draft, target.stem, title)
    if not result.ok:
        raise ScenarioError(result.problems)
    tmp = temporary_path(target)
    try:
        tmp.write_text(result.text, encoding="utf-8")
        try:
            os.link(tmp, target)  # fails if the name was taken meanwhile: nothing overwritten
        except FileExistsError:
            raise PathRefusedError(f"{target.name} exists already; choose another name") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def describe_changes(draft: Draft, scenario: Scenario) -> str:
    """``parcours diff`` of the opened file and the draft (once the draft is valid)."""
    return format_diff(
        scenario_diff(resolved(draft.scenario), resolved(scenario)),
        draft.file,
        scenario.name,
    )

"""Reading scenario files: safe YAML with line numbers, ``extends``, ``--set`` and clear errors.

Every problem becomes one line ``file:line: dotted.path: message``; nothing here raises a
traceback at a user for a mistake in a file. Files are read with PyYAML's safe loader and the
mappings are walked by hand, so that each value keeps the line it was written on, duplicate
keys are errors, YAML 1.1 booleans used as keys (``no:``, ``on:``) are caught, and only the
plain YAML tags are accepted (never ``!!python/...``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import json
import os
import re
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.inputs.edits import ScheduleEdit, is_edit, resolve_edits
from sim.inputs.paths import (
    PathError,
    entry_key,
    is_schedule,
    locate,
    path_parts,
    put,
)
from sim.inputs.scenario import NetworkError, Scenario, with_window_dates

Path_ = tuple[Any, ...]
ROOT = "<document>"
MAX_FILE_BYTES = 1_000_000
"""Largest scenario file read (the shipped ones are under 25 kB), checked before parsing."""
MAX_NODES = 20_000
"""Most YAML nodes one file may hold as written (the shipped ones have under 1,000)."""
MAX_VALUES = 50_000
"""Most values one file may expand to, aliases and ``<<`` merges included: stops
"billion laughs" files while they are being read, whatever their shape."""
MAX_DEPTH = 64
"""Deepest nesting of blocks one file may have (a scenario needs about 8)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, located by file, line and dotted path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` says why, one entry per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.path))
        super().__init__("\n".join(map(str, self.problems)))


Location = tuple[str, int]


class Locations(MutableMapping[Path_, Location]):
    """The (file, line) of each path, able to forget everything below a path in time
    proportional to what it forgets (an index of each path's children)."""

    def __init__(self, items: Mapping[Path_, Location] | None = None) -> None:
        self._at: dict[Path_, Location] = {}
        self._children: dict[Path_, set[Path_]] = {}
        for path, loc in (items or {}).items():
            self[path] = loc

    def __getitem__(self, path: Path_) -> Location:
        return self._at[path]

    def __setitem__(self, path: Path_, loc: Location) -> None:
        if path not in self._at:
            for n in range(len(path), 0, -1):  # link the path and its missing ancestors
                children = self._children.setdefault(path[: n - 1], set())
                if path[:n] in children:
                    break
                children.add(path[:n])
        self._at[path] = loc

    def __delitem__(self, path: Path_) -> None:
        del self._at[path]

    def __contains__(self, path: object) -> bool:
        return path in self._at

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def forget_below(self, prefix: Path_) -> None:
        """Drop every path strictly below ``prefix`` (``prefix`` itself stays)."""
        stack = [prefix]
        while stack:
            for child in self._children.pop(stack.pop(), ()):
                self._at.pop(child, None)
                stack.append(child)


@dataclasses.dataclass
class _Document:
    """Raw data of a scenario with the (file, line) where each path was written."""

    data: Any
    where: Locations


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader; mappings are walked by hand to keep lines and catch duplicates.

    Composing counts nodes and depth as it goes, so a huge or deeply nested file stops at
    its limit instead of being built whole first."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLargeError(f"the file holds more than {MAX_NODES:,} values")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooLargeError(f"blocks are nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# --- reading one YAML text ---------------------------------------------------------------

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_MERGE_TAG = _YAML + "merge"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


class _Builder:
    """Turns a composed YAML node tree into plain data, recording lines and problems."""

    def __init__(self, loader: _SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.where = Locations()
        self.problems: list[Problem] = []
        self.count = 0
        self.active: set[int] = set()

    def problem(self, node: yaml.Node, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, _dotted(path), message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLargeError(
                f"the document expands to more than {MAX_VALUES:,} values "
                "(aliases * or merges << repeat blocks)"
            )
        self.where.setdefault(path, (self.file, node.start_mark.line + 1))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.problem(node, path, "an alias refers to a block that contains it (recursive)")
            return None
        if node.tag != _YAML + ("seq" if isinstance(node, yaml.SequenceNode) else "map"):
            self.problem(node, path, _tag_message(node.tag))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.problem(node, path, _tag_message(node.tag))
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as err:
            kind = "date" if node.tag == _YAML + "timestamp" else "value"
            self.problem(node, path, f"invalid {kind} '{node.value}': {err}")
            return None

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self.merge_sources(value_node, path):
                    for key, value in source.items():
                        merged.setdefault(key, value)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.key(key_node, path)
            if key is _BAD_KEY:
                continue
            if key in out:
                first = self.where.get((*path, key), (self.file, 0))[1]
                self.problem(key_node, (*path, key), f"duplicate key (first on line {first})")
                continue
            if (*path, key) in self.where:  # written by a merge: what it wrote below goes
                _forget(self.where, (*path, key))
            self.where[(*path, key)] = (self.file, key_node.start_mark.line + 1)
            out[key] = self.build(value_node, (*path, key))
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def merge_sources(self, node: yaml.Node, path: Path_) -> list[dict[Any, Any]]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                self.problem(item, path, "'<<' (merge) needs a mapping or a list of mappings")
                continue
            value = self.build(item, path)
            if isinstance(value, dict):
                sources.append(value)
        return sources

    def key(self, node: yaml.Node, path: Path_) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, path, "invalid key: a key must be a plain name, not a block")
            return _BAD_KEY
        if node.tag not in _SCALAR_TAGS:
            self.problem(node, (*path, node.value), _tag_message(node.tag))
            return _BAD_KEY
        try:
            key = self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as err:
            self.problem(node, (*path, node.value), f"invalid key: {err}")
            return _BAD_KEY
        here = (*path, node.value)
        if isinstance(key, bool):
            self.problem(
                node,
                here,
                f"the key '{node.value}' reads as {str(key).lower()} in YAML: "
                f"write it in quotes ('{node.value}')",
            )
            return _BAD_KEY
        if key is None:
            self.problem(node, here, "a key cannot be empty or null")
            return _BAD_KEY
        if not isinstance(key, (str, int, float)):
            self.problem(node, here, f"invalid key: write '{node.value}' in quotes")
            return _BAD_KEY
        return key


_BAD_KEY = object()


class _TooLargeError(Exception):
    """A limit of :data:`MAX_NODES`, :data:`MAX_VALUES` or :data:`MAX_DEPTH` was passed."""


def _tag_message(tag: str) -> str:
    return (
        f"the tag '{_short_tag(tag)}' is not allowed (scenario files are read with a safe loader)"
    )


def read_yaml(text: str, file: str, *, mapping: bool = True) -> _Document:
    """Read one YAML text safely; every problem found is raised as a :class:`ScenarioError`."""
    try:
        loader = _SafeLoader(text)
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, max(err.position, 0)) + 1
        message = f"invalid character #x{err.character:04x} (special characters are not allowed)"
        raise ScenarioError([Problem(file, line, ROOT, message)]) from None
    builder = _Builder(loader, file)
    try:
        node = loader.get_single_node()
        data = None if node is None else builder.build(node, ())
    except yaml.MarkedYAMLError as err:
        raise ScenarioError([_syntax_problem(err, text, file)]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(file, 1, ROOT, f"invalid YAML: {err}")]) from None
    except _TooLargeError as err:
        raise ScenarioError([Problem(file, 1, ROOT, str(err))]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, 1, ROOT, "the document is nested too deeply")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise ScenarioError(builder.problems)
    if not mapping:
        return _Document(data, builder.where)
    if node is None:
        message = "the file is empty (a scenario needs at least start, end and nodes)"
        raise ScenarioError([Problem(file, 1, ROOT, message)])
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else "a single value"
        line = node.start_mark.line + 1
        message = f"a scenario must be a mapping of keys (name: value), not {what}"
        raise ScenarioError([Problem(file, line, ROOT, message)])
    return _Document(data, builder.where)


def read_text(path: Path, file: str | None = None) -> str:
    """The UTF-8 text of a scenario (or sweep) file, refused before parsing when larger than
    :data:`MAX_FILE_BYTES` (at most that many bytes are ever read, whatever the file is)."""
    file = str(path) if file is None else file
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        message = f"cannot read file: {err.strerror or err}"
        raise ScenarioError([Problem(file, 1, ROOT, message)]) from None
    if len(raw) > MAX_FILE_BYTES:
        message = f"the file is larger than {MAX_FILE_BYTES:,} bytes: not a scenario file"
        raise ScenarioError([Problem(file, 1, ROOT, message)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[err.start]:02x})"
        raise ScenarioError([Problem(file, line, ROOT, message)]) from None


def peek(path: Path) -> Any:
    """The data of a YAML file read with every limit, or None if it cannot be read (for
    guesses such as "is this a sweep file?", where an error is reported later if at all)."""
    try:
        return read_yaml(read_text(path), str(path), mapping=False).data
    except ScenarioError:
        return None


def _syntax_problem(err: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """A YAML syntax error, located on its line and (best effort) at the enclosing key.

    An unclosed bracket or quote is reported where it was opened: the parser only notices it
    lines later (or at the end of the file), where the text is fine.
    """
    context = (err.context or "").strip()
    problem = (err.problem or "").strip()
    at, other = err.problem_mark or err.context_mark, err.context_mark
    if (
        err.context_mark is not None
        and err.problem_mark is not None
        and err.context_mark.line != err.problem_mark.line
        and (
            "<stream end>" in problem
            or context.startswith(("while parsing a flow", "while scanning a quoted"))
        )
    ):
        at, other = err.context_mark, err.problem_mark
    line = at.line + 1 if at else 1
    if "'\\t'" in problem:
        message = "a tab character: indent with spaces, not tabs"
    elif "expected <block end>" in problem and err.context_mark is not None:
        block = err.context_mark.line + 1
        message = f"the indentation of this line does not match the block starting on line {block}"
    else:
        where = f" (line {other.line + 1})" if other is not None and other is not at else ""
        if other is err.context_mark:
            message = ", ".join(x for x in (context + where, problem) if x.strip())
        else:
            message = ", ".join(x for x in (context, problem + where) if x.strip())
    return Problem(file, line, _path_near(text, line), "invalid YAML: " + message)


_KEY_LINE = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<dashes>(?:-[ \t]+)*)"""
    r"""(?P<key>"[^"]*"|'[^']*'|[^\s#"'{}\[\],&*!|>%@`-][^#]*?)[ \t]*:(?:[ \t]|$)"""
)
_DASH_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<dashes>(?:-(?:[ \t]+|$))+)")


def _path_near(text: str, line: int) -> str:
    """The dotted block path of the key written on (or enclosing) ``line``, by indentation.

    Used only to locate YAML syntax errors, where the parser gives a line but no path.
    """
    stack: list[list[Any]] = []  # [indent, part, next list index]
    root: list[Any] = [-1, None, 0]
    for raw in text.splitlines()[:line]:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        m = _KEY_LINE.match(raw) or _DASH_LINE.match(raw)
        if m is None:
            continue
        col = len(m.group("indent"))
        dashes = m.group("dashes") or ""
        while stack and (stack[-1][0] > col or (stack[-1][0] == col and not dashes)):
            stack.pop()
        for dash in re.findall(r"-[ \t]*", dashes):
            while stack and stack[-1][0] == col and isinstance(stack[-1][1], int):
                stack.pop()
            parent = stack[-1] if stack else root
            stack.append([col, parent[2], 0])
            parent[2] += 1
            col += len(dash)
        key = m.groupdict().get("key")
        if key:
            while stack and stack[-1][0] >= col and not isinstance(stack[-1][1], int):
                stack.pop()
            stack.append([col, key.strip("'\""), 0])
    return _dotted([entry[1] for entry in stack])


# --- extends ---------------------------------------------------------------------------------


def _load_chain(path: Path, stack: tuple[Path, ...], shown: str | None = None) -> _Document:
    """Load ``path`` and, recursively, the files it ``extends``; merge child over parent.

    ``path`` is resolved (for cycle detection); ``shown`` is the name used in messages.
    """
    file = shown if shown is not None else str(path)
    doc = read_yaml(read_text(path, file), file)
    doc.data.setdefault("name", path.stem)
    doc.where.setdefault(("name",), (file, 1))
    parent_ref = doc.data.pop("extends", None)
    if parent_ref is None:
        return doc
    line = doc.where.get(("extends",), (file, 1))[1]
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError([Problem(file, line, "extends", "expected a file name")])
    parent_path = (path.parent / parent_ref).resolve()
    if parent_path in stack:
        cycle = " -> ".join(p.name for p in (*stack, parent_path))
        raise ScenarioError([Problem(file, line, "extends", f"circular extends: {cycle}")])
    if not parent_path.is_file():
        raise ScenarioError([Problem(file, line, "extends", f"no such file: {parent_ref}")])
    parent_shown = (
        parent_ref
        if os.path.isabs(parent_ref)
        else os.path.normpath(os.path.join(os.path.dirname(file), parent_ref))
    )
    parent = _load_chain(parent_path, (*stack, parent_path), parent_shown)
    return _merge(parent, doc)


def _retagged(base: dict[Any, Any], over: dict[Any, Any]) -> bool:
    """Whether ``over`` is a duration of another family than ``base`` (replaced, not merged)."""
    return "dist" in over and "dist" in base and over["dist"] != base["dist"]


def _merge(parent: _Document, child: _Document) -> _Document:
    """Child over parent: mappings merge key by key, ``null`` deletes, anything else replaces.
    A duration whose ``dist`` changes replaces the parent's whole (a gamma's ``sd`` means
    nothing to the empirical distribution that replaces it)."""
    where = Locations(parent.where)

    def merge(base: Any, over: Any, path: Path_) -> Any:
        if is_edit(over) and _editable(base):  # {scale: ..., from: ...} / {add_step: ...}
            _forget(where, path)
            return ScheduleEdit(base, over)
        if isinstance(base, dict) and isinstance(over, dict) and not _retagged(base, over):
            out = dict(base)
            for key, value in over.items():
                if value is None:
                    out.pop(key, None)
                    _forget(where, (*path, key))
                    where.pop((*path, key), None)
                else:
                    out[key] = merge(base.get(key), value, (*path, key))
            return out
        _forget(where, path)
        return over

    data = merge(parent.data, child.data, ())
    retitled = isinstance(child.data, dict) and "title" in child.data
    if retitled and "legend" not in child.data and isinstance(data, dict):
        data.pop("legend", None)  # a new title: the parent's short label would mislabel it
        _forget(where, ("legend",))
        where.pop(("legend",), None)
    for p, loc in child.where.items():
        if _exists(data, p) or (p and _exists(child.data, p) and _value(child.data, p) is None):
            where[p] = loc  # a deleted key stays located on its `null`, for "missing" errors
    return _Document(data, where)


def _forget(where: Locations, prefix: Path_) -> None:
    where.forget_below(prefix)


def _value(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _exists(data: Any, path: Path_) -> bool:
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_dict or in_list):
            return False
        data = data[part]
    return True


# --- --set overrides ---------------------------------------------------------------------------

SET = "--set"
_WARNED: set[str] = set()


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Split ``dotted.path=value``; the value is read as YAML (safe loader, same rules as files).

    Raises :class:`ValueError` with a one-line message when ``text`` is malformed.
    """
    if "=" not in text:
        raise ValueError(f"'{text}': expected dotted.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = path_parts(key)
    if not key or any(p == "" for p in parts):
        raise ValueError(f"'{text}': empty name in the path '{key}'")
    if not raw.strip():
        return parts, raw
    try:
        value = read_yaml(raw, SET, mapping=False).data
    except ScenarioError as err:
        message = err.problems[0].message if err.problems else "invalid value"
        raise ValueError(f"'{text}': {message}") from None
    return parts, value


def _apply_overrides(doc: _Document, overrides: Iterable[str]) -> list[str]:
    """Apply ``--set`` texts in order; return the warnings to print once the data is valid."""
    notes: list[str] = []
    for i, text in enumerate(overrides):
        origin = (SET, i + 1)
        try:
            parts, value = parse_override(text)
        except ValueError as err:
            raise ScenarioError([Problem(*origin, ROOT, str(err).splitlines()[0])]) from None
        try:
            target, key, parts = locate(doc.data, parts, missing=missing_entry)
        except PathError as err:
            raise ScenarioError([Problem(*origin, err.path, err.message)]) from None
        written = text.split("=", 1)[0].strip()
        note = schedule_replaced(origin, written, _entry(target, key), value, text.split("=", 1)[1])
        if note:
            notes.append(note)
        old = _entry(target, key)
        if is_edit(value) and _editable(old):  # a schedule edit applies to what is there
            value = ScheduleEdit(old, value)
        put(target, key, value)  # a number on a schedule replaces it (the warning above)
        _forget(doc.where, tuple(parts))
        doc.where[tuple(parts)] = origin
    return notes


def _entry(container: Any, key: str | int | None) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, list) and isinstance(key, int):
        return container[key]
    return None


def _child(container: Any, part: str | int) -> Any:
    return _entry(container, entry_key(container, part))


def missing_entry(data: Any, parts: Sequence[str | int], depth: int) -> str:
    """Why ``parts[depth]`` names nothing in ``data``, with a suggestion where one fits.

    Node ids and node kinds written where ``nodes`` is expected (``assore.capacity``,
    ``downstream.lhss.capacity``) are pointed to the node's own path.
    """
    container: Any = data
    for part in parts[:depth]:
        container = _child(container, part)
    part = parts[depth]
    if isinstance(container, list):
        return f"no such entry (the list has {len(container)} entries, numbered from 0)"
    if not isinstance(container, dict):
        return "no such entry"
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if isinstance(nodes, dict) and (depth == 0 or (depth == 1 and parts[0] == "nodes")):
        node_path = _node_path(nodes, [str(p) for p in parts[depth:]], depth == 0)
        if node_path is not None:
            rest = parts[depth + len(node_path[0]) :]
            return f"no such entry (did you mean '{_dotted(['nodes', node_path[1], *rest])}'?)"
    return f"no such entry{_suggest(str(part), container)}"


def _node_path(nodes: dict[Any, Any], parts: list[str], top: bool) -> tuple[list[str], str] | None:
    """The parts written for a node, and the node they mean (``None`` if no node fits)."""
    head = parts[0]
    if top and head in nodes:
        return [head], head
    kinds = {str(n.get("kind")) for n in nodes.values() if isinstance(n, dict)}
    if head in kinds | set(_tag_choices()["kind"]) and len(parts) > 1:
        if parts[1] in nodes:
            return parts[:2], parts[1]
        same_kind = [
            str(k) for k, n in nodes.items() if isinstance(n, dict) and n.get("kind") == head
        ]
        close = difflib.get_close_matches(parts[1], same_kind, n=1)
        if close:
            return parts[:2], close[0]
    close = difflib.get_close_matches(head, [str(k) for k in nodes], n=1) if top else []
    return ([head], close[0]) if close else None


def schedule_replaced(
    origin: tuple[str, int], path: str, old: Any, new: Any, shown: str | None = None
) -> str | None:
    """The warning for a single value that replaces a whole schedule (None if it does not).

    A flat value is a legitimate question, so this is a warning and not an error; it says how
    to change only the last step (``path.-1.value``) instead.
    """
    if not is_schedule(old) or isinstance(new, (list, dict)) or new is None:
        return None
    first, last = old[0].get("from"), old[-1].get("from")
    value = f"={shown.strip()}" if shown is not None else ""
    return (
        f"{origin[0]}:{origin[1]}: {path}: replaces the whole schedule of {len(old)} steps "
        f"({_when(first)} to {_when(last)}) with one value for the whole run; to change only "
        f"the last step (from {_when(last)}) write {path}.-1.value{value}"
    )


def _when(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def warn_once(message: str) -> None:
    """Print ``warning: message`` on stderr, once per process for each message."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"warning: {message}", file=sys.stderr)


# --- public entry points -----------------------------------------------------------------------


def _resolved(path: str | Path, overrides: Iterable[str]) -> tuple[_Document, list[str]]:
    """The merged, overridden data and the warnings the overrides gave (not yet printed)."""
    p = Path(path)
    doc = _load_chain(p.resolve(), (p.resolve(),), str(path))
    notes = _apply_overrides(doc, overrides)
    _apply_edits(doc)
    doc.data = with_window_dates(doc.data)
    return doc, notes


def _editable(base: Any) -> bool:
    """Whether a schedule edit can apply to ``base``: a schedule, a number or another edit."""
    number = isinstance(base, (int, float)) and not isinstance(base, bool)
    return number or is_schedule(base) or isinstance(base, ScheduleEdit)


def _apply_edits(doc: _Document) -> None:
    """Turn the schedule edits of the merged data into the schedules they stand for."""
    data = doc.data
    if not isinstance(data, dict):
        return
    try:
        start = dt.date.fromisoformat(str(data.get("start")))
    except ValueError:
        start = None
    if start is None:
        if _has_edit(data):
            line = _locate(doc.where, ("start",))
            raise ScenarioError([Problem(*line, "start", "a schedule edit needs the start date")])
        return
    problems = resolve_edits(data, start)
    if problems:
        raise ScenarioError(
            [Problem(*_locate(doc.where, p), _dotted(p), message) for p, message in problems]
        )


def _has_edit(data: Any) -> bool:
    if isinstance(data, ScheduleEdit):
        return True
    if isinstance(data, dict):
        return any(_has_edit(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_edit(v) for v in data)
    return False


def load_raw(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The merged, overridden scenario data before validation (for diffs and sweeps)."""
    doc, notes = _resolved(path, overrides)
    for note in notes:
        warn_once(note)
    return dict(doc.data)


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load, resolve (``extends``, ``--set``) and validate a scenario file.

    >>> sc = load_scenario("scenarios/verification/mmc.yaml", ["end=2010-01-01"])
    >>> sc.end.isoformat(), sc.nodes["queue"].capacity
    ('2010-01-01', 400.0)
    """
    doc, notes = _resolved(path, overrides)
    scenario = validate_data(doc)
    for note in notes:  # after the errors: a warning beside an error would only be noise
        warn_once(note)
    return scenario


def validate_data(
    doc: _Document | dict[str, Any], display: dict[str, str] | None = None
) -> Scenario:
    """Validate raw data into a :class:`Scenario`, turning errors into located problems."""
    if isinstance(doc, dict):
        doc = _Document(doc, Locations())
    try:
        return Scenario.model_validate(doc.data)
    except ValidationError as err:
        raise ScenarioError(_problems(err, doc, display or {})) from None


def load_located(path: str | Path) -> tuple[dict[str, Any], dict[Path_, Location]]:
    """Merged raw data of a scenario file and, for each dotted path, the (file, line) that
    wrote it (for documentation generated from the files)."""
    p = Path(path)
    doc = _load_chain(p.resolve(), (p.resolve(),))
    return dict(doc.data), dict(doc.where)


def validate_json_data(data: dict[str, Any], origin: str = "<scenario>") -> Scenario:
    """Validate JSON-shaped data (dates as ISO text, e.g. a dumped scenario) into a Scenario."""
    try:
        return Scenario.model_validate_json(json.dumps(data))
    except ValidationError as err:
        raise ScenarioError(
            _problems(err, _Document(data, Locations()), {"<scenario>": origin})
        ) from None


# --- turning pydantic errors into problems ------------------------------------------------------


def _problems(err: ValidationError, doc: _Document, display: dict[str, str]) -> list[Problem]:
    grouped: dict[Path_, list[tuple[str, str, Any]]] = {}
    for e in err.errors(include_url=False):
        ctx_err = (e.get("ctx") or {}).get("error")
        if isinstance(ctx_err, NetworkError):
            for path, message in ctx_err.problems:
                grouped.setdefault(tuple(path), []).append(("network", message, None))
            continue
        path = _data_path(doc.data, e["loc"], e["type"])
        if e["type"] == "union_tag_invalid":  # point at the `kind:` or `dist:` line itself
            field = str((e.get("ctx") or {}).get("discriminator", "")).strip("'")
            if _exists(doc.data, (*path, field)):
                path = (*path, field)
        kind = "invalid_key" if "[key]" in e["loc"] else e["type"]
        grouped.setdefault(path, []).append((kind, _message(e, path), e.get("input")))
    # A value that failed one branch of a union on its type but matched another branch's shape
    # (a list of steps rather than a number, say) is reported by the deeper errors only.
    for path in list(grouped):
        deeper = any(len(p) > len(path) and p[: len(path)] == path for p in grouped)
        if deeper and all(t.endswith("_type") for t, _, _ in grouped[path]):
            del grouped[path]
    out: list[Problem] = []
    for path, errors in grouped.items():
        specific = [m for t, m, _ in errors if not t.endswith("_type")]
        if specific:
            message = " or ".join(dict.fromkeys(specific))
        else:
            wanted = [m.removeprefix("Input should be ") for _, m, _ in errors]
            message = "Input should be " + " or ".join(dict.fromkeys(wanted))
            message += _got(errors[0][2], errors[0][0])
        file, line = _locate(doc.where, path)
        blamed = _set_below(doc.where, path) if file != SET else None
        if blamed is not None:  # a --set inside this block made it wrong: point at the --set
            message += f" (the block is on line {line} of {display.get(file, file)})"
            file, line = blamed
        out.append(Problem(display.get(file, file), max(line, 1), _dotted(path), message))
    return out


def _set_below(where: Mapping[Path_, Location], path: Path_) -> Location | None:
    """The last ``--set`` that wrote inside ``path``, if any."""
    n = len(path)
    sets = [loc for p, loc in where.items() if loc[0] == SET and len(p) > n and p[:n] == path]
    return max(sets, key=lambda loc: loc[1], default=None)


def _data_path(data: Any, loc: tuple[Any, ...], kind: str = "") -> Path_:
    """Map a pydantic location to a path in the data, dropping union branch names."""
    path: list[Any] = []
    current = data
    for i, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(current, dict) and part in current:
            same = [k for k in current if k == part]
            part = next((k for k in same if type(k) is type(part)), same[0])
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif isinstance(current, dict) and kind == "missing" and i == len(loc) - 1:
            path.append(part)
    return tuple(path)


def _message(e: Any, path: Path_) -> str:
    kind = e["type"]
    ctx = e.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(str(path[-1]) if path else "", e["loc"])
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag"))
        field = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {field} '{tag}'{_suggest(tag, tags)}; use one of {', '.join(tags)}"
    if kind == "union_tag_not_found":
        field = str(ctx.get("discriminator", "kind")).strip("'")
        choices = _tag_choices().get(field)
        hint = f" (use one of {', '.join(choices)})" if choices else ""
        return f"required field '{field}' is missing{hint}"
    msg = str(e["msg"]).removeprefix("Value error, ")
    msg = _REWORDED.get(msg, msg)
    if msg.startswith("Input should be a valid dictionary or instance of "):
        msg = _REWORDED["Input should be a valid dictionary"]
    if "[key]" in e["loc"] and not isinstance(e.get("input"), str):
        return f"invalid key {e.get('input')!r}: keys here are names (text); put it in quotes"
    if "[key]" in e["loc"]:
        return f"invalid key: {msg}{_got(e.get('input'), kind)}"
    if kind.endswith("_type"):
        return msg  # the "got" part is added once per path, after union branches are merged
    return msg + _got(e.get("input"), kind)


_REWORDED = {
    "Input should be a valid dictionary or object to extract fields from": (
        "Input should be a mapping (key: value lines)"
    ),
    "Input should be a valid dictionary": "Input should be a mapping (key: value lines)",
    "Input should be a valid list": "Input should be a list",
}


_YAML11_FLOAT = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")


def _got(value: Any, kind: str) -> str:
    """`` (got ...)`` for a scalar input, with a hint for the usual YAML surprises."""
    if isinstance(value, bool):
        word = str(value).lower()
        return f" (got {word}: YAML reads yes/no/on/off as booleans; put the word in quotes)"
    if isinstance(value, str) and kind.startswith("date"):
        return f" (got the text '{value}': write a date as YYYY-MM-DD, without quotes)"
    if isinstance(value, dt.datetime):
        return f" (got {value.isoformat(sep=' ')}: write a date without a time)"
    if value is None:
        return " (got null)"
    if (
        isinstance(value, str)
        and _YAML11_FLOAT.fullmatch(value)
        and kind.startswith(("float", "int"))
    ):
        return f" (got the text '{value}': {_float_hint(value)})"
    if isinstance(value, str):
        return f" (got '{value}')" if len(value) <= 40 else " (got a text)"
    if isinstance(value, (int, float, dt.date)):
        return f" (got {value})"
    return ""


def _float_hint(text: str) -> str:
    """How to write ``text`` (``1e3``, ``1.0e12``) so that YAML reads a number: YAML 1.1
    wants a dot in the mantissa and a sign in the exponent (``1.0e+3``)."""
    mantissa, _, exponent = text.lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if not exponent.startswith(("+", "-")):
        exponent = "+" + exponent
    written = f"{mantissa}e{exponent}"
    plain = float(text)
    alternative = f" or {plain:.0f}" if plain.is_integer() and abs(plain) < 1e16 else ""
    return f"YAML reads {text} as text; write {written}{alternative}"


def _unknown_key(key: str, loc: tuple[Any, ...]) -> str:
    block = tuple(p for p in loc[:-1] if p != "[key]")
    model = _model_at(Scenario, block)
    retired: Mapping[str, str] = getattr(model, "RETIRED_KEYS", {})
    if key in retired:  # a key an older parcours read: say what became of it
        return retired[key]
    allowed = _allowed_keys(block)
    choices = allowed if allowed is not None else sorted(_vocabulary())
    hint = _suggest(key, [c for c in choices if c != key])
    if hint or allowed is None:
        return f"unknown key{hint}"
    return f"unknown key; allowed here: {', '.join(allowed)}"


def _locate(where: Mapping[Path_, Location], path: Path_) -> tuple[str, int]:
    for n in range(len(path), -1, -1):
        if path[:n] in where:
            return where[path[:n]]
    return next(iter(where.values()), ("<scenario>", 1))


def _dotted(path: Sequence[Any]) -> str:
    text = ".".join(str(p).lower() if isinstance(p, bool) else str(p) for p in path) or ROOT
    return re.sub(r"\s+", "_", text)


def _suggest(word: str, choices: Iterable[Any]) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- the schema, walked for suggestions ----------------------------------------------------------


@functools.cache
def _vocabulary() -> frozenset[str]:
    """Every key the schema knows, for "did you mean" suggestions."""
    words: set[str] = set()

    def visit(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            words.add(field.alias or name)
            for sub in _models_in(field.annotation):
                if sub.__name__ not in seen:
                    seen.add(sub.__name__)
                    visit(sub)

    seen: set[str] = set()
    visit(Scenario)
    return frozenset(words)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found.append(a)
        stack.extend(typing.get_args(a))
    return found


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys of the schema block at pydantic location ``loc``, if it can be told."""
    model = _model_at(Scenario, loc)
    if model is None:
        return None
    keys = [f.alias or name for name, f in model.model_fields.items()]
    return sorted(keys, key=lambda k: k not in ("kind", "dist"))  # the tag first, as written


def _model_at(annotation: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = _members(annotation)
        if loc:
            for member in members:  # a discriminated union names the branch by its tag
                if loc[0] in _tags(member):
                    return _model_at(member, loc[1:])
        for rest in (loc, loc[1:]) if loc else (loc,):  # other unions may name the branch
            for member in members:
                found = _model_at(member, rest)
                if found is not None:
                    return found
        return None
    if not loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        return None
    head, rest = loc[0], loc[1:]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if head in (name, field.alias):
                return _model_at(field.annotation, rest)
        return None
    if origin is dict:
        return _model_at(typing.get_args(annotation)[1], rest)
    if origin is list:
        return _model_at(typing.get_args(annotation)[0], rest)
    return None


@functools.cache
def _tag_choices() -> dict[str, list[str]]:
    """The values of each discriminator (``kind`` of a node, ``dist`` of a duration)."""
    from sim.inputs.distributions import Duration
    from sim.inputs.scenario import Node

    return {
        "kind": [str(t) for m in _members(Node) for t in _tags(m)],
        "dist": [str(t) for m in _members(Duration) for t in _tags(m)],
    }


def _members(annotation: Any) -> list[Any]:
    """The branches of a union, nested unions and ``Annotated`` wrappers flattened."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    return [annotation]


def _tags(annotation: Any) -> tuple[Any, ...]:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return ()
    tags: list[Any] = []
    for field in annotation.model_fields.values():
        if typing.get_origin(field.annotation) is typing.Literal:
            args = typing.get_args(field.annotation)
            if len(args) == 1:
                tags.extend(args)
    return tuple(tags)

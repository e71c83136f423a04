"""What an alternative changes, in words, for the report: one row per changed setting, named
by the node's display name and the field's label (no dotted path where a label exists), each
side as a readable value or schedule ("610 places from 1 November 2023, then 400 from
1 January 2024")."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sim.inputs.diff import ABSENT, is_step, scenario_diff
from sim.outputs import formats, i18n
from sim.outputs.i18n import Lang, t

NOT_COMPARED = ("name", "title", "legend", "description", "observations", "calibration", "headline")
"""Keys that do not change what is simulated (or are outputs): left out of "what differs"."""

PLACES = ("capacity", "places", "initial_occupancy")
EUROS = ("cost_per_place_day", "cost_per_year", "cost_per_stay")
ROUTINGS = (
    "routing",
    "negative_routing",
    "arrival_routing",
    "exit_routing",
    "exit_hazards_per_year",
)
SHARES = (
    "referral_probability",
    "referral_probability_per_visit",
    "referred_on_arrival",
    "reach",
    "probability",
)


@dataclasses.dataclass(frozen=True)
class Change:
    """One changed setting: its label and its value in the reference and the alternative."""

    label: str
    reference: str
    alternative: str


def changes(reference: dict[str, Any], alternative: dict[str, Any], lang: Lang) -> list[Change]:
    """The settings that differ between two resolved scenarios, in reading order."""
    settings: list[str] = []
    for path, _, _ in scenario_diff(reference, alternative):
        setting = _setting(path)
        if setting.split(".")[0] not in NOT_COMPARED and setting not in settings:
            settings.append(setting)
    words = _Words(lang, reference, alternative)
    out = []
    for setting in settings:
        a, b = value_at(reference, setting), value_at(alternative, setting)
        field = _field(setting)
        out.append(
            Change(
                label=setting_label(setting, reference, alternative, lang),
                reference=words.value(a, b, field),
                alternative=words.value(b, a, field),
            )
        )
    return out


def _setting(path: str) -> str:
    """The setting a difference belongs to: a schedule step's path without its ``[date]``,
    and a node's field (``nodes.<id>.<field>``) as a whole."""
    path = path.split("[", 1)[0]
    parts = path.split(".")
    if parts[0] == "nodes" and len(parts) > 3 and parts[2] in ("capacity", "places"):
        return ".".join(parts[:3])
    return path


def _field(setting: str) -> str:
    """The last name of a setting that is not a list position."""
    names = [p for p in setting.split(".") if not p.lstrip("-").isdigit()]
    return names[-1] if names else setting


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (list positions as integers), or ``ABSENT``."""
    for part in path.split("."):
        if isinstance(data, dict):
            if part not in data:
                return ABSENT
            data = data[part]
        elif isinstance(data, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(data) <= index < len(data):
                return ABSENT
            data = data[index]
        else:
            return ABSENT
    return data


def field_label(name: str, lang: Lang) -> str:
    """A scenario field's label (``field.*``, else the app's form label, else its words)."""
    for key in (f"field.{name}", f"app.{name}"):
        if key in i18n.LABELS:
            return t(key, lang)
    return name.replace("_", " ")


def _node_name(node_id: str, *scenarios: dict[str, Any], lang: Lang) -> str:
    for data in scenarios:
        name = value_at(data, f"nodes.{node_id}.name")
        if isinstance(name, dict):
            return i18n.node_name(name, lang)
    return node_id


def setting_label(
    path: str, reference: dict[str, Any], alternative: dict[str, Any], lang: Lang
) -> str:
    """``ASSORE (hotels): places`` for ``nodes.assore.capacity``; other paths by field labels."""
    parts = path.split(".")
    names: list[str] = []
    if parts[0] == "nodes" and len(parts) >= 2:
        names.append(_node_name(parts[1], reference, alternative, lang=lang))
        parts = parts[2:]
    words: list[str] = []
    for i, part in enumerate(parts):
        if i > 0 and parts[i - 1] in ROUTINGS:  # a routing's destination: a node
            words.append(_node_name(part, reference, alternative, lang=lang))
        elif part.lstrip("-").isdigit():  # a list position: a schedule's step
            if words:
                index = int(part)
                step = (
                    t("report.step", lang, n=index + 1)
                    if index >= 0
                    else t("report.last_step", lang)
                )
                words[-1] += f" ({step})"
        elif part != "value" or not words:
            words.append(field_label(part, lang))
    label = " › ".join(words)
    if names:
        return f"{names[0]}{i18n.colon(lang)}{label}" if label else names[0]
    return label


def _steps(value: Any) -> list[tuple[dt.date, Any]] | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(s, dict) and is_step(s) for s in value):
        return None
    return [(dt.date.fromisoformat(str(s["from"])), s["value"]) for s in value]


MAIN_FIELDS = ("capacity", "places", "releases_per_month", "contacts_per_week", "cost_per_year",
               "cost_per_place_day")  # fmt: skip
"""What an added node shows beside its kind."""


class _Words:
    """Values in words, with the node names and start date of the two scenarios."""

    def __init__(self, lang: Lang, *scenarios: dict[str, Any]) -> None:
        self.lang = lang
        self.names: dict[str, str] = {}
        for data in scenarios:
            for node_id, node in (data.get("nodes") or {}).items():
                if isinstance(node, dict) and isinstance(node.get("name"), dict):
                    self.names.setdefault(node_id, i18n.node_name(node["name"], lang))
        starts = [value_at(d, "start") for d in scenarios]
        self.start = min(
            (dt.date.fromisoformat(str(d)) for d in starts if d is not ABSENT), default=None
        )

    def scalar(self, value: Any, field: str, unit: bool = True) -> str:
        """One value of ``field``: places counted (``1 place``), euros, shares, numbers,
        dates, routings by node name."""
        lang = self.lang
        if value is ABSENT or value is None:
            return formats.DASH
        if isinstance(value, bool):
            return t("yes" if value else "no", lang)
        if isinstance(value, int | float):
            if field in EUROS:
                return formats.number(value, lang, unit="euro", symbol=True)
            if field in SHARES:
                places = formats.exact_decimals([100 * value], most=1)
                return formats.number(value, lang, places, "share")
            text = formats.number(value, lang, formats.exact_decimals([value]))
            if unit and field in PLACES:
                return i18n.count(value, "unit.place", lang, text)
            return text
        if isinstance(value, str):
            try:
                return i18n.date_long(dt.date.fromisoformat(value), lang)
            except ValueError:
                return self.names.get(value, value)
        steps = _steps(value)
        if steps is not None:
            return self.schedule(steps, field)
        if isinstance(value, dict) and field in ROUTINGS:
            return ", ".join(
                f"{self.names.get(k, k)} {formats.number(float(v), lang, 0, 'share')}"
                for k, v in value.items()
            )
        if isinstance(value, dict) and "kind" in value:  # a node added or removed
            parts = (
                [t(f"kind.{value['kind']}", lang)] if f"kind.{value['kind']}" in i18n.LABELS else []
            )
            parts += [
                f"{field_label(k, lang)}{i18n.colon(lang)}{self.scalar(value[k], k)}"
                for k in MAIN_FIELDS
                if value.get(k) is not None
            ]
            return "; ".join(parts)
        if isinstance(value, dict):
            return "; ".join(
                f"{field_label(k, lang)}{i18n.colon(lang)}{self.scalar(v, k)}"
                for k, v in value.items()
                if v is not None and not (isinstance(v, dict | list) and not v)
            )
        if isinstance(value, list):
            return ", ".join(self.scalar(v, field) for v in value)
        return str(value)

    def schedule(
        self, steps: list[tuple[dt.date, Any]], field: str, since: dt.date | None = None
    ) -> str:
        """``610 places from 1 November 2023, then 400 from 1 January 2024``: the steps from
        the one in force on ``since`` (``…`` stands for the earlier ones); a step from the
        start of the run shows its value alone."""
        first = 0
        if since is not None:
            for i, (day, _) in enumerate(steps):
                if day <= since:
                    first = i
        shown = []
        for i, (day, value) in enumerate(steps[first:], start=first):
            text = self.scalar(value, field, unit=i == first)
            if i > 0 or self.start is None or day > self.start:
                text = t(
                    "report.from_date", self.lang, value=text, date=i18n.date_long(day, self.lang)
                )
            shown.append(text)
        text = t("report.then", self.lang).join(shown)
        return f"… {text}" if first > 0 else text

    def value(self, value: Any, other: Any, field: str) -> str:
        """``value`` in words; a schedule from the step in force just before it departs from
        ``other``'s."""
        steps = _steps(value)
        if steps is None:
            return self.scalar(value, field)
        others = _steps(other)
        since = None
        if others is not None:
            mine, theirs = dict(steps), dict(others)
            dates = sorted(set(mine) | set(theirs))
            differing = [d for d in dates if mine.get(d) != theirs.get(d)]
            before = [d for d in dates if differing and d < differing[0]]
            since = before[-1] if before else None
        return self.schedule(steps, field, since)

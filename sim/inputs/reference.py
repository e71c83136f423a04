"""The scenario format reference (Markdown), generated from the schema so it cannot drift."""

from __future__ import annotations

from typing import Any

from sim.inputs.scenario import Scenario

ORDER = (
    "Scenario",
    "StreetNode",
    "InitialStreet",
    "OutreachNode",
    "RestSpaceNode",
    "AccommodationNode",
    "DownstreamNode",
    "InitialResidents",
    "ExitNode",
    "ReturnToStreet",
    "Attribute",
    "Observation",
    "Calibration",
    "FreeParameter",
    "Step",
    "DisplayName",
)


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"] if s.get("type") != "null")
    if "oneOf" in spec:
        return "duration (see [Durations](#durations))"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object":
        extra = spec.get("additionalProperties")
        return f"map of id → {_type(extra)}" if isinstance(extra, dict) else "map"
    bounds = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<=")):
        if key in spec:
            bounds.append(f"{sign} {spec[key]}")
    suffix = f" ({', '.join(bounds)})" if bounds else ""
    fmt = spec.get("format")
    return f"{fmt or kind}{suffix}"


def _table(name: str, model: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", "", model.get("description", "").strip(), ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    required = set(model.get("required", []))
    for key, spec in model.get("properties", {}).items():
        default = "required" if key in required else f"`{spec.get('default')!r}`"
        text = " ".join(str(spec.get("description", "")).split())
        lines.append(f"| `{key}` | {_type(spec)} | {default} | {text} |")
    return [*lines, ""]


def markdown() -> str:
    """The whole reference page."""
    schema = Scenario.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    defs["Scenario"] = {k: v for k, v in schema.items() if k != "$defs"}
    lines = [
        "# Scenario format reference",
        "",
        "Generated from the schema by `parcours schema --markdown`; a test keeps it current.",
        "Units are in the key names: durations in days, hazards per year, outreach contacts per",
        "week, housing releases per month. A schedule is a number or a list of",
        "`{from: date, value: x}` steps; its first step must begin on or before `start`. A later",
        "step may ramp: `{from: date, value: x, ramp_until: date}` climbs (or falls) linearly",
        "from the previous value on `from` to `x` on `ramp_until` (run as weekly steps at the",
        "ramp's mean, so that its integral is exact).",
        "Routing probabilities must sum to 1 (within 1e-6, above or below).",
        "",
    ]
    for name in ORDER:
        lines += _table(name, defs[name])
    lines += ["## Durations", "", "Every duration is written `{dist: ..., ...}` in days:", ""]
    for name in (
        "Exponential",
        "Gamma",
        "LogNormal",
        "Weibull",
        "Uniform",
        "Triangular",
        "Fixed",
        "Empirical",
    ):
        model = defs[name]
        keys = ", ".join(f"`{k}`" for k in model.get("properties", {}) if k != "dist")
        dist = model["properties"]["dist"].get("const")
        lines.append(f"- `{dist}`: {keys}. {model.get('description', '')}")
    return "\n".join(lines) + "\n"

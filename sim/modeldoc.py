"""``docs/model.md``: the STRESS-DES description of the model, with its tables generated from
the scenario files (and the committed calibration summary) so they cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.loading import load_located, load_scenario
from sim.scenario import (
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
)

SCENARIO_FILES = (
    "paris-2019.yaml",
    "history-2019-2023.yaml",
    "etape2-610.yaml",
    "etape2-610-downstream.yaml",
)


def parameter_rows(path: Path) -> list[dict[str, Any]]:
    """Every number written in a scenario file with the source comment on its line."""
    data, where = load_located(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for key, (file, line) in sorted(where.items(), key=lambda kv: kv[1][1]):
        if Path(file).resolve() != path.resolve() or not key or key[0] == "observations":
            continue
        value: Any = data
        try:
            for part in key:
                value = value[part]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        source = text.split("#", 1)[1].strip() if "#" in text else ""
        rows.append(
            {
                "path": ".".join(map(str, key)),
                "value": str(value) if isinstance(value, int) else f"{value:g}",
                "source": source,
                "line": line,
            }
        )
    return rows


def _md_table(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [str(row[c]).replace("|", "\\|") for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return out


def mermaid(scenario: Scenario) -> str:
    """The pathway as a Mermaid flowchart (node kinds as shapes, routing as arrows)."""
    lines = ["flowchart LR"]
    for node_id, node in scenario.nodes.items():
        label = node.name.en.replace('"', "'")
        shape = {
            "street": f'{node_id}(["{label}"])',
            "outreach": f'{node_id}{{{{"{label}"}}}}',
            "rest_space": f'{node_id}{{{{"{label}"}}}}',
            "exit": f'{node_id}(("{label}"))',
        }.get(node.kind, f'{node_id}["{label}"]')
        lines.append(f"  {shape}")
    street = scenario.street_id
    for node_id, node in scenario.nodes.items():
        if isinstance(node, (OutreachNode, RestSpaceNode)):
            lines.append(f"  {street} -. contact .-> {node_id}")
            for target in node.routing:
                lines.append(f"  {node_id} -- referral --> {target}")
        if isinstance(node, (AccommodationNode, DownstreamNode)):
            for target in node.routing:
                lines.append(f"  {node_id} --> {target}")
            for target in node.negative_routing:
                lines.append(f"  {node_id} -. negative .-> {target}")
        if isinstance(node, ExitNode) and node.return_to_street:
            lines.append(f"  {node_id} -. return .-> {street}")
    street_node = scenario.nodes[street]
    for target in getattr(street_node, "exit_routing", {}):
        lines.append(f"  {street} -. exit .-> {target}")
    return "\n".join(lines)


def markdown(root: Path) -> str:
    """The whole of docs/model.md."""
    scenarios = root / "scenarios"
    history = load_scenario(scenarios / "history-2019-2023.yaml")
    text = (Path(__file__).parent / "templates" / "model.md").read_text(encoding="utf-8")
    parts = {"mermaid": "```mermaid\n" + mermaid(history) + "\n```"}
    tables = []
    for name in SCENARIO_FILES:
        frame = pd.DataFrame(parameter_rows(scenarios / name))
        if frame.empty:
            continue
        frame["line"] = frame["line"].map(lambda n, f=name: f"{f}:{n}")
        tables += [f"### `{name}`", "", *_md_table(frame, ["path", "value", "source", "line"]), ""]
    parts["parameters"] = "\n".join(tables).rstrip()
    cal = root / "docs" / "calibration"
    for key, file, columns in (
        ("targets", "targets.csv", ["label", "role", "target", "tolerance", "mean", "ci95", "met"]),
        (
            "identification",
            "identification.csv",
            ["parameter", "lower", "upper", "q05", "q95", "width_ratio", "verdict"],
        ),
        ("fitted", "fitted.csv", ["parameter", "path", "value"]),
    ):
        path = cal / file
        if path.exists():
            frame = pd.read_csv(path).round(4)
            parts[key] = "\n".join(_md_table(frame.astype(object).fillna("–"), columns))
        else:
            parts[key] = "_(not yet calibrated)_"
    for key, value in parts.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def main() -> None:
    """Regenerate docs/model.md from the repository it runs in."""
    root = Path.cwd()
    (root / "docs" / "model.md").write_text(markdown(root), encoding="utf-8")
    print("written: docs/model.md")


if __name__ == "__main__":
    main()

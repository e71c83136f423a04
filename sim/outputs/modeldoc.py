"""``docs/model.md``: the STRESS-DES description of the model, with its tables generated from
the scenario files (and the committed calibration summary) so they cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.inputs.loading import load_located, load_scenario
from sim.inputs.scenario import (
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
)
from sim.outputs import formats

REPLICATION_KPI = "obs.T1_assore_exits_jan_oct_2020"
"""The KPI whose confidence-interval width sets the replication counts: the noisiest fit target."""
REPLICATION_COUNTS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
WELCH_DAYS = (0, 30, 90, 180, 365, 730, 1095, 1460, 1825)


def shipped_scenarios(scenarios: Path) -> list[str]:
    """Every scenario file of ``scenarios/`` (not sweeps or verification), parents first."""
    import yaml

    def depth(name: str) -> int:
        parent = yaml.safe_load((scenarios / name).read_text(encoding="utf-8")).get("extends")
        return 0 if not isinstance(parent, str) else 1 + depth(Path(parent).name)

    names = [p.name for p in scenarios.glob("*.yaml") if not p.name.startswith("_")]
    return sorted(names, key=lambda n: (depth(n), n))


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
    for name in shipped_scenarios(scenarios):
        frame = pd.DataFrame(parameter_rows(scenarios / name))
        if frame.empty:
            tables += [f"### `{name}`", "", "No number of its own: dates and observations.", ""]
            continue
        frame["line"] = frame["line"].map(lambda n, f=name: f"{f}:{n}")
        tables += [f"### `{name}`", "", *_md_table(frame, ["path", "value", "source", "line"]), ""]
    parts["parameters"] = "\n".join(tables).rstrip()
    cal = root / "docs" / "calibration"
    for key, file, columns in (
        (
            "targets",
            "predictive.csv",
            ["label", "role", "target", "tolerance", "mean", "q05", "q95", "met"],
        ),
        (
            "identification",
            "intervals.csv",
            ["parameter", "prior_lower", "prior_upper", "q05", "q50", "q95"],
        ),
        (
            "fitted",
            "generations.csv",
            ["generation", "epsilon", "proposals", "accepted", "acceptance_rate", "ess"],
        ),
    ):
        path = cal / file
        if path.exists():
            frame = pd.read_csv(path).round(4)
            parts[key] = "\n".join(_md_table(frame.astype(object).fillna("–"), columns))
        else:
            parts[key] = "_(not yet calibrated)_"
    parts.update(replication_parts(history))
    parts["welch"] = welch_table(scenarios / "verification" / "mmc.yaml")
    for key, value in parts.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def replication_parts(history: Scenario) -> dict[str, str]:
    """The confidence-interval width method on the history: half-width of the key KPI against
    the number of replications (seed 1), and the counts ``parcours replications`` reports."""
    from sim.running.replications import count_needed, running_table
    from sim.running.runner import default_workers, run

    runs = run(
        history,
        max(REPLICATION_COUNTS),
        1,
        workers=default_workers(),  # the same numbers on any number of processes
        keep_timeseries=False,
        keep_episodes=False,
    )
    table = running_table(list(runs.kpis[REPLICATION_KPI]))
    shown = table[table["replications"].isin(REPLICATION_COUNTS)].copy()
    shown["mean"] = shown["mean"].map(lambda x: formats.number(x, "en", 1))
    shown["ci95"] = shown["ci95"].map(lambda x: f"± {formats.number(x, 'en', 1)}")
    shown["relative"] = shown["relative"].map(lambda x: formats.number(x, "en", 1, "share"))
    rows = _md_table(
        shown.rename(
            columns={
                "mean": "mean exits",
                "ci95": "95% CI half-width",
                "relative": "relative to the mean",
            }
        ),
        ["replications", "mean exits", "95% CI half-width", "relative to the mean"],
    )
    relative = list(table["relative"])
    needed = {p: count_needed(relative, p) for p in (0.05, 0.10)}
    return {
        "replication_kpi": f"`{REPLICATION_KPI}`",
        "replications": "\n".join(rows),
        "needed_5": str(needed[0.05] or f"more than {len(relative)}"),
        "needed_10": str(needed[0.10] or f"more than {len(relative)}"),
    }


def welch_table(mmc: Path) -> str:
    """Welch's moving average (60 days) of the verification queue's occupancy, 10 replications,
    over its first five years."""
    from sim.running.replications import welch_average
    from sim.running.runner import run

    runs = run(load_scenario(mmc, ["end=2005-01-01"]), 10, 1, keep_episodes=False)
    frame = welch_average(runs.timeseries, "occupancy.queue", 60)
    frame = frame[frame["day"].isin(WELCH_DAYS)].copy()
    frame["day"] = frame["day"].map(lambda d: f"{d:.0f}")
    for column in ("mean", "moving_average"):
        frame[column] = frame[column].map(lambda x: formats.number(x, "en", 1))
    columns = {"mean": "mean across replications", "moving_average": "moving average (±30 days)"}
    return "\n".join(_md_table(frame.rename(columns=columns), ["day", *columns.values()]))


def main() -> None:
    """Regenerate docs/model.md from the repository it runs in."""
    root = Path.cwd()
    (root / "docs" / "model.md").write_text(markdown(root), encoding="utf-8")
    print("written: docs/model.md")


if __name__ == "__main__":
    main()

"""The pathway network of a scenario: nodes, capacities and routing, as Mermaid text or a chart.

Columns follow the pathway: the street, the contact services, then places in the order people
reach them (the longest route from the street, ignoring routes back), then outcomes. The same
layering orders the Sankey of :mod:`sim.sankey`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim import i18n, style
from sim.i18n import Lang, t
from sim.scenario import (
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
    Schedule,
    StreetNode,
    schedule_steps,
)

EdgeKind = Literal["contact", "referral", "route", "negative", "exit"]


@dataclasses.dataclass(frozen=True)
class Edge:
    """A possible move between two nodes, with its probability (None for a contact)."""

    source: str
    target: str
    probability: float | None
    kind: EdgeKind


def edges(sc: Scenario) -> list[Edge]:
    """Every route of the scenario, in file order."""
    out: list[Edge] = []
    street = sc.street_id
    for node_id, node in sc.nodes.items():
        if isinstance(node, StreetNode):
            for target, p in node.arrival_routing.items():
                out.append(Edge(node_id, target, p * node.referred_on_arrival, "referral"))
            for target, p in node.exit_routing.items():
                out.append(Edge(node_id, target, p, "exit"))
        elif isinstance(node, OutreachNode | RestSpaceNode):
            out.append(Edge(street, node_id, None, "contact"))
            for target, p in node.routing.items():
                out.append(Edge(node_id, target, p, "referral"))
        elif isinstance(node, AccommodationNode | DownstreamNode):
            for target, p in node.routing.items():
                out.append(Edge(node_id, target, p, "route"))
            for target, p in node.negative_routing.items():
                out.append(Edge(node_id, target, p, "negative"))
    return out


def place_ranks(sc: Scenario) -> dict[str, int]:
    """Rank of the street (0) and places: the longest route from the street to them, where a
    referral through a contact service counts as one step and routes back are ignored."""
    places = sc.nodes_of(AccommodationNode, DownstreamNode)
    street = sc.street_id
    graph: dict[str, list[str]] = {street: [], **{p: [] for p in places}}
    for edge in edges(sc):
        source = street if edge.source not in graph else edge.source
        if edge.target in places and edge.target not in graph[source]:
            graph[source].append(edge.target)
    order: list[str] = []
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:  # depth-first, marking edges back into the current route
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                visit(nxt)
        state[node] = 2
        order.append(node)

    visit(street)
    for node in graph:
        if node not in state:
            visit(node)
    rank = {node: 0 for node in graph}
    for node in reversed(order):
        for nxt in graph[node]:
            if (node, nxt) not in back:
                rank[nxt] = max(rank[nxt], rank[node] + 1)
    for node in places:
        rank[node] = max(rank[node], 1)
    return rank


def exit_order(sc: Scenario) -> list[str]:
    """Exit nodes, positive outcomes first, each group in file order."""
    exits = sc.nodes_of(ExitNode)
    return [k for k, n in exits.items() if n.positive] + [
        k for k, n in exits.items() if not n.positive
    ]


def _value_on(schedule: Schedule | None, sc: Scenario, on: dt.date) -> float | None:
    if schedule is None:
        return None
    day = sc.day(on)
    value = None
    for start, v in schedule_steps(schedule, sc.start):
        if start <= day:
            value = v
    return value


def describe(sc: Scenario, node_id: str, on: dt.date, lang: Lang) -> str:
    """A node's second line: places, release rate, contacts or street numbers on ``on``."""
    node = sc.nodes[node_id]
    if isinstance(node, StreetNode):
        arrivals = _value_on(node.arrivals_per_year, sc, on) or 0.0
        return t(
            "diagram.street",
            lang,
            n=i18n.number(node.initial.count, lang),
            a=i18n.number(arrivals, lang),
        )
    if isinstance(node, OutreachNode):
        contacts = _value_on(node.contacts_per_week, sc, on) or 0.0
        return t("diagram.contacts", lang, n=i18n.number(contacts, lang))
    if isinstance(node, RestSpaceNode):
        return t("diagram.places", lang, n=i18n.number(_value_on(node.places, sc, on), lang))
    if isinstance(node, DownstreamNode) and node.releases_per_month is not None:
        releases = _value_on(node.releases_per_month, sc, on)
        return t("diagram.releases", lang, n=i18n.number(releases, lang, 1))
    if isinstance(node, AccommodationNode | DownstreamNode):
        return t("diagram.places", lang, n=i18n.number(_value_on(node.capacity, sc, on), lang))
    if isinstance(node, ExitNode):
        return t("diagram.positive_exit" if node.positive else "diagram.negative_exit", lang)
    return ""


def default_date(sc: Scenario) -> dt.date:
    """The last simulated day."""
    return sc.end - dt.timedelta(days=1)


def _columns(sc: Scenario) -> list[list[str]]:
    """Street, services, places by rank (those with the same routing side by side), exits."""
    ranks = place_ranks(sc)
    services = list(sc.nodes_of(OutreachNode, RestSpaceNode))
    places = sc.nodes_of(AccommodationNode, DownstreamNode)
    first_with: dict[tuple[tuple[str, float], ...], int] = {}
    order: dict[str, tuple[int, int]] = {}
    for i, (node_id, node) in enumerate(places.items()):
        key = tuple(sorted(node.routing.items()))
        order[node_id] = (first_with.setdefault(key, i), i)
    depth = max((ranks[p] for p in places), default=0)
    columns: list[list[str]] = [[sc.street_id], services]
    for r in range(1, depth + 1):
        columns.append(sorted((p for p in places if ranks[p] == r), key=order.__getitem__))
    columns.append(exit_order(sc))
    return [c for c in columns if c]


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(sc: Scenario, lang: Lang = "fr", on: dt.date | None = None) -> str:
    """The network as a Mermaid ``flowchart LR`` (node ids prefixed ``n_``)."""
    on = on or default_date(sc)
    names = {k: i18n.node_name(n.name, lang) for k, n in sc.nodes.items()}
    lines = [
        f"%% {sc.name}: {t('chart.diagram', lang, date=i18n.date_short(on, lang))}",
        "flowchart LR",
    ]
    classes: dict[str, list[str]] = {}
    for column in _columns(sc):
        for node_id in column:
            node = sc.nodes[node_id]
            label = f"{names[node_id]}<br/><small>{describe(sc, node_id, on, lang)}</small>"
            shape = ("([", "])") if isinstance(node, ExitNode) else ('["', '"]')
            if isinstance(node, ExitNode):
                lines.append(f'    n_{node_id}(["{_mermaid_text(label)}"])')
            else:
                lines.append(f"    n_{node_id}{shape[0]}{_mermaid_text(label)}{shape[1]}")
            kind: str = node.kind
            if isinstance(node, ExitNode):
                kind = "exit_positive" if node.positive else "exit_negative"
            classes.setdefault(kind, []).append(f"n_{node_id}")
    for edge in edges(sc):
        arrow = "-.->" if edge.kind in ("negative", "contact") else "-->"
        label = "" if edge.probability is None else f"|{i18n.percent(edge.probability, lang, 0)}|"
        lines.append(f"    n_{edge.source} {arrow}{label} n_{edge.target}")
    for kind, colour in style.KIND_COLOURS.items():
        if kind in classes:
            lines.append(f"    classDef {kind} stroke:{colour},stroke-width:2px")
            lines.append(f"    class {','.join(classes[kind])} {kind}")
    return "\n".join(lines) + "\n"


def _short(name: str) -> str:
    """A display name without its parenthesised detail, wrapped for a box."""
    name = name.split(" (")[0] if " (" in name else name
    return "\n".join(textwrap.wrap(name, 20))


@dataclasses.dataclass(frozen=True)
class _Link:
    """A drawn arrow: between nodes or junctions (``@...``), with its label and style."""

    source: str
    target: str
    label: str
    dashed: bool
    colour: str


def _links(sc: Scenario, lang: Lang) -> tuple[list[_Link], dict[str, list[str]]]:
    """Arrows to draw; several sources with the same routing share a junction (``@k``), from
    which the shared probabilities are drawn once. Returns links and each junction's sources."""
    groups: dict[tuple[EdgeKind, tuple[tuple[str, float | None], ...]], list[str]] = {}
    for edge in edges(sc):
        if edge.kind == "contact":
            continue
        routing = tuple((e.target, e.probability) for e in edges(sc)
                        if e.source == edge.source and e.kind == edge.kind)  # fmt: skip
        sources = groups.setdefault((edge.kind, routing), [])
        if edge.source not in sources:
            sources.append(edge.source)
    links = [
        _Link(e.source, e.target, "", True, style.MUTED) for e in edges(sc) if e.kind == "contact"
    ]
    junctions: dict[str, list[str]] = {}
    for (kind, routing), sources in groups.items():
        dashed = kind == "negative"
        origin = sources[0]
        if len(sources) > 1:
            origin = f"@{len(junctions)}"
            junctions[origin] = sources
            links += [_Link(src, origin, "", dashed, style.MUTED) for src in sources]
        for target, probability in routing:
            node = sc.nodes[target]
            colour = style.MUTED
            if isinstance(node, ExitNode):
                colour = style.POSITIVE if node.positive else style.NEGATIVE
            label = "" if probability is None else i18n.percent(probability, lang, 0)
            links.append(_Link(origin, target, label, dashed, colour))
    return links, junctions


def diagram_chart(
    sc: Scenario, lang: Lang = "fr", size: style.SizeName = "slide", on: dt.date | None = None
) -> Figure:
    """The network drawn as boxes in columns, arrows labelled with their probability.

    Sources sharing the same routing (the three contact services, places with the same
    negative-exit routing) meet at a dot, and the shared probabilities are drawn once from it.
    """
    on = on or default_date(sc)
    columns = _columns(sc)
    links, junctions = _links(sc, lang)
    names = {k: _short(i18n.node_name(n.name, lang)) for k, n in sc.nodes.items()}
    with style.context(size) as s:
        fig = style.figure(size, layout="none")
        ax = fig.add_axes((0.0, 0.04, 1.0, 0.82))
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        font = s.font * (0.48 if size == "slide" else 0.5)
        xs = np.linspace(0.08, 0.92, len(columns))
        positions: dict[str, tuple[float, float]] = {}
        for x, column in zip(xs, columns, strict=True):
            half = min(0.46, 0.12 * (len(column) - 1))
            ys = np.linspace(0.5 + half, 0.5 - half, len(column))
            for y, node_id in zip(ys, column, strict=True):
                positions[node_id] = (float(x), float(y))
        step = float(xs[1] - xs[0]) if len(xs) > 1 else 0.5
        for junction, sources in junctions.items():
            x = max(positions[src][0] for src in sources) + step * 0.45
            y = float(np.mean([positions[src][1] for src in sources]))
            positions[junction] = (x, y)
            ax.plot([x], [y], "o", color=style.MUTED, markersize=font * 0.5, zorder=3)
        boxes: dict[str, Text] = {}
        for node_id, (x, y) in positions.items():
            if node_id.startswith("@"):
                continue
            node = sc.nodes[node_id]
            colour = style.KIND_COLOURS.get(node.kind, style.MUTED)
            if isinstance(node, ExitNode):
                colour = style.POSITIVE if node.positive else style.NEGATIVE
            boxes[node_id] = ax.text(
                x, y, names[node_id] + "\n" + describe(sc, node_id, on, lang).replace(", ", ",\n"),
                ha="center", va="center", fontsize=font, zorder=4, linespacing=1.15,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": colour,
                      "lw": s.line * 0.5},
            )  # fmt: skip
        for link in links:
            (x0, y0), (x1, y1) = positions[link.source], positions[link.target]
            rad = 0.08 if x1 > x0 else 0.4
            source_box = boxes.get(link.source)
            target_box = boxes.get(link.target)
            ax.annotate(
                "", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={
                    "arrowstyle": "-" if link.target.startswith("@") else "-|>",
                    "color": link.colour, "lw": s.line * 0.3,
                    "linestyle": (0, (3, 2)) if link.dashed else "-", "alpha": 0.8,
                    "patchA": source_box.get_bbox_patch() if source_box else None,
                    "patchB": target_box.get_bbox_patch() if target_box else None,
                    "connectionstyle": f"arc3,rad={rad}", "shrinkA": 0, "shrinkB": 1,
                    "mutation_scale": s.font * 0.55,
                },
                zorder=2,
            )  # fmt: skip
            if link.label:
                # 60% along the arc3 curve (a quadratic Bezier with this control point)
                cx = (x0 + x1) / 2 + rad * (y1 - y0)
                cy = (y0 + y1) / 2 - rad * (x1 - x0)
                u = 0.6
                mx = (1 - u) ** 2 * x0 + 2 * u * (1 - u) * cx + u**2 * x1
                my = (1 - u) ** 2 * y0 + 2 * u * (1 - u) * cy + u**2 * y1
                ax.text(
                    mx, my, link.label, fontsize=font * 0.85, ha="center", va="center",
                    color=link.colour, zorder=3,
                    bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                          "alpha": 0.85},
                )  # fmt: skip
        title = t("chart.diagram", lang, date=i18n.date_short(on, lang))
        label = sc.title.model_dump()[lang] if sc.title else sc.name
        fig.text(0.01, 0.985, title, ha="left", va="top", fontsize=s.font * 1.1,
                 fontweight="bold")  # fmt: skip
        fig.text(0.01, 0.985 - s.font * 1.6 / (s.height * 72), label, ha="left", va="top",
                 fontsize=s.font * 0.75, color=style.MUTED)  # fmt: skip
        fig.text(0.01, 0.01, t("diagram.negative", lang), ha="left", va="bottom",
                 fontsize=font, color=style.MUTED)  # fmt: skip
        fig.draw_without_rendering()  # place the boxes so that arrows stop at their edges
    return fig

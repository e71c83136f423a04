"""The pathway network of a scenario: nodes, capacities and routing, as Mermaid text or a chart.

Columns follow the pathway: the street, the contact services, then places in the order people
reach them (the longest route from the street, ignoring routes back), then outcomes, positive
above negative. The same layering orders the Sankey of :mod:`sim.outputs.sankey`.

The chart is a layered drawing: each arrow leaves its source's right side beside its label (on
white, never over a box), runs along free gaps across the columns it skips (from the street
to an outcome, along the bottom) and enters its target's left side; sources with the same
split meet at a dot from which the split is drawn once; routes back to an earlier stage are
written in the source's box; routes below a threshold are left out and counted in the note.
Text shrinks, the same for every box, until the columns fit. Everything is measured from the
font's glyphs, so the same scenario gives the same drawing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import textwrap
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon
from matplotlib.path import Path as MplPath

from sim.engine.schedule import Steps
from sim.inputs.scenario import (
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    OutreachNode,
    RestSpaceNode,
    Scenario,
    Schedule,
    StreetNode,
)
from sim.outputs import formats, i18n, style
from sim.outputs.i18n import Lang, t

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
    """The schedule's value in force on ``on`` (its first value before its first step)."""
    return None if schedule is None else Steps.of(schedule, sc.start).at(sc.day(on))


def describe(sc: Scenario, node_id: str, on: dt.date, lang: Lang) -> str:
    """A node's second line: places, release rate, contacts or street numbers on ``on``."""
    node = sc.nodes[node_id]
    if isinstance(node, StreetNode):
        arrivals = _value_on(node.arrivals_per_year, sc, on) or 0.0
        return t(
            "diagram.street",
            lang,
            n=formats.number(node.initial.count, lang, 0),
            a=formats.number(arrivals, lang, 0),
        )
    if isinstance(node, OutreachNode):
        contacts = _value_on(node.contacts_per_week, sc, on) or 0.0
        return t("diagram.contacts", lang, n=formats.number(contacts, lang, 0))
    if isinstance(node, RestSpaceNode):
        return t("diagram.places", lang, n=formats.number(_value_on(node.places, sc, on), lang, 0))
    if isinstance(node, DownstreamNode) and node.releases_per_month is not None:
        releases = _value_on(node.releases_per_month, sc, on)
        return t("diagram.releases", lang, n=formats.number(releases, lang, 1))
    if isinstance(node, AccommodationNode | DownstreamNode):
        places = _value_on(node.capacity, sc, on)
        return t("diagram.places", lang, n=formats.number(places, lang, 0))
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
        share = formats.number(edge.probability, lang, 0, "share")
        label = "" if edge.probability is None else f"|{share}|"
        lines.append(f"    n_{edge.source} {arrow}{label} n_{edge.target}")
    for kind, colour in style.KIND_COLOURS.items():
        if kind in classes:
            lines.append(f"    classDef {kind} stroke:{colour},stroke-width:2px")
            lines.append(f"    class {','.join(classes[kind])} {kind}")
    return "\n".join(lines) + "\n"


# --- the drawn diagram ------------------------------------------------------------------------
MIN_SHARE = 0.05
"""Routes below this probability are left off the drawn diagram (its note counts them)."""
EDGE = "#555555"
LINE_PITCH = 1.25  # line height, in font sizes
NAME_CHARS = 15  # a box's name wraps at about this many characters
DETAIL_CHARS = 17


def _short(name: str) -> str:
    """A display name without its parenthesised detail."""
    return name.split(" (")[0] if " (" in name else name


def spread(
    wanted: list[float], sizes: list[float], gap: float, lo: float, hi: float
) -> list[float]:
    """Centres as close to ``wanted`` (top first) as keeps them in order, ``gap`` apart between
    items of height ``sizes``, inside ``[lo, hi]`` (squeezed evenly when they cannot fit)."""
    n = len(wanted)
    if n == 0:
        return []
    need = sum(sizes) + gap * (n - 1)
    if need > hi - lo:  # too many: share the room out
        gap = max(0.0, (hi - lo - sum(sizes)) / max(n - 1, 1))
        lo, hi = (lo + hi - need) / 2 if gap == 0 else lo, hi
    ys = [min(hi - sizes[0] / 2, max(lo + sizes[0] / 2, wanted[0]))]
    for k in range(1, n):
        step = (sizes[k - 1] + sizes[k]) / 2 + gap
        ys.append(min(ys[-1] - step, max(lo + sizes[k] / 2, wanted[k])))
    if ys[-1] - sizes[-1] / 2 < lo:  # pushed out at the bottom: push back up
        ys[-1] = lo + sizes[-1] / 2
        for k in range(n - 2, -1, -1):
            ys[k] = max(ys[k], ys[k + 1] + (sizes[k] + sizes[k + 1]) / 2 + gap)
    return ys


@dataclasses.dataclass
class _Box:
    """A node (or a junction ``@k``, of no size) placed on the diagram, in inches."""

    node: str
    column: int
    lines: list[tuple[str, float, bool, str]]  # text, font size, bold, colour
    width: float
    height: float
    colour: str
    x: float = 0.0  # left side
    y: float = 0.0  # centre

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def top(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y - self.height / 2


@dataclasses.dataclass(frozen=True)
class _Link:
    """A drawn arrow between boxes or junctions, with its label (may be empty) and style."""

    source: str
    target: str
    label: str
    dashed: bool
    colour: str


@dataclasses.dataclass(frozen=True)
class _Routes:
    """What the diagram draws: arrows, junctions, routes back (written in boxes), left out."""

    links: list[_Link]
    junctions: dict[str, list[str]]
    back: dict[str, list[str]]
    hidden: int


def _layers(sc: Scenario) -> dict[str, int]:
    """Pathway stage of each node: street 0, contact services 1, places 1 + rank, exits last."""
    ranks = place_ranks(sc)
    layer = {sc.street_id: 0}
    layer.update({s: 1 for s in sc.nodes_of(OutreachNode, RestSpaceNode)})
    layer.update({p: 1 + r for p, r in ranks.items() if p != sc.street_id})
    last = 2 + max(ranks.values(), default=0)
    layer.update({e: last for e in exit_order(sc)})
    return layer


def _edge_colour(sc: Scenario, target: str) -> str:
    node = sc.nodes.get(target)
    if isinstance(node, ExitNode):
        return style.POSITIVE if node.positive else style.NEGATIVE
    return EDGE


def _routes(sc: Scenario, layer: dict[str, int], lang: Lang, min_share: float) -> _Routes:
    """The arrows to draw. Sources with the same routing (the contact services; places with
    the same negative-exit split) meet at a junction from which the shared split is drawn once;
    routes back to an earlier stage are written in the source's box; routes below
    ``min_share`` are left out and counted."""
    all_edges = edges(sc)
    groups: dict[tuple[EdgeKind, tuple[tuple[str, float], ...]], list[str]] = {}
    for edge in all_edges:
        if edge.kind == "contact":
            continue
        routing = tuple((e.target, e.probability or 0.0) for e in all_edges
                        if e.source == edge.source and e.kind == edge.kind)  # fmt: skip
        sources = groups.setdefault((edge.kind, routing), [])
        if edge.source not in sources:
            sources.append(edge.source)
    links = [_Link(e.source, e.target, "", True, EDGE) for e in all_edges if e.kind == "contact"]
    junctions: dict[str, list[str]] = {}
    back: dict[str, list[str]] = {}
    hidden = 0
    for (kind, routing), sources in groups.items():
        dashed = kind == "negative"
        # compared as drawn (whole percent), so that no label below the threshold is shown
        shown = [(target, p) for target, p in routing if round(100 * p) >= 100 * min_share - 1e-9]
        hidden += len(routing) - len(shown)
        last_source = max(layer[s] for s in sources)
        if len(sources) > 1 and all(layer[target] > last_source for target, _ in shown):
            if not shown:
                continue
            junction = f"@{len(junctions)}"
            junctions[junction] = sources
            colours = {_edge_colour(sc, target) for target, _ in shown}
            colour = colours.pop() if len(colours) == 1 else EDGE
            links += [_Link(source, junction, "", dashed, colour) for source in sources]
            for target, p in shown:
                label = formats.number(p, lang, 0, "share")
                links.append(_Link(junction, target, label, dashed, _edge_colour(sc, target)))
            continue
        for source in sources:
            for target, p in shown:
                label = formats.number(p, lang, 0, "share")
                if layer[target] <= layer[source]:
                    name = _short(i18n.node_name(sc.nodes[target].name, lang))
                    back.setdefault(source, []).append(
                        t("diagram.back", lang, share=label, node=name)
                    )
                else:
                    links.append(_Link(source, target, label, dashed, _edge_colour(sc, target)))
    return _Routes(links, junctions, back, hidden)


def _columns_of(
    sc: Scenario, layer: dict[str, int], routes: _Routes
) -> tuple[list[list[str]], dict[str, int]]:
    """Columns of node ids and junctions, left to right; a junction sits just after its
    sources, or just before the exits when it leads only to exits."""
    exits = set(sc.nodes_of(ExitNode))
    last = max(layer.values())
    key = {node: 2 * value for node, value in layer.items()}
    for junction, sources in routes.junctions.items():
        targets = [link.target for link in routes.links if link.source == junction]
        to_exits = all(target in exits for target in targets)
        key[junction] = 2 * last - 1 if to_exits else 2 * max(layer[s] for s in sources) + 1
    order = [*layer, *routes.junctions]
    used = sorted(set(key.values()))
    columns: list[list[str]] = [[] for _ in used]
    for node in order:
        columns[used.index(key[node])].append(node)
    columns = [c for c in columns if c]
    return columns, {node: i for i, column in enumerate(columns) for node in column}


def _order(columns: list[list[str]], links: list[_Link], groups: dict[str, int]) -> None:
    """Reorder each column (in place) by the mean rank of its neighbours, to limit crossings;
    ``groups`` keeps exits grouped (positive first)."""
    column_of = {node: i for i, column in enumerate(columns) for node in column}

    def rank() -> dict[str, float]:
        return {n: (i + 0.5) / len(c) for c in columns for i, n in enumerate(c)}

    for sweep in range(8):
        forward = sweep % 2 == 0
        indices = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
        for c in indices:
            pos = rank()
            neighbours: dict[str, list[float]] = {n: [] for n in columns[c]}
            for link in links:
                a, b = link.source, link.target
                if forward and column_of[b] == c and column_of[a] < c:
                    neighbours[b].append(pos[a])
                elif not forward and column_of[a] == c and column_of[b] > c:
                    neighbours[a].append(pos[b])
            centre = {n: float(np.mean(v)) if v else pos[n] for n, v in neighbours.items()}
            columns[c].sort(key=lambda n: (groups.get(n, 0), centre[n], pos[n]))


def _box(
    sc: Scenario,
    node_id: str,
    on: dt.date,
    lang: Lang,
    fonts: tuple[float, float],
    back: list[str],
    labels: float,
) -> _Box:
    """A node's box: its short name in bold, then its capacity and routes back; at least
    ``labels`` (inches) high, the height of the labels of its arrows beside it."""
    name_font, detail_font = fonts
    node = sc.nodes[node_id]
    colour = _edge_colour(sc, node_id) if isinstance(node, ExitNode) else EDGE
    if not isinstance(node, ExitNode):
        colour = style.KIND_COLOURS.get(node.kind, style.MUTED)
    name = _short(i18n.node_name(node.name, lang))
    lines = [(line, name_font, True, style.TEXT) for line in textwrap.wrap(name, NAME_CHARS)]
    if not isinstance(node, ExitNode):
        for part in describe(sc, node_id, on, lang).split(", "):
            wrapped = textwrap.wrap(part, DETAIL_CHARS)
            lines += [(x, detail_font, False, style.TEXT) for x in wrapped]
    lines += [(x, detail_font, False, style.MUTED) for x in back]
    pad = name_font / 72 * 0.55
    width = max(style.text_width(text, size, bold) for text, size, bold, _ in lines) + 2 * pad
    height = max(sum(size * LINE_PITCH for _, size, _, _ in lines) / 72 + 1.2 * pad, labels)
    return _Box(node_id, 0, lines, width, height, colour)


@dataclasses.dataclass
class _Route:
    """A link's anchors, left to right: ``(x, y, straight to the next anchor)``."""

    link: _Link
    anchors: list[tuple[float, float, bool]]


def _place(
    boxes: dict[str, _Box],
    columns: list[list[str]],
    headings: dict[str, float],
    span: tuple[float, float],
    most: float,
) -> None:
    """Vertical positions: each column spread evenly over the height, its boxes at most
    ``most`` apart, centred (a heading above a box adds its height)."""
    lo, hi = span
    for column in columns:
        sizes = [boxes[n].height + headings.get(n, 0.0) for n in column]
        free = max(0.0, hi - lo - sum(sizes))
        step = 0.0 if len(column) == 1 else min(free / (len(column) - 1), most)
        top = (lo + hi) / 2 + (sum(sizes) + step * (len(column) - 1)) / 2
        for n, size in zip(column, sizes, strict=True):
            boxes[n].y = top - headings.get(n, 0.0) - boxes[n].height / 2
            top -= size + step


def _gap_heights(
    boxes: dict[str, _Box], columns: list[list[str]], span: tuple[float, float], margin: float
) -> list[list[tuple[float, float]]]:
    """For each column, the free vertical intervals ``(bottom, top)`` between its boxes."""
    out = []
    for column in columns:
        edges_ = [span[1]]
        for n in column:
            edges_ += [boxes[n].top + margin, boxes[n].bottom - margin]
        edges_.append(span[0])
        out.append([(edges_[i + 1], edges_[i]) for i in range(0, len(edges_), 2)])
    return out


def _nearest_gap(gaps: list[tuple[float, float]], y: float) -> int:
    """The index of the free interval ``(bottom, top)`` nearest to ``y``."""

    def distance(g: int) -> tuple[float, float]:
        bottom, top = gaps[g]
        return max(bottom - y, y - top, 0.0), abs((bottom + top) / 2 - y)

    return min(range(len(gaps)), key=distance)


@dataclasses.dataclass(frozen=True)
class _Frame:
    """Where the columns are (left sides and widths), the height used, the label pitch and how
    far a junction's fan of labels sits from it, in inches."""

    lefts: list[float]
    widths: list[float]
    span: tuple[float, float]
    pitch: float
    fan_dx: float


def _route_all(
    boxes: dict[str, _Box],
    columns: list[list[str]],
    links: list[_Link],
    frame: _Frame,
    label_size: dict[_Link, tuple[float, float]],
) -> list[_Route]:
    """Anchors of every link: out of the source's right side beside its label, along free
    gaps across the columns it skips (along the bottom from the street to an exit), into a
    port on the target's left side."""
    span, pitch, fan_dx = frame.span, frame.pitch, frame.fan_dx
    gaps = _gap_heights(boxes, columns, span, pitch * 0.6)
    # 1. long links: pick a free gap in every column they cross
    through: dict[tuple[int, int], list[tuple[float, int]]] = {}
    chosen: dict[int, list[tuple[int, int]]] = {}
    for k, link in enumerate(links):
        a, b = boxes[link.source], boxes[link.target]
        crossed = range(a.column + 1, b.column)
        outer = a.column == 0 and b.column == len(columns) - 1  # along the bottom
        floor = min((min(boxes[n].bottom for n in columns[c]) for c in crossed), default=a.y)
        for c in crossed:
            share = (frame.lefts[c] - a.right) / max(b.x - a.right, 1e-9)
            ideal = floor - pitch if outer else a.y + share * (b.y - a.y)
            choice = _nearest_gap(gaps[c], ideal)
            through.setdefault((c, choice), []).append((ideal, k))
            chosen.setdefault(k, []).append((c, choice))
    gap_y: dict[tuple[int, int], float] = {}
    for (c, g), items in through.items():
        items.sort(key=lambda item: (-item[0], item[1]))
        bottom, top = gaps[c][g]
        ys = spread([i for i, _ in items], [0.0] * len(items), pitch * 0.7, bottom, top)
        for (_, k), y in zip(items, ys, strict=True):
            gap_y[(k, c)] = y

    def next_y(k: int) -> float:
        link = links[k]
        first = boxes[link.source].column + 1
        if (k, first) in gap_y:
            return gap_y[(k, first)]
        return boxes[link.target].y

    # 2. a port for each arrow on its source's right side, top to bottom in the order of where
    # the arrows go, with its label beside it; a junction's labels fan out from its point (the
    # fans of a column kept apart)
    starts: dict[int, tuple[float, float, float]] = {}  # k -> port y, label y, label x
    for column in columns:
        fans = []
        for n in column:
            out = [k for k, link in enumerate(links) if link.source == n]
            out.sort(key=lambda k: (-next_y(k), k))
            fans.append((n, out))
        sizes = [len(out) * pitch for _, out in fans]
        wanted = [boxes[n].y for n, _ in fans]
        centres = spread(wanted, sizes, pitch * 0.3, *span)
        for (n, out), centre, size in zip(fans, centres, sizes, strict=True):
            box = boxes[n]
            if box.height:
                centre = box.y
            label_ys = [centre + size / 2 - pitch * (i + 0.5) for i in range(len(out))]
            dx = fan_dx if box.height == 0 else pitch * 0.15
            for k, y in zip(out, label_ys, strict=True):
                starts[k] = (box.y if box.height == 0 else y, y, box.right + dx)
    # 3. the crossings of the columns skipped, then a port on the target's left side
    routes = []
    before: dict[int, list[tuple[float, float, bool]]] = {}
    for k, link in enumerate(links):
        a = boxes[link.source]
        port, y, x = starts[k]
        anchors: list[tuple[float, float, bool]] = [(a.right, port, False)]
        if link.label:
            width, _ = label_size[link]
            anchors += [(x, y, True), (x + width, y, False)]
        for c, _ in chosen.get(k, []):
            left, width = frame.lefts[c], frame.widths[c]
            anchors += [(left, gap_y[(k, c)], True), (left + width, gap_y[(k, c)], False)]
        before[k] = anchors
    for n, box in boxes.items():
        incoming = [k for k, link in enumerate(links) if link.target == n]
        incoming.sort(key=lambda k: (-before[k][-1][1], k))
        if box.height == 0:
            ys = [box.y] * len(incoming)
        else:
            inner = (box.bottom + pitch * 0.25, box.top - pitch * 0.25)
            clipped = [min(inner[1], max(inner[0], before[k][-1][1])) for k in incoming]
            step = min(pitch * 0.45, (inner[1] - inner[0]) / max(len(incoming), 1))
            ys = spread(clipped, [0.0] * len(incoming), step, *inner)
        for k, y in zip(incoming, ys, strict=True):
            routes.append(_Route(links[k], [*before[k], (box.x, y, False)]))
    routes.sort(key=lambda r: links.index(r.link))
    return routes


def _path(anchors: list[tuple[float, float, bool]]) -> MplPath:
    """Straight runs and curves with horizontal ends through the anchors."""
    vertices = [anchors[0][:2]]
    codes = [MplPath.MOVETO]
    for (x0, y0, straight), (x1, y1, _) in itertools.pairwise(anchors):
        if straight or abs(y1 - y0) < 1e-6:
            vertices.append((x1, y1))
            codes.append(MplPath.LINETO)
        else:
            dx = (x1 - x0) * 0.5
            vertices += [(x0 + dx, y0), (x1 - dx, y1), (x1, y1)]
            codes += [MplPath.CURVE4] * 3
    return MplPath(vertices, codes)


def _draw_routes(ax: Axes, drawn: list[_Route], line: float, pitch: float, font: float) -> None:
    """The arrows, their heads and their labels (on white, over the line they start)."""
    head = pitch * 0.32
    for route in drawn:
        link = route.link
        ax.add_patch(
            PathPatch(
                _path(route.anchors), fc="none", ec=link.colour, lw=line, zorder=2,
                linestyle=(0, (3, 2)) if link.dashed else "-", capstyle="butt",
            )
        )  # fmt: skip
        x1, y1, _ = route.anchors[-1]
        if not link.target.startswith("@"):
            tip = [(x1, y1), (x1 - head * 1.6, y1 + head * 0.6), (x1 - head * 1.6, y1 - head * 0.6)]
            ax.add_patch(Polygon(tip, closed=True, fc=link.colour, ec="none", zorder=3))
        if link.label:
            lx, ly, _ = route.anchors[1]
            ax.text(
                lx + 0.04, ly, link.label, fontsize=font, fontweight="bold", color=link.colour,
                ha="left", va="center", zorder=5,
                bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none"},
            )  # fmt: skip


def _draw_boxes(
    ax: Axes,
    boxes: dict[str, _Box],
    line: float,
    pitch: float,
    headings: dict[str, str],
    heading_font: float,
    heading_height: float,
) -> None:
    """The nodes (text centred in their box), junction dots and the exits' group headings."""
    for n, box in boxes.items():
        if not box.height:
            ax.plot([box.x], [box.y], "o", color=box.colour, markersize=pitch * 72 * 0.35,
                    zorder=4)  # fmt: skip
            continue
        ax.add_patch(
            FancyBboxPatch(
                (box.x, box.bottom), box.width, box.height,
                boxstyle=f"round,pad=0,rounding_size={pitch * 0.35}",
                fc="white", ec=box.colour, lw=line * 1.7, zorder=4,
            )
        )  # fmt: skip
        y = box.y + sum(font * LINE_PITCH for _, font, _, _ in box.lines) / 72 / 2
        for text, font, bold, colour in box.lines:
            y -= font * LINE_PITCH / 72 / 2
            ax.text(
                box.x + box.width / 2, y, text, fontsize=font, color=colour, ha="center",
                va="center", fontweight="bold" if bold else "normal", zorder=5,
            )  # fmt: skip
            y -= font * LINE_PITCH / 72 / 2
        if n in headings:
            ax.text(
                box.x + box.width / 2, box.top + heading_height * 0.25, headings[n],
                fontsize=heading_font, color=box.colour, ha="center", va="bottom",
                fontweight="bold", zorder=5,
            )  # fmt: skip


def _heading(group: dict[str, int], node: str) -> str:
    """The label key of the heading over an exit's group."""
    return "diagram.positive_exits" if group.get(node) == 0 else "diagram.negative_exits"


def diagram_chart(
    sc: Scenario,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    on: dt.date | None = None,
    min_share: float = MIN_SHARE,
) -> Figure:
    """The network in columns by pathway stage: street, contact services, places in the order
    people reach them, then positive and negative outcomes; arrows labelled with their
    probability beside their source, routes below ``min_share`` left out (and counted)."""
    on = on or default_date(sc)
    layer = _layers(sc)
    routes = _routes(sc, layer, lang, min_share)
    columns, _ = _columns_of(sc, layer, routes)
    exits = sc.nodes_of(ExitNode)
    group = {n: 1 if not e.positive else 0 for n, e in exits.items()}
    _order(columns, routes.links, group)
    s = style.SIZES[size]
    title_font, sub_font, note_font = s.font * 1.1, s.font * 0.75, s.font * 0.5
    margin = s.font / 72 * 0.5
    notes = [t("diagram.negative", lang)]
    if routes.hidden:
        share = formats.number(min_share, lang, 0, "share")
        notes.append(t("diagram.hidden", lang, n=routes.hidden, share=share))
    note = "\n".join(style.wrap(x, s.width - 2 * margin, note_font) for x in notes)
    top = s.height - (title_font * 1.35 + sub_font * 1.35) / 72 - 0.15
    bottom = note_font * 1.3 * (note.count("\n") + 1) / 72 + 0.15
    scale = 1.0
    while True:  # shrink the text until the columns fit across and down
        fonts = (s.font * 0.6 * scale, s.font * 0.5 * scale)
        label_font = s.font * 0.5 * scale
        pitch = label_font * 1.45 / 72
        leaving = {n: sum(1 for link in routes.links if link.source == n) for n in sc.nodes}
        boxes = {
            n: _box(sc, n, on, lang, fonts, routes.back.get(n, []), (leaving[n] + 0.3) * pitch)
            for n in sc.nodes
        }
        boxes.update({j: _Box(j, 0, [], 0.0, 0.0, EDGE) for j in routes.junctions})
        heading = fonts[0] * 1.5 / 72
        headings = {column[0]: heading for column in columns if column[0] in exits}
        first_negative = next((n for n in columns[-1] if group.get(n) == 1), None)
        if first_negative is not None:
            headings[first_negative] = heading
        label_size = {
            link: (style.text_width(link.label, label_font, True) + 0.08, pitch)
            for link in routes.links
            if link.label
        }
        fan_dx = pitch * 1.1
        heading_width = {
            n: style.text_width(t(_heading(group, n), lang), fonts[1], True) for n in headings
        }
        widths = [
            max(max(boxes[n].width, heading_width.get(n, 0.0)) for n in column)
            for column in columns
        ]
        fan = []
        for column in columns:
            sizes = [label_size[link][0] for link in routes.links
                     if link.source in column and link.label]  # fmt: skip
            dx = fan_dx if all(n.startswith("@") for n in column) else pitch * 0.15
            fan.append(dx + max(sizes) if sizes else 0.0)
        curve = pitch * 1.3
        needed = sum(widths) + sum(fan[:-1]) + curve * (len(columns) - 1) + 2 * margin
        heights = [sum(boxes[n].height + headings.get(n, 0.0) + pitch for n in c) for c in columns]
        fits = needed <= s.width and max(heights) <= top - bottom
        if fits or scale < 0.5:
            break
        scale *= 0.94
    curve += max(0.0, s.width - needed) / max(len(columns) - 1, 1)
    lefts = []
    x = margin
    for c, column in enumerate(columns):
        lefts.append(x)
        for n in column:
            boxes[n].column = c
            boxes[n].x = x + (widths[c] - boxes[n].width) / 2
        x += widths[c] + fan[c] + curve
    last = len(columns) - 1
    ends = [(boxes[link.source].column, boxes[link.target].column) for link in routes.links]
    lanes = ends.count((0, last))
    lane_room = (lanes + 1) * pitch * 0.7 if lanes else 0.0
    _place(boxes, columns, headings, (bottom + lane_room, top), min((top - bottom) / 3, pitch * 5))
    frame = _Frame(lefts, widths, (bottom, top), pitch, fan_dx)
    drawn = _route_all(boxes, columns, routes.links, frame, label_size)
    with style.context(size):
        fig = style.figure(size, layout="none")
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(0, s.width)
        ax.set_ylim(0, s.height)
        line = max(0.6, s.line * 0.4 * scale)
        _draw_routes(ax, drawn, line, pitch, label_font)
        heads = {n: t(_heading(group, n), lang) for n in headings}
        _draw_boxes(ax, boxes, line, pitch, heads, fonts[1], heading)
        title = t("chart.diagram", lang, date=i18n.date_short(on, lang))
        label = sc.title.model_dump()[lang] if sc.title else sc.name
        ax.text(margin, s.height - 0.08, title, ha="left", va="top", fontsize=title_font,
                fontweight="bold")  # fmt: skip
        ax.text(margin, s.height - 0.08 - title_font * 1.35 / 72, label, ha="left", va="top",
                fontsize=sub_font, color=style.MUTED)  # fmt: skip
        ax.text(margin, 0.06, note, ha="left", va="bottom", fontsize=note_font,
                color=style.MUTED, linespacing=1.3)  # fmt: skip
    return fig

"""A Sankey (flow) diagram of the people who moved between nodes over a window.

Flows come from ``episodes.parquet``: each episode that ends inside the window moves one person
from its node to its ``outcome`` (the next place or an exit). Counts are means per
replication. Nodes sit in the columns of :func:`sim.outputs.diagram.place_ranks` (street, places in
pathway order, outcomes); moves back to an earlier column (e.g. LHSS back to ASSORE) are
counted in the subtitle but not drawn, so every band runs left to right.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from sim.inputs.scenario import ExitNode, Scenario
from sim.outputs import formats, i18n, style
from sim.outputs.charts import chart_window, scenario_label
from sim.outputs.diagram import exit_order, place_ranks, spread
from sim.outputs.i18n import Lang, t
from sim.running.runner import RunResult

GAP = 0.025  # vertical gap between nodes, in axes fraction
MIN_HEIGHT = 0.006  # smallest node drawn, so tiny flows stay visible


def flows(
    run: RunResult,
    start: dt.date | None = None,
    end: dt.date | None = None,
    replication: int | None = None,
) -> pd.DataFrame:
    """Mean people per replication moving ``source`` -> ``target`` in the window."""

    sc = run.scenario
    a, b = chart_window(sc, start, end)
    ep = run.episodes
    if replication is not None:
        ep = ep[ep["replication"] == replication]
    reps = 1 if replication is not None else run.replications
    ep = ep[(ep["exit"] >= a) & (ep["exit"] < b) & ep["outcome"].isin(list(sc.nodes))]
    counts = ep.groupby(["node", "outcome"], sort=False).size() / reps
    out = counts.rename("count").reset_index()
    return out.rename(columns={"node": "source", "outcome": "target"})


@dataclasses.dataclass
class _Node:
    column: int
    size: float
    y: float = 0.0  # top, in axes fraction
    height: float = 0.0
    out_offset: float = 0.0
    in_offset: float = 0.0


def _layout(
    sc: Scenario, table: pd.DataFrame, order: Sequence[str] | None = None
) -> tuple[dict[str, _Node], int, float]:
    """Columns, sizes and positions of the nodes; returns nodes, column count and scale.
    Boxes in a column follow ``order`` (top first) where given, the flows otherwise."""
    ranks = place_ranks(sc)
    exits = exit_order(sc)
    last = max(ranks.values(), default=0) + 1
    column = {**ranks, **{e: last for e in exits}}
    inflow = table.groupby("target")["count"].sum()
    outflow = table.groupby("source")["count"].sum()
    nodes: dict[str, _Node] = {}
    for node_id in [*ranks, *exits]:
        size = max(float(inflow.get(node_id, 0.0)), float(outflow.get(node_id, 0.0)))
        if size > 0:
            nodes[node_id] = _Node(column[node_id], size)
    used = sorted({n.column for n in nodes.values()})
    renumber = {c: i for i, c in enumerate(used)}
    for n in nodes.values():
        n.column = renumber[n.column]
    by_column: dict[int, list[str]] = {}
    for node_id, n in nodes.items():
        by_column.setdefault(n.column, []).append(node_id)
    scale = min(
        (1.0 - GAP * (len(ids) - 1)) / sum(nodes[i].size for i in ids) for ids in by_column.values()
    )
    positive = {k for k, n in sc.nodes_of(ExitNode).items() if n.positive}
    for column_index in sorted(by_column):
        ids = by_column[column_index]
        if column_index > 0:  # order by where the inflows come from, to limit crossings
            centre = {i: _barycentre(i, table, nodes) for i in ids}
            ids.sort(key=lambda i: (i not in positive if i in exits else 0, -centre[i]))
        if order is not None:  # then a fixed order, the same in every scenario's diagram
            rank = {node_id: k for k, node_id in enumerate(order)}
            ids.sort(key=lambda i: rank.get(i, len(rank)))
        heights = [max(MIN_HEIGHT, nodes[i].size * scale) for i in ids]
        free = 1.0 - sum(heights)
        gap = min(free / (len(ids) - 1), 0.2) if len(ids) > 1 else 0.0
        total = sum(heights) + gap * (len(ids) - 1)
        y = 0.5 + total / 2
        for node_id, height in zip(ids, heights, strict=True):
            nodes[node_id].y = y
            nodes[node_id].height = height
            y -= height + gap
    return nodes, len(used), scale


def box_order(
    run: RunResult, start: dt.date | None = None, end: dt.date | None = None
) -> list[str]:
    """The nodes of ``run``'s Sankey, column by column, top first: pass it as ``order`` to draw
    other scenarios' diagrams with their boxes in the same order."""
    table = flows(run, start, end)
    if not len(table):
        return []
    nodes, _, _ = _layout(run.scenario, table)
    return sorted(nodes, key=lambda i: (nodes[i].column, -nodes[i].y))


def _barycentre(node_id: str, table: pd.DataFrame, nodes: dict[str, _Node]) -> float:
    """Mean height of the nodes flowing into ``node_id`` (weighted by flow), placed so far."""
    inflows = table[(table["target"] == node_id) & table["source"].isin(list(nodes))]
    weights = inflows["count"].to_numpy(float)
    ys = np.array([nodes[s].y - nodes[s].height / 2 for s in inflows["source"]], dtype=float)
    known = np.array([nodes[s].column < nodes[node_id].column for s in inflows["source"]])
    if not known.any() or weights[known].sum() <= 0:
        return 0.5
    return float(np.average(ys[known], weights=weights[known]))


def _band(x0: float, y0: float, x1: float, y1: float, thickness: float) -> MplPath:
    """A band from (x0, y0) to (x1, y1) (top edges), ``thickness`` high, as a cubic curve."""
    mid = (x0 + x1) / 2
    vertices = [
        (x0, y0), (mid, y0), (mid, y1), (x1, y1),
        (x1, y1 - thickness), (mid, y1 - thickness), (mid, y0 - thickness), (x0, y0 - thickness),
        (x0, y0),
    ]  # fmt: skip
    codes = [
        MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
        MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
        MplPath.CLOSEPOLY,
    ]  # fmt: skip
    return MplPath(vertices, codes)


def _colour(sc: Scenario, node_id: str) -> str:
    node = sc.nodes[node_id]
    if isinstance(node, ExitNode):
        return style.POSITIVE if node.positive else style.NEGATIVE
    return style.KIND_COLOURS.get(node.kind, style.MUTED)


def _short(name: str) -> str:
    """A display name without its parenthesised detail."""
    return name.split(" (")[0] if " (" in name else name


def sankey_chart(
    run: RunResult,
    lang: Lang = "fr",
    size: style.SizeName = "slide",
    replication: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    order: Sequence[str] | None = None,
) -> Figure:
    """The Sankey of one run's flows over the window (the whole run by default); ``order``
    (:func:`box_order` of the reference) puts the boxes of each column in a fixed order."""

    sc = run.scenario
    table = flows(run, start, end, replication)
    a, b = chart_window(sc, start, end)
    nodes, n_columns, scale = _layout(sc, table, order) if len(table) else ({}, 0, 0.0)
    with style.context(size) as s:
        fig = style.figure(size)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        width = 0.014
        xs = np.linspace(0.12, 0.73, max(n_columns, 2))
        moves = [
            (str(a_), str(b_), float(c_))
            for a_, b_, c_ in zip(table["source"], table["target"], table["count"], strict=True)
        ]
        forward = [
            (i, a_, b_, c_)
            for i, (a_, b_, c_) in enumerate(moves)
            if a_ in nodes and b_ in nodes and nodes[b_].column > nodes[a_].column
        ]
        back = sum(c_ for _, _, c_ in moves) - sum(c_ for _, _, _, c_ in forward)
        # outgoing bands stacked by target position, incoming ones by source position
        starts: dict[int, float] = {}
        for i, a_, _, c_ in sorted(forward, key=lambda f: (f[1], -nodes[f[2]].y)):
            node = nodes[a_]
            starts[i] = node.y - node.out_offset
            node.out_offset += c_ * scale
        for i, a_, b_, c_ in sorted(forward, key=lambda f: (f[2], -nodes[f[1]].y)):
            node = nodes[b_]
            y1 = node.y - node.in_offset
            node.in_offset += c_ * scale
            path = _band(xs[nodes[a_].column] + width, starts[i], xs[node.column], y1, c_ * scale)
            ax.add_patch(PathPatch(path, fc=_colour(sc, b_), ec="none", alpha=0.35, zorder=2))
        names = {k: _short(i18n.node_name(n.name, lang)) for k, n in sc.nodes.items()}
        font = s.font * 0.8  # 16 pt on a slide: readable from the back of the room
        axes_height = s.height - (s.font * 1.3 * 1.3 + s.font * 0.85 * 2.6) / 72 - 0.3
        line_height = font * 1.2 / 72 / axes_height * 1.04  # in axes fraction
        for c in range(n_columns):
            ids = sorted((i for i, n in nodes.items() if n.column == c), key=lambda i: -nodes[i].y)
            first = c == 0
            chars = 14 if 0 < c < n_columns - 1 else 22
            labels = [
                "\n".join(
                    textwrap.wrap(f"{names[i]} ({formats.number(nodes[i].size, lang, 0)})", chars)
                )
                for i in ids
            ]
            heights = [(label.count("\n") + 1) * line_height for label in labels]
            centres = [nodes[i].y - nodes[i].height / 2 for i in ids]
            placed = spread(centres, heights, line_height * 0.15, -0.02, 1.02)
            for node_id, label, centre, y in zip(ids, labels, centres, placed, strict=True):
                node = nodes[node_id]
                x = xs[node.column]
                ax.add_patch(
                    Rectangle((x, node.y - node.height), width, node.height,
                              fc=_colour(sc, node_id), ec="none", zorder=3)
                )  # fmt: skip
                edge = x if first else x + width
                text_x = x - width * 0.6 if first else x + width * 1.6
                if abs(y - centre) > node.height / 2:  # moved off its node: a leader line
                    ax.plot([edge, text_x], [centre, y], color=style.MUTED, lw=0.8, zorder=4)
                ax.text(
                    text_x, y, label, ha="right" if first else "left", va="center", zorder=4,
                    fontsize=font, linespacing=1.0,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.75},
                )  # fmt: skip
        if not nodes:
            ax.text(0.5, 0.5, t("no_data", lang), ha="center", va="center", color=style.MUTED)
        window = (i18n.date_short(sc.start + dt.timedelta(days=a), lang),
                  i18n.date_short(sc.start + dt.timedelta(days=b - 1), lang))  # fmt: skip
        reps = t("sub.single", lang, i=replication) if replication is not None else run.replications
        subtitle = t("sub.sankey", lang, n=reps, scenario=scenario_label(sc, lang))
        if back > 0:
            subtitle += "\n" + t("sub.backflows", lang, count=formats.number(back, lang, 0))
        fig.suptitle(
            style.wrap(
                t("chart.sankey", lang, start=window[0], end=window[1]), s.width * 0.97,
                s.font * 1.3,
            ),
            x=0.01, ha="left", fontsize=s.font * 1.3, fontweight="bold",
        )  # fmt: skip
        ax.set_title(
            "\n".join(style.wrap(x, s.width * 0.95, s.font * 0.85) for x in subtitle.split("\n")),
            loc="left",
            fontsize=s.font * 0.85, fontweight="normal", color=style.MUTED,
        )  # fmt: skip
        style.freeze_ticks(fig)
    return fig

"""One place for the look of every chart: colours, fonts, sizes, and deterministic output.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies). The font is
DejaVu Sans, shipped with matplotlib, so charts look the same on every machine. SVG files draw
text as paths (crisp at any zoom, no font needed to view them); SVG inlined in the HTML report
keeps text as text, to stay small. A fixed ``svg.hashsalt`` and no dates in SVG and PDF: the
same input gives the same bytes. PNG is written at 200 dpi.
"""

from __future__ import annotations

import dataclasses
import io
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not with the CLI
    from matplotlib.figure import Figure

Metric = Literal[
    "street",
    "waiting",
    "occupancy",
    "blocked",
    "entries-exits",
    "stay",
    "time-to-housing",
    "sankey",
]
METRICS: tuple[Metric, ...] = get_args(Metric)
"""The charts of :mod:`sim.outputs.plots`, by the names the CLI takes."""
SizeName = Literal["slide", "a4", "square"]
SIZE_NAMES: tuple[SizeName, ...] = get_args(SizeName)
Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[Format, ...] = get_args(Format)

PNG_DPI = 200
FONT = "DejaVu Sans"

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
SCENARIO_COLOURS = tuple(
    OKABE_ITO[c]
    for c in ("blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue", "black")
)
"""Line colours of the scenarios, reference first (yellow is left out: too pale on white)."""

TEXT = "#222222"
MUTED = "#666666"
GRID = "#D9D9D9"
EVENT = "#555555"
BAND_ALPHA = 0.22
"""Fill of a 90% band drawn alone (one scenario, or the one band asked for)."""
BANDS_ALPHA = 0.1
"""Fill of each band when several overlap: light enough that two or three stacked stay their
own colours (no grey-brown); each band is also outlined in its scenario's colour."""
BAND_EDGE = 0.25
"""Width of a band's outline, as a share of the mean line's."""
BAND_EDGE_ALPHA = 0.7
POSITIVE = OKABE_ITO["bluish_green"]
NEGATIVE = OKABE_ITO["vermillion"]
TARGET = OKABE_ITO["black"]
KIND_COLOURS = {
    "street": "#4D4D4D",
    "outreach": OKABE_ITO["orange"],
    "rest_space": OKABE_ITO["orange"],
    "accommodation": OKABE_ITO["blue"],
    "downstream": OKABE_ITO["sky_blue"],
    "exit_positive": POSITIVE,
    "exit_negative": NEGATIVE,
}


@dataclasses.dataclass(frozen=True)
class Size:
    """A chart size: inches and base font size in points."""

    width: float
    height: float
    font: float
    line: float

    @property
    def figsize(self) -> tuple[float, float]:
        return (self.width, self.height)


SIZES: dict[SizeName, Size] = {
    # 16:9 slide, readable from the back of a room: 20 pt text on a 13.3-inch-wide slide.
    "slide": Size(13.333, 7.5, 20.0, 3.2),
    # a chart across an A4 page inside its margins (17 x 10.5 cm).
    "a4": Size(6.69, 4.13, 9.0, 1.6),
    "square": Size(8.0, 8.0, 15.0, 2.6),
}

METADATA: dict[Format, dict[str, Any]] = {
    "svg": {"Date": None, "Creator": "parcours"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "parcours", "Producer": "parcours"},
    "png": {"Software": "parcours"},
}
"""File metadata without dates, so the same chart gives the same bytes."""


def rc(size: SizeName = "slide") -> dict[str, Any]:
    """The matplotlib rcParams of the house style at ``size``."""
    from cycler import cycler

    s = SIZES[size]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [FONT],
        "font.size": s.font,
        "text.color": TEXT,
        "axes.titlesize": s.font * 1.25,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.titlepad": s.font * 0.6,
        "axes.labelsize": s.font,
        "axes.labelcolor": TEXT,
        "axes.edgecolor": MUTED,
        "axes.linewidth": max(0.8, s.line / 3),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=list(SCENARIO_COLOURS)),
        "axes.formatter.use_locale": False,
        "axes.unicode_minus": True,
        "grid.color": GRID,
        "grid.linewidth": max(0.6, s.line / 3),
        "xtick.labelsize": s.font * 0.9,
        "ytick.labelsize": s.font * 0.9,
        "xtick.color": TEXT,
        "ytick.color": TEXT,
        "xtick.major.size": s.font * 0.3,
        "ytick.major.size": 0,
        "legend.fontsize": s.font * 0.85,
        "legend.frameon": False,
        "legend.handlelength": 2.2,
        "lines.linewidth": s.line,
        "patch.linewidth": 0,
        "figure.figsize": s.figsize,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": s.font / 200,
        "figure.constrained_layout.w_pad": s.font / 200,
        "savefig.dpi": PNG_DPI,
        "savefig.facecolor": "white",
        "svg.fonttype": "path",
        "svg.hashsalt": "parcours",
        "pdf.fonttype": 3,
        "path.simplify": True,
    }


@contextmanager
def context(size: SizeName = "slide") -> Iterator[Size]:
    """Apply the house style at ``size`` while figures are built and saved."""
    import matplotlib as mpl

    with mpl.rc_context(cast(Any, rc(size))):
        yield SIZES[size]


def figure(
    size: SizeName = "slide", layout: Literal["constrained", "none"] = "constrained"
) -> Figure:
    """A new figure at ``size`` (call inside :func:`context`; no pyplot, nothing global)."""
    from matplotlib.figure import Figure

    return Figure(figsize=SIZES[size].figsize, layout=cast(Any, layout))


def freeze_ticks(fig: Figure) -> None:
    """Create the tick artists now, inside :func:`context`, so a figure saved later outside
    it keeps the house tick sizes (matplotlib creates ticks lazily from rcParams)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            axis.get_major_ticks(len(axis.get_majorticklocs()))
            axis.get_minor_ticks(len(axis.get_minorticklocs()))


def text_width(text: str, font_pt: float, bold: bool = False) -> float:
    """The width of one line of ``text`` in inches, in the house font (measured from the
    glyphs, so it does not depend on a renderer)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=FONT, size=font_pt, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return float(width) / 72


def wrap(text: str, width_in: float, font_pt: float) -> str:
    """Wrap ``text`` to lines that fit ``width_in`` inches at ``font_pt`` (a rough measure)."""
    chars = max(20, int(width_in * 72 / (font_pt * 0.56)))
    return "\n".join(textwrap.wrap(text, chars)) or text


def save(fig: Figure, path: Path, fmt: Format | None = None, salt: str = "parcours") -> Path:
    """Write ``fig`` to ``path`` (format from the suffix unless given), deterministically and
    atomically (:func:`sim.running.results.write_atomic`)."""
    path = Path(path)
    kind: Format = fmt or path.suffix.lstrip(".").lower()  # type: ignore[assignment]
    if kind not in FORMATS:
        raise ValueError(f"unknown chart format {kind!r} (use one of {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib as mpl

    from sim.running.results import write_atomic

    with mpl.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        write_atomic(
            path, lambda tmp: fig.savefig(tmp, format=kind, dpi=PNG_DPI, metadata=METADATA[kind])
        )
    return path


def svg_markup(fig: Figure, salt: str) -> str:
    """``fig`` as an ``<svg>`` element for inlining in HTML (ids made unique by ``salt``).

    Text stays text (``svg.fonttype`` ``none``): searchable, selectable and a fraction of the
    size of glyph paths; the page names the house font first."""
    import matplotlib as mpl

    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "svg.id": salt}):
        fig.savefig(buffer, format="svg", metadata=METADATA["svg"])
    text = buffer.getvalue()
    return text[text.index("<svg") :]

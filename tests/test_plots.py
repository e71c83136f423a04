"""Charts: every metric on run and compare folders, formats, languages, French
number formats, events, targets, determinism, image regression, the Sankey, the diagram, the CLI.

The folders are built from a small scenario defined here (not a shipped file, so edits to the
shipped scenarios do not move the reference images). The compare folder is
assembled by hand following their contracts. Reference images: ``tests/baseline/``; regenerate
them after an intended change with ``PARCOURS_UPDATE_BASELINE=1 pytest tests/test_plots.py -k
baseline`` and look at them before committing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import os
import string
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.testing.compare import compare_images
from scipy import stats

from sim.cli.plot import diagram as diagram_command
from sim.cli.plot import plot as plot_command
from sim.inputs.loading import validate_data
from sim.outputs import charts, i18n, plots, style
from sim.outputs.diagram import diagram_chart, mermaid, place_ranks
from sim.outputs.sankey import flows
from sim.running.results import manifest, write_run
from sim.running.runner import RunResult, run

SEED = 20190527
REPLICATIONS = 3
BASELINE = Path(__file__).parent / "baseline"
NNBSP = "\u202f"


def _name(fr: str, en: str) -> dict[str, str]:
    return {"fr": fr, "en": en}


def small_data(name: str = "reference", referral: float = 0.05) -> dict[str, Any]:
    """A five-year pathway (June 2019 - May 2024) with both annotated events, over 1,000 people
    on the street (thousands separators), a hotel whose capacity changes, a downstream place."""
    d = dt.date
    return {
        "name": name,
        "title": _name(f"Petit parcours ({name})", f"Small pathway ({name})"),
        "description": "A small pathway for the chart tests.",
        "start": d(2019, 6, 1),
        "end": d(2024, 6, 1),
        "nodes": {
            "street": {
                "kind": "street",
                "name": _name("Rue", "Street"),
                "initial": {"count": 1200, "elapsed": {"dist": "exponential", "mean": 365}},
                "arrivals_per_year": 400,
                "exit_rate_per_year": 0.2,
                "exit_routing": {"left": 1.0},
            },
            "patrols": {
                "kind": "outreach",
                "name": _name("Maraudes", "Outreach patrols"),
                "contacts_per_week": 300,
                "referral_probability": referral,
                "routing": {"hotel": 1.0},
            },
            "hotel": {
                "kind": "accommodation",
                "name": _name("Hôtel (ASSORE)", "Hotel (ASSORE)"),
                "capacity": [
                    {"from": d(2019, 6, 1), "value": 60},
                    {"from": d(2020, 4, 1), "value": 140},
                    {"from": d(2022, 1, 1), "value": 120},
                ],
                "initial": {
                    "occupancy": 60,
                    "elapsed": {"dist": "uniform", "low": 0, "high": 300},
                },
                "readiness": {"dist": "gamma", "mean": 200, "shape": 2},
                "negative_exit_rate_per_year": 0.2,
                "negative_routing": {"back": 1.0},
                "routing": {"flat": 0.6, "home": 0.4},
            },
            "flat": {
                "kind": "downstream",
                "name": _name("Appartement", "Flat"),
                "capacity": 15,
                "stay": {"dist": "uniform", "low": 200, "high": 400},
                "routing": {"housed": 1.0},
            },
            "left": {"kind": "exit", "name": _name("Départ", "Left"), "positive": False},
            "back": {
                "kind": "exit",
                "name": _name("Retour à la rue", "Back to the street"),
                "positive": False,
                "return_to_street": {"probability": 0.5},
            },
            "home": {
                "kind": "exit",
                "name": _name("Retour en famille", "Back home"),
                "positive": True,
            },
            "housed": {"kind": "exit", "name": _name("Logement", "Housing"), "positive": True},
        },
        "observations": {
            "street_2021": {
                "metric": "mean", "series": "street", "from": d(2021, 1, 1), "to": d(2021, 12, 31),
                "target": 1250, "tolerance": 50, "role": "fit", "label": "Street 2021",
                "source": "test",
            },
            "street_mid_2022": {
                "metric": "at", "series": "street", "on": d(2022, 6, 1), "target": 800,
                "tolerance": 100, "role": "validate",
            },
            "hotel_exits_2020": {
                "metric": "exits", "node": "hotel", "from": d(2020, 1, 1), "to": d(2020, 12, 31),
                "target": 100, "tolerance": 15, "role": "fit",
            },
            "hotel_positive_share": {
                "metric": "positive_share", "node": "hotel", "from": d(2020, 1, 1),
                "to": d(2023, 12, 31), "target": 0.5, "tolerance": 0.1, "role": "validate",
            },
            "hotel_waiting": {
                "metric": "mean", "series": "waiting.hotel", "from": d(2022, 1, 1),
                "to": d(2022, 12, 31), "role": "report",
            },
        },
    }  # fmt: skip


def comparison_table(runs: list[RunResult]) -> pd.DataFrame:
    """``comparison.csv`` as the compare contract: means, CIs, paired differences with the
    first run as reference."""
    ref = runs[0].kpis.set_index("replication")
    rows = []
    for result in runs:
        kpis = result.kpis.set_index("replication")
        for kpi in [c for c in kpis.columns if c in ref.columns]:
            x = kpis[kpi].astype(float).dropna()
            d = (kpis[kpi].astype(float) - ref[kpi].astype(float)).dropna()
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            diff_half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
            first = result is runs[0]
            rows.append(
                {
                    "scenario": result.scenario.name,
                    "kpi": kpi,
                    "mean": x.mean(),
                    "ci": half,
                    "diff": np.nan if first else d.mean(),
                    "diff_ci": np.nan if first else diff_half,
                    "significant": False if first else bool(abs(d.mean()) > diff_half),
                }
            )
    return pd.DataFrame(rows)


def make_compare(runs: list[RunResult], out: Path) -> Path:
    """A compare folder by hand: manifest, comparison.csv, runs/<name>/."""
    out.mkdir(parents=True)
    for result in runs:
        write_run(result, out / "runs" / result.scenario.name)
    info = manifest("compare", [r.scenario for r in runs], SEED, REPLICATIONS, 0.0)
    (out / "manifest.json").write_text(json.dumps(info, default=str), encoding="utf-8")
    comparison_table(runs).to_csv(out / "comparison.csv", index=False)
    return out


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``run`` and ``compare`` folders of the small scenario (3 replications); a calibration
    folder's charts are tested in ``test_abc_folder.py``."""
    root = tmp_path_factory.mktemp("folders")
    reference = run(validate_data(small_data("reference")), REPLICATIONS, SEED)
    more = run(validate_data(small_data("more-referrals", 0.08)), REPLICATIONS, SEED)
    return {
        "run": write_run(reference, root / "run"),
        "compare": make_compare([reference, more], root / "compare"),
    }


@pytest.fixture(scope="session")
def loaded(folders: dict[str, Path]) -> dict[str, plots.Folder]:
    return {kind: plots.load_folder(path) for kind, path in folders.items()}


def _texts(fig: Any) -> str:
    """Every text of a figure (titles, labels, ticks, legend, annotations), after a draw."""
    fig.draw_without_rendering()
    found = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(str(t) for t in found)


# --- i18n -------------------------------------------------------------------------------------
def test_french_and_english_dates() -> None:
    assert i18n.date_long(dt.date(2023, 11, 30), "fr") == "30 novembre 2023"
    assert i18n.date_long(dt.date(2020, 4, 1), "fr") == "1er avril 2020"
    assert i18n.month_year(dt.date(2020, 4, 1), "fr") == "avr. 2020"
    assert i18n.month_year(dt.date(2020, 4, 1), "en") == "Apr 2020"


def test_every_label_exists_in_both_languages_with_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, texts in i18n.LABELS.items():
        assert set(texts) == set(i18n.LANGS), key
        assert all(texts.values()), key
        names = [{f for _, f, _, _ in fields.parse(texts[lang]) if f} for lang in i18n.LANGS]
        assert names[0] == names[1], key


def test_kpi_labels_use_node_names() -> None:
    names = {"assore": "ASSORE (hôtels)"}
    label = i18n.kpi_label("waiting.assore.mean", "fr", names)
    assert label == "ASSORE (hôtels)\u00a0: liste d'attente (moyenne)"
    assert i18n.kpi_label("street.mean", "en") == "People on the street (mean)"
    assert i18n.kpi_label("positive_share.assore", "en", names).endswith("positive share of exits")
    assert "femme" in i18n.kpi_label("positive_share.female", "fr", groups={"female": "femme"})
    assert i18n.kpi_label("unknown.thing", "fr") == "unknown.thing"  # fmt: skip


# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", severity 1.0, on linear RGB.
CVD = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}  # fmt: skip
CLEARLY_DISTINCT = 10.0
"""CIE76 colour difference well above the just-noticeable one (about 2.3)."""


def _lab(colour: str, deficiency: str | None) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour, as seen with ``deficiency`` (None: normal vision)."""
    from matplotlib.colors import to_rgb

    c = np.asarray(to_rgb(colour))
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    if deficiency is not None:
        linear = np.clip(np.asarray(CVD[deficiency]) @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear  # fmt: skip
    r = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(r > (6 / 29) ** 3, np.cbrt(r), r / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest_pair(colours: list[str], deficiency: str | None) -> float:
    labs = [_lab(c, deficiency) for c in colours]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(labs, 2))


def test_scenario_colours_stay_distinct_with_colour_blindness() -> None:
    colours = list(style.SCENARIO_COLOURS)
    # the check has teeth: matplotlib's default red and green merge for deuteranopes
    assert _closest_pair(["#D62728", "#2CA02C"], "deuteranopia") < CLEARLY_DISTINCT
    for deficiency in (None, *CVD):
        assert _closest_pair(colours, deficiency) > CLEARLY_DISTINCT, deficiency
    outcomes = [style.POSITIVE, style.NEGATIVE]
    for deficiency in (None, *CVD):
        assert _closest_pair(outcomes, deficiency) > CLEARLY_DISTINCT, deficiency


# --- every chart, folder kind, format and language --------------------------------------------
def _scenario_lines(ax: Any, folder: plots.Folder, lang: i18n.Lang) -> list[Any]:
    """The lines labelled with a scenario's title, in the folder's order."""
    titles = [charts.scenario_label(r.scenario, lang) for r in folder.runs.values()]
    lines = {str(line.get_label()): line for line in ax.get_lines()}
    return [lines[title] for title in titles if title in lines]


def _bands(ax: Any) -> list[Any]:
    """The 90% bands (not the tolerance bands of targets, drawn in the target colour)."""
    from matplotlib.colors import to_rgb

    return [
        c for c in ax.collections
        if type(c).__name__ == "FillBetweenPolyCollection"
        and not np.allclose(c.get_facecolor()[0][:3], to_rgb(style.TARGET))
    ]  # fmt: skip


def _assert_series(fig: Any, folder: plots.Folder, metric: str, lang: i18n.Lang) -> None:
    """One line per scenario: the reference's is the daily mean over replications; the others
    end on the same day; one 90% band each; capacity steps on occupancy."""
    ax = fig.axes[0]
    column = "street" if metric == "street" else f"{metric}.hotel"
    lines = _scenario_lines(ax, folder, lang)
    assert len(lines) == len(folder.runs)
    daily = folder.reference.timeseries.groupby("day")[column].mean()
    reference = lines[0]
    assert len(reference.get_xdata()) == len(daily) == folder.scenario.horizon
    assert np.allclose(reference.get_ydata(), daily.to_numpy())
    for line in lines[1:]:
        assert 2 <= len(line.get_xdata()) <= len(daily)
        assert line.get_xdata()[-1] == reference.get_xdata()[-1]
    assert len(_bands(ax)) == len(lines)
    if metric == "occupancy":
        steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
        assert {60.0, 140.0, 120.0} <= {float(y) for y in steps[0].get_ydata()}


def _assert_bars(fig: Any, folder: plots.Folder) -> None:
    """Entries above and exits below, a bar per bin and scenario; the reference's bars times
    their length in months add up to its entries (exits) per replication."""
    top, bottom = fig.axes[:2]
    ep = folder.reference.episodes
    ep = ep[ep["node"] == "hotel"]
    n = len(folder.runs)
    for ax, column in ((top, "entry"), (bottom, "exit")):
        assert len(ax.containers) == n
        bars = ax.containers[0].patches
        # the shared months are one bar as wide as a group, the others one bar per scenario
        shared = len(bars) - min(len(c.patches) for c in ax.containers)
        share = [1 if k < shared else n for k in range(len(bars))]
        months = np.array([b.get_width() * k / 0.8 for b, k in zip(bars, share, strict=True)])
        months = months / plots.DAYS_PER_MONTH
        total = float(np.sum([b.get_height() for b in bars] * months))
        moves = ep[column].between(0, folder.scenario.horizon, inclusive="left").sum()
        assert total == pytest.approx(moves / folder.replications)


def _assert_ecdf(fig: Any, folder: plots.Folder, lang: i18n.Lang, stays: int | None) -> None:
    """A cumulative step line per scenario from 0 to 1 (through every stay when given)."""
    lines = _scenario_lines(fig.axes[0], folder, lang)
    assert len(lines) == len(folder.runs)
    for line in lines:
        y = np.asarray(line.get_ydata(), dtype=float)
        assert y[0] == 0
        assert y[-1] == pytest.approx(1.0)
        assert np.all(np.diff(y) >= 0)
    if stays is not None:
        assert len(lines[0].get_ydata()) == stays + 1


def _assert_sankey(fig: Any, run: RunResult) -> None:
    """A bar per node that moved people and a band per move drawn."""
    from matplotlib.patches import PathPatch, Rectangle

    ax = fig.axes[0]
    table = flows(run)
    nodes = set(table["source"]) | set(table["target"])
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == len(nodes)
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert 0 < len(bands) <= len(table)


@pytest.mark.parametrize("kind", ["run", "compare"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_metric_draws_on_every_folder_in_both_languages(
    loaded: dict[str, plots.Folder], kind: str, lang: i18n.Lang
) -> None:
    folder = loaded[kind]
    sc = folder.scenario
    hotel = i18n.node_name(sc.nodes["hotel"].name, lang)
    ep = folder.reference.episodes
    stays = int(((ep["node"] == "hotel") & (ep["exit"] < sc.horizon)).sum())
    drawn = set()
    for metric, node, scenario, _ in plots.plan(folder, None, ["hotel"]):
        with style.context("a4"):
            fig = plots.chart(folder, metric, node, lang, "a4", scenario=scenario)
        key = "chart." + metric.replace("-", "_")
        values = {"node": hotel}
        if metric == "sankey":
            last = sc.end - dt.timedelta(days=1)
            values = {"start": i18n.date_short(sc.start, lang), "end": i18n.date_short(last, lang)}
        assert fig.get_suptitle().replace("\n", " ") == i18n.t(key, lang, **values)
        if metric in ("street", "waiting", "occupancy", "blocked"):
            _assert_series(fig, folder, metric, lang)
        elif metric == "entries-exits":
            _assert_bars(fig, folder)
        elif metric in ("stay", "time-to-housing"):
            _assert_ecdf(fig, folder, lang, stays if metric == "stay" else None)
        else:
            _assert_sankey(fig, folder.runs[scenario or next(iter(folder.runs))])
        drawn.add(metric)
    assert drawn == set(plots.METRICS)


def test_plot_folder_writes_every_metric(folders: dict[str, Path], tmp_path: Path) -> None:
    written = plots.plot_folder(folders["compare"], tmp_path, "fr", nodes=["hotel"], size="a4")
    stems = [p.stem for p in written]
    assert stems == [
        "street", "waiting-hotel", "occupancy-hotel", "blocked-hotel", "entries-exits-hotel",
        "stay-hotel", "time-to-housing", "sankey-reference", "sankey-more-referrals",
    ]  # fmt: skip
    assert all(p.suffix == ".png" and p.parent == tmp_path for p in written)


A4_POINTS = (style.SIZES["a4"].width * 72, style.SIZES["a4"].height * 72)


def _assert_chart_file(path: Path) -> None:
    """A real chart: an A4-width image with drawing in it, in the format of its suffix."""
    data = path.read_bytes()
    if path.suffix == ".png":
        from PIL import Image

        image = Image.open(path)
        assert image.size == tuple(round(x / 72 * style.PNG_DPI) for x in A4_POINTS)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # lines, bands and text, not a blank
    elif path.suffix == ".svg":
        root = ET.fromstring(data)
        assert float(root.get("width", "0").removesuffix("pt")) == pytest.approx(A4_POINTS[0])
        drawn = [e for e in root.iter() if e.tag.endswith(("path", "use"))]
        assert len(drawn) > 100
    else:
        assert data.startswith(b"%PDF")
        assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 1
        box = data.split(b"/MediaBox [")[1].split(b"]")[0].split()
        assert [float(x) for x in box[2:]] == pytest.approx(list(A4_POINTS), abs=0.5)


@pytest.mark.parametrize("kind", ["run", "compare"])
@pytest.mark.parametrize("fmt", style.FORMATS)
def test_every_folder_kind_in_every_format(
    folders: dict[str, Path], tmp_path: Path, kind: str, fmt: str
) -> None:
    (chart,) = plots.plot_folder(folders[kind], tmp_path, "en", ["occupancy"], ["hotel"], fmt, "a4")
    assert chart.suffix == f".{fmt}"
    _assert_chart_file(chart)


def test_default_nodes_are_the_open_places(loaded: dict[str, plots.Folder]) -> None:
    folder = loaded["run"]
    assert plots.default_nodes(folder, "waiting") == ["hotel"]
    assert plots.default_nodes(folder, "occupancy") == ["hotel", "flat"]
    assert plots.main_node(folder) == "hotel"
    sankeys = [p for p in plots.plan(loaded["compare"], ["sankey"]) if p[0] == "sankey"]
    assert [p[3] for p in sankeys] == ["sankey-reference", "sankey-more-referrals"]


# --- French formats on the charts, events, targets, replications ------------------------------
def _ticks(fig: Any, axis: str = "y") -> list[str]:
    fig.draw_without_rendering()
    ax = fig.axes[0] if axis == "y" else fig.axes[-1]
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels if t.get_text()]


def test_charts_use_french_number_and_date_formats(loaded: dict[str, plots.Folder]) -> None:
    folder = loaded["run"]
    street = plots.chart(folder, "street", lang="fr", size="a4")
    assert f"1{NNBSP}000" in _ticks(street)
    assert "2020" in _ticks(street, "x")
    english = plots.chart(folder, "street", lang="en", size="a4")
    assert "1,000" in _ticks(english)
    stay = plots.chart(folder, "stay", "hotel", lang="fr", size="a4")
    assert f"50{NNBSP}%" in _ticks(stay)
    assert "50%" in _ticks(plots.chart(folder, "stay", "hotel", lang="en", size="a4"))
    short = plots.chart(
        folder, "street", lang="fr", size="a4", start=dt.date(2022, 1, 1), end=dt.date(2022, 12, 31)
    )
    assert "avr. 2022" in _ticks(short, "x")
    assert f"90{NNBSP}% des réplications" in _texts(street)


def test_events_are_marked_only_inside_the_dates(loaded: dict[str, plots.Folder]) -> None:
    folder = loaded["run"]
    assert {e.date for e in plots.EVENTS} == {dt.date(2020, 4, 1), dt.date(2023, 11, 30)}
    assert all(e.source for e in plots.EVENTS)
    whole = _texts(plots.chart(folder, "waiting", "hotel", "fr", "a4"))
    assert "Confinement" in whole
    assert "Étape 2 du plan" in whole
    later = _texts(plots.chart(folder, "waiting", "hotel", "en", "a4", start=dt.date(2021, 1, 1)))
    assert "Lockdown" not in later
    assert "Plan stage 2" in later


def test_occupancy_marks_capacity_changes(loaded: dict[str, plots.Folder]) -> None:
    text = _texts(plots.chart(loaded["run"], "occupancy", "hotel", "fr", "a4"))
    for value in ("60", "140", "120"):
        assert value in text.split("\n")
    assert "capacité (tirets)" in text


def test_targets_are_marked_on_run_folders(loaded: dict[str, plots.Folder]) -> None:
    calibrated = _texts(plots.chart(loaded["run"], "street", lang="fr", size="a4"))
    assert "cible (± tolérance)" in calibrated
    bars = _texts(plots.chart(loaded["run"], "entries-exits", "hotel", "en", "a4"))
    assert "target (± tolerance)" in bars
    compared = _texts(plots.chart(loaded["compare"], "street", lang="fr", size="a4"))
    assert "cible" not in compared
    assert {t.name for t in loaded["run"].targets} == {
        "street_2021",
        "street_mid_2022",
        "hotel_exits_2020",
        "hotel_positive_share",
    }


def test_one_replication_is_drawn_without_a_band(loaded: dict[str, plots.Folder]) -> None:
    fig = plots.chart(loaded["compare"], "street", lang="fr", size="a4", replication=1)
    text = _texts(fig)
    assert "Réplication 1" in text
    assert "90" not in text
    assert not [
        c for c in fig.axes[0].collections if type(c).__name__ == "FillBetweenPolyCollection"
    ]
    with pytest.raises(charts.FolderError, match="no replication 7"):
        plots.chart(loaded["run"], "street", lang="fr", size="a4", replication=7)


def test_output_is_deterministic_and_undated(folders: dict[str, Path], tmp_path: Path) -> None:
    for fmt in style.FORMATS:
        pair = [
            plots.plot_folder(
                folders["compare"], tmp_path / d, "fr", ["blocked"], ["hotel"], fmt, "a4"
            )
            for d in ("a", "b")
        ]
        assert pair[0][0].read_bytes() == pair[1][0].read_bytes(), fmt
    svg = (tmp_path / "a" / "blocked-hotel.svg").read_text()
    assert "<dc:date>" not in svg
    pdf = (tmp_path / "a" / "blocked-hotel.pdf").read_bytes()
    assert b"CreationDate" not in pdf
    assert b"ModDate" not in pdf


# --- image regression -------------------------------------------------------------------------
REFERENCE_CHARTS: dict[str, tuple[str, plots.Metric, str | None, i18n.Lang, style.SizeName]] = {
    "street-compare-fr": ("compare", "street", None, "fr", "a4"),
    "occupancy-hotel-run-en": ("run", "occupancy", "hotel", "en", "a4"),
    "waiting-hotel-compare-fr-slide": ("compare", "waiting", "hotel", "fr", "slide"),
    "entries-exits-hotel-targets-en": ("run", "entries-exits", "hotel", "en", "a4"),
    "sankey-run-fr-slide": ("run", "sankey", None, "fr", "slide"),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_CHARTS))
def test_baseline_images(loaded: dict[str, plots.Folder], tmp_path: Path, name: str) -> None:
    import matplotlib as mpl
    from matplotlib.testing import set_font_settings_for_testing

    kind, metric, node, lang, size = REFERENCE_CHARTS[name]
    with mpl.rc_context():  # matplotlib's own test font settings, then the house style
        set_font_settings_for_testing()
        with style.context(size):
            fig = plots.chart(loaded[kind], metric, node, lang, size)
            actual = style.save(fig, tmp_path / f"{name}.png")
    expected = BASELINE / f"{name}.png"
    if os.environ.get("PARCOURS_UPDATE_BASELINE"):
        BASELINE.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"missing {expected}: run with PARCOURS_UPDATE_BASELINE=1"
    assert compare_images(str(expected), str(actual), tol=3) is None


# --- Sankey and diagram -----------------------------------------------------------------------
def test_sankey_flows_count_the_moves_in_the_window(loaded: dict[str, plots.Folder]) -> None:
    result = loaded["run"].reference
    sc = result.scenario
    table = flows(result)
    ep = result.episodes
    moved = ep[ep["exit"].notna() & (ep["exit"] < sc.horizon) & ep["outcome"].isin(list(sc.nodes))]
    assert table["count"].sum() == pytest.approx(len(moved) / REPLICATIONS)
    street_to_hotel = table[(table["source"] == "street") & (table["target"] == "hotel")]
    assert float(street_to_hotel["count"].iloc[0]) > 0
    window = flows(result, dt.date(2021, 1, 1), dt.date(2021, 12, 31), replication=0)
    a, b = sc.day(dt.date(2021, 1, 1)), sc.day(dt.date(2021, 12, 31)) + 1
    one = ep[(ep["replication"] == 0) & (ep["exit"] >= a) & (ep["exit"] < b)]
    assert window["count"].sum() == len(one[one["outcome"].isin(list(sc.nodes))])


def test_diagram_layers_and_mermaid() -> None:
    sc = validate_data(small_data())
    assert place_ranks(sc) == {"street": 0, "hotel": 1, "flat": 2}
    text = mermaid(sc, "fr")
    assert text.splitlines()[1] == "flowchart LR"
    for node in sc.nodes:
        assert f"n_{node}" in text
    assert f"n_hotel -->|60{NNBSP}%| n_flat" in text
    assert f"n_hotel -.->|100{NNBSP}%| n_back" in text  # negative exit, dashed
    assert "140 → 120" not in text
    assert "120 places" in text


def test_diagram_svg_is_deterministic(tmp_path: Path) -> None:
    sc = validate_data(small_data())
    paths = []
    for name in ("a", "b"):
        fig = diagram_chart(sc, "en", "slide", dt.date(2020, 6, 1))
        paths.append(style.save(fig, tmp_path / f"{name}.svg"))
    assert paths[0].read_bytes() == paths[1].read_bytes()


# --- command line ------------------------------------------------------------------------------
def test_cli_plot(folders: dict[str, Path], tmp_path: Path) -> None:
    args = [str(folders["compare"]), "--metric", "street", "--metric", "waiting", "--node", "hotel"]
    args += ["--format", "svg", "--lang", "en", "--size", "square", "--out", str(tmp_path)]
    result = CliRunner().invoke(plot_command, args)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [
        str(tmp_path / "street.svg"),
        str(tmp_path / "waiting-hotel.svg"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--node", "nowhere"], "unknown node 'nowhere'"),
        (["--replication", "9"], "no replication 9"),
        (["--from", "2030-01-01"], "empty window"),
    ],
)
def test_cli_plot_errors(folders: dict[str, Path], args: list[str], message: str) -> None:
    result = CliRunner().invoke(plot_command, [str(folders["run"]), "--metric", "waiting", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_plot_rejects_a_folder_without_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(plot_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "not a parcours run or compare or calibrate folder" in result.output


def test_cli_diagram(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    import yaml

    path.write_text(yaml.safe_dump(small_data(), allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(diagram_command, [str(path), "--format", "mermaid", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "flowchart LR" in result.output
    assert "Outreach patrols" in result.output
    out = tmp_path / "net.svg"
    result = CliRunner().invoke(diagram_command, [str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("<svg") == 1
    everything = tmp_path / "all.png"
    args = [str(path), "--format", "png", "--min-share", "0", "--out", str(everything)]
    assert CliRunner().invoke(diagram_command, args).exit_code == 0
    assert everything.read_bytes().startswith(b"\x89PNG")
    bad = CliRunner().invoke(diagram_command, [str(path), "--min-share", "2"])
    assert bad.exit_code == 2
    assert "--min-share" in bad.output


# --- legibility: text sizes, events, legend, shared history, the diagram -----------------------
def _visible_texts(fig: Any) -> list[Any]:
    from matplotlib.text import Text

    fig.draw_without_rendering()
    return [
        t for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_window_extent().width > 0
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "node"),
    [("occupancy", "hotel"), ("entries-exits", "hotel"), ("stay", "hotel"), ("sankey", None)],
)
def test_slide_charts_have_no_text_under_16_points(
    loaded: dict[str, plots.Folder], metric: plots.Metric, node: str | None
) -> None:
    with style.context("slide"):
        fig = plots.chart(loaded["run"], metric, node, "fr", "slide")
        sizes = [(t.get_text(), t.get_fontsize()) for t in _visible_texts(fig)]
    assert min(size for _, size in sizes) >= 16, [(k, v) for k, v in sizes if v < 16]


def _data_box(ax: Any, artist: Any) -> Any:
    return artist.get_window_extent().transformed(ax.transData.inverted())


@pytest.mark.parametrize("size", ["slide", "a4"])
def test_event_labels_sit_above_the_data(loaded: dict[str, plots.Folder], size: str) -> None:
    from matplotlib.text import Annotation

    folder = loaded["compare"]
    for metric in ("street", "occupancy"):
        with style.context(size):  # type: ignore[arg-type]
            fig = plots.chart(folder, metric, "hotel", "fr", size)  # type: ignore[arg-type]
            fig.draw_without_rendering()
            ax = fig.axes[0]
            events = [a for a in ax.texts if isinstance(a, Annotation) and "(" in a.get_text()]
            assert len(events) == 2
            for event in events:
                box = _data_box(ax, event)
                assert box.y1 <= ax.get_ylim()[1] * 1.001  # inside the axes
                for line in ax.get_lines():
                    x = mdates.date2num(np.asarray(line.get_xdata()))
                    y = np.asarray(line.get_ydata(), dtype=float)
                    under = (x >= box.x0) & (x <= box.x1)
                    if len(y) > 2 and under.any():
                        assert y[under].max() < box.y0, (metric, event.get_text())
                for band in _bands(ax):
                    vertices = band.get_paths()[0].vertices
                    under = (vertices[:, 0] >= box.x0) & (vertices[:, 0] <= box.x1)
                    assert not under.any() or vertices[under, 1].max() < box.y0


def test_legend_is_outside_on_the_right_with_short_labels(
    loaded: dict[str, plots.Folder],
) -> None:
    with style.context("slide"):
        fig = plots.chart(loaded["compare"], "street", None, "en", "slide")
        fig.draw_without_rendering()
    legend = fig.legends[0]
    assert legend.get_window_extent().x0 >= fig.axes[0].get_window_extent().x1
    assert legend.get_title().get_text() == "Small pathway"  # the words both titles share
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:2] == ["(reference)", "(more-referrals)"]


def test_shared_history_is_drawn_once_under_the_reference(
    loaded: dict[str, plots.Folder],
) -> None:
    folder = loaded["compare"]
    with style.context("a4"):
        fig = plots.chart(folder, "waiting", "hotel", "en", "a4")
    reference, other = _scenario_lines(fig.axes[0], folder, "en")
    assert reference.get_zorder() > other.get_zorder()
    ref, alt = (r.timeseries.groupby("day")["waiting.hotel"].mean() for r in folder.runs.values())
    first_difference = int(np.argmax(ref.to_numpy() != alt.to_numpy()))
    assert len(other.get_xdata()) == len(ref) - max(first_difference - 1, 0)
    assert first_difference > 0  # the two scenarios do share their first days


def test_compact_series_are_weekly_means_with_exact_capacity(
    loaded: dict[str, plots.Folder],
) -> None:
    folder = loaded["run"]
    with style.context("a4"):
        fig = plots.chart(folder, "occupancy", "hotel", "en", "a4", compact=True)
    ax = fig.axes[0]
    (line,) = _scenario_lines(ax, folder, "en")
    daily = folder.reference.timeseries.groupby("day")["occupancy.hotel"].mean().to_numpy()
    weeks = -(-len(daily) // 7)
    y = np.asarray(line.get_ydata(), dtype=float)
    assert len(y) == weeks + 2  # first day, one mean a week, last day
    assert y[1] == pytest.approx(daily[:7].mean())
    assert y[-2] == pytest.approx(daily[(weeks - 1) * 7 :].mean())
    (steps,) = [x for x in ax.get_lines() if x.get_drawstyle() == "steps-post"]
    assert [float(v) for v in steps.get_ydata()] == [60.0, 140.0, 120.0, 120.0]


def test_tick_labels_show_the_decimals_of_their_step() -> None:
    formatter = charts.NumberFormatter("fr")
    formatter.set_locs([0.0, 2.5, 5.0, 7.5])
    assert [formatter(x) for x in (0.0, 2.5, 7.5)] == ["0,0", "2,5", "7,5"]
    formatter.set_locs([0.0, 500.0, 1000.0])
    assert formatter(1000.0) == f"1{NNBSP}000"


def _overlap(a: Any, b: Any, slack: float = 1.0) -> bool:
    return bool(
        a.x0 + slack < b.x1 and b.x0 + slack < a.x1 and a.y0 + slack < b.y1 and b.y0 + slack < a.y1
    )


@pytest.mark.parametrize("source", ["small", "etape2-610.yaml", "etape2-400-downstream.yaml"])
@pytest.mark.parametrize("size", ["slide", "a4"])
def test_diagram_labels_and_boxes_do_not_overlap(source: str, size: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    from sim.inputs.loading import load_scenario
    from tests.conftest import SCENARIOS

    sc = validate_data(small_data()) if source == "small" else load_scenario(SCENARIOS / source)
    fig = diagram_chart(sc, "fr", size)  # type: ignore[arg-type]
    texts = _visible_texts(fig)
    boxes = [p.get_window_extent() for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    figure = fig.bbox
    assert len(boxes) == len(sc.nodes)
    extents = [t.get_window_extent() for t in texts]
    for i, a in enumerate(extents):
        assert figure.x0 <= a.x0, texts[i].get_text()
        assert a.x1 <= figure.x1 + 1, texts[i].get_text()
        for j in range(i + 1, len(extents)):
            assert not _overlap(a, extents[j]), (texts[i].get_text(), texts[j].get_text())
    labels = [e for t, e in zip(texts, extents, strict=True) if t.get_bbox_patch() is not None]
    assert labels  # the probabilities are drawn
    for label in labels:
        assert not any(_overlap(label, box) for box in boxes)
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b)


def test_diagram_counts_the_routes_it_leaves_out() -> None:
    from sim.inputs.loading import load_scenario
    from sim.outputs.diagram import edges
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "etape2-610.yaml")
    shares = [e.probability for e in edges(sc) if e.probability is not None]
    below = [p for p in shares if round(100 * p) < 5]
    assert below  # the shipped network has routes under 5%
    text = _texts(diagram_chart(sc, "en", "slide"))
    assert "routes below 5% not drawn" in text
    everything = _texts(diagram_chart(sc, "en", "slide", min_share=0.0))
    assert "not drawn" not in everything
    assert everything.count("%") > text.count("%")


def test_other_charts_use_the_house_style_and_labels(
    loaded: dict[str, plots.Folder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison's overlay and the sensitivity charts take their words from the
    translation table and their colours from the house palette."""
    from matplotlib.colors import to_hex

    from sim.analysis.compare import build
    from sim.outputs import compare_chart, sweep_plots

    drawn: list[Any] = []
    save = style.save
    monkeypatch.setattr(style, "save", lambda fig, *a, **k: drawn.append(fig) or save(fig, *a, **k))
    compare_chart.plot_queues(build(loaded["compare"].runs), tmp_path / "q.png", "fr")
    table = pd.DataFrame({
        "kpi": ["k", "k"], "parameter": ["a", "b"], "low": [1.0, 0.5], "high": [2.0, 1.5],
        "kpi_low": [3.0, 5.0], "kpi_high": [6.0, 4.0], "kpi_base": [4.0, 4.0], "swing": [3, 1],
    })  # fmt: skip
    figures = [
        (drawn[0], ["Personnes à la rue", "Liste d'attente\u00a0: Hôtel (ASSORE)", "90\u202f%"]),
        (sweep_plots.tornado_chart(table, "k", "fr"), ["Sensibilité de k", "borne basse", "0,5"]),
    ]
    palette = {c.lower() for c in (*style.OKABE_ITO.values(), style.TEXT, style.MUTED)}
    for fig, words in figures:
        text = _texts(fig)
        for word in words:
            assert word in text
        for ax in fig.axes:
            colours = {to_hex(line.get_color()) for line in ax.get_lines()}
            colours |= {to_hex(p.get_facecolor()) for p in ax.patches if p.get_visible()}
            assert colours - {"#ffffff"} <= palette | {style.GRID.lower()}, colours


def test_existing_charts_and_reports_are_replaced_only_with_force(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from sim.cli.main import main
    from sim.outputs.report import write_report

    out = tmp_path / "charts"
    args = ["plot", str(folders["run"]), "--metric", "street", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    (chart,) = out.iterdir()
    chart.write_bytes(b"a chart someone edited")
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2
    assert "use --force" in refused.output
    assert chart.read_bytes() == b"a chart someone edited"  # nothing drawn, nothing lost
    assert CliRunner().invoke(main, [*args, "--force"]).exit_code == 0
    assert chart.read_bytes().startswith(b"\x89PNG")
    html = tmp_path / "report.html"
    html.write_text("kept")
    with pytest.raises(charts.FolderError, match="--force"):
        write_report(folders["run"], html, "en")
    assert html.read_text() == "kept"
    assert write_report(folders["run"], html, "en", force=True).read_text().startswith("<!")


def test_legends_use_a_scenarios_short_label_when_it_has_one(
    loaded: dict[str, plots.Folder],
) -> None:
    import dataclasses

    from sim.inputs.scenario import DisplayName

    folder = loaded["compare"]
    name, run = next(iter(folder.runs.items()))
    short = DisplayName(fr="Réf. courte", en="Short ref")
    relabelled = dataclasses.replace(
        run, scenario=run.scenario.model_copy(update={"legend": short})
    )
    other = dataclasses.replace(folder, runs={**folder.runs, name: relabelled})
    for lang, text in (("fr", "Réf. courte"), ("en", "Short ref")):
        assert text in _texts(plots.chart(other, "street", lang=lang, size="a4"))
        assert text not in _texts(plots.chart(folder, "street", lang=lang, size="a4"))
    assert charts.legend_label(run.scenario, "en") == charts.scenario_label(run.scenario, "en")


def _sankey_boxes(fig: Any) -> list[str]:
    """The Sankey's box labels (without their counts), column by column, top first."""
    import re

    ax = fig.axes[0]
    labels = []
    for text in ax.texts:
        x, y = text.get_position()
        name = re.sub(r"\s*\([\d\s\u202f,.]+\)$", "", text.get_text().replace("\n", " "))
        labels.append((round(x, 3), -y, name))
    return [name for *_, name in sorted(labels)]


def test_sankey_boxes_keep_one_order_across_scenarios(loaded: dict[str, plots.Folder]) -> None:
    from sim.outputs.sankey import box_order, sankey_chart

    folder = loaded["compare"]
    orders = [_sankey_boxes(plots.chart(folder, "sankey", scenario=name)) for name in folder.runs]
    assert len(orders) == 2
    assert orders[0] == [name for name in orders[1] if name in orders[0]]
    # the order is honoured, not a coincidence of the flows: reversed, the boxes follow
    run = folder.reference
    natural = _sankey_boxes(sankey_chart(run))
    reverse = _sankey_boxes(sankey_chart(run, order=box_order(run)[::-1]))
    assert natural != reverse
    assert sorted(natural) == sorted(reverse)


def test_entries_and_exits_draw_the_shared_months_once(loaded: dict[str, plots.Folder]) -> None:
    folder = loaded["compare"]
    with style.context("a4"):
        fig = plots.chart(folder, "entries-exits", "hotel", "en", "a4")
    top = fig.axes[0]
    reference, other = (c.patches for c in top.containers)
    shared = len(reference) - len(other)
    assert shared > 0, "the two scenarios share their first months"
    assert other[0].get_x() > reference[shared - 1].get_x()
    # after the shared months, the two bars of a month sit side by side, as wide as each other
    after = reference[shared]
    assert other[0].get_x() == pytest.approx(after.get_x() + after.get_width())
    assert other[0].get_width() == pytest.approx(after.get_width())
    # before, the reference's bar is as wide as the pair (the totals: _assert_bars)
    assert "shared history drawn once" in _texts(fig)


def test_bands_are_light_outlined_and_one_can_be_asked_for(
    loaded: dict[str, plots.Folder],
) -> None:
    from matplotlib.colors import to_hex

    folder = loaded["compare"]
    names = list(folder.runs)
    with style.context("a4"):
        every = plots.chart(folder, "street", None, "en", "a4").axes[0]
        one = plots.chart(folder, "street", None, "en", "a4", band=names[1]).axes[0]
        none = plots.chart(folder, "street", None, "en", "a4", band="none").axes[0]
    bands = _bands(every)
    assert len(bands) == 2
    colours = [to_hex(b.get_facecolor()[0][:3]) for b in bands]
    assert colours[0] != colours[1]
    assert all(b.get_alpha() <= 0.12 for b in bands)  # stacked, they keep their colours
    edges = [line for line in every.get_lines() if line.get_label() == "_band edge"]
    assert sorted({to_hex(line.get_color()) for line in edges}) == sorted(set(colours))
    assert [b.get_gid() for b in _bands(one)] == [f"band:{names[1]}"]
    assert _bands(one)[0].get_alpha() == style.BAND_ALPHA  # alone: the usual fill
    assert _bands(none) == []
    with pytest.raises(plots.FolderError, match="no such scenario"):
        plots.chart(folder, "street", None, "en", "a4", band="nowhere")


def test_a_line_hidden_under_another_is_dashed_on_top_and_named(
    loaded: dict[str, plots.Folder],
) -> None:
    folder = loaded["compare"]
    reference = folder.reference
    twin = dataclasses.replace(
        reference, scenario=reference.scenario.model_copy(update={"name": "twin", "title": None})
    )
    same = dataclasses.replace(folder, runs={**folder.runs, "twin": twin})
    with style.context("a4"):
        fig = plots.chart(same, "waiting", "hotel", "en", "a4")
    ax = fig.axes[0]
    lines = {str(line.get_label()): line for line in ax.get_lines()}
    first, hidden = lines[charts.legend_label(reference.scenario, "en")], lines["twin"]
    assert hidden.get_linestyle() == "--"
    assert hidden.get_zorder() > first.get_zorder()
    assert len(hidden.get_xdata()) == len(first.get_xdata())  # drawn whole, not cut
    assert "'twin' coincides with" in ax.get_title(loc="left").replace("\n", " ")
    differing = lines[charts.legend_label(folder.runs[list(folder.runs)[1]].scenario, "en")]
    assert differing.get_linestyle() == "-"


def test_sim_plot_draws_results_in_memory_as_from_their_folder(
    folders: dict[str, Path], loaded: dict[str, plots.Folder], tmp_path: Path
) -> None:
    import sim
    from sim.analysis.compare import compare_runs

    run_result = loaded["run"].reference
    written = sim.plot(run_result, out=tmp_path / "run", metrics=["street"], fmt="svg")
    from_folder = sim.plot(folders["run"], out=tmp_path / "folder", metrics=["street"], fmt="svg")
    assert [p.name for p in written] == [p.name for p in from_folder] == ["street.svg"]
    assert written[0].read_bytes() == from_folder[0].read_bytes()
    comp = compare_runs([folders["compare"]])
    with style.context("a4"):
        fig = plots.chart(plots.folder_of(comp), "street", None, "en", "a4")
    assert len(_scenario_lines(fig.axes[0], loaded["compare"], "en")) == 2
    with pytest.raises(plots.FolderError, match="need out="):
        sim.plot(run_result)
    with pytest.raises(plots.FolderError, match="cannot draw charts of int"):
        sim.plot(3, out=tmp_path / "x")  # type: ignore[arg-type]
    long = comp.series_long()
    assert list(long.columns[:2]) == ["scenario", "replication"]
    assert set(long["scenario"]) == set(comp.runs)
    assert len(long) == sum(len(r.series_long()) for r in comp.runs.values())
    yearly = comp.by_period("year")
    assert set(yearly["scenario"]) == set(comp.runs)


def test_loading_the_wrong_kind_of_folder_names_the_kind_expected(
    folders: dict[str, Path],
) -> None:
    import sim
    from sim.analysis.compare import CompareError
    from sim.analysis.sweep import SweepError

    with pytest.raises(plots.FolderError, match="a compare folder, not a run folder"):
        sim.load_run(folders["compare"])
    with pytest.raises(CompareError, match="a run folder, not a compare folder"):
        sim.load_compare(folders["run"])
    with pytest.raises(SweepError, match="a compare folder, not a sweep folder"):
        sim.load_sweep(folders["compare"])

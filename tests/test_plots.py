"""Charts: every metric on run, compare and calibration folders, formats, languages, French
number formats, events, targets, determinism, image regression, the Sankey, the diagram, the CLI.

The folders are built from a small scenario defined here (not a shipped file, so edits to the
shipped scenarios do not move the reference images). The compare and calibration folders are
assembled by hand following their contracts. Reference images: ``tests/baseline/``; regenerate
them after an intended change with ``PARCOURS_UPDATE_BASELINE=1 pytest tests/test_plots.py -k
baseline`` and look at them before committing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import string
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.testing.compare import compare_images
from scipy import stats

from sim import i18n, plots, style
from sim.cli_plot import diagram as diagram_command
from sim.cli_plot import plot as plot_command
from sim.diagram import diagram_chart, mermaid, place_ranks
from sim.loading import validate_data
from sim.results import manifest, summary_with_targets, write_run
from sim.runner import RunResult, run
from sim.sankey import flows

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


def make_calibrate(result: RunResult, out: Path) -> Path:
    """A calibration folder by hand: manifest, runs/best/, targets.csv."""
    out.mkdir(parents=True)
    write_run(result, out / "runs" / "best")
    summary = summary_with_targets(result)
    rows = []
    for name, obs in result.scenario.observations.items():
        if obs.target is None:
            continue
        row = summary[summary["kpi"] == f"obs.{name}"].iloc[0]
        rows.append(
            {
                "observation": name,
                "role": obs.role,
                "target": obs.target,
                "tolerance": obs.tolerance,
                "mean": row["mean"],
                "ci95": row["ci95"],
                "met": bool(row["target_met"]),
            }
        )
    pd.DataFrame(rows).to_csv(out / "targets.csv", index=False)
    info = manifest("calibrate", [result.scenario], SEED, REPLICATIONS, 0.0)
    (out / "manifest.json").write_text(json.dumps(info, default=str), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``run``, ``compare`` and ``calibrate`` folders of the small scenario (3 replications)."""
    root = tmp_path_factory.mktemp("folders")
    reference = run(validate_data(small_data("reference")), REPLICATIONS, SEED)
    more = run(validate_data(small_data("more-referrals", 0.08)), REPLICATIONS, SEED)
    return {
        "run": write_run(reference, root / "run"),
        "compare": make_compare([reference, more], root / "compare"),
        "calibrate": make_calibrate(reference, root / "calibrate"),
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
def test_french_and_english_number_formats() -> None:
    assert i18n.number(1234, "fr") == f"1{NNBSP}234"
    assert i18n.number(1234567.891, "fr", 1) == f"1{NNBSP}234{NNBSP}567,9"
    assert i18n.number(12.5, "fr", 1) == "12,5"
    assert i18n.number(-1234, "fr") == f"\u22121{NNBSP}234"
    assert i18n.number(1234.5, "en", 1) == "1,234.5"
    assert i18n.percent(0.125, "fr") == f"12,5{NNBSP}%"
    assert i18n.percent(0.125, "en") == "12.5%"
    assert i18n.euros(8_250_000, "fr") == f"8{NNBSP}250{NNBSP}000{NNBSP}€"
    assert i18n.signed(3.0, "fr") == "+3"
    assert i18n.signed(-0.2, "fr") == "0"  # rounds to zero: no sign
    assert i18n.number(float("nan"), "fr") == i18n.DASH
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


def test_style_palette_and_sizes() -> None:
    assert set(style.SCENARIO_COLOURS) <= set(style.OKABE_ITO.values())
    slide = style.SIZES["slide"]
    assert slide.width / slide.height == pytest.approx(16 / 9, rel=1e-3)
    assert slide.font >= 18  # readable from the back of a room
    assert style.PNG_DPI == 200


# --- every chart, folder kind, format and language --------------------------------------------
def _check_file(path: Path) -> None:
    head = path.read_bytes()[:200]
    if path.suffix == ".png":
        assert head.startswith(b"\x89PNG"), path
    elif path.suffix == ".pdf":
        assert head.startswith(b"%PDF"), path
    else:
        assert b"<svg" in path.read_bytes()[:2000], path


@pytest.mark.parametrize("kind", ["run", "compare", "calibrate"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_metric_draws_on_every_folder_in_both_languages(
    loaded: dict[str, plots.Folder], kind: str, lang: i18n.Lang
) -> None:
    folder = loaded[kind]
    sc = folder.scenario
    hotel = i18n.node_name(sc.nodes["hotel"].name, lang)
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
        drawn.add(metric)
    assert drawn == set(plots.METRICS)


@pytest.mark.parametrize(
    ("fmt", "kind", "lang"),
    [("png", "compare", "fr"), ("svg", "calibrate", "en"), ("pdf", "run", "fr")],
)
def test_plot_folder_writes_every_metric_in_every_format(
    folders: dict[str, Path], tmp_path: Path, fmt: str, kind: str, lang: str
) -> None:
    written = plots.plot_folder(folders[kind], tmp_path, lang, nodes=["hotel"], fmt=fmt, size="a4")
    stems = [p.stem for p in written]
    expected = ["street", "waiting-hotel", "occupancy-hotel", "blocked-hotel"]
    assert stems[:4] == expected
    assert {"entries-exits-hotel", "stay-hotel", "time-to-housing"} <= set(stems)
    assert any(s.startswith("sankey") for s in stems)
    for path in written:
        assert path.suffix == f".{fmt}"
        _check_file(path)


def test_every_folder_kind_in_the_other_formats(folders: dict[str, Path], tmp_path: Path) -> None:
    """With the test above, every folder kind is written in every format."""
    done = {("compare", "png"), ("calibrate", "svg"), ("run", "pdf")}
    for kind, path in folders.items():
        for fmt in style.FORMATS:
            if (kind, fmt) not in done:
                out = tmp_path / kind
                (chart,) = plots.plot_folder(path, out, "en", ["stay"], ["hotel"], fmt, "a4")
                _check_file(chart)


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


def test_targets_are_marked_on_calibration_folders(loaded: dict[str, plots.Folder]) -> None:
    calibrated = _texts(plots.chart(loaded["calibrate"], "street", lang="fr", size="a4"))
    assert "cible (± tolérance)" in calibrated
    bars = _texts(plots.chart(loaded["calibrate"], "entries-exits", "hotel", "en", "a4"))
    assert "target (± tolerance)" in bars
    compared = _texts(plots.chart(loaded["compare"], "street", lang="fr", size="a4"))
    assert "cible" not in compared
    assert {t.name for t in loaded["calibrate"].targets} == {
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
    with pytest.raises(plots.FolderError, match="no replication 7"):
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
REFERENCE_CHARTS = {
    "street-compare-fr": ("compare", "street", None, "fr"),
    "occupancy-hotel-run-en": ("run", "occupancy", "hotel", "en"),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_CHARTS))
def test_baseline_images(loaded: dict[str, plots.Folder], tmp_path: Path, name: str) -> None:
    kind, metric, node, lang = REFERENCE_CHARTS[name]
    with style.context("a4"):
        fig = plots.chart(loaded[kind], metric, node, lang, "a4")  # type: ignore[arg-type]
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
    assert "not a parcours results folder" in result.output


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

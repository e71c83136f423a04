"""Scenario comparison: paired differences, common random numbers, run folders, the étape-2
family end to end, and the audit's mechanism (hotels fill; positive exits need downstream)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.analysis.compare import (
    CompareError,
    Comparison,
    build,
    capacity_rises,
    compare,
    compare_runs,
    default_reference,
    long_table,
    with_exit_channels,
)
from sim.cli.compare import compare_command
from sim.cli.demo import assore_held_at_400, crn_block, doc_blocks
from sim.cli.main import main
from sim.engine.schedule import Steps
from sim.inputs.loading import load_raw, load_scenario, validate_data
from sim.inputs.scenario import DownstreamNode, FreeParameter, Scenario
from sim.outputs.comparison import (
    labelled,
    markdown,
    read_block,
    readme_table,
    replace_block,
    update_markdown,
    with_labels,
    write_comparison,
)
from sim.running.results import write_run
from sim.running.runner import run
from sim.running.statistics import Paired, mean_ci, paired_difference
from tests.builders import queue
from tests.conftest import SCENARIOS

T_975_3 = 3.182446305284263  # Student t quantile, 0.975 with 3 degrees of freedom (tables)


# --- paired differences by hand ------------------------------------------------------------------


def test_paired_difference_matches_a_hand_computation() -> None:
    # reference 1, 2, 3, 4 and alternative 2, 2, 5, 4: differences d = 1, 0, 2, 0
    # mean(d) = 0.75; var(d) = (0.0625 + 0.5625 + 1.5625 + 0.5625) / 3 = 11/12
    # half-width = t(0.975, 3) * sqrt(11/12 / 4)
    # var(ref) = 5/3, var(alt) = 9/4: variance reduction = 1 - (11/12) / (47/12) = 36/47
    p = paired_difference([1, 2, 3, 4], [2, 2, 5, 4])
    assert p.mean == pytest.approx(0.75, abs=1e-12)
    assert p.ci == pytest.approx(T_975_3 * math.sqrt(11 / 12 / 4), rel=1e-9)
    assert p.ci == pytest.approx(1.52348, abs=1e-5)
    assert p.variance_reduction == pytest.approx(36 / 47, rel=1e-12)
    assert p.n == 4
    assert not p.significant  # 0.75 < 1.52: the interval covers zero
    # independent runs: Welch half-width on var(ref)/n + var(alt)/n = 47/48, df = 5.87
    assert p.ci_independent == pytest.approx(2.434, abs=2e-3)


def test_paired_difference_drops_undefined_pairs_and_marks_significance() -> None:
    # the NaN pair is dropped: d = 1.0, 1.1, 0.9, 1.0 -> mean 1.0, sd sqrt(0.02/3)
    p = paired_difference([1, 2, math.nan, 3, 4], [2, 3.1, 7, 3.9, 5])
    assert p.n == 4
    assert p.mean == pytest.approx(1.0, abs=1e-12)
    assert p.ci == pytest.approx(T_975_3 * math.sqrt(0.02 / 3 / 4), rel=1e-9)
    assert p.significant


def small_scenario(name: str = "small") -> Scenario:
    sc = queue(1.0, 5, {"dist": "exponential", "mean": 4.0}, 200)
    return sc.model_copy(update={"name": name})


def test_long_table_holds_the_hand_computed_pairs() -> None:
    sc = small_scenario()
    ref = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4]}, index=[0, 1, 2, 3])
    alt = pd.DataFrame({"x": [2.0, 2, 5, 4], "y": [2.0, 3.1, 3.9, 5]}, index=[0, 1, 2, 3])
    table = with_labels(long_table({"ref": ref, "alt": alt}, {"ref": sc, "alt": sc}, ["x"]), sc)
    x = table[(table["scenario"] == "alt") & (table["kpi"] == "x")].iloc[0]
    assert x["diff"] == pytest.approx(0.75)
    assert x["diff_ci"] == pytest.approx(T_975_3 * math.sqrt(11 / 12 / 4))
    assert x["variance_reduction"] == pytest.approx(36 / 47)
    assert not x["significant"]
    assert bool(x["headline"])
    y = table[(table["scenario"] == "alt") & (table["kpi"] == "y")].iloc[0]
    assert y["significant"]
    assert not bool(y["headline"])
    reference_row = table[(table["scenario"] == "ref") & (table["kpi"] == "x")].iloc[0]
    assert reference_row["mean"] == pytest.approx(2.5)
    assert reference_row["ci"] == pytest.approx(T_975_3 * math.sqrt(5 / 3 / 4))
    assert math.isnan(reference_row["diff"])


# --- common random numbers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def paris() -> Scenario:
    return load_scenario(SCENARIOS / "paris-2019.yaml")


def test_identical_scenarios_differ_by_exactly_zero(paris: Scenario) -> None:
    twin = paris.model_copy(update={"name": "paris-2019-twin"})
    comp = compare([paris, twin], replications=3, seed=11)
    alt = comp.table[comp.table["scenario"] == "paris-2019-twin"]
    defined = alt[alt["n"] >= 2]
    assert len(defined) > 30
    assert (defined["diff"] == 0.0).all()
    assert (defined["diff_ci"] == 0.0).all()
    assert not defined["significant"].any()
    # the zero is CRN's doing, not a KPI that never moves: another seed changes the numbers
    other = run(twin, replications=3, seed=12, keep_timeseries=False, keep_episodes=False)
    moved = comp.runs[paris.name].kpis["street.mean"] - other.kpis["street.mean"]
    assert (moved != 0).all()


def test_compare_refuses_duplicate_names_and_single_scenarios(paris: Scenario) -> None:
    with pytest.raises(CompareError, match="named 'paris-2019'"):
        compare([paris, paris], replications=2)
    with pytest.raises(CompareError, match="at least one alternative"):
        compare([paris], replications=2)


@pytest.fixture(scope="module")
def paris_pair(paris: Scenario) -> Comparison:
    bigger = load_scenario(
        SCENARIOS / "paris-2019.yaml", ["nodes.assore.capacity=200", "name=paris-2019-200"]
    )
    return compare([paris, bigger], replications=4, seed=5)


@pytest.fixture(scope="module")
def paris_comparison(paris_pair: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_comparison(paris_pair, tmp_path_factory.mktemp("cmp") / "out")


@pytest.mark.slow
def test_comparison_folder_has_every_output(paris_comparison: Path) -> None:
    files = {p.name for p in paris_comparison.iterdir()}
    assert {"comparison.csv", "comparison.md", "comparison.xlsx", "queues.png"} <= files
    assert {"manifest.json", "runs"} <= files
    assert {p.name for p in (paris_comparison / "runs").iterdir()} == {
        "paris-2019",
        "paris-2019-200",
    }
    info = json.loads((paris_comparison / "manifest.json").read_text())
    assert info["kind"] == "compare"
    assert info["seed"] == 5
    assert info["replications"] == 4
    assert [s["name"] for s in info["scenarios"]] == ["paris-2019", "paris-2019-200"]
    assert all(len(s["sha256"]) == 64 for s in info["scenarios"])
    table = pd.read_csv(paris_comparison / "comparison.csv")
    assert {"scenario", "kpi", "mean", "ci", "diff", "diff_ci"} <= set(table.columns)
    assert set(table["scenario"]) == {"paris-2019", "paris-2019-200"}


def test_compare_on_run_folders_equals_compare_on_files(paris_comparison: Path) -> None:
    runs = paris_comparison / "runs"
    from_folders = compare_runs([runs / "paris-2019", runs / "paris-2019-200"])
    from_compare_folder = compare_runs([paris_comparison])
    stored = pd.read_csv(paris_comparison / "comparison.csv")
    for comp in (from_folders, from_compare_folder):
        assert comp.scenarios == ["paris-2019", "paris-2019-200"]
        table = comp.table
        assert list(table["kpi"]) == list(stored["kpi"])
        for column in ("mean", "ci", "diff", "diff_ci", "variance_reduction"):
            np.testing.assert_allclose(
                table[column].to_numpy(float),
                stored[column].to_numpy(float),
                rtol=1e-9,
                atol=1e-12,
                equal_nan=True,
            )
        assert (table["significant"].fillna(False) == stored["significant"].fillna(False)).all()


def test_compare_runs_refuses_different_seeds_or_replications(tmp_path: Path) -> None:
    sc_a, sc_b = small_scenario("a"), small_scenario("b")
    write_run(run(sc_a, 2, seed=1), tmp_path / "a")
    write_run(run(sc_b, 2, seed=2), tmp_path / "b")
    write_run(run(sc_b, 3, seed=1), tmp_path / "b3")
    with pytest.raises(CompareError, match="different seeds"):
        compare_runs([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(CompareError, match="different replications"):
        compare_runs([tmp_path / "a", tmp_path / "b3"])
    with pytest.raises(CompareError, match=r"no manifest\.json"):
        compare_runs([tmp_path / "a", tmp_path])


def test_readme_table_is_the_markdown_of_the_folder(paris_comparison: Path) -> None:
    table = readme_table(paris_comparison)
    assert table.splitlines()[0].startswith("| KPI | paris-2019 (reference) | paris-2019-200 |")
    assert "Common random numbers made the CIs" in table
    assert table in (paris_comparison / "comparison.md").read_text()
    text = "intro\n<!-- compare-table:start -->\nold\n<!-- compare-table:end -->\nend\n"
    assert replace_block(text, table) == (
        "intro\n<!-- compare-table:start -->\n"
        + table.strip()
        + "\n<!-- compare-table:end -->\nend\n"
    )


# --- the command line ---------------------------------------------------------------------------

FAMILY = sorted(SCENARIOS.glob("etape2-*.yaml"))


def test_reference_is_the_file_the_others_extend() -> None:
    assert len(FAMILY) == 5
    assert FAMILY[default_reference(FAMILY)].name == "etape2-610.yaml"
    pair = [SCENARIOS / "paris-2019.yaml", SCENARIOS / "history-2019-2023.yaml"]
    assert default_reference(pair) == 0


@pytest.mark.slow
def test_etape2_family_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "family"
    args = [*map(str, FAMILY), "-n", "2", "--draws", "2", "--workers", "2"]
    args += ["--out", str(out), "--lang", "fr"]
    result = CliRunner().invoke(compare_command, args)
    assert result.exit_code == 0, result.output
    assert "Comparaison avec etape2-610" in result.output
    table = pd.read_csv(out / "comparison.csv")
    names = ["etape2-610", "etape2-400-downstream", "etape2-610-downstream"]
    names += ["etape2-610-fluid", "etape2-610-outreach"]
    assert list(dict.fromkeys(table["scenario"])) == names
    head = table[table["headline"]]
    assert list(dict.fromkeys(head["kpi"])) == [
        "obs.street_window",
        "contact_to_housing.mean",
        "obs.assore_intakes_window.per_week",
        "obs.assore_exits_window.per_month",
        "obs.assore_positive_exits_window.per_month",
        "obs.assore_blocked_window",
        "exits.positive.per_month",
        "outcome.death.per_year",
        "cost.total.per_year",
        "cost.by_funder.drihl.per_year",
        "cost.by_funder.ars.per_year",
        "cost.by_funder.city.per_year",
        "cost.by_funder.mildeca.per_year",
        "cost.by_funder.assurance_maladie.per_year",
        "cost.per_person_year_housed",
        "cost.per_positive_exit",
    ]
    assert head["mean"].notna().all()
    # same money: the places swapped cost what the 210 hotel places did, to a few EUR a day
    # (cure, out-of-region care and housing are paid per person: they follow the flows)
    swapped = [f"cost.{n}.per_year" for n in ("assore", "uhs", "lhss", "lam", "act")]
    places = table[table["kpi"].isin(swapped)].groupby("scenario")["mean"].sum()
    assert abs(places["etape2-400-downstream"] - places["etape2-610"]) < 365 * 5
    cost = head[head["kpi"] == "cost.total.per_year"].set_index("scenario")["mean"]
    assert cost["etape2-610-downstream"] > cost["etape2-610"]
    # who pays: the swap moves money from the State's hotel budget to the health insurance,
    # each with its paired difference
    by_funder = table[table["kpi"].str.startswith("cost.by_funder.")].set_index(["scenario", "kpi"])
    moved = by_funder.loc["etape2-400-downstream"]
    assert moved.loc["cost.by_funder.drihl.per_year", "diff"] < -1e6
    assert moved.loc["cost.by_funder.assurance_maladie.per_year", "diff"] > 1e6
    assert moved["diff_ci"].notna().all()
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(out / "comparison.xlsx")
    assert book.sheetnames == [
        "Valeurs",
        "Écarts",
        "Tous les indicateurs",
        "Réplications",
        "Scénarios",
        "Par mois",
        "Par année",
    ]
    values = book["Valeurs"]
    assert values["A2"].value == "Personnes à la rue, moyenne 2025"
    assert isinstance(values["C2"].value, float)
    rows = {values.cell(r, 2).value: r for r in range(2, values.max_row + 1)}
    # euros after the amount, percent after a space; separators are the reader's (see the
    # number_format docstring): the code keeps "," and "." for thousands and decimals
    euro = values.cell(rows["cost.per_positive_exit"], 3)
    assert isinstance(euro.value, float)
    assert euro.value > 1000
    assert euro.number_format == '#,##0\\ "€"'
    assert values.cell(rows["obs.street_window"], 3).number_format == "#,##0"
    differences = book["Écarts"]
    assert differences.cell(1, 7).value == "etape2-400-downstream: réduction de variance NAC"
    share = differences.cell(2, 7)
    assert isinstance(share.value, float)
    assert 0 < share.value <= 1
    assert share.number_format == "0.0\\ %"
    scenarios = book["Scénarios"]
    assert [c.value for c in scenarios[1]][:2] == ["scénario", "question"]
    assert scenarios["A2"].value == "etape2-610"
    shipped = load_scenario(SCENARIOS / "etape2-610.yaml").title
    assert shipped is not None
    assert scenarios["B2"].value == shipped.fr
    assert "Personnes à la rue" in (out / "comparison.md").read_text()
    assert (out / "queues.png").stat().st_size > 10_000


def test_compare_command_reports_every_bad_file_and_exits_2(tmp_path: Path) -> None:
    bad = SCENARIOS.parent / "tests" / "bad_inputs"
    args = [str(SCENARIOS / "paris-2019.yaml"), str(bad / "duplicate_key.yaml")]
    args += [str(bad / "invalid_date.yaml"), "--out", str(tmp_path / "x"), "--quiet"]
    result = CliRunner().invoke(compare_command, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert any(line.startswith(str(bad / "duplicate_key.yaml")) for line in lines)
    assert any(line.startswith(str(bad / "invalid_date.yaml")) for line in lines)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_compare_command_refuses_to_overwrite_and_unknown_kpis(tmp_path: Path) -> None:
    paris = str(SCENARIOS / "paris-2019.yaml")
    other = tmp_path / "other.yaml"
    other.write_text(f"extends: {paris}\nname: paris-2019-other\n")
    out = tmp_path / "exists"
    out.mkdir()
    result = CliRunner().invoke(compare_command, [paris, str(other), "--out", str(out)])
    assert result.exit_code == 2
    assert "exists; use --force" in result.output
    args = [paris, str(other), "--set", "name=x", "--out", str(tmp_path / "n"), "--quiet"]
    result = CliRunner().invoke(compare_command, args)
    assert result.exit_code == 2
    assert "two scenarios are named 'x'" in result.output
    args = [paris, str(other), "-n", "2", "--kpis", "street.mean,street.mea"]
    result = CliRunner().invoke(compare_command, [*args, "--out", str(tmp_path / "k")])
    assert result.exit_code == 2
    assert "unknown KPI 'street.mea' (did you mean 'street.mean'?)" in result.output
    assert not (tmp_path / "k").exists()


# --- the audit's mechanism ---------------------------------------------------------------------
#
# Two settings. "Shipped": the calibrated étape-2 scenarios as shipped (KPIs over 2024-2027):
# etape2-610, ASSORE held at 400 (sim.cli.demo.assore_held_at_400) and etape2-610-downstream; the
# tests assert what that model honestly says about the issue's KPI, exits.positive.per_month.
# "Saturated": the étape-2 reference cut at the end of 2025 (KPIs over 2024-2025), with the
# out-of-region channel closed as in the audit's 2020-2021 (every downstream exit then full);
# "400" keeps ASSORE at its 2021 size, "610" is the history, "down" adds the planned downstream
# places (68 UHS, 25 LHSS, 25 LAM, 26 ACT) from 2023.

MECHANISM_REPLICATIONS = 8


def _variant(assore_400: bool, downstream: bool, out_of_region: bool, name: str) -> Scenario:
    data = copy.deepcopy(load_raw(SCENARIOS / "etape2-610.yaml"))
    data.update(name=name, end=dt.date(2026, 1, 1), warmup=dt.date(2024, 1, 1), observations={})
    nodes = data["nodes"]
    if assore_400:
        steps = nodes["assore"]["capacity"]
        nodes["assore"]["capacity"] = [s for s in steps if s["from"] < dt.date(2022, 1, 1)]
    if downstream:
        day0, opened = dt.date(2019, 5, 27), dt.date(2023, 1, 1)
        for node, before, after in (("uhs", 26, 68), ("lhss", 0, 25), ("lam", 0, 25)):
            nodes[node]["capacity"] = [{"from": day0, "value": 0}, {"from": opened, "value": after}]
            if node == "uhs":
                nodes[node]["capacity"].insert(1, {"from": dt.date(2021, 7, 1), "value": before})
        nodes["act"]["capacity"] = [{"from": day0, "value": 10}, {"from": opened, "value": 26}]
    if not out_of_region:
        nodes["out_of_region"]["releases_per_month"] = 0
    return validate_data(data)


@pytest.fixture(scope="module")
def mechanism() -> dict[str, Comparison]:
    saturated = [
        _variant(True, False, False, "400"),
        _variant(False, False, False, "610"),
        _variant(False, True, False, "down"),
    ]
    kpis = ["exits.positive.per_month", "blocked.assore.mean", "utilisation.assore"]
    return {
        "saturated": compare(saturated, MECHANISM_REPLICATIONS, seed=2019, workers=2, kpis=kpis)
    }


@pytest.fixture(scope="module")
def shipped() -> Comparison:
    """The shipped, calibrated étape-2 model (2024-2027): the 610 reference, ASSORE held at 400
    and the planned downstream places, with the positive exits split by channel."""
    reference = load_scenario(SCENARIOS / "etape2-610.yaml")
    downstream = load_scenario(SCENARIOS / "etape2-610-downstream.yaml")
    held = assore_held_at_400(reference)
    runs = {
        sc.name: with_exit_channels(run(sc, MECHANISM_REPLICATIONS, seed=2019, workers=2))
        for sc in (reference, held, downstream)
    }
    return build(runs)


def _row(comp: Comparison, scenario: str, kpi: str) -> pd.Series:
    table = comp.table
    return table[(table["scenario"] == scenario) & (table["kpi"] == kpi)].iloc[0]


def _pair(comp: Comparison, reference: str, alternative: str, kpi: str) -> Paired:
    return paired_difference(comp.tables[reference][kpi], comp.tables[alternative][kpi])


@pytest.mark.slow
def test_added_hotel_places_fill_within_a_bounded_time(shipped: Comparison) -> None:
    # A rise fills the same day when the waiting list already holds more people than the
    # places added (admission from the list is immediate). Otherwise it fills as referrals
    # come; the bound for the last rise (January 2023, to 610) is the start of 2025, the year
    # the comparison table reports: the claim that matters is that the hotels are full then.
    reference = shipped.runs["etape2-610"]
    rises = {r.date: r for r in capacity_rises(reference, "assore")}
    assert len(rises) == 6
    immediate = [r for r in rises.values() if r.waiting_before[0] >= r.after - r.before]
    assert len(immediate) >= 3
    for rise in immediate:
        assert rise.days_to_fill == (0.0,) * MECHANISM_REPLICATIONS, rise
    last = rises[dt.date(2023, 1, 1)]
    report_year = (dt.date(2025, 1, 1) - last.date).days
    assert len(last.days_to_fill) == MECHANISM_REPLICATIONS
    assert max(last.days_to_fill) < report_year, last.days_to_fill
    utilisation = _row(shipped, "etape2-610", "utilisation.assore")
    assert utilisation["mean"] - utilisation["ci"] > 0.99
    # the audit's diagnosis holds: a large share of the 610 places (a third at least) hold
    # residents who are ready but blocked for want of a downstream place (the shipped
    # calibration puts it near half)
    assert _row(shipped, "etape2-610", "blocked.assore.mean")["mean"] > 610 / 3


def _positive_exits(comp: Comparison, scenario: str) -> tuple[pd.Series, pd.Series]:
    """Per replication, over the KPI window (2024-2025): positive pathway exits through
    capacity-limited places (stable housing) and through the unconstrained exit."""
    ep = comp.runs[scenario].episodes
    start = dt.date(2019, 5, 27)
    a, b = (dt.date(2024, 1, 1) - start).days, (dt.date(2026, 1, 1) - start).days
    window = ep[(ep["exit"] >= a) & (ep["exit"] < b) & ep["positive"].fillna(False).astype(bool)]
    reps = range(MECHANISM_REPLICATIONS)
    limited = window[window["outcome"] == "stable_housing"].groupby("replication").size()
    free = window[window["outcome"] == "family_or_country"].groupby("replication").size()
    return (
        limited.reindex(reps, fill_value=0).astype(float),
        free.reindex(reps, fill_value=0).astype(float),
    )


@pytest.mark.slow
def test_with_downstream_saturated_more_hotel_places_do_not_raise_placed_exits(
    mechanism: dict[str, Comparison],
) -> None:
    comp = mechanism["saturated"]
    limited_400, free_400 = _positive_exits(comp, "400")
    limited_610, free_610 = _positive_exits(comp, "610")
    limited_down, _ = _positive_exits(comp, "down")
    # +210 places: exits into capacity-limited places do not move (paired, same random
    # numbers: the downstream places free up exactly as before)...
    placed = paired_difference(limited_400, limited_610)
    assert abs(placed.mean) + placed.ci < 0.05 * limited_400.mean()
    # ...the only positive exits that grow go where no place is needed (family or country)
    free = paired_difference(free_400, free_610)
    assert free.significant
    assert free.mean > 0
    # most of the added places hold residents who are ready but blocked
    assert _row(comp, "610", "blocked.assore.mean")["diff"] > 0.5 * 210
    # the planned downstream places do raise exits into places, significantly
    down = paired_difference(limited_610, limited_down)
    assert down.significant
    assert down.mean > 0.1 * limited_610.mean()
    assert _pair(comp, "610", "down", "blocked.assore.mean").mean < 0


SATURATED_CHANNELS = ("housing", "treatment", "act", "uhs")
"""Downstream nodes whose places or releases are full in étape 2 (their exits do not depend on
ASSORE's size); out-of-region care and ASSORE's direct exits are the others."""


@pytest.mark.slow
def test_calibrated_model_more_hotel_places_raise_positive_exits_via_unsaturated_channels(
    shipped: Comparison,
) -> None:
    # The issue's KPI, 400 -> 610 places with downstream unchanged, in the shipped model. The
    # model's honest result (docs/compare.md, "The audit's mechanism"): positive exits per
    # month DO rise significantly, because out-of-region care (6.5 places a month from
    # December 2022) is not filled by a 400-place ASSORE; the saturated channels do not move.
    tables = shipped.tables
    held, ref = tables["etape2-400-held"], tables["etape2-610"]
    gain = paired_difference(held["exits.positive.per_month"], ref["exits.positive.per_month"])
    assert gain.significant
    assert gain.mean > 0
    assert gain.n == MECHANISM_REPLICATIONS
    # the saturated channels together contribute (at most) a tenth of the gain...
    saturated = [f"exits.positive.from.{n}.per_month" for n in SATURATED_CHANNELS]
    saturated = [c for c in saturated if c in ref.columns]
    assert len(saturated) >= 3
    moved = paired_difference(held[saturated].sum(axis=1), ref[saturated].sum(axis=1))
    assert abs(moved.mean) + moved.ci < 0.1 * gain.mean
    # ...the rest comes from out-of-region care and ASSORE's direct family-or-country exits
    free = [f"exits.positive.from.{n}.per_month" for n in ("out_of_region", "assore")]
    unsaturated = paired_difference(held[free].sum(axis=1), ref[free].sum(axis=1))
    assert unsaturated.significant
    assert unsaturated.mean > 0.8 * gain.mean
    # the out-of-region channel takes the added ready residents: its admissions rise, up to
    # its release rate (at the point values a 400-place ASSORE already nearly fills it)
    sc = shipped.runs["etape2-610"].scenario
    channel = sc.nodes["out_of_region"]
    assert isinstance(channel, DownstreamNode)
    assert channel.releases_per_month is not None
    rate = Steps.of(channel.releases_per_month, sc.start).at(sc.warmup_days)
    entries = "entries.out_of_region.per_month"
    admitted = paired_difference(held[entries], ref[entries])
    assert admitted.significant
    assert admitted.mean > 0
    for scenario in ("etape2-400-held", "etape2-610"):  # never above its release rate
        assert _row(shipped, scenario, entries)["mean"] < 1.05 * rate
    # most of the 210 added places hold blocked residents
    blocked = paired_difference(held["blocked.assore.mean"], ref["blocked.assore.mean"])
    assert blocked.mean - blocked.ci > 0.5 * 210


@pytest.mark.slow
def test_calibrated_model_planned_downstream_places_raise_positive_exits(
    shipped: Comparison,
) -> None:
    # 610 -> 610 + the planned downstream places: the issue's KPI rises significantly (paired
    # CI from the long table) and fewer ASSORE residents are blocked
    gain = _row(shipped, "etape2-610-downstream", "exits.positive.per_month")
    assert gain["significant"]
    assert gain["diff"] > 0
    blocked = _row(shipped, "etape2-610-downstream", "blocked.assore.mean")
    assert blocked["significant"]
    assert blocked["diff"] < 0


def test_fluid_alternative_doubles_the_reference_release_rate() -> None:
    """etape2-610-fluid writes the housing schedule out in full: its 2019-2023 rate must stay
    the (calibrated) rate of the reference, and the étape 2 rate twice that."""
    from sim.engine.schedule import Steps

    ref = load_scenario(SCENARIOS / "etape2-610.yaml")
    fluid = load_scenario(SCENARIOS / "etape2-610-fluid.yaml")
    before = Steps.of(ref.nodes["housing"].releases_per_month, ref.start)
    after = Steps.of(fluid.nodes["housing"].releases_per_month, fluid.start)
    day = float((dt.date(2024, 1, 1) - ref.start).days)
    assert after.at(0.0) == before.at(0.0)
    assert after.at(day) == pytest.approx(2 * before.at(day))


# --- generated blocks of the README and docs/compare.md -----------------------------------------

ROOT = SCENARIOS.parent


def test_a_regenerated_block_is_exactly_what_the_renderer_gives(
    paris_pair: Comparison, paris_comparison: Path, tmp_path: Path
) -> None:
    blocks = doc_blocks(paris_pair, scenario_dir=SCENARIOS)
    table = markdown(labelled(paris_pair), paris_pair.meta())
    assert blocks["table"] == table
    # the README's table read back from the folder is the same text as from memory
    assert readme_table(paris_comparison) == table
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n<!-- compare-table:start -->\nstale\n<!-- compare-table:end -->\nmiddle\n"
        "<!-- compare-crn:start -->\nold figures\n<!-- compare-crn:end -->\nend\n"
    )
    assert update_markdown(page, blocks) == ["table", "crn"]
    text = page.read_text()
    assert read_block(text, "table") == table.strip()
    assert read_block(text, "crn") == crn_block(paris_pair).strip()
    assert text.startswith("intro\n<!-- compare-table:start -->\n| KPI | paris-2019 (reference)")
    assert "\nmiddle\n" in text
    assert text.endswith("<!-- compare-crn:end -->\nend\n")
    assert "stale" not in text
    assert "old figures" not in text
    # regenerating again changes nothing; a block without a generator is refused, not left stale
    update_markdown(page, blocks)
    assert page.read_text() == text
    page.write_text(text + "<!-- compare-other:start -->\n<!-- compare-other:end -->\n")
    with pytest.raises(ValueError, match="no generator for the block"):
        update_markdown(page, blocks)


def test_the_limits_block_is_the_reports_limits(paris_comparison: Path) -> None:
    from sim.cli.demo import limits_block
    from sim.outputs.caveats import limits
    from sim.outputs.plots import load_folder

    paragraphs = limits(load_folder(paris_comparison), "en")
    assert limits_block(paris_comparison).split("\n") == [f"- {p}" for p in paragraphs]
    assert len(paragraphs) >= 2


def test_readme_and_docs_show_the_same_generated_table() -> None:
    # both are regenerated together by `parcours demo --update-readme README.md`: a page
    # regenerated alone, or by hand, shows here
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "compare.md").read_text(encoding="utf-8")
    assert read_block(docs, "table") == read_block(readme, "table")
    from sim.outputs.comparison import block_names

    assert set(block_names(docs)) == {"table", "crn", "diff", "fill", "mechanism"}
    assert "| People on the street, mean 2025 |" in read_block(docs, "table")
    # the README's limits come from the same comparison, never typed
    assert read_block(readme, "limits").startswith("- People on the street")


def test_the_docs_diff_example_is_what_parcours_diff_prints_today() -> None:
    """The one generated block that needs no simulation: checked against the shipped files,
    so a scenario edit without regenerating docs/compare.md shows here."""
    from sim.cli.demo import diff_block

    docs = (ROOT / "docs" / "compare.md").read_text(encoding="utf-8")
    assert read_block(docs, "diff").strip() == diff_block().strip()


def test_each_etape2_file_states_its_question_at_the_top() -> None:
    for path in FAMILY:
        head = path.read_text(encoding="utf-8").splitlines()[:6]
        assert all(line.startswith("#") or not line.strip() for line in head), path.name
        assert any("Question" in line for line in head), path.name


# --- costs --------------------------------------------------------------------------------------


def test_cost_per_person_year_counts_the_people_in_every_costed_place() -> None:
    from tests.builders import START, name

    forever = {"dist": "fixed", "value": 10_000}  # nobody leaves during the run
    data = {
        "name": "costs",
        "start": START,
        "end": START + dt.timedelta(days=400),
        "warmup": 35.0,
        "nodes": {
            "street": {"kind": "street", "name": name("street"), "arrivals_per_year": 0},
            "patrol": {
                "kind": "outreach",
                "name": name("patrol"),
                "contacts_per_week": 0,
                "referral_probability": 0,
                "routing": {"hotel": 1.0},
                "cost_per_year": 100_000,
            },
            "rest": {
                "kind": "rest_space",
                "name": name("rest"),
                "places": 20,
                "active_list": 0,
                "visits_per_person_per_week": 1,
                "visits_per_place_per_day": 1,
                "referral_probability_per_visit": 0,
                "routing": {"hotel": 1.0},
                "cost_per_place_day": 10,
            },
            "hotel": {
                "kind": "accommodation",
                "name": name("hotel"),
                "capacity": 10,
                "initial": {"occupancy": 6},
                "readiness": forever,
                "routing": {"flat": 1.0},
                "cost_per_place_day": 50,
            },
            "free": {
                "kind": "accommodation",
                "name": name("free"),
                "capacity": 4,
                "initial": {"occupancy": 4},
                "readiness": forever,
                "routing": {"done": 1.0},
            },
            "flat": {
                "kind": "downstream",
                "name": name("flat"),
                "capacity": 5,
                "initial": {"occupancy": 3},
                "stay": forever,
                "routing": {"done": 1.0},
                "cost_per_place_day": 100,
            },
            "done": {"kind": "exit", "name": name("done"), "positive": True},
        },
    }
    kpis = run(validate_data(data), 1, seed=1).kpis.iloc[0]
    # by hand: places are paid on capacity, 10 x 50 + 5 x 100 = 1,000 EUR a day; the people in
    # those places are 6 in the hotel and 3 in the flat (the free place costs nothing and is
    # left out of both); rest space 20 x 10 EUR a day and the patrol are in the total only
    places = (10 * 50 + 5 * 100) * 365.25
    assert kpis["cost.places.per_year"] == pytest.approx(places)
    assert kpis["housed.costed_places.mean"] == pytest.approx(9.0)
    assert kpis["cost.per_person_year_housed"] == pytest.approx(places / 9.0)
    assert kpis["cost.total.per_year"] == pytest.approx(places + 20 * 10 * 365.25 + 100_000)
    assert kpis["housed.mean"] == pytest.approx(10.0)  # accommodation only, costed or not


# --- parameter draws ----------------------------------------------------------------------------


def test_with_draws_the_intervals_are_those_of_the_per_draw_means() -> None:
    # three draws of two replications: per-draw means 1.5, 5.5, 9.5 -> mean 5.5, sd 4
    values = [1.0, 2.0, 5.0, 6.0, 9.0, 10.0]
    draws = [0, 0, 1, 1, 2, 2]
    mean, ci, n = mean_ci(values, groups=draws)
    t_975_2 = 4.302652729749464  # Student t quantile, 0.975 with 2 degrees of freedom
    assert (mean, n) == (pytest.approx(5.5), 6)
    assert ci == pytest.approx(t_975_2 * 4.0 / math.sqrt(3))
    # treated as six iid values the interval would be about 2.4 times narrower
    assert mean_ci(values)[1] < ci / 2
    # paired: differences 1, 1 | 3, 1 | 2, 4 -> per-draw means 1, 2, 3 -> sd 1
    alternative = [2.0, 3.0, 8.0, 7.0, 11.0, 14.0]
    p = paired_difference(values, alternative, groups=draws)
    assert p.mean == pytest.approx(2.0)
    assert p.ci == pytest.approx(t_975_2 * 1.0 / math.sqrt(3))
    assert p.n == 6


@pytest.mark.slow
def test_clustered_intervals_cover_the_true_mean_where_iid_ones_do_not() -> None:
    # two-level model: each draw shifts the KPI (sd 1), replications add noise (sd 0.5);
    # K = 5 draws x n = 10 replications; true mean 0
    rng = np.random.default_rng(4)
    draws = np.repeat(np.arange(5), 10)
    hits_clustered = hits_iid = 0
    trials = 2000
    for _ in range(trials):
        values = rng.normal(0, 1, 5)[draws] + rng.normal(0, 0.5, draws.size)
        mean, ci, _ = mean_ci(values, groups=draws)
        hits_clustered += abs(mean) <= ci
        mean, ci, _ = mean_ci(values)
        hits_iid += abs(mean) <= ci
    # binomial sd of the coverage over 2000 trials is 0.005: 0.93-0.97 is about 4 sd either side
    assert 0.93 <= hits_clustered / trials <= 0.97
    assert hits_iid / trials < 0.6


def test_long_table_clusters_by_draw() -> None:
    sc = small_scenario()
    ref = pd.DataFrame({"draw": [0, 0, 1, 1, 2, 2], "x": [1.0, 2, 5, 6, 9, 10]})
    alt = pd.DataFrame({"draw": [0, 0, 1, 1, 2, 2], "x": [2.0, 3, 8, 7, 11, 14]})
    table = with_labels(long_table({"ref": ref, "alt": alt}, {"ref": sc, "alt": sc}, ["x"]), sc)
    x = table.set_index("scenario")
    t_975_2 = 4.302652729749464
    assert x.loc["ref", "ci"] == pytest.approx(t_975_2 * 4.0 / math.sqrt(3))
    assert x.loc["alt", "diff_ci"] == pytest.approx(t_975_2 / math.sqrt(3))
    assert "draw" not in set(table["kpi"])
    meta = {"reference": "ref", "scenario_names": ["ref", "alt"], "seed": 1, "replications": 6}
    text = markdown(table, {**meta, "kpi_window": ["a", "b"], "draws": 3})
    assert "come from 3 parameter draws of a calibration posterior (2 per draw" in text
    assert "Student t, 2 degrees of freedom" in text
    assert "parameter draws" not in markdown(table, {**meta, "kpi_window": ["a", "b"]})


# --- run folders --------------------------------------------------------------------------------


def test_compare_runs_refuses_different_draws_or_dates(tmp_path: Path) -> None:
    sc_a, sc_b = small_scenario("a"), small_scenario("b")
    write_run(run(sc_a, 2, seed=1), tmp_path / "a")
    write_run(run(sc_b, 2, seed=1), tmp_path / "b")
    sets = {"draws": 2, "parameter_sets": [{"x": 1.0}, {"x": 2.0}]}
    write_run(run(sc_b, 2, seed=1), tmp_path / "b-draws", extra=sets)
    later = sc_b.model_copy(update={"end": sc_b.end + dt.timedelta(days=30)})
    write_run(run(later, 2, seed=1), tmp_path / "b-later")
    warm = sc_b.model_copy(update={"warmup": 10.0})
    write_run(run(warm, 2, seed=1), tmp_path / "b-warm")
    assert compare_runs([tmp_path / "a", tmp_path / "b"]).scenarios == ["a", "b"]
    with pytest.raises(CompareError, match=r"different parameter draws \(draws: none vs 2\)"):
        compare_runs([tmp_path / "a", tmp_path / "b-draws"])
    with pytest.raises(CompareError, match="have a different end"):
        compare_runs([tmp_path / "a", tmp_path / "b-later"])
    with pytest.raises(CompareError, match="have a different warmup"):
        compare_runs([tmp_path / "a", tmp_path / "b-warm"])


@pytest.mark.slow
def test_compare_command_on_run_folders(tmp_path: Path) -> None:
    paris = SCENARIOS / "paris-2019.yaml"
    cli = CliRunner()
    for name, sets in (("ref", []), ("more", ["--set", "nodes.assore.capacity=200"])):
        args = ["run", str(paris), "-n", "2", "--seed", "3", "--out", str(tmp_path / name)]
        result = cli.invoke(main, [*args, "--quiet", *sets, "--set", f"name=paris-{name}"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    args = [str(tmp_path / "ref"), str(tmp_path / "more"), "--out", str(out), "--quiet"]
    result = cli.invoke(compare_command, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "comparison.csv").set_index(["scenario", "kpi"])
    street = table.loc[("paris-more", "street.mean")]
    kpis = {n: pd.read_csv(tmp_path / n / "kpis.csv")["street.mean"] for n in ("ref", "more")}
    assert street["diff"] == pytest.approx(float((kpis["more"] - kpis["ref"]).mean()))
    # a folder whose dates differ: exit 2, one line naming both folders
    late = ["run", str(paris), "-n", "2", "--seed", "3", "--out", str(tmp_path / "late")]
    late += ["--quiet", "--set", "end=2019-11-30", "--set", "name=paris-late"]
    assert cli.invoke(main, late).exit_code == 0
    args = [str(tmp_path / "ref"), str(tmp_path / "late"), "--out", str(tmp_path / "x")]
    result = cli.invoke(compare_command, [*args, "--quiet"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {tmp_path / 'ref'} and {tmp_path / 'late'} have a")
    assert "different end" in lines[0]
    assert not (tmp_path / "x").exists()


# --- spreadsheet formats ------------------------------------------------------------------------


def test_xlsx_formats_in_english_and_french(paris_pair: Comparison, tmp_path: Path) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from sim.outputs.comparison import write_xlsx

    for lang, euro, share in (("en", '"€"#,##0', "0.0%"), ("fr", '#,##0\\ "€"', "0.0\\ %")):
        path = tmp_path / f"{lang}.xlsx"
        write_xlsx(paris_pair, path, lang)  # type: ignore[arg-type]
        book = load_workbook(path)
        values, differences = book.worksheets[0], book.worksheets[1]
        rows = {values.cell(r, 2).value: r for r in range(2, values.max_row + 1)}
        cost = values.cell(rows["cost.per_positive_exit"], 3)
        assert isinstance(cost.value, float)
        assert cost.number_format == euro
        assert not cost.number_format.startswith("[$")
        reduction = differences.cell(rows["street.mean"], 7)
        assert isinstance(reduction.value, float)
        assert reduction.number_format == share
        title = paris_pair.runs["paris-2019"].scenario.title
        assert title is not None
        scenarios = book["Scénarios" if lang == "fr" else "Scenarios"]
        assert scenarios["B2"].value == (title.fr if lang == "fr" else title.en)
        monthly = book["Par mois" if lang == "fr" else "By month"]
        assert monthly["B2"].value == "street"
        assert monthly["D2"].number_format == "#,##0.0"


def test_compare_with_parameter_draws_uses_the_per_draw_means() -> None:
    # two draws of the arrival rate (very different loads), three replications each
    sc = small_scenario("ref")
    bigger = queue(1.0, 7, {"dist": "exponential", "mean": 4.0}, 200).model_copy(
        update={"name": "bigger"}
    )
    sets = [{"street.arrivals_per_year": 0.6 * 365.25}, {"street.arrivals_per_year": 1.2 * 365.25}]
    spec = {
        "street.arrivals_per_year": FreeParameter(
            path="nodes.street.arrivals_per_year", lower=0.0, upper=1000.0
        )
    }
    comp = compare([sc, bigger], 3, seed=2, parameter_sets=sets, parameter_spec=spec)
    assert comp.draws == 2
    ref = comp.tables["ref"]
    assert list(ref["draw"]) == [0, 0, 0, 1, 1, 1]
    per_draw = ref.groupby("draw")["waiting.queue.mean"].mean()
    row = _row(comp, "ref", "waiting.queue.mean")
    t_975_1 = 12.706204736174704  # Student t quantile, 0.975 with 1 degree of freedom
    assert row["mean"] == pytest.approx(per_draw.mean())
    assert row["ci"] == pytest.approx(t_975_1 * per_draw.std(ddof=1) / math.sqrt(2))
    assert row["n"] == 6
    assert comp.meta()["draws"] == 2


def test_the_question_window_moves_the_headline_rows_and_their_labels() -> None:
    """Observations without dates cover the scenario's window; --window moves them all."""
    from sim.outputs.comparison import kpi_label

    sc = load_scenario(SCENARIOS / "etape2-610.yaml")
    later = load_scenario(
        SCENARIOS / "etape2-610.yaml", ["window.from=2026-01-01", "window.to=2027-12-31"]
    )
    assert (sc.observations["street_window"].start, sc.observations["street_window"].end) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
    )
    assert later.observations["street_window"].start == dt.date(2026, 1, 1)
    assert later.observations["street_2024_2027"] == sc.observations["street_2024_2027"]
    assert kpi_label("obs.street_window", sc, "en") == "People on the street, mean 2025"
    assert kpi_label("obs.street_window", later, "fr") == "Personnes à la rue, moyenne 2026-2027"


@pytest.mark.slow
def test_compare_window_option_shows_a_change_made_after_the_report_year(tmp_path: Path) -> None:
    """A rise in arrivals from 2026 is invisible in 2025 rows and visible in 2026-2027 ones."""
    from sim.cli import main as cli

    ref = SCENARIOS / "etape2-610.yaml"
    rise = tmp_path / "rise.yaml"
    rise.write_text(
        f"extends: {ref}\nname: rise\n"
        "nodes:\n  street:\n    arrivals_per_year: {scale: 1.5, from: 2026-01-01}\n",
        encoding="utf-8",
    )
    diffs = {}
    for window in ("2025-01-01:2025-12-31", "2026-01-01:2027-12-31"):
        out = tmp_path / window.replace(":", "_")
        args = [
            "compare",
            str(ref),
            str(rise),
            "-n",
            "3",
            "--seed",
            "3",
            "--workers",
            "2",
            "--point",
        ]
        result = CliRunner().invoke(cli, [*args, "--window", window, "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out / "comparison.csv")
        row = table[(table["kpi"] == "obs.street_window") & (table["scenario"] == "rise")]
        diffs[window] = float(row["diff"].iloc[0])
    assert diffs["2025-01-01:2025-12-31"] == 0.0
    assert diffs["2026-01-01:2027-12-31"] > 0.0

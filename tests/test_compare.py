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

from sim.cli_compare import compare_command
from sim.compare import (
    CompareError,
    Comparison,
    Paired,
    compare,
    compare_runs,
    default_reference,
    long_table,
    paired_difference,
    readme_table,
    replace_block,
    write_comparison,
)
from sim.loading import load_raw, load_scenario, validate_data
from sim.results import write_run
from sim.runner import run
from sim.scenario import Scenario
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
    table = long_table({"ref": ref, "alt": alt}, {"ref": sc, "alt": sc}, ["x"])
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
def paris_comparison(paris: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bigger = load_scenario(
        SCENARIOS / "paris-2019.yaml", ["nodes.assore.capacity=200", "name=paris-2019-200"]
    )
    comp = compare([paris, bigger], replications=4, seed=5)
    return write_comparison(comp, tmp_path_factory.mktemp("cmp") / "out")


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


def test_etape2_family_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "family"
    args = [*map(str, FAMILY), "-n", "2", "--workers", "2", "--out", str(out), "--lang", "fr"]
    result = CliRunner().invoke(compare_command, args)
    assert result.exit_code == 0, result.output
    assert "Comparaison avec etape2-610" in result.output
    table = pd.read_csv(out / "comparison.csv")
    names = ["etape2-610", "etape2-400-downstream", "etape2-610-downstream"]
    names += ["etape2-610-fluid", "etape2-610-outreach"]
    assert list(dict.fromkeys(table["scenario"])) == names
    head = table[table["headline"]]
    assert list(dict.fromkeys(head["kpi"])) == [
        "obs.street_2025",
        "contact_to_housing.mean",
        "obs.assore_intakes_2025.per_week",
        "obs.assore_exits_2025.per_month",
        "obs.assore_positive_exits_2025.per_month",
        "obs.assore_blocked_2025",
        "exits.positive.per_month",
        "cost.total.per_year",
        "cost.per_person_year_housed",
        "cost.per_positive_exit",
    ]
    assert head["mean"].notna().all()
    # same money: the 400-place alternative costs what the reference does, to a few EUR a day
    cost = head[head["kpi"] == "cost.total.per_year"].set_index("scenario")["mean"]
    assert abs(cost["etape2-400-downstream"] - cost["etape2-610"]) < 365 * 5
    assert cost["etape2-610-downstream"] > cost["etape2-610"]
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(out / "comparison.xlsx")
    assert book.sheetnames == [
        "Valeurs",
        "Écarts",
        "Tous les indicateurs",
        "Réplications",
        "Scénarios",
    ]
    values = book["Valeurs"]
    assert values["A2"].value == "Personnes à la rue, moyenne 2025"
    assert isinstance(values["C2"].value, float)
    assert values["C2"].number_format.startswith("[$-40C]")
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


# --- the audit's mechanism ----------------------------------------------------------------------
#
# The étape-2 reference cut at the end of 2025, with the KPIs over 2024-2025. "400" keeps ASSORE at
# its 2021 size (the 2022-2023 increases removed); "610" is the calibrated history; "down" adds the
# planned downstream places (68 UHS, 25 LHSS, 25 LAM, 26 ACT) from 2023. "Saturated" closes the
# out-of-region channel, as in the audit's 2020-2021 (every downstream exit then full).

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
    calibrated = [_variant(True, False, True, "400"), _variant(False, False, True, "610")]
    kpis = ["exits.positive.per_month", "blocked.assore.mean", "utilisation.assore"]
    kpis += ["entries.out_of_region.per_month"]
    return {
        "saturated": compare(saturated, MECHANISM_REPLICATIONS, seed=2019, workers=2, kpis=kpis),
        "calibrated": compare(calibrated, MECHANISM_REPLICATIONS, seed=2019, workers=2, kpis=kpis),
    }


def _row(comp: Comparison, scenario: str, kpi: str) -> pd.Series:
    table = comp.table
    return table[(table["scenario"] == scenario) & (table["kpi"] == kpi)].iloc[0]


def _pair(comp: Comparison, reference: str, alternative: str, kpi: str) -> Paired:
    return paired_difference(comp.tables[reference][kpi], comp.tables[alternative][kpi])


def test_added_hotel_places_fill_within_a_bounded_time(mechanism: dict[str, Comparison]) -> None:
    # The 2022 rises fill at once (a long waiting list); the 2023 rise to 610 fills within two
    # years in every replication but can take over a year, because the calibrated street
    # arrivals (not identified by the audit's targets, docs/calibration.md) keep the waiting
    # list short by then.
    ts = mechanism["calibrated"].runs["610"].timeseries
    start = dt.date(2019, 5, 27)
    for rise, bound in (
        (dt.date(2022, 1, 1), 1),
        (dt.date(2022, 2, 1), 1),
        (dt.date(2023, 1, 1), 730),
    ):
        day = (rise - start).days
        after = ts[ts["day"] >= day]
        full = after[after["occupancy.assore"] >= after["capacity.assore"]]
        first = full.groupby("replication")["day"].min() - day
        assert len(first) == MECHANISM_REPLICATIONS, rise
        assert (first < bound).all(), (rise, first.tolist())
    assert _row(mechanism["calibrated"], "610", "utilisation.assore")["mean"] > 0.99


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


def test_with_the_calibrated_out_of_region_channel_more_hotel_places_do_help(
    mechanism: dict[str, Comparison],
) -> None:
    # The model's honest result for étape 2: out-of-region care (6.5 places a month from
    # December 2022) is not saturated by a 400-place ASSORE, so 610 places feed it more people
    # and positive exits rise significantly, while the added places still mostly hold blocked
    # residents.
    comp = mechanism["calibrated"]
    more_hotels = _row(comp, "610", "exits.positive.per_month")
    assert more_hotels["significant"]
    assert more_hotels["diff"] > 0
    channel = _row(comp, "610", "entries.out_of_region.per_month")
    assert channel["significant"]
    assert channel["diff"] > 0
    assert _row(comp, "610", "blocked.assore.mean")["diff"] > 0.5 * 210


def test_fluid_alternative_doubles_the_reference_release_rate() -> None:
    """etape2-610-fluid writes the housing schedule out in full: its 2019-2023 rate must stay
    the (calibrated) rate of the reference, and the étape 2 rate twice that."""
    from sim.schedule import Steps

    ref = load_scenario(SCENARIOS / "etape2-610.yaml")
    fluid = load_scenario(SCENARIOS / "etape2-610-fluid.yaml")
    before = Steps.of(ref.nodes["housing"].releases_per_month, ref.start)
    after = Steps.of(fluid.nodes["housing"].releases_per_month, fluid.start)
    day = float((dt.date(2024, 1, 1) - ref.start).days)
    assert after.at(0.0) == before.at(0.0)
    assert after.at(day) == pytest.approx(2 * before.at(day))

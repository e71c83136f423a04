"""Series by month or year: the planner's table, computed as by hand."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook  # type: ignore[import-untyped]

from sim.analysis.compare import compare_runs
from sim.cli import main
from sim.outputs.comparison import write_comparison
from sim.running.periods import (
    PeriodError,
    per_replication,
    period_table,
    series_names,
    series_table,
)
from sim.running.results import PERIOD_FILES, write_run
from sim.running.runner import RunResult, run
from sim.running.statistics import mean_ci, paired_difference
from tests.builders import queue


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    """Two queues over 400 days (two years), the second with twice the places."""
    stay = {"dist": "exponential", "mean": 20}
    small = queue(0.2, 3, stay, 400)
    large = queue(0.2, 6, stay, 400).model_copy(update={"name": "large"})
    return {"small": run(small, 4, seed=3), "large": run(large, 4, seed=3)}


def test_a_period_value_is_the_mean_of_its_days_per_replication(runs: dict[str, RunResult]) -> None:
    result = runs["small"]
    wide = per_replication(result, "waiting.queue", "month")
    ts = result.timeseries
    dates = pd.Timestamp(result.scenario.start) + pd.to_timedelta(ts["day"], unit="D")
    first = wide.columns[0]
    in_first = dates.dt.strftime("%Y-%m") == first
    by_hand = ts[in_first].groupby("replication")["waiting.queue"].mean()
    assert wide[first].to_numpy() == pytest.approx(by_hand.to_numpy())


def test_the_table_gives_intervals_and_paired_differences(runs: dict[str, RunResult]) -> None:
    table = period_table(runs, "waiting.queue", "year")
    small = per_replication(runs["small"], "waiting.queue", "year")
    large = per_replication(runs["large"], "waiting.queue", "year")
    period = small.columns[0]
    row = table[(table["period"] == period) & (table["scenario"] == "large")].iloc[0]
    mean, ci, n = mean_ci(large[period].to_numpy())
    assert (row["mean"], row["ci95"], row["n"]) == pytest.approx((mean, ci, n))
    paired = paired_difference(small[period].to_numpy(), large[period].to_numpy())
    assert (row["diff"], row["diff_ci"]) == pytest.approx((paired.mean, paired.ci))
    assert np.isnan(table[table["scenario"] == "small"]["diff"]).all()


def test_an_unknown_series_names_the_ones_there_are(runs: dict[str, RunResult]) -> None:
    with pytest.raises(PeriodError, match=r"no series 'waiting\.nowhere'.*waiting\.queue"):
        period_table(runs, "waiting.nowhere")


def test_the_table_command_prints_and_writes_without_overwriting(
    runs: dict, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    write_run(runs["small"], folder)
    args = ["table", str(folder), "--series", "waiting.queue", "--by", "year"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    written = folder / "waiting.queue-by-year.csv"
    table = pd.read_csv(written)
    assert list(table.columns) == ["period", "scenario", "mean", "ci95", "n"]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2
    assert "exists; use --force" in again.output


def test_the_series_table_holds_every_series_as_the_single_table(
    runs: dict[str, RunResult],
) -> None:
    table = series_table(runs, "month")
    assert list(table["series"].unique()) == series_names(runs["small"])
    for series in ("waiting.queue", "occupancy.queue"):
        one = table[table["series"] == series].drop(columns="series").reset_index(drop=True)
        pd.testing.assert_frame_equal(one, period_table(runs, series, "month"), check_dtype=False)


def test_a_series_only_an_alternative_has_gets_no_difference(runs: dict[str, RunResult]) -> None:
    small, large = runs["small"], runs["large"]
    extra = large.timeseries.assign(**{"waiting.extra": 1.0})
    with_extra = dataclasses.replace(large, timeseries=extra)
    table = series_table({"small": small, "large": with_extra}, "year")
    rows = table[table["series"] == "waiting.extra"]
    assert list(rows["scenario"].unique()) == ["large"]
    assert rows["mean"].tolist() == pytest.approx([1.0] * len(rows))
    assert rows["diff"].isna().all()


def test_run_and_comparison_folders_hold_the_tables_by_month_and_year(
    runs: dict[str, RunResult], tmp_path: Path
) -> None:
    folder = write_run(runs["small"], tmp_path / "run")
    for by, name in PERIOD_FILES.items():
        written = pd.read_csv(folder / name)
        expected = series_table({"small": runs["small"]}, by)
        assert list(written.columns) == ["series", "period", "scenario", "mean", "ci95", "n"]
        assert written["mean"].to_numpy() == pytest.approx(expected["mean"].to_numpy())
    comp = compare_runs([write_run(runs["large"], tmp_path / "large"), folder])
    out = write_comparison(comp, tmp_path / "cmp", lang="fr")
    info = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(PERIOD_FILES.values()) <= set(info["files"])
    monthly = pd.read_csv(out / PERIOD_FILES["month"])
    small = runs["small"].scenario.name
    assert set(monthly["scenario"]) == {small, "large"}
    assert monthly.loc[monthly["scenario"] == small, "diff"].notna().all()
    sheets = load_workbook(out / "comparison.xlsx", read_only=True)
    rows = list(sheets["Par mois"].iter_rows(values_only=True))
    assert rows[0][:3] == ("série quotidienne (moyenne sur la période)", "série", "mois")
    first = monthly[(monthly["series"] == "street") & (monthly["scenario"] == small)].iloc[0]
    street = next(r for r in rows[1:] if r[1] == "street")
    assert street[0] == "Personnes à la rue"
    assert (street[2], street[5], street[7]) == (
        first["period"],
        pytest.approx(first["mean"]),
        pytest.approx(first["diff"]),
    )
    assert "Par année" in sheets.sheetnames

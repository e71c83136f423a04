"""Series by month or year: the planner's table, computed as by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.running.periods import PeriodError, per_replication, period_table
from sim.running.results import write_run
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

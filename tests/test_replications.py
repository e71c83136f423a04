"""``parcours replications`` (the confidence-interval width method) and ``parcours welch``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from sim.cli.main import main
from sim.inputs.loading import load_scenario
from sim.inputs.scenario import Scenario
from sim.running.replications import count_needed, replications_needed, welch_average
from sim.running.runner import run
from tests.conftest import SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
SHORT = ["end=2003-01-01", "warmup=365"]  # 3 years, one of warm-up: ~0.1 s a replication
KPI = "entries.queue.per_month"


def short_mmc() -> Scenario:
    return load_scenario(MMC, SHORT)


def relative_half_width(values: np.ndarray) -> float:
    """Independent of the code under test: scipy's t interval around the mean."""
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float((high - low) / 2 / abs(values.mean()))


def test_the_count_reported_is_the_first_that_achieves_the_precision() -> None:
    sc = short_mmc()
    count = replications_needed(sc, KPI, precision=0.05, seed=1, minimum=3, maximum=40)
    assert count.needed is not None
    assert 3 < count.needed < 40
    values = run(sc, count.needed + 2, seed=1, keep_timeseries=False).kpis[KPI].to_numpy()
    n = count.needed
    assert relative_half_width(values[:n]) <= 0.05
    assert relative_half_width(values[: n - 1]) > 0.05  # one fewer is not enough
    assert relative_half_width(values[: n + 1]) <= 0.05  # and it held for the next two
    assert relative_half_width(values[: n + 2]) <= 0.05
    row = count.table.iloc[n - 1]
    assert row["replications"] == n
    assert row["relative"] == pytest.approx(relative_half_width(values[:n]))
    # docs/model.md applies the same rule to a fixed run of replications
    assert count_needed(list(count.table["relative"]), 0.05, minimum=3) == n


def test_a_precision_out_of_reach_reports_the_maximum() -> None:
    count = replications_needed(short_mmc(), KPI, precision=1e-4, seed=1, maximum=6)
    assert count.needed is None
    assert list(count.table["replications"]) == [1, 2, 3, 4, 5, 6]
    assert (count.table["relative"].iloc[1:] > 1e-4).all()


def test_replications_command_prints_the_count_it_found() -> None:
    args = ["replications", str(MMC), "--kpi", KPI, "--precision", "0.05", "--max", "40"]
    args += [a for s in SHORT for a in ("--set", s)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    count = replications_needed(short_mmc(), KPI, precision=0.05, seed=1, maximum=40)
    assert count.needed is not None
    row = count.table.iloc[count.needed - 1]
    expected = f"{KPI}: {count.needed} replications give a 95% CI within 5.0% of the mean"
    assert expected in result.output
    assert f"({row['mean']:.4g} ± {row['ci95']:.3g}, {row['relative']:.1%})" in result.output

    out_of_reach = CliRunner().invoke(main, [*args[:5], "0.0001", "--max", "4", *args[8:]])
    assert out_of_reach.exit_code == 0, out_of_reach.output
    assert "not within 0.0% after 4 replications" in out_of_reach.output
    assert "more than 4 needed" in out_of_reach.output

    unknown = CliRunner().invoke(main, [*args[:3], "street.nope", *args[4:]])
    assert unknown.exit_code == 2
    assert "unknown KPI 'street.nope'" in unknown.output


def test_welch_moving_average_by_hand() -> None:
    # two replications over 7 days; the mean across them is 1, 3, 2, 6, 4, 8, 5
    first = [0, 2, 2, 4, 4, 8, 6]
    second = [2, 4, 2, 8, 4, 8, 4]
    frame = pd.DataFrame(
        {
            "replication": [0] * 7 + [1] * 7,
            "day": list(range(7)) * 2,
            "street": first + second,
        }
    )
    out = welch_average(frame, "street", window=4)  # two days each side, fewer at the ends
    assert list(out["mean"]) == [1, 3, 2, 6, 4, 8, 5]
    by_hand = [
        1,  # day 0: itself
        (1 + 3 + 2) / 3,  # day 1: one each side
        (1 + 3 + 2 + 6 + 4) / 5,
        (3 + 2 + 6 + 4 + 8) / 5,
        (2 + 6 + 4 + 8 + 5) / 5,
        (4 + 8 + 5) / 3,  # day 5: one each side
        5,  # day 6: itself
    ]
    assert list(out["moving_average"]) == pytest.approx(by_hand)
    assert list(out["day"]) == list(range(7))


def test_welch_command_writes_the_chart(tmp_path: Path) -> None:
    out = tmp_path / "welch.png"
    args = ["welch", str(MMC), "--series", "occupancy.queue", "-n", "2", "--window", "60"]
    args += ["--out", str(out), *(a for s in SHORT for a in ("--set", s))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"written: {out}" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["welch.png"]  # no partial file left
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    unknown = CliRunner().invoke(main, [*args[:3], "nope", *args[4:], "--force"])
    assert unknown.exit_code == 2
    assert "unknown series 'nope'" in unknown.output

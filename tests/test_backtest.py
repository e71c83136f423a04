"""Back-test: a small scenario's summary with a fixed seed is stored; a change that moves it
must regenerate it on purpose (``PARCOURS_REGENERATE=1 pytest tests/test_backtest.py``), so
the diff shows in review."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from sim.inputs.loading import load_scenario
from sim.running.runner import run
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"
STORED = DATA / "backtest_summary.csv"


def current() -> pd.DataFrame:
    scenario = load_scenario(DATA / "backtest.yaml")
    result = run(scenario, replications=5, seed=424242, keep_timeseries=False)
    return result.summary.round(9)


def test_summary_matches_the_stored_back_test() -> None:
    now = current()
    if os.environ.get("PARCOURS_REGENERATE") == "1":
        now.to_csv(STORED, index=False)
    stored = pd.read_csv(STORED)
    assert list(now["kpi"]) == list(stored["kpi"]), "KPI list changed: regenerate on purpose"
    for column in ("mean", "sd", "ci95"):
        np.testing.assert_allclose(
            now[column].to_numpy(float),
            stored[column].to_numpy(float),
            rtol=1e-9,
            atol=1e-9,
            equal_nan=True,
            err_msg=f"{column} moved: regenerate the back-test on purpose",
        )
    assert (now["n"].to_numpy() == stored["n"].to_numpy()).all()

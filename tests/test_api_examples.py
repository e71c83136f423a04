"""The usage the public API documents: each docstring example of ``sim.load_scenario``,
``run``, ``compare``, ``sweep``, ``calibrate`` and ``plot`` is a valid call, and the example a
user would copy, run on the M/M/c verification queue over two years, gives what it promises."""

from __future__ import annotations

import ast
import datetime as dt
import doctest
import importlib
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.analysis.compare import CompareError
from sim.outputs.comparison import write_comparison
from sim.outputs.plots import plot_folder
from sim.running.results import OutputExistsError
from tests.conftest import SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
SHORT = ["end=2002-01-01", "warmup=0"]  # two simulated years, all of them measured
DOCUMENTED = ("load_scenario", "run", "compare", "sweep", "calibrate", "plot")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def documented_calls(name: str) -> list[ast.Call]:
    """Calls to ``name`` (bare or as ``sim.name``) in the docstring examples of ``sim.name``."""
    doc = inspect.getdoc(getattr(sim, name)) or ""
    calls = []
    for example in doctest.DocTestParser().get_examples(doc):
        for node in ast.walk(ast.parse(example.source)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Name) and func.id == name) or (
                isinstance(func, ast.Attribute)
                and func.attr == name
                and isinstance(func.value, ast.Name)
                and func.value.id == "sim"
            ):
                calls.append(node)
    return calls


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_example_is_a_valid_call(name: str) -> None:
    """The example calls the function with arguments its signature accepts."""
    calls = documented_calls(name)
    assert calls, f"sim.{name} has no docstring example calling it"
    # sim.plot passes its options on to plot_folder: check them against that signature
    signature = inspect.signature(plot_folder if name == "plot" else getattr(sim, name))
    for call in calls:
        args = [None] * len(call.args)
        kwargs = {k.arg: None for k in call.keywords if k.arg is not None}
        signature.bind(*args, **kwargs)  # TypeError on an unknown or missing argument


def test_load_scenario_example() -> None:
    # >>> sc = load_scenario("scenarios/verification/mmc.yaml", ["end=2021-01-01"])
    sc = sim.load_scenario(MMC, ["end=2021-01-01"])
    assert sc.name == "mmc"
    assert sc.end == dt.date(2021, 1, 1)
    assert set(sc.nodes) == {"street", "queue", "done"}
    with pytest.raises(sim.ScenarioError, match="capacity"):
        sim.load_scenario(MMC, ["nodes.queue.capacity=-1"])


def test_run_example() -> None:
    # >>> result = run(load_scenario("scenarios/etape2-610.yaml"), replications=5)
    # >>> result.summary.set_index("kpi").loc["street.mean", "mean"]
    scenario = sim.load_scenario(MMC, SHORT)
    result = sim.run(scenario, replications=5)
    summary = result.summary.set_index("kpi")
    busy = summary.loc["occupancy.queue.mean", "mean"]
    assert 0 < busy <= 400  # within the queue's 400 places
    assert busy == result.value("occupancy.queue.mean")
    assert list(result.summary.columns) == ["kpi", "mean", "sd", "ci95", "n"]
    assert summary.loc["occupancy.queue.mean", "n"] == 5
    assert result.kpis["replication"].tolist() == [0, 1, 2, 3, 4]
    assert result.timeseries["replication"].nunique() == 5
    # same scenario + seed = same numbers, whatever the number of workers
    again = sim.run(scenario, replications=5, workers=2)
    pd.testing.assert_frame_equal(again.kpis, result.kpis)
    other = sim.run(scenario, replications=5, seed=2)
    assert not other.kpis["occupancy.queue.mean"].equals(result.kpis["occupancy.queue.mean"])


def fewer_places() -> sim.Scenario:
    """The queue with 300 places (full at the start) for 360 arrivals a year: it serves at most
    300 a year, so the waiting list grows by about 60 a year."""
    fewer = ["name=mmc-300", "nodes.queue.capacity=300", "nodes.queue.initial.occupancy=300"]
    return sim.load_scenario(MMC, [*SHORT, *fewer])


def test_compare_example() -> None:
    # >>> comp = compare([load_scenario(f) for f in files], replications=10, workers=2)
    # >>> comp.headline()[["scenario", "kpi", "mean", "diff", "diff_ci"]]
    reference = sim.load_scenario(MMC, SHORT)
    comp = sim.compare([reference, fewer_places()], replications=4, workers=2)
    headline = comp.headline()[["scenario", "kpi", "mean", "diff", "diff_ci"]]
    assert comp.scenarios == ["mmc", "mmc-300"]
    assert not headline.empty
    for _, rows in headline.groupby("kpi"):
        assert rows["scenario"].tolist() == ["mmc", "mmc-300"]
    assert headline.loc[headline["scenario"] == "mmc", "diff"].isna().all()
    waiting = comp.table.set_index(["scenario", "kpi"]).loc[("mmc-300", "waiting.queue.mean")]
    assert waiting["diff"] - waiting["diff_ci"] > 0, "fewer places: a longer waiting list"
    # compare runs each scenario exactly as run does, on the same seed
    alone = sim.run(reference, replications=4)
    pd.testing.assert_frame_equal(comp.runs["mmc"].kpis, alone.kpis)


def test_sweep_example(tmp_path: Path) -> None:
    # >>> sweep("scenarios/etape2-610.yaml", "results/s",
    # ...       ranges={"nodes.housing.releases_per_month": (1, 6, 6)}, workers=2)
    capacity = "nodes.queue.capacity"
    ranges = {capacity: (362.0, 400.0, 3)}
    swept = sim.sweep(
        MMC, tmp_path / "s", ranges=ranges, replications=2, overrides=SHORT, workers=2
    )
    assert (swept.done, swept.total, swept.parameters) == (3, 3, (capacity,))
    table = swept.rows
    assert len(table) == 3 * 2
    assert table.attrs["parameters"] == [capacity]
    assert set(table.attrs["kpis"]) <= set(table.columns)
    assert sorted(table[capacity].unique()) == [362, 381, 400]
    assert table["seed"].nunique() == 1, "common random numbers: every point, same seeds"
    waiting = table.groupby(capacity)["waiting.queue.mean"].mean()
    assert waiting[362] > waiting[400]
    # the point at the file's own capacity is the plain run of the scenario
    plain = sim.run(sim.load_scenario(MMC, SHORT), replications=2)
    at_400 = table[table[capacity] == 400].sort_values("replication")
    assert at_400["occupancy.queue.mean"].tolist() == plain.kpis["occupancy.queue.mean"].tolist()
    # same numbers on one worker; an existing folder is not overwritten without force
    serial = sim.sweep(MMC, tmp_path / "s1", ranges=ranges, replications=2, overrides=SHORT).rows
    kpis = table.attrs["kpis"]
    order = ["point", "replication"]
    pd.testing.assert_frame_equal(
        serial.sort_values(order)[kpis].reset_index(drop=True),
        table.sort_values(order)[kpis].reset_index(drop=True),
    )
    with pytest.raises(OutputExistsError):
        sim.sweep(MMC, tmp_path / "s", ranges=ranges, replications=2, overrides=SHORT)


# The queue starts with 360 residents, the steady state of 360 arrivals a year staying a year
# on average: 2001's expected mean occupancy is 360 when, and only when, arrivals are 360 a year.
BUSY = (
    "observations={busy: {metric: mean, series: occupancy.queue, from: 2001-01-01,"
    " to: 2001-12-31, target: 360, tolerance: 10, role: fit}}"
)
FREE = (
    "calibration={population: 10, generations: 2, parameters:"
    " {arrivals: {path: nodes.street.arrivals_per_year, lower: 200, upper: 500}}}"
)


@pytest.mark.slow
def test_calibrate_example(tmp_path: Path) -> None:
    # >>> sc = load_scenario("scenarios/history-2019-2023.yaml")
    # >>> calibrate(sc, "results/quick", population=50, generations=2).generations
    from sim.analysis.abc_smc import intervals

    sc = sim.load_scenario(MMC, [*SHORT, BUSY, FREE])
    result = sim.calibrate(sc, tmp_path / "a", seed=1, workers=2)
    assert (tmp_path / "a" / "history.db").is_file()
    assert list(result.generations["generation"]) == [0, 1]
    assert list(result.generations["accepted"]) == [10, 10]
    assert list(result.posterior.columns) == ["arrivals", "weight"]
    assert result.posterior["weight"].sum() == pytest.approx(1.0)
    # the second generation keeps the draws nearer the target: 360 a year, inside a
    # narrower range than the prior's 200-500
    row = intervals(result).set_index("parameter").loc["arrivals"]
    assert 200 <= row["q05"] <= 360 <= row["q95"] <= 500
    assert row["q95"] - row["q05"] < 0.9 * (500 - 200)
    serial = sim.calibrate(sc, tmp_path / "b", seed=1, workers=1)  # any executor, same draws
    pd.testing.assert_frame_equal(serial.posterior, result.posterior)


# mmc refers everyone on arrival, so every contact-to-housing time is 0: the time-to-housing
# chart must still draw without a warning (warnings are errors in this suite)
@pytest.mark.slow
def test_plot_example(tmp_path: Path) -> None:
    # >>> sim.plot("results/etape2-compare", lang="fr")
    comp = sim.compare([sim.load_scenario(MMC, SHORT), fewer_places()], replications=2)
    folder = write_comparison(comp, tmp_path / "mmc-compare")
    written = sim.plot(folder, lang="fr")
    assert written, "charts were drawn"
    assert all(p.parent == folder / "charts" and p.suffix == ".png" for p in written)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in written)
    assert {"street.png", "occupancy-queue.png", "waiting-queue.png"} <= {p.name for p in written}
    # charts are deterministic: drawn again, byte for byte the same
    again = sim.plot(folder, out=tmp_path / "again", lang="fr")
    assert {p.name: p.read_bytes() for p in again} == {p.name: p.read_bytes() for p in written}


@pytest.mark.parametrize(
    "module", ["sim.inputs.loading", "sim.running.runner", "sim.analysis.compare"]
)
def test_the_docstring_examples_run_as_written(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples a user copies from help(sim.run) and friends, run by doctest from the
    repository root (the paths they name are relative to it)."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    results = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0


def test_load_compare_reads_a_comparison_folder_back(tmp_path: Path) -> None:
    """sim.load_compare gives the comparison a folder holds: same rows, same numbers."""
    short = ["end=2004-01-01"]
    ref = sim.load_scenario("scenarios/verification/mmc.yaml", short)
    fewer = sim.load_scenario("scenarios/verification/mmc.yaml", ["name=mmc-360", *short])
    comp = sim.compare([ref, fewer], 3)
    write_comparison(comp, tmp_path / "cmp")
    again = sim.load_compare(tmp_path / "cmp")
    assert again.kpis == comp.kpis
    pd.testing.assert_frame_equal(again.headline(), comp.headline())
    with pytest.raises(CompareError, match="not a compare folder"):
        sim.load_compare(tmp_path / "cmp" / "runs" / "mmc")


def test_series_come_in_tidy_long_form() -> None:
    sc = sim.load_scenario("scenarios/verification/mmc.yaml", ["end=2004-01-01"])
    result = sim.run(sc, 2)
    long = result.series_long()
    assert set(long.columns) >= {"replication", "day", "series", "value"}
    wide = result.timeseries
    street = long[long["series"] == "waiting.queue"]["value"].to_numpy()
    assert np.array_equal(street, wide["waiting.queue"].to_numpy())

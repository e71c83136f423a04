"""Sensitivity analyses find the parameter that matters on a queue where the answer is known:
the number of places drives the waiting list, the price of a place does not touch it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.analysis.sensitivity import SensitivitySpec, design_matrix
from sim.analysis.sweep import parse_bounds
from sim.cli.sweep import sensitivity
from sim.outputs.sensitivity_output import run_sensitivity
from tests.conftest import SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
TINY = (
    "end=2002-01-01",
    "warmup=180",
    "nodes.street.arrivals_per_year=36",
    "nodes.queue.initial.occupancy=0",  # the file starts 360 residents in; here the queue is empty
)
CAPACITY = "nodes.queue.capacity"
PRICE = "nodes.queue.cost_per_place_day"  # changes costs only: no effect on the queue
KPI = "waiting.queue.mean"
BOUNDS = (
    parse_bounds(f"{CAPACITY}=22:44", ("--bounds", 1)),
    parse_bounds(f"{PRICE}=10:100", ("--bounds", 2)),
)


def spec(method: str, samples: int) -> SensitivitySpec:
    return SensitivitySpec(
        scenario=MMC,
        bounds=BOUNDS,
        kpis=(KPI, "cost.total.per_year"),
        method=method,  # type: ignore[arg-type]
        samples=samples,
        replications=2,
        seed=4,
        overrides=TINY,
    )


def test_morris_ranks_capacity_first_and_gives_the_price_no_effect(tmp_path: Path) -> None:
    result = run_sensitivity(spec("morris", 6), tmp_path / "morris", formats=("png",))
    waiting = result.indices[result.indices["kpi"] == KPI].set_index("parameter")
    assert waiting.loc[CAPACITY, "rank"] == 1
    assert waiting.loc[CAPACITY, "mu_star"] > 0.1
    assert waiting.loc[CAPACITY, "mu"] < 0  # more places, shorter waiting list
    # Common random numbers: the price leaves every run unchanged, so its effects are exactly 0.
    assert waiting.loc[PRICE, "mu_star"] == 0.0
    # ...while on the cost KPI the price is what matters.
    cost = result.indices[result.indices["kpi"] == "cost.total.per_year"].set_index("parameter")
    assert cost.loc[PRICE, "rank"] == 1
    assert cost.loc[PRICE, "mu"] > 0


@pytest.mark.slow
def test_sobol_total_index_of_capacity_dominates(tmp_path: Path) -> None:
    result = run_sensitivity(spec("sobol", 16), tmp_path / "sobol", formats=("png",))
    waiting = result.indices[result.indices["kpi"] == KPI].set_index("parameter")
    assert waiting.loc[CAPACITY, "ST"] > 0.5
    assert abs(waiting.loc[PRICE, "ST"]) < 0.05
    assert abs(waiting.loc[PRICE, "S1"]) < 0.05
    assert np.isfinite(waiting[["S1_conf", "ST_conf"]].to_numpy()).all()
    assert len(pd.read_parquet(tmp_path / "sobol" / "design" / "sweep.parquet")) == 16 * 4 * 2


def test_tornado_swings_around_the_scenario_values(tmp_path: Path) -> None:
    result = run_sensitivity(spec("morris", 2), tmp_path / "oat", formats=())
    tornado = result.tornado[result.tornado["kpi"] == KPI].set_index("parameter")
    assert list(tornado.index) == [CAPACITY, PRICE]  # sorted by swing
    assert tornado.loc[CAPACITY, "kpi_low"] > tornado.loc[CAPACITY, "kpi_high"]
    assert tornado.loc[PRICE, "swing"] == 0.0
    assert tornado.loc[CAPACITY, "base_value"] == 400  # the file's value, 400 places: no queue
    assert tornado.loc[CAPACITY, "kpi_base"] == 0.0


def test_designs_are_seeded_and_inside_the_bounds() -> None:
    for method, samples, rows in (("morris", 5, 5 * 3), ("sobol", 8, 8 * 4)):
        matrix = design_matrix(spec(method, samples))
        assert matrix.shape == (rows, 2)
        assert np.array_equal(matrix, design_matrix(spec(method, samples)))
        assert matrix[:, 0].min() >= 22
        assert matrix[:, 0].max() <= 44


def test_cli_writes_tables_and_charts(tmp_path: Path) -> None:
    out = tmp_path / "sens"
    args = [str(MMC), *[a for s in TINY for a in ("--set", s)]]
    args += ["--bounds", f"{CAPACITY}=22:44", "--bounds", f"{PRICE}=10:100", "--kpi", KPI]
    args += ["--samples", "3", "-n", "1", "--workers", "1", "--quiet", "--out", str(out)]
    result = CliRunner().invoke(sensitivity, args)
    assert result.exit_code == 0, result.output
    assert "mu*" in result.output
    assert CAPACITY in result.output
    names = {p.name for p in out.iterdir()}
    assert {"indices.csv", "tornado.csv", "manifest.json", "design", "oat"} <= names
    assert {f"tornado-{KPI}.png", f"tornado-{KPI}.svg", f"indices-{KPI}.png"} <= names
    again = CliRunner().invoke(sensitivity, args)
    assert again.exit_code == 2
    stages = [out / "design", out / "oat"]
    before = {s: _stamps(s) for s in stages}
    indices = (out / "indices.csv").read_text(encoding="utf-8")
    resumed = CliRunner().invoke(sensitivity, [*args, "--resume", str(out)])
    assert resumed.exit_code == 0, resumed.output
    # Both stages were complete: nothing ran again, no result file was rewritten.
    assert {s: _stamps(s) for s in stages} == before
    assert (out / "indices.csv").read_text(encoding="utf-8") == indices


def _stamps(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Modification time and content of every file in a sweep folder."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kpi", "nope"], "--kpi:1: nope: unknown KPI (some known ones: street.mean,"),
        (
            ["--kpi", KPI, "--kpi", "waiting.queue.man"],
            "--kpi:2: waiting.queue.man: unknown KPI (did you mean 'waiting.queue.mean'?)",
        ),
        (["--method", "sobol", "--samples", "12"], "Sobol' needs a power of 2"),
        (["--bounds", f"{CAPACITY}=40:20"], "hi must be above lo"),
    ],
)
def test_cli_reports_bad_requests(tmp_path: Path, extra: list[str], message: str) -> None:
    args = [str(MMC), *[a for s in TINY for a in ("--set", s)], "--bounds", f"{PRICE}=1:2"]
    args += ["-n", "1", "--samples", "2", "--workers", "1", "--quiet", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(sensitivity, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # reported before anything ran or was written

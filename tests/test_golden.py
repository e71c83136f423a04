"""Golden outputs: a refactor or a faster hot path must not move a number.

The files under ``tests/golden/`` were written by this module on fixed seeds. Each test runs the
same command again and compares: CSV byte for byte, the xlsx cell by cell, the sweep table frame
by frame (parquet metadata names the writer's version). A model change that moves numbers on
purpose regenerates them with ``PARCOURS_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and says
in its commit which numbers moved and why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sim.cli.main import main

from .conftest import SCENARIOS

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PARCOURS_UPDATE_GOLDEN") == "1"


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output


def _check_bytes(produced: Path, name: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        shutil.copyfile(produced, golden)
    assert produced.read_bytes() == golden.read_bytes(), f"{name} moved"


def test_history_run_kpis_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _invoke(
        [
            "run",
            str(SCENARIOS / "history-2019-2023.yaml"),
            "-n",
            "4",
            "--seed",
            "7",
            "--point",
            "--out",
            str(out),
        ]
    )
    _check_bytes(out / "kpis.csv", "history-kpis.csv")
    _check_bytes(out / "summary.csv", "history-summary.csv")


def test_etape2_comparison(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    _invoke(
        [
            "compare",
            str(SCENARIOS / "etape2-610.yaml"),
            str(SCENARIOS / "etape2-400-downstream.yaml"),
            "-n",
            "3",
            "--seed",
            "7",
            "--workers",
            "1",
            "--point",
            "--out",
            str(out),
        ]
    )
    _check_bytes(out / "comparison.csv", "etape2-comparison.csv")
    produced = _cells(out / "comparison.xlsx")
    golden_xlsx = GOLDEN / "etape2-comparison.xlsx"
    if UPDATE:
        shutil.copyfile(out / "comparison.xlsx", golden_xlsx)
    assert produced == _cells(golden_xlsx)


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every sheet's cells, but the scenario digests: they change with any edit of a scenario
    file, comments and new declarations included, while the numbers are what is pinned."""
    book = load_workbook(path, read_only=True)
    sheets = {}
    for sheet in book.worksheets:
        rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
        if rows and "SHA-256" in rows[0]:
            column = rows[0].index("SHA-256")
            rows = [row[:column] + row[column + 1 :] for row in rows]
        sheets[sheet.title] = rows
    return sheets


def test_small_sweep_table(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    _invoke(
        [
            "sweep",
            str(SCENARIOS / "etape2-610.yaml"),
            "-n",
            "2",
            "--grid",
            "nodes.assore.capacity.-1.value=500,700",
            "--seed",
            "7",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    golden = GOLDEN / "sweep.parquet"
    if UPDATE:
        shutil.copyfile(out / "sweep.parquet", golden)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "sweep.parquet"), pd.read_parquet(golden), check_exact=True
    )


@pytest.mark.skipif(UPDATE, reason="regenerating")
def test_golden_files_present() -> None:
    names = {p.name for p in GOLDEN.iterdir()}
    assert {
        "history-kpis.csv",
        "history-summary.csv",
        "etape2-comparison.csv",
        "etape2-comparison.xlsx",
        "sweep.parquet",
    } <= names

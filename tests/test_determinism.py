"""Determinism: the same seed gives the same numbers whatever the number of workers and the
interpreter's hash seed; different seeds and different replications give different numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "history-2019-2023.yaml"
SHORTER = "end=2020-12-31"  # keeps each run to a few seconds
TABLES = ("episodes.parquet", "timeseries.parquet")


def cli_run(out: Path, seed: int = 7, workers: int = 1, executor: tuple[str, ...] = ()) -> Path:
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(SCENARIO),
            "-n",
            "4",
            "--seed",
            str(seed),
            *(executor or ("--workers", str(workers))),
            "--point",
            "--set",
            SHORTER,
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def subprocess_run(out: Path, hash_seed: str) -> Path:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    command = [sys.executable, "-m", "sim", "run", str(SCENARIO), "-n", "4", "--seed", "7"]
    command += ["--point", "--set", SHORTER, "--out", str(out), "--quiet"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def assert_same_run(a: Path, b: Path) -> None:
    assert (a / "kpis.csv").read_bytes() == (b / "kpis.csv").read_bytes()
    for table in TABLES:
        left, right = pd.read_parquet(a / table), pd.read_parquet(b / table)
        assert left.equals(right), table


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SCENARIO.exists():  # pragma: no cover - the shipped scenario is expected
        pytest.skip("scenarios/history-2019-2023.yaml is missing")
    return cli_run(tmp_path_factory.mktemp("one-worker") / "run")


def test_same_seed_same_results_with_one_or_two_workers(reference: Path, tmp_path: Path) -> None:
    assert_same_run(reference, cli_run(tmp_path / "run", workers=2))


@pytest.mark.slow
def test_same_seed_same_results_on_a_local_dask_cluster(reference: Path, tmp_path: Path) -> None:
    assert_same_run(reference, cli_run(tmp_path / "run", executor=("--dask-local", "2")))


COMPARED = [ROOT / "scenarios" / "etape2-610.yaml", ROOT / "scenarios" / "etape2-610-fluid.yaml"]


def cli_compare(out: Path, executor: tuple[str, ...]) -> Path:
    # two of the posterior's draws (the scenarios' default), two replications each
    args = ["compare", *map(str, COMPARED), "-n", "2", "--draws", "2", "--seed", "7", *executor]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


@pytest.mark.slow
def test_compare_gives_the_same_table_serially_on_a_pool_and_on_dask(tmp_path: Path) -> None:
    serial = cli_compare(tmp_path / "serial", ("--workers", "1"))
    expected = (serial / "comparison.csv").read_bytes()
    for name, executor in (("pool", ("--workers", "2")), ("dask", ("--dask-local", "2"))):
        other = cli_compare(tmp_path / name, executor)
        assert (other / "comparison.csv").read_bytes() == expected, name


@pytest.mark.slow
def test_replications_needed_is_the_same_on_a_pool(tmp_path: Path) -> None:
    """Replications run a batch at a time on a pool but are read in order: same count."""
    args = ["replications", str(SCENARIO), "--kpi", "street.mean", "--set", SHORTER]
    args += ["--precision", "0.02", "--max", "12"]
    serial = CliRunner().invoke(main, [*args, "--workers", "1"])
    pooled = CliRunner().invoke(main, [*args, "--workers", "2"])
    assert serial.exit_code == pooled.exit_code == 0, (serial.output, pooled.output)
    assert serial.stdout == pooled.stdout  # stderr may hold progress lines, timed


@pytest.mark.slow
def test_same_seed_same_results_whatever_the_hash_seed(reference: Path, tmp_path: Path) -> None:
    zero = subprocess_run(tmp_path / "hash0", "0")
    one = subprocess_run(tmp_path / "hash1", "1")
    assert_same_run(zero, one)
    assert_same_run(reference, zero)


def test_different_seeds_differ(reference: Path, tmp_path: Path) -> None:
    other = cli_run(tmp_path / "run", seed=8)
    assert (reference / "kpis.csv").read_bytes() != (other / "kpis.csv").read_bytes()
    left = pd.read_csv(reference / "kpis.csv").set_index("replication")
    right = pd.read_csv(other / "kpis.csv").set_index("replication")
    for replication in left.index:  # every replication differs, not just one
        assert left.loc[replication, "street.mean"] != right.loc[replication, "street.mean"]
    episodes = pd.read_parquet(reference / "episodes.parquet")
    assert not episodes.equals(pd.read_parquet(other / "episodes.parquet"))


def test_different_replications_differ(reference: Path) -> None:
    kpis = pd.read_csv(reference / "kpis.csv")
    assert list(kpis["replication"]) == [0, 1, 2, 3]
    assert kpis["street.mean"].nunique() == 4
    assert kpis["exits.pathway.per_month"].nunique() > 1
    episodes = pd.read_parquet(reference / "episodes.parquet")
    columns = ["person", "node", "entry", "exit"]
    by_replication = [
        g[columns].reset_index(drop=True) for _, g in episodes.groupby("replication", sort=True)
    ]
    assert len(by_replication) == 4
    for i, a in enumerate(by_replication):
        for b in by_replication[i + 1 :]:
            assert not a.equals(b)

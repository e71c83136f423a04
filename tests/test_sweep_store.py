"""The sweep folder (``sim.running.sweep_store``) on its own: what a reopened folder knows,
what it refuses, and how it ends. Outcomes are written by hand: nothing here runs a model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.sweep import plan_sweep
from sim.inputs.sweep_plan import SweepPlan
from sim.inputs.sweep_spec import SweepSpec, parse_grid
from sim.running.folders import OutputExistsError, lock_path, read_manifest
from sim.running.sweep_store import (
    RunOutcome,
    SweepError,
    SweepStore,
    load_rows,
    open_store,
    plan_from_folder,
)
from tests.conftest import SCENARIOS

MMC = SCENARIOS / "verification" / "mmc.yaml"
EXTRA = {"executor": {"name": "serial", "workers": 1}}


def _plan(capacities: str = "400,450,500", seed: int = 11) -> SweepPlan:
    axis = parse_grid(f"nodes.queue.capacity={capacities}")
    return plan_sweep(SweepSpec(scenario=MMC, axes=(axis,), replications=2, seed=seed))


def _done(point: int, street: float) -> list[RunOutcome]:
    """Both replications of ``point``, given back out of order as workers do."""
    return [RunOutcome(point, r, {"street.mean": street + r}, None, events=7) for r in (1, 0)]


def _open(out: Path, plan: SweepPlan, resume: bool = False, force: bool = False) -> SweepStore:
    return SweepStore.open(out, plan, resume=resume, force=force, extra=EXTRA)


def test_a_reopened_store_has_the_points_it_flushed_and_no_others(tmp_path: Path) -> None:
    plan, out = _plan(), tmp_path / "sweep"
    store = _open(out, plan)
    store.add(0, _done(0, 10.0))
    store.add(1, [RunOutcome(1, 0, {"street.mean": 2.0}, None), RunOutcome(1, 1, None, "boom")])
    store.flush()
    store.add(2, _done(2, 30.0))  # buffered, never flushed: as if the process died here

    again = _open(out, plan, resume=True)
    assert again.finished == {0}
    assert again.failed == {1: "replication 1: boom"}
    assert not again.complete
    rows = load_rows(out)
    assert rows["replication"].tolist() == [0, 1]
    assert rows["street.mean"].tolist() == [10.0, 11.0]
    assert rows["nodes.queue.capacity"].tolist() == [400, 400]
    assert rows["seed"].tolist() == [plan.seed_of(0)] * 2
    assert rows.attrs["kpis"] == ["street.mean"]
    assert (rows.attrs["parameters"], rows.attrs["status"]) == (["nodes.queue.capacity"], "running")
    assert plan_from_folder(out).digest() == plan.digest()
    assert read_manifest(out)["executor"] == EXTRA["executor"]


def test_a_store_opens_only_what_it_may(tmp_path: Path) -> None:
    plan, out = _plan(), tmp_path / "sweep"
    with pytest.raises(SweepError, match=r"no manifest\.json\); nothing to resume"):
        _open(out, plan, resume=True)
    assert not out.exists()
    _open(out, plan).add(0, _done(0, 1.0))
    with pytest.raises(OutputExistsError, match="use --force to replace it or --resume"):
        _open(out, plan)
    with pytest.raises(SweepError, match="holds a different sweep"):
        _open(out, _plan(seed=12), resume=True)
    store = _open(out, plan, resume=True)
    store.add(0, _done(0, 1.0))
    store.flush()
    assert _open(out, plan, resume=True).finished == {0}
    assert _open(out, plan, force=True).finished == set()  # replaced: a new sweep
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"kind": "run"}), "utf-8")
    with pytest.raises(SweepError, match="a run folder, not a sweep folder"):
        load_rows(tmp_path / "run")


def test_finishing_merges_the_parts_and_writes_the_callers_points_table(tmp_path: Path) -> None:
    plan, out = _plan(), tmp_path / "sweep"
    store = _open(out, plan)
    store.add(2, _done(2, 30.0))
    store.flush()
    store.add(0, _done(0, 10.0))
    store.add(1, _done(1, 20.0))
    store.flush()
    assert len(read_manifest(out)["parts"]) == 2
    seen: list[tuple[int, dict[int, str]]] = []

    def points_table(rows: pd.DataFrame, failed: dict[int, str]) -> pd.DataFrame:
        seen.append((len(rows), dict(failed)))
        return pd.DataFrame({"point": [0, 1, 2], "mark": ["a", "b", "c"]})

    store.finish(1.5, points_table)
    assert seen == [(6, {})]
    info = read_manifest(out)
    assert (info["status"], info["finished"]) == ("complete", [0, 1, 2])
    assert info["parts"] == ["sweep.parquet"]
    table = pd.read_parquet(out / "sweep.parquet")
    assert table["point"].tolist() == [0, 0, 1, 1, 2, 2]  # merged in point order
    assert table["street.mean"].tolist() == [10.0, 11.0, 20.0, 21.0, 30.0, 31.0]
    assert pd.read_csv(out / "points.csv")["mark"].tolist() == ["a", "b", "c"]
    assert not (out / "parts").exists()
    assert _open(out, plan, resume=True).complete


def test_the_folder_is_locked_while_its_store_is_open(tmp_path: Path) -> None:
    plan, out = _plan(), tmp_path / "sweep"
    with open_store(out, plan, resume=False, force=False, extra=EXTRA) as store:
        assert lock_path(out).exists()
        assert store.out == out
    assert not lock_path(out).exists()
    assert (out / "design.json").exists()

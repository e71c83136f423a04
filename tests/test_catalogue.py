"""The KPI catalogue, and KPIs computed only when asked."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from sim.engine.model import run_once
from sim.inputs.loading import load_scenario
from sim.outputs import comparison, display, i18n
from sim.running import catalogue
from sim.running.metrics import observation_filter, observations, replication_kpis
from sim.running.runner import observe_only, replicate

from .conftest import SCENARIOS

SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_kpi_of_a_replication_has_a_catalogue_entry(name: str) -> None:
    sc = load_scenario(SCENARIOS / name)
    sc = sc.model_copy(update={"end": sc.start + dt.timedelta(days=90), "warmup": 0.0})
    produced = list(replicate(sc, 0, 3, keep_timeseries=False, keep_episodes=False).kpis)
    assert produced == catalogue.names(sc)
    for kpi in produced:
        entry, _ = next(catalogue.matches(kpi))
        assert entry.unit in ("share", "euro", "number")
        assert entry.label.startswith("kpi.") or kpi.startswith("obs.")


def test_kpi_names_and_kpi_validation_do_not_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a simulation ran")

    monkeypatch.setattr("sim.running.runner.run_once", no_run)
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    names = catalogue.names(sc)  # what sweeps and sensitivity analyses validate --kpi against
    assert "street.mean" in names
    assert [n for n in names if n.startswith("obs.")]
    assert catalogue.unknown(sc, ["street.mean", "street.meen"]) == ["street.meen"]


def test_units_follow_the_catalogue() -> None:
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    shares = catalogue.share_observations(sc)
    assert shares, "history has share observations"
    for name in shares:
        assert catalogue.unit(f"obs.{name}", sc) == "share"
        assert catalogue.unit(f"obs.{name}", share_observations=shares) == "share"
    assert catalogue.unit("cost.total.per_year") == "euro"
    assert catalogue.unit("utilisation.assore") == "share"
    assert catalogue.unit("obs.anything.per_week", sc) == "number"


def test_requested_kpis_equal_the_full_computation() -> None:
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml", ["end=2021-06-30"])
    record = run_once(sc, 1, 5)
    full = replication_kpis(sc, record)
    rng = random.Random(1)
    for size in (1, 5, 40):
        names = rng.sample(sorted(full), size)
        asked = replication_kpis(sc, record, names)
        assert list(asked) == names
        assert all(_same(asked[n], full[n]) for n in names)
    with pytest.raises(KeyError):
        replication_kpis(sc, record, ["no.such.kpi"])


def test_observations_only_equal_the_full_computation_and_keep_few_rows() -> None:
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    full = replicate(sc, 2, 9, keep_timeseries=False, keep_episodes=False).kpis
    targets = [n for n, o in sc.observations.items() if o.target is not None]
    observed = observe_only(sc, 2, 9, targets)
    assert list(observed) == targets
    assert all(_same(observed[n], full[f"obs.{n}"]) for n in targets)
    asked = replicate(sc, 2, 9, False, False, kpis=[f"obs.{n}" for n in targets]).kpis
    assert all(_same(asked[f"obs.{n}"], full[f"obs.{n}"]) for n in targets)
    kept = run_once(sc, 2, 9, observation_filter(sc, targets))
    assert 0 < kept.episodes.rows < run_once(sc, 2, 9).episodes.rows / 2


def test_observations_only_keep_the_same_rows_whatever_the_horizon() -> None:
    """Memory flat in the horizon: episodes outside the observations' windows are dropped."""
    short = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    long = load_scenario(SCENARIOS / "history-2019-2023.yaml", ["end=2027-11-30"])
    names = list(short.observations)
    a = run_once(short, 0, 4, observation_filter(short, names))
    b = run_once(long, 0, 4, observation_filter(long, names))
    assert b.episodes.rows <= a.episodes.rows * 1.01 + 5
    windows_inside = [
        n
        for n, o in short.observations.items()
        if (o.end is None or short.day(o.end) + 1 <= short.horizon)
        and (o.on is None or short.day(o.on) <= short.horizon)
    ]
    va, vb = observations(short, a, windows_inside), observations(long, b, windows_inside)
    assert windows_inside
    assert all(_same(va[n], vb[n]) for n in windows_inside)


def test_a_kpi_added_to_the_catalogue_is_labelled_in_charts_and_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = load_scenario(SCENARIOS / "history-2019-2023.yaml")
    added = catalogue.Kpi("queue_jumps.{node}.per_year", "number", "kpi.queue_jumps", "node")
    monkeypatch.setattr(catalogue, "CATALOGUE", (*catalogue.CATALOGUE, added))
    short = {"en": "{node}: queue jumps per year", "fr": "{node} : passe-droits par an"}
    monkeypatch.setitem(i18n.LABELS, "kpi.queue_jumps", short)
    kpi, assore = "queue_jumps.assore.per_year", i18n.node_name(sc.nodes["assore"].name, "fr")
    names = {k: i18n.node_name(n.name, "fr") for k, n in sc.nodes.items()}
    assert i18n.kpi_label(kpi, "fr", names) == f"{assore} : passe-droits par an"
    assert comparison.kpi_label(kpi, sc, "fr") == f"{assore} : passe-droits par an"
    # the tables' own wording, once written, is theirs; the charts keep the short label
    monkeypatch.setitem(i18n.LABELS, "table.kpi.queue_jumps", {"en": "{node}: jumps", "fr": "x"})
    assert comparison.kpi_label(kpi, sc, "en").endswith(": jumps")
    assert i18n.kpi_label(kpi, "fr", names) == f"{assore} : passe-droits par an"


def test_comparison_labels_come_from_the_catalogue_entries() -> None:
    sc = load_scenario(SCENARIOS / "etape2-610.yaml")
    derived = [f"entries.{n}.per_week" for n in sc.nodes]
    derived += [f"exits.positive.from.{n}.per_month" for n in sc.nodes]
    for kpi in catalogue.names(sc) + derived:
        if kpi.startswith("obs."):
            continue  # an observation's label is the scenario's
        entry, _ = next(catalogue.matches(kpi))
        for lang in ("en", "fr"):
            label = comparison.kpi_label(kpi, sc, lang)
            assert label != kpi, (kpi, lang)  # every catalogue KPI has a readable label
            if f"table.kpi.{kpi}" not in i18n.LABELS:  # not a text written for that very KPI
                wording = i18n.LABELS.get(f"table.{entry.label}", i18n.LABELS[entry.label])
                fixed = wording[lang].split("{")[0]
                assert label.startswith(fixed), (kpi, label, fixed)


def test_the_terminal_table_shows_catalogue_kpis_in_reading_order() -> None:
    sc = load_scenario(SCENARIOS / "etape2-610.yaml")
    keys = [k for k, _ in display.headline_kpis(sc)]
    assert set(keys) <= set(catalogue.names(sc))
    assert keys[:2] == ["street.mean", "street.end"]
    assert keys[-1] == "cost.total.per_year"
    assert keys.index("waiting.assore.mean") < keys.index("blocked.assore.mean")
    assert "blocked_time.housing.mean" in keys  # downstream nodes: their blocked time only
    assert "occupancy.housing.mean" not in keys

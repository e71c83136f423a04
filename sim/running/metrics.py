"""KPIs and observations computed from a run record, and summaries across replications.

All windows are half-open in model days: a window ``from``..``to`` (dates, inclusive) covers
``[day(from), day(to) + 1)``, clipped to the run. KPIs cover ``[warmup, end)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.record import EPISODE_COLUMNS, EpisodeFilter, RunRecord, Series
from sim.engine.schedule import Steps
from sim.inputs.scenario import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    Observation,
    OutreachNode,
    RestSpaceNode,
    Scenario,
    StreetNode,
    funder_shares,
    is_costed,
)
from sim.running import catalogue
from sim.running.statistics import describe


def episodes_frame(record: RunRecord) -> pd.DataFrame:
    """The record's person-episodes as a DataFrame (one row per person-episode per node).

    Built once, when results are written: no KPI needs it."""
    ep = record.episodes
    df = pd.DataFrame({c: ep.column(c) for c in EPISODE_COLUMNS})
    df["positive"] = df["positive"].astype("boolean")
    for column in ("queued", "entry", "ready", "exit"):
        df[column] = df[column].astype(float)
    return df


def daily_frame(scenario: Scenario, record: RunRecord) -> pd.DataFrame:
    """One row per day: every series' value at the start of that day (after its events)."""
    days = np.arange(0.0, record.horizon, 1.0)
    data: dict[str, object] = {
        "replication": np.full(days.size, record.replication, dtype=np.int64),
        "day": days,
        "date": pd.to_datetime(scenario.start) + pd.to_timedelta(days, unit="D"),
    }
    for name, series in record.series.items():
        data[name] = series.at(days)
    return pd.DataFrame(data)


class _Window:
    """Clip dates to the run and convert them to model days."""

    def __init__(self, scenario: Scenario, horizon: float) -> None:
        self.sc = scenario
        self.horizon = horizon

    def span(self, obs: Observation) -> tuple[float, float]:
        """The window in days; ``b`` is NaN when the window runs past the end of the run."""
        assert obs.start is not None and obs.end is not None
        a = max(0.0, self.sc.day(obs.start))
        last = self.sc.day(obs.end)  # a window may end on `end` itself (clipped to the run)
        return a, (min(last + 1.0, self.horizon) if last <= self.horizon else math.nan)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


class Measures:
    """One replication's episodes and series, with the masks the KPIs share (computed once,
    on first use). Only numpy: no frame is built."""

    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.sc = scenario
        self.record = record
        self.ep = record.episodes
        self.a, self.b = min(record.warmup, record.horizon), record.horizon
        self.months = max(self.b - self.a, 1e-9) / DAYS_PER_MONTH
        self.years = max(self.b - self.a, 1e-9) / DAYS_PER_YEAR
        self._cache: dict[str, Any] = {}

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        found = self._cache.get(key, _MISSING)
        if found is _MISSING:
            found = self._cache[key] = make()
        return found

    @property
    def done(self) -> np.ndarray:
        """Episodes that end inside ``[warmup, end)``."""
        ep = self.ep
        return self.cached("done", lambda: (ep.exit >= self.a) & (ep.exit < self.b))  # type: ignore[no-any-return]

    def at(self, node: str) -> np.ndarray:
        """Episodes at ``node``."""
        code = self.ep.code(node)
        return self.cached(f"at.{node}", lambda: self.ep.node == code)  # type: ignore[no-any-return]

    def node_cost(self, node_id: str) -> float:
        """A node's cost per year over ``[warmup, end)``: its place-days times its cost per
        place-day (places, capacity, or the occupancy of a release-rate node), plus its
        admissions times its cost per admission; a patrol's cost per year."""

        def make() -> float:
            node = self.sc.nodes[node_id]
            if isinstance(node, OutreachNode):
                assert node.cost_per_year is not None
                return node.cost_per_year
            return self.spent(node_id, self.a, self.b) / self.years

        return self.cached(f"cost.{node_id}", make)  # type: ignore[no-any-return]

    def place_cost(self, node_id: str) -> float:
        """The place-day part of a place's cost per year over ``[warmup, end)``."""
        return self.spent(node_id, self.a, self.b, entries=False) / self.years

    def spent(
        self, node_id: str, a: float, b: float, new_only: bool = False, entries: bool = True
    ) -> float:
        """Euros a costed node costs over ``[a, b)``; ``new_only`` leaves out its
        ``existing_places``, ``entries=False`` its cost per admission."""
        node = self.sc.nodes[node_id]
        if isinstance(node, OutreachNode):
            return (node.cost_per_year or 0.0) * (b - a) / DAYS_PER_YEAR
        assert isinstance(node, RestSpaceNode | AccommodationNode | DownstreamNode)
        euros = 0.0
        if node.cost_per_place_day is not None:
            if isinstance(node, RestSpaceNode):
                steps = Steps.of(node.places, self.sc.start)
                base = Series(np.asarray(steps.days), np.asarray(steps.values))
            else:
                base = self.record.series[f"{_cost_basis(node)}.{node_id}"]
            if new_only and node.existing_places:
                base = Series(base.times, np.maximum(base.values - node.existing_places, 0.0))
            euros = base.integral(a, b) * node.cost_per_place_day
        if entries and not isinstance(node, RestSpaceNode) and node.cost_per_entry is not None:
            entered = self.at(node_id) & (self.ep.entry >= a) & (self.ep.entry < b)
            euros += float(np.count_nonzero(entered)) * node.cost_per_entry
        return euros

    def occupancy_mean(self, node_id: str) -> float:
        occ = self.record.series[f"occupancy.{node_id}"]
        return self.cached(f"occ.{node_id}", lambda: occ.mean(self.a, self.b))  # type: ignore[no-any-return]


_MISSING = object()


def _cost_basis(node: AccommodationNode | DownstreamNode) -> str:
    """The series a place's cost per place-day is paid on: capacity or occupancy."""
    return node.cost_basis or ("occupancy" if _on_release(node) else "capacity")


def _on_release(node: AccommodationNode | DownstreamNode) -> bool:
    return isinstance(node, DownstreamNode) and node.releases_per_month is not None


# --- the families of KPIs --------------------------------------------------------------------


def _street(m: Measures) -> dict[str, float]:
    street = m.record.series["street"]
    return {"street.mean": street.mean(m.a, m.b), "street.end": float(street.at(m.b - 1e-9))}


def _node(m: Measures, node_id: str) -> dict[str, float]:
    node = m.sc.nodes[node_id]
    assert isinstance(node, AccommodationNode | DownstreamNode)
    s, a, b, ep = m.record.series, m.a, m.b, m.ep
    out: dict[str, float] = {}
    occ = s[f"occupancy.{node_id}"]
    if isinstance(node, AccommodationNode):
        out[f"waiting.{node_id}.mean"] = s[f"waiting.{node_id}"].mean(a, b)
        out[f"waiting.{node_id}.max"] = s[f"waiting.{node_id}"].maximum(a, b)
    out[f"occupancy.{node_id}.mean"] = m.occupancy_mean(node_id)
    if not _on_release(node):
        cap = s[f"capacity.{node_id}"].integral(a, b)
        out[f"utilisation.{node_id}"] = occ.integral(a, b) / cap if cap > 0 else math.nan
        blocked = s[f"blocked.{node_id}"].integral(a, b)
        out[f"blocked.{node_id}.mean"] = blocked / (b - a)
        out[f"blocked_days_per_place_year.{node_id}"] = (
            blocked / cap * DAYS_PER_YEAR if cap > 0 else math.nan
        )
    exits = m.done & m.at(node_id)
    stays = ep.exit[exits] - ep.entry[exits]
    out[f"stay.{node_id}.mean"] = _mean(stays)
    out[f"stay.{node_id}.median"] = float(np.median(stays)) if stays.size else math.nan
    entered = m.at(node_id) & (ep.entry >= a) & (ep.entry < b)
    out[f"entries.{node_id}.per_month"] = float(np.count_nonzero(entered)) / m.months
    out[f"exits.{node_id}.per_month"] = float(stays.size) / m.months
    known = ep.positive[exits]
    known = known[known >= 0]
    out[f"positive_share.{node_id}"] = _mean(known.astype(bool))
    waits = m.done & (ep.blocked_on == ep.code(node_id))
    out[f"blocked_time.{node_id}.mean"] = _mean(ep.exit[waits] - ep.ready[waits])
    return out


def _cost(m: Measures, node_id: str) -> dict[str, float]:
    return {f"cost.{node_id}.per_year": m.node_cost(node_id)}


def _housed(m: Measures) -> dict[str, float]:
    housed = 0.0
    for node_id in m.sc.nodes_of(AccommodationNode):
        housed += m.occupancy_mean(node_id)
    return {"housed.mean": housed}


def _leaving(m: Measures) -> tuple[np.ndarray, np.ndarray]:
    """Episodes that leave the pathway in ``[warmup, end)``, and which of them are positive."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        ep = m.ep
        leaving = m.done & np.isin(ep.outcome, ep.codes(m.sc.nodes_of(ExitNode)))
        return leaving, ep.positive[leaving] == 1

    return m.cached("leaving", make)  # type: ignore[no-any-return]


def _pathway(m: Measures) -> dict[str, float]:
    """Whole-pathway KPIs: exits from the pathway, contact to housing, cycles, subgroups."""
    sc, ep = m.sc, m.ep
    out: dict[str, float] = {}
    leaving, positive = _leaving(m)
    out["exits.pathway.per_month"] = float(positive.size) / m.months
    out["exits.positive.per_month"] = float(np.count_nonzero(positive)) / m.months
    out["positive_share"] = _mean(positive)
    housed = (
        m.done & m.at(sc.street_id) & np.isin(ep.outcome, ep.codes(sc.nodes_of(AccommodationNode)))
    )
    out["contact_to_housing.mean"] = _mean(ep.exit[housed] - ep.ready[housed])
    if np.count_nonzero(positive):
        first_entry = np.full(int(ep.person.max()) + 1, np.inf)
        np.minimum.at(first_entry, ep.person, ep.entry)
        who = ep.person[leaving][positive]
        out["time_to_positive_exit.mean"] = float(
            np.mean(ep.exit[leaving][positive] - first_entry[who])
        )
    else:
        out["time_to_positive_exit.mean"] = math.nan
    street = m.at(sc.street_id)
    if np.any(street):
        last = np.full(int(ep.person.max()) + 1, -1, dtype=np.int64)
        np.maximum.at(last, ep.person[street], ep.episode[street])
        out["street_episodes_per_person.mean"] = float(last[last >= 0].mean())
    else:
        out["street_episodes_per_person.mean"] = math.nan
    return out


def _cycles(m: Measures) -> dict[str, float]:
    """Returns to the street straight from an accommodation stay that begin in ``[a, b)``,
    per person who stayed in accommodation during ``[a, b)``: the street-hotel cycles."""
    sc, ep, a, b = m.sc, m.ep, m.a, m.b
    hotels = ep.codes(sc.nodes_of(AccommodationNode))
    in_hotel = np.isin(ep.node, hotels)
    stayed = in_hotel & (ep.entry < b) & ~(ep.exit < a)
    people = np.unique(ep.person[stayed]).size
    if not people:
        return {"street_hotel_cycles.per_housed_person": math.nan}
    street = m.at(sc.street_id)
    places = np.flatnonzero(~street)
    order = places[np.lexsort((ep.entry[places], ep.episode[places], ep.person[places]))]
    person, episode = ep.person[order], ep.episode[order]
    last = np.ones(order.size, dtype=bool)  # the place each person-episode left from
    last[:-1] = (person[1:] != person[:-1]) | (episode[1:] != episode[:-1])
    from_a_hotel = order[last & in_hotel[order]]
    span = int(ep.episode.max()) + 2
    keys = ep.person[from_a_hotel] * span + ep.episode[from_a_hotel] + 1
    back = street & (ep.entry >= a) & (ep.entry < b)
    returns = np.count_nonzero(np.isin(ep.person[back] * span + ep.episode[back], keys))
    return {"street_hotel_cycles.per_housed_person": float(returns) / people}


def _outcomes(m: Measures) -> dict[str, float]:
    """Exits into each exit node per year over ``[warmup, end)``, from the street or any
    place, and per 100 person-years spent in each place that leads there (the exits from
    that place over the person-years its series counts over the same period)."""
    sc, ep = m.sc, m.ep
    size = len(ep.names)
    done = m.done
    pairs = np.bincount(
        ep.node[done].astype(np.int64) * size + ep.outcome[done], minlength=size * size
    ).reshape(size, size)  # [node code, outcome code]
    counts = pairs.sum(axis=0)
    out: dict[str, float] = {}
    for exit_id in sc.nodes_of(ExitNode):
        code = ep.code(exit_id)
        out[f"outcome.{exit_id}.per_year"] = float(counts[code]) / m.years if code >= 0 else 0.0
    for node_id, exits in catalogue.outcome_routes(sc).items():
        node = ep.code(node_id)
        person_years = _person_years(m.sc, m.record, node_id, m.a, m.b)
        for exit_id in exits:
            code = ep.code(exit_id)
            count = float(pairs[node, code]) if node >= 0 and code >= 0 else 0.0
            out[f"outcome.{exit_id}.{node_id}.per_100_person_years"] = (
                100.0 * count / person_years if person_years > 0 else math.nan
            )
    return out


def _person_years(sc: Scenario, record: RunRecord, node_id: str, a: float, b: float) -> float:
    """Person-years spent at ``node_id`` (the street or a place) over ``[a, b)``."""
    name = "street" if node_id == sc.street_id else f"occupancy.{node_id}"
    return record.series[name].integral(a, b) / DAYS_PER_YEAR


def _costs(m: Measures) -> dict[str, float]:
    sc = m.sc
    total = places = in_costed_places = 0.0
    by_funder = dict.fromkeys(catalogue.funders(sc), 0.0)
    for node_id, node in sc.nodes.items():
        if not is_costed(node):
            continue
        cost = m.node_cost(node_id)
        total += cost
        for funder, share in funder_shares(getattr(node, "funder", None)).items():
            by_funder[funder] += cost * share
        place_costed = getattr(node, "cost_per_place_day", None) is not None
        if isinstance(node, AccommodationNode | DownstreamNode) and place_costed:
            places += m.place_cost(node_id)
            in_costed_places += m.occupancy_mean(node_id)
    positive = _leaving(m)[1]
    positives_per_year = float(np.count_nonzero(positive)) / m.months * 12.0
    return {
        "cost.total.per_year": total,
        **{f"cost.by_funder.{f}.per_year": cost for f, cost in by_funder.items()},
        # the places' cost over the person-years spent in those same places (rest spaces,
        # patrols and costs per admission house nobody: they are in the total, not here)
        "cost.places.per_year": places,
        "housed.costed_places.mean": in_costed_places,
        "cost.per_person_year_housed": (
            places / in_costed_places if in_costed_places > 0 else math.nan
        ),
        "cost.per_positive_exit": total / positives_per_year
        if positives_per_year > 0
        else math.nan,
    }


def _spending(m: Measures, obs: Observation, a: float, b: float) -> float:
    """Euros spent over ``[a, b)`` by the observation's nodes (default: every costed one), the
    share its funders pay (default: all of it), new places only if it says so."""
    sc = m.sc
    chosen = obs.spending_nodes
    ids = chosen if chosen is not None else [k for k, n in sc.nodes.items() if is_costed(n)]
    funders = obs.funders
    euros = 0.0
    for node_id in ids:
        shares = funder_shares(getattr(sc.nodes[node_id], "funder", None))
        share = math.fsum(shares.get(f, 0.0) for f in funders) if funders else 1.0
        if share > 0:
            euros += share * m.spent(node_id, a, b, new_only=obs.new_places_only)
    return euros


def _deadlocks(m: Measures) -> dict[str, float]:
    return {"deadlocks": float(len(m.record.deadlocks))}


def _observation(m: Measures, name: str) -> dict[str, float]:
    return {f"obs.{name}": _observe(m, m.sc.observations[name])}


def _group(m: Measures, attribute: str) -> dict[str, float]:
    """Positive share and rate of pathway exits for an attribute and its complement."""
    leaving, positive = _leaving(m)
    flags = np.asarray(m.record.people[attribute], dtype=bool)
    flag = flags[m.ep.person[leaving]]
    out: dict[str, float] = {}
    for label, mask in ((attribute, flag), (f"not_{attribute}", ~flag)):
        out[f"positive_share.{label}"] = _mean(positive[mask])
        out[f"exits.{label}.per_month"] = float(np.count_nonzero(mask)) / (
            (m.b - m.a) / DAYS_PER_MONTH
        )
    return out


_FAMILIES: dict[str, Callable[..., dict[str, float]]] = {
    "street": _street,
    "node": _node,
    "cost": _cost,
    "housed": _housed,
    "pathway": _pathway,
    "cycles": _cycles,
    "outcomes": _outcomes,
    "costs": _costs,
    "deadlocks": _deadlocks,
    "obs": _observation,
    "group": _group,
}


# --- observations ----------------------------------------------------------------------------


_EPISODE_METRICS = frozenset(
    {
        "exits",
        "entries",
        "positive_share",
        "mean_stay",
        "turnover_time",
        "exits_per_100_person_years",
    }
)


def _observe(m: Measures, obs: Observation) -> float:
    scenario, record, ep = m.sc, m.record, m.ep
    win = _Window(scenario, record.horizon)
    metric = obs.metric
    if obs.on is not None and scenario.day(obs.on) > record.horizon:
        return math.nan
    if obs.end is not None and math.isnan(win.span(obs)[1]):
        return math.nan
    if metric in _EPISODE_METRICS:
        assert obs.node is not None
        a, b = win.span(obs)
        if metric == "entries" and isinstance(scenario.nodes[obs.node], ExitNode):
            arrived = (ep.outcome == ep.code(obs.node)) & (ep.exit >= a) & (ep.exit < b)
            return float(np.count_nonzero(arrived))  # from the street or any place
        if metric == "entries":
            return float(np.count_nonzero(m.at(obs.node) & (ep.entry >= a) & (ep.entry < b)))
        rows = m.at(obs.node) & (ep.exit >= a) & (ep.exit < b)
        if metric == "positive_share":
            known = ep.positive[rows]
            return _mean(known[known >= 0].astype(bool))
        if obs.outcome == "positive":
            rows &= ep.positive == 1
        elif obs.outcome == "negative":
            rows &= ep.positive == 0
        elif obs.outcome is not None:
            rows &= ep.outcome == ep.code(obs.outcome)
        count = int(np.count_nonzero(rows))
        if metric == "exits":
            return float(count)
        if metric == "exits_per_100_person_years":
            person_years = _person_years(scenario, record, obs.node, a, b)
            return 100.0 * count / person_years if person_years > 0 else math.nan
        if metric == "turnover_time":  # Little's law: occupancy / exit rate, as the audit did
            occupancy = record.series[f"occupancy.{obs.node}"].mean(a, b)
            return occupancy * (b - a) / count if count else math.nan
        return _mean(ep.exit[rows] - ep.entry[rows])
    if metric == "spending":
        return _spending(m, obs, *win.span(obs))
    if metric in ("visits", "visitors", "visits_per_day"):
        return _visits(scenario, record, obs, *win.span(obs))
    if metric in ("share_stay_over", "share_street_time_over"):
        assert obs.node is not None and obs.on is not None and obs.days is not None
        t = scenario.day(obs.on)
        here = m.at(obs.node) & (ep.entry <= t)
        residents = here & ((ep.exit > t) | np.isnan(ep.exit))
        if metric == "share_stay_over":
            return _mean((t - ep.entry[residents]) > obs.days)
        street_time = _street_time_before(m, np.flatnonzero(residents))
        return _mean(street_time > obs.days)
    assert obs.series is not None
    series = record.series[obs.series]
    if metric == "at":
        assert obs.on is not None
        return float(series.at(scenario.day(obs.on)))
    a, b = win.span(obs)
    return series.mean(a, b)


def _visits(scenario: Scenario, record: RunRecord, obs: Observation, a: float, b: float) -> float:
    """Served visits to a rest space in ``[a, b)``, the distinct people served (optionally
    only those with ``obs.attribute``), or visits per day."""
    assert obs.node is not None
    empty = (np.empty(0), np.empty(0, np.int64), np.empty((0, len(scenario.attributes)), bool))
    days, people, flags = record.visits.get(obs.node, empty)
    inside = (days >= a) & (days < b)
    if obs.metric == "visits":
        return float(np.count_nonzero(inside))
    if obs.metric == "visits_per_day":
        return float(np.count_nonzero(inside)) / (b - a) if b > a else math.nan
    if obs.attribute is not None:
        inside &= flags[:, list(scenario.attributes).index(obs.attribute)]
    return float(np.unique(people[inside]).size)


def _street_time_before(m: Measures, residents: np.ndarray) -> np.ndarray:
    """For residents who came straight from the street: how long that street episode lasted.

    Residents already in place at the start, or who came from another place, are left out.
    """
    ep = m.ep
    street = np.flatnonzero(m.at(m.sc.street_id) & np.isin(ep.person, ep.person[residents]))
    began: dict[tuple[int, float], list[float]] = {}
    for person, left, entry in zip(
        ep.person[street].tolist(), ep.exit[street].tolist(), ep.entry[street].tolist(), strict=True
    ):
        began.setdefault((person, left), []).append(entry)
    times = [
        entry - start
        for person, entry in zip(
            ep.person[residents].tolist(), ep.entry[residents].tolist(), strict=True
        )
        for start in began.get((person, entry), ())
    ]
    return np.asarray(times, dtype=float)


def observe(scenario: Scenario, record: RunRecord, ep: object | None, obs: Observation) -> float:
    """The value of one observation in one replication (NaN when undefined, e.g. no exits).

    ``ep`` is not read (it was the episodes frame; kept so callers need not change)."""
    return _observe(Measures(scenario, record), obs)


def _check_kept(record: RunRecord, family: tuple[str, ...]) -> None:
    if record.kept is not None and family[0] != "obs":
        raise ValueError(
            f"this replication kept only the episodes of its observations: {family[0]} "
            "KPIs need them all (run it without an episode filter)"
        )


def replication_kpis(
    scenario: Scenario, record: RunRecord, names: Iterable[str] | None = None
) -> dict[str, float]:
    """KPIs, subgroup KPIs and observations (``obs.<name>``) of one replication, over
    ``[warmup, end)``: every one in table order, or only ``names`` (in that order; a
    ``KeyError`` names an unknown one). Each family of KPIs is computed once, when asked."""
    m = Measures(scenario, record)
    if names is None:
        wanted = {name: family for name, _, family in catalogue.plan(scenario)}
    else:
        wanted = catalogue.families(scenario, names)
    values: dict[str, float] = {}
    for family in dict.fromkeys(wanted.values()):
        _check_kept(record, family)
        values.update(_FAMILIES[family[0]](m, *family[1:]))
    return {name: values[name] for name in wanted}


def kpis(scenario: Scenario, record: RunRecord, ep: object | None = None) -> dict[str, float]:
    """One replication's KPIs and observations (``obs.<name>``), without the subgroup KPIs
    (``ep`` is not read)."""
    names = [n for n, _, family in catalogue.plan(scenario) if family[0] != "group"]
    return replication_kpis(scenario, record, names)


def subgroup_kpis(sc: Scenario, record: RunRecord, ep: object | None = None) -> dict[str, float]:
    """Positive share of pathway exits for each person attribute and its complement."""
    m = Measures(sc, record)
    out: dict[str, float] = {}
    for attribute in sc.attributes:
        out.update(_group(m, attribute))
    return out


def observation_end(scenario: Scenario, obs: Observation) -> float:
    """The day from which nothing that happens changes ``obs``: the end of its window, or its
    day for a value on a date; the run's end for an observation without dates."""
    if obs.end is not None:
        return scenario.day(obs.end) + 1.0
    if obs.on is not None:
        return scenario.day(obs.on)
    return scenario.horizon


def observation_filter(scenario: Scenario, names: Iterable[str]) -> EpisodeFilter:
    """The person-episodes that the observations ``names`` read (for
    :func:`sim.engine.model.run_once`'s ``keep``): per node, those overlapping the
    observations' windows; for the street time before a stay, the street episodes that end
    by the observation day; the series they read, up to the end of their windows."""
    since: dict[str, float] = {}
    until: dict[str, float] = {}
    series: dict[str, float] = {}

    def keep(node: str, a: float, b: float) -> None:
        since[node] = min(since.get(node, math.inf), a)
        until[node] = max(until.get(node, -math.inf), b)

    for name in names:
        obs = scenario.observations[name]
        if obs.metric == "spending":
            _keep_spending(scenario, obs, keep, series)
            continue
        if obs.series is not None or obs.metric in ("turnover_time", "exits_per_100_person_years"):
            column = obs.series
            if column is None:
                column = "street" if obs.node == scenario.street_id else f"occupancy.{obs.node}"
            last = scenario.day(obs.on) if obs.on is not None else math.inf
            if obs.end is not None:
                last = scenario.day(obs.end) + 1.0
            series[column] = max(series.get(column, -math.inf), last)
        if obs.node is None:
            continue
        if obs.on is not None:
            t = scenario.day(obs.on)
            keep(obs.node, t, t)
            if obs.metric == "share_street_time_over":
                keep(scenario.street_id, -math.inf, t)
        if obs.start is not None and obs.end is not None:
            a, b = max(0.0, scenario.day(obs.start)), scenario.day(obs.end) + 1.0
            keep(obs.node, a, b)
            if isinstance(scenario.nodes.get(obs.node), ExitNode):  # arrivals from anywhere
                for node_id in scenario.nodes_of(StreetNode, AccommodationNode, DownstreamNode):
                    keep(node_id, a, b)
    return EpisodeFilter(since, until, series)


def _keep_spending(
    sc: Scenario,
    obs: Observation,
    keep: Callable[[str, float, float], None],
    series: dict[str, float],
) -> None:
    """What a spending observation reads: the places' capacity (occupancy for a release
    node) up to the end of its window, and the admissions inside it for a cost per entry."""
    assert obs.start is not None and obs.end is not None
    a, b = max(0.0, sc.day(obs.start)), sc.day(obs.end) + 1.0
    chosen = obs.spending_nodes
    for node_id in chosen if chosen is not None else list(sc.nodes):
        node = sc.nodes[node_id]
        if not isinstance(node, AccommodationNode | DownstreamNode):
            continue
        if node.cost_per_place_day is not None:
            column = f"{_cost_basis(node)}.{node_id}"
            series[column] = max(series.get(column, -math.inf), b)
        if node.cost_per_entry is not None:
            keep(node_id, a, b)


def observations(
    scenario: Scenario, record: RunRecord, names: Iterable[str] | None = None
) -> dict[str, float]:
    """Observation values (by observation name, without ``obs.``) of one replication: those
    named, or every one of the scenario."""
    m = Measures(scenario, record)
    chosen = list(scenario.observations) if names is None else list(names)
    return {name: _observe(m, scenario.observations[name]) for name in chosen}


def summarise(kpi_table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and Student-t CI half-width across replications for every KPI column.

    With a ``draw`` column of two or more parameter draws, the replications of a draw share
    its parameters, so they are not independent: the statistics are those of the per-draw
    means (``n`` is then the number of draws), which carry parameter uncertainty."""
    units = kpi_table
    if "draw" in kpi_table.columns and kpi_table["draw"].nunique() > 1:
        units = kpi_table.groupby("draw").mean(numeric_only=True).reset_index()
    rows = []
    for column in units.columns:
        if column in ("replication", "seed", "draw"):
            continue
        mean, sd, half, n = describe(units[column].astype(float).dropna().to_numpy(), confidence)
        rows.append({"kpi": column, "mean": mean, "sd": sd, "ci95": half, "n": n})
    return pd.DataFrame(rows, columns=["kpi", "mean", "sd", "ci95", "n"])

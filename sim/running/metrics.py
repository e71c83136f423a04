"""KPIs and observations computed from a run record, and summaries across replications.

All windows are half-open in model days: a window ``from``..``to`` (dates, inclusive) covers
``[day(from), day(to) + 1)``, clipped to the run. KPIs cover ``[warmup, end)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.engine.record import EPISODE_COLUMNS, RunRecord, Series
from sim.inputs.scenario import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    AccommodationNode,
    DownstreamNode,
    ExitNode,
    Observation,
    RestSpaceNode,
    Scenario,
)
from sim.running.statistics import describe


def episodes_frame(record: RunRecord) -> pd.DataFrame:
    """The record's person-episodes as a DataFrame (one row per person-episode per node)."""
    df = pd.DataFrame({c: record.episodes[c] for c in EPISODE_COLUMNS})
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


def _exits(ep: pd.DataFrame, node: str, a: float, b: float) -> pd.DataFrame:
    return ep[(ep["node"] == node) & (ep["exit"] >= a) & (ep["exit"] < b)]


def _outcome_filter(df: pd.DataFrame, outcome: str | None) -> pd.DataFrame:
    if outcome is None:
        return df
    if outcome == "positive":
        return df[df["positive"].fillna(False).astype(bool)]
    if outcome == "negative":
        return df[~df["positive"].fillna(True).astype(bool)]
    return df[df["outcome"] == outcome]


def _residents(ep: pd.DataFrame, node: str, t: float) -> pd.DataFrame:
    here = ep[(ep["node"] == node) & (ep["entry"] <= t)]
    return here[(here["exit"] > t) | here["exit"].isna()]


def observe(scenario: Scenario, record: RunRecord, ep: pd.DataFrame, obs: Observation) -> float:
    """The value of one observation in one replication (NaN when undefined, e.g. no exits)."""
    win = _Window(scenario, record.horizon)
    metric = obs.metric
    if obs.on is not None and scenario.day(obs.on) > record.horizon:
        return math.nan
    if obs.end is not None and math.isnan(win.span(obs)[1]):
        return math.nan
    if metric in ("exits", "entries", "positive_share", "mean_stay", "turnover_time"):
        assert obs.node is not None
        a, b = win.span(obs)
        if metric == "entries":
            rows = ep[(ep["node"] == obs.node) & (ep["entry"] >= a) & (ep["entry"] < b)]
            return float(len(rows))
        rows = _exits(ep, obs.node, a, b)
        if metric == "positive_share":
            known = rows["positive"].dropna()
            return float(known.astype(bool).mean()) if len(known) else math.nan
        rows = _outcome_filter(rows, obs.outcome)
        if metric == "exits":
            return float(len(rows))
        if metric == "turnover_time":  # Little's law: occupancy / exit rate, as the audit did
            occupancy = record.series[f"occupancy.{obs.node}"].mean(a, b)
            return occupancy * (b - a) / len(rows) if len(rows) else math.nan
        return float((rows["exit"] - rows["entry"]).mean()) if len(rows) else math.nan
    if metric in ("share_stay_over", "share_street_time_over"):
        assert obs.node is not None and obs.on is not None and obs.days is not None
        t = scenario.day(obs.on)
        res = _residents(ep, obs.node, t)
        if metric == "share_stay_over":
            return float(((t - res["entry"]) > obs.days).mean()) if len(res) else math.nan
        street_time = _street_time_before(ep, res)
        return float((street_time > obs.days).mean()) if len(street_time) else math.nan
    assert obs.series is not None
    series = record.series[obs.series]
    if metric == "at":
        assert obs.on is not None
        return float(series.at(scenario.day(obs.on)))
    a, b = win.span(obs)
    return series.mean(a, b)


def _street_time_before(ep: pd.DataFrame, residents: pd.DataFrame) -> pd.Series:
    """For residents who came straight from the street: how long that street episode lasted.

    Residents already in place at the start, or who came from another place, are left out.
    """
    street = ep[ep["node"] == "street"][["person", "exit", "entry"]]
    street = street.rename(columns={"entry": "street_entry", "exit": "entry"})
    joined = residents[["person", "entry"]].merge(street, on=["person", "entry"], how="inner")
    return joined["entry"] - joined["street_entry"]


def kpis(scenario: Scenario, record: RunRecord, ep: pd.DataFrame | None = None) -> dict[str, float]:
    """One replication's KPIs and observations (``obs.<name>``), over ``[warmup, end)``."""
    sc = scenario
    if ep is None:
        ep = episodes_frame(record)
    a, b = min(record.warmup, record.horizon), record.horizon
    months = max(b - a, 1e-9) / DAYS_PER_MONTH
    years = max(b - a, 1e-9) / DAYS_PER_YEAR
    s: dict[str, Series] = record.series
    out: dict[str, float] = {
        "street.mean": s["street"].mean(a, b),
        "street.end": float(s["street"].at(b - 1e-9)),
    }
    done = ep[(ep["exit"] >= a) & (ep["exit"] < b)]
    entered = ep[(ep["entry"] >= a) & (ep["entry"] < b)]
    total_cost = 0.0
    places_cost = 0.0  # cost of the places people stay in (accommodation and downstream)
    housed = 0.0
    in_costed_places = 0.0
    for node_id, node in sc.nodes_of(AccommodationNode, DownstreamNode).items():
        release = isinstance(node, DownstreamNode) and node.releases_per_month is not None
        occ = s[f"occupancy.{node_id}"]
        if isinstance(node, AccommodationNode):
            out[f"waiting.{node_id}.mean"] = s[f"waiting.{node_id}"].mean(a, b)
            out[f"waiting.{node_id}.max"] = s[f"waiting.{node_id}"].maximum(a, b)
            housed += occ.mean(a, b)
        out[f"occupancy.{node_id}.mean"] = occ.mean(a, b)
        if not release:
            cap = s[f"capacity.{node_id}"].integral(a, b)
            out[f"utilisation.{node_id}"] = occ.integral(a, b) / cap if cap > 0 else math.nan
            blocked = s[f"blocked.{node_id}"].integral(a, b)
            out[f"blocked.{node_id}.mean"] = blocked / (b - a)
            out[f"blocked_days_per_place_year.{node_id}"] = (
                blocked / cap * DAYS_PER_YEAR if cap > 0 else math.nan
            )
        node_exits = done[done["node"] == node_id]
        stays = node_exits["exit"] - node_exits["entry"]
        out[f"stay.{node_id}.mean"] = float(stays.mean()) if len(stays) else math.nan
        out[f"stay.{node_id}.median"] = float(stays.median()) if len(stays) else math.nan
        out[f"entries.{node_id}.per_month"] = float((entered["node"] == node_id).sum()) / months
        out[f"exits.{node_id}.per_month"] = float(len(node_exits)) / months
        known = node_exits["positive"].dropna()
        out[f"positive_share.{node_id}"] = (
            float(known.astype(bool).mean()) if len(known) else math.nan
        )
        waits = done[done["blocked_on"] == node_id]
        out[f"blocked_time.{node_id}.mean"] = (
            float((waits["exit"] - waits["ready"]).mean()) if len(waits) else math.nan
        )
        if node.cost_per_place_day is not None:
            base = occ if release else s[f"capacity.{node_id}"]
            cost = base.integral(a, b) * node.cost_per_place_day / years
            out[f"cost.{node_id}.per_year"] = cost
            total_cost += cost
            places_cost += cost
            in_costed_places += occ.mean(a, b)
    for node_id, node in sc.nodes_of(RestSpaceNode).items():
        if node.cost_per_place_day is not None:
            from sim.engine.schedule import Steps

            steps = Steps.of(node.places, sc.start)
            place_days = Series(np.asarray(steps.days), np.asarray(steps.values)).integral(a, b)
            cost = place_days * node.cost_per_place_day / years
            out[f"cost.{node_id}.per_year"] = cost
            total_cost += cost
    for node_id, node in sc.nodes.items():
        if node.kind == "outreach" and node.cost_per_year is not None:
            out[f"cost.{node_id}.per_year"] = node.cost_per_year
            total_cost += node.cost_per_year
    out["housed.mean"] = housed
    out.update(_pathway_kpis(sc, ep, done, a, b, months))
    out["cost.total.per_year"] = total_cost
    # the places' cost over the person-years spent in those same places (rest spaces and
    # patrols house nobody: they are in the total, not here)
    out["cost.places.per_year"] = places_cost
    out["housed.costed_places.mean"] = in_costed_places
    out["cost.per_person_year_housed"] = (
        places_cost / in_costed_places if in_costed_places > 0 else math.nan
    )
    positives_per_year = out["exits.positive.per_month"] * 12.0
    out["cost.per_positive_exit"] = (
        total_cost / positives_per_year if positives_per_year > 0 else math.nan
    )
    out["deadlocks"] = float(len(record.deadlocks))
    for name, obs in sc.observations.items():
        out[f"obs.{name}"] = observe(sc, record, ep, obs)
    return out


def _pathway_kpis(
    sc: Scenario, ep: pd.DataFrame, done: pd.DataFrame, a: float, b: float, months: float
) -> dict[str, float]:
    """Whole-pathway KPIs: exits from the pathway, contact to housing, cycles, subgroups."""
    exit_ids = set(sc.nodes_of(ExitNode))
    accommodation = set(sc.nodes_of(AccommodationNode))
    out: dict[str, float] = {}
    leaving = done[done["outcome"].isin(exit_ids)]
    positive = leaving["positive"].fillna(False).astype(bool)
    out["exits.pathway.per_month"] = float(len(leaving)) / months
    out["exits.positive.per_month"] = float(positive.sum()) / months
    out["positive_share"] = float(positive.mean()) if len(leaving) else math.nan
    street = done[done["node"] == sc.street_id]
    housed = street[street["outcome"].isin(accommodation)]
    out["contact_to_housing.mean"] = (
        float((housed["exit"] - housed["ready"]).mean()) if len(housed) else math.nan
    )
    first_entry = ep.groupby("person")["entry"].min()
    positives = leaving[positive]
    if len(positives):
        durations = positives["exit"].to_numpy() - first_entry.loc[positives["person"]].to_numpy()
        out["time_to_positive_exit.mean"] = float(np.mean(durations))
    else:
        out["time_to_positive_exit.mean"] = math.nan
    episodes = ep[ep["node"] == sc.street_id].groupby("person")["episode"].max()
    out["street_episodes_per_person.mean"] = float(episodes.mean()) if len(episodes) else math.nan
    out["street_hotel_cycles.per_housed_person"] = _street_hotel_cycles(sc, ep, accommodation, a, b)
    return out


def _street_hotel_cycles(
    sc: Scenario, ep: pd.DataFrame, accommodation: set[str], a: float, b: float
) -> float:
    """Returns to the street straight from an accommodation stay that begin in ``[a, b)``,
    per person who stayed in accommodation during ``[a, b)``: the street-hotel cycles."""
    stays = ep[ep["node"].isin(accommodation)]
    people = stays[(stays["entry"] < b) & ~(stays["exit"] < a)]["person"].nunique()
    if not people:
        return math.nan
    places = ep[ep["node"] != sc.street_id].sort_values("entry", kind="stable")
    last = places.groupby(["person", "episode"]).tail(1)  # the place they left from
    from_a_hotel = last[last["node"].isin(accommodation)][["person", "episode"]]
    from_a_hotel = from_a_hotel.assign(episode=from_a_hotel["episode"] + 1)
    street = ep[(ep["node"] == sc.street_id) & (ep["entry"] >= a) & (ep["entry"] < b)]
    returns = street[["person", "episode"]].merge(from_a_hotel, on=["person", "episode"])
    return float(len(returns)) / people


def subgroup_kpis(sc: Scenario, record: RunRecord, ep: pd.DataFrame) -> dict[str, float]:
    """Positive share of pathway exits for each person attribute and its complement."""
    out: dict[str, float] = {}
    if not sc.attributes:
        return out
    a, b = min(record.warmup, record.horizon), record.horizon
    people = pd.DataFrame(record.people)
    exit_ids = set(sc.nodes_of(ExitNode))
    leaving = ep[(ep["exit"] >= a) & (ep["exit"] < b) & ep["outcome"].isin(exit_ids)]
    leaving = leaving.merge(people, on="person", how="left")
    positive = leaving["positive"].fillna(False).astype(bool)
    for attribute in sc.attributes:
        flag = leaving[attribute].astype(bool)
        for label, mask in ((attribute, flag), (f"not_{attribute}", ~flag)):
            out[f"positive_share.{label}"] = (
                float(positive[mask].mean()) if mask.any() else math.nan
            )
            out[f"exits.{label}.per_month"] = float(mask.sum()) / ((b - a) / DAYS_PER_MONTH)
    return out


def replication_kpis(scenario: Scenario, record: RunRecord) -> dict[str, float]:
    """Every KPI, subgroup KPI and observation of one replication."""
    ep = episodes_frame(record)
    out = kpis(scenario, record, ep)
    out.update(subgroup_kpis(scenario, record, ep))
    return out


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

"""What a run records: person-episodes, time series changes and people. No statistics here.

Processes call the recorder at state changes; metrics are computed afterwards from the
finished :class:`RunRecord`. Time series are stored as step functions (change times and
values), so time-weighted totals are exact without polling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

NAN = math.nan

EPISODE_COLUMNS = (
    "person",
    "episode",
    "node",
    "queued",
    "entry",
    "ready",
    "exit",
    "outcome",
    "positive",
    "blocked_on",
)


@dataclasses.dataclass(frozen=True)
class Series:
    """A right-continuous step function: ``values[i]`` holds from ``times[i]`` on."""

    times: np.ndarray
    values: np.ndarray

    def at(self, t: float | np.ndarray) -> np.ndarray:
        """Value(s) at time(s) ``t`` (after every change at exactly ``t``)."""
        idx = np.searchsorted(self.times, t, side="right") - 1
        return np.where(idx >= 0, self.values[np.maximum(idx, 0)], 0.0)

    def integral(self, a: float, b: float) -> float:
        """Integral of the step function over ``[a, b]``."""
        if b <= a:
            return 0.0
        edges = np.concatenate(([a], self.times[(self.times > a) & (self.times < b)], [b]))
        return float(np.sum(self.at(edges[:-1]) * np.diff(edges)))

    def mean(self, a: float, b: float) -> float:
        """Time-weighted mean over ``[a, b]``."""
        return self.integral(a, b) / (b - a) if b > a else float(self.at(a))

    def maximum(self, a: float, b: float) -> float:
        """Largest value taken over ``[a, b]``."""
        inside = self.values[(self.times > a) & (self.times <= b)]
        return float(max(float(self.at(a)), float(inside.max()) if inside.size else -math.inf))


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """Everything one replication produced, as plain arrays and lists."""

    replication: int
    seed: int
    horizon: float
    warmup: float
    episodes: dict[str, list[object]]
    people: dict[str, list[object]]
    series: dict[str, Series]
    deadlocks: list[tuple[float, tuple[str, ...]]]
    events: int


class Recorder:
    """Collects episodes, people and series changes during a run."""

    def __init__(self, series_names: list[str], attribute_names: list[str]) -> None:
        self._rows: list[tuple[object, ...]] = []
        self.people: dict[str, list[object]] = {
            c: [] for c in ("person", "created", *attribute_names)
        }
        self._attributes = attribute_names
        self.series_index = {name: i for i, name in enumerate(series_names)}
        self._times: list[list[float]] = [[] for _ in series_names]
        self._values: list[list[float]] = [[] for _ in series_names]
        self.deadlocks: list[tuple[float, tuple[str, ...]]] = []

    def person(self, person_id: int, created: float, attributes: tuple[bool, ...]) -> None:
        """Record a new person and their attributes."""
        self.people["person"].append(person_id)
        self.people["created"].append(created)
        for name, value in zip(self._attributes, attributes, strict=True):
            self.people[name].append(value)

    def episode(
        self,
        person: int,
        episode: int,
        node: str,
        queued: float,
        entry: float,
        ready: float,
        exit: float,
        outcome: str,
        positive: bool | None,
        blocked_on: str,
    ) -> None:
        """Record one person-episode at one node (``exit`` NaN while still there)."""
        self._rows.append(
            (person, episode, node, queued, entry, ready, exit, outcome, positive, blocked_on)
        )

    def change(self, index: int, t: float, value: float) -> None:
        """Record that series ``index`` takes ``value`` from time ``t`` on."""
        times = self._times[index]
        if times and times[-1] == t:
            self._values[index][-1] = value
        else:
            times.append(t)
            self._values[index].append(value)

    def finish(
        self, replication: int, seed: int, horizon: float, warmup: float, events: int
    ) -> RunRecord:
        """Freeze what was recorded into a :class:`RunRecord`."""
        series = {
            name: Series(np.asarray(self._times[i], float), np.asarray(self._values[i], float))
            for name, i in self.series_index.items()
        }
        columns = list(zip(*self._rows, strict=True)) or [() for _ in EPISODE_COLUMNS]
        episodes = {c: list(v) for c, v in zip(EPISODE_COLUMNS, columns, strict=True)}
        return RunRecord(
            replication,
            seed,
            horizon,
            warmup,
            episodes,
            self.people,
            series,
            self.deadlocks,
            events,
        )

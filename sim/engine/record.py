"""What a run records: person-episodes, time series changes and people, as numpy arrays.
No statistics here.

Processes call the recorder at state changes; metrics are computed afterwards from the
finished :class:`RunRecord`. Time series are stored as step functions (change times and
values), so time-weighted totals are exact without polling.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

import numpy as np

NAN = math.nan
_POSITIVE = {None: -1, False: 0, True: 1}

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


@dataclasses.dataclass(frozen=True, eq=False)
class Episodes(Mapping[str, list[object]]):
    """Person-episodes as numpy columns; node, outcome and ``blocked_on`` are codes into
    ``names`` (code 0 is the empty name), ``positive`` is 1, 0 or -1 (unknown).

    Read as a mapping, it is what the record always was: column name (``EPISODE_COLUMNS``)
    to a list of Python values (names, ``None`` for an unknown outcome)."""

    names: tuple[str, ...]
    person: np.ndarray
    episode: np.ndarray
    node: np.ndarray
    queued: np.ndarray
    entry: np.ndarray
    ready: np.ndarray
    exit: np.ndarray
    outcome: np.ndarray
    positive: np.ndarray
    blocked_on: np.ndarray

    @property
    def rows(self) -> int:
        """How many person-episodes."""
        return int(self.person.size)

    def __len__(self) -> int:
        return len(EPISODE_COLUMNS)

    def __iter__(self) -> Iterator[str]:
        return iter(EPISODE_COLUMNS)

    def __getitem__(self, name: str) -> list[object]:
        if name not in EPISODE_COLUMNS:
            raise KeyError(name)
        return self.column(name)

    def code(self, name: str) -> int:
        """The code of a node or outcome name (-1, matching no row, if none has it)."""
        try:
            return self.names.index(name)
        except ValueError:
            return -1

    def codes(self, names: Iterable[str]) -> np.ndarray:
        """The codes of several names (those no row has are left out)."""
        return np.asarray([c for c in (self.code(n) for n in names) if c >= 0], dtype=np.int32)

    def column(self, name: str) -> list[object]:
        """One column as Python values (names for coded columns, None for unknown)."""
        values = getattr(self, name)
        if name in ("node", "outcome", "blocked_on"):
            return [self.names[c] for c in values.tolist()]
        if name == "positive":
            return [None if v < 0 else bool(v) for v in values.tolist()]
        return list(values.tolist())


@dataclasses.dataclass(frozen=True)
class EpisodeFilter:
    """Which person-episodes a replication keeps when only some observations are wanted:
    those at a listed node that overlap the node's days ``[since, until]`` (they end at or
    after ``since``, or never, and begin at or before ``until``). What is kept then depends on
    the observations' windows, not on the length of the run."""

    since: dict[str, float]
    until: dict[str, float]
    series: dict[str, float] = dataclasses.field(default_factory=dict)
    """The series kept, each up to a day (changes after it are dropped); no person is kept."""


def _ignore(_row: object) -> None:
    """A writer that keeps nothing."""


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """Everything one replication produced, as numpy arrays and lists."""

    replication: int
    seed: int
    horizon: float
    warmup: float
    episodes: Episodes
    people: dict[str, list[object]]
    series: dict[str, Series]
    deadlocks: list[tuple[float, tuple[str, ...]]]
    events: int
    kept: EpisodeFilter | None = None
    visits: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = dataclasses.field(
        default_factory=dict
    )
    """Served rest-space visits by node: (days, person ids, the visitors' attribute flags, one
    column per attribute), for rest spaces with a reach."""


class Recorder:
    """Collects episodes, people and series changes during a run.

    With an :class:`EpisodeFilter`, episodes it leaves out are dropped as they close, so a
    replication run for its observations keeps no rows outside their windows."""

    def __init__(
        self,
        series_names: list[str],
        attribute_names: list[str],
        keep: EpisodeFilter | None = None,
    ) -> None:
        self._rows: list[tuple[object, ...]] = []
        self._people: list[tuple[int, float, tuple[bool, ...]]] = []
        self._attributes = attribute_names
        self._keep = keep
        self._since = keep.since if keep is not None else {}
        self._until = keep.until if keep is not None else {}
        # with a filter, only the series the observations read, up to their windows, and no
        # person
        self._series_until = [
            keep.series.get(name, -math.inf) if keep is not None else math.inf
            for name in series_names
        ]
        self.series_index = {name: i for i, name in enumerate(series_names)}
        self._times: list[array[float]] = [array("d") for _ in series_names]
        self._values: list[array[float]] = [array("d") for _ in series_names]
        self.deadlocks: list[tuple[float, tuple[str, ...]]] = []
        self._visits: dict[str, tuple[list[float], list[int], list[tuple[bool, ...]]]] = {}

    def person_writer(self) -> Callable[[tuple[int, float, tuple[bool, ...]]], None]:
        """What the engine calls with each new person as ``(id, created, attributes)``: the
        list's own append, or nothing with a filter (no person is kept then)."""
        if self._keep is None:
            return self._people.append
        return _ignore

    @property
    def people(self) -> dict[str, list[object]]:
        """The people recorded so far, by column: ``person``, ``created`` and one column per
        attribute."""
        rows = self._people
        columns: dict[str, list[object]] = {
            "person": [row[0] for row in rows],
            "created": [row[1] for row in rows],
        }
        for i, name in enumerate(self._attributes):
            columns[name] = [row[2][i] for row in rows]
        return columns

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
        if self._keep is not None and not self._kept(node, entry, exit):
            return
        self._rows.append(
            (person, episode, node, queued, entry, ready, exit, outcome, positive, blocked_on)
        )

    def _kept(self, node: str, entry: float, exit: float) -> bool:
        """Whether the filter keeps an episode at ``node`` (``exit`` NaN: still open)."""
        since = self._since.get(node)
        return not (since is None or exit < since or entry > self._until[node])

    def episode_writer(self) -> Callable[[tuple[object, ...]], None]:
        """What the engine calls with each episode as a row (in ``EPISODE_COLUMNS`` order): the
        list's own append when nothing is filtered, so no Python call per episode."""
        if self._keep is None:
            return self._rows.append
        return lambda row: self.episode(*row)  # type: ignore[arg-type]

    def visits(self, node: str, t: float, people: list[int], attrs: list[tuple[bool, ...]]) -> None:
        """Record served visits to rest space ``node`` on day ``t``, one per person listed
        (with their attributes); with a filter, only on the days its observations of ``node``
        read, so what is kept does not grow with the length of the run."""
        if self._keep is not None and not (
            self._since.get(node, math.inf) <= t <= self._until.get(node, -math.inf)
        ):
            return
        days, ids, flags = self._visits.setdefault(node, ([], [], []))
        days.extend([t] * len(people))
        ids.extend(people)
        flags.extend(attrs)

    def change(self, index: int, t: float, value: float) -> None:
        """Record that series ``index`` takes ``value`` from time ``t`` on."""
        self.writer(index)(t, value)

    def writer(self, index: int) -> Callable[[float, float], None]:
        """What the engine calls at each change of series ``index``: :meth:`change` for that
        series, with its arrays at hand (and, with a filter, dropping changes after its day)."""
        times, values = self._times[index], self._values[index]

        def write(t: float, value: float) -> None:
            if times and times[-1] == t:
                values[-1] = value
            else:
                times.append(t)
                values.append(value)

        if self._keep is None:
            return write
        until = self._series_until[index]

        def write_within(t: float, value: float) -> None:
            if t <= until:
                if times and times[-1] == t:
                    values[-1] = value
                else:
                    times.append(t)
                    values.append(value)

        return write_within

    def _episodes(self, rows: list[tuple[object, ...]]) -> Episodes:
        n = len(rows)
        columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [()] * 10
        names: dict[str, int] = {"": 0}
        for i in (2, 7, 9):
            for name in dict.fromkeys(columns[i]):
                names.setdefault(name, len(names))

        def coded(i: int) -> np.ndarray:
            return np.fromiter(map(names.__getitem__, columns[i]), dtype=np.int32, count=n)

        def floats(i: int) -> np.ndarray:
            return np.fromiter(columns[i], dtype=np.float64, count=n)

        return Episodes(
            names=tuple(names),
            person=np.fromiter(columns[0], dtype=np.int64, count=n),
            episode=np.fromiter(columns[1], dtype=np.int64, count=n),
            node=coded(2),
            queued=floats(3),
            entry=floats(4),
            ready=floats(5),
            exit=floats(6),
            outcome=coded(7),
            positive=np.fromiter(map(_POSITIVE.__getitem__, columns[8]), dtype=np.int8, count=n),
            blocked_on=coded(9),
        )

    def finish(
        self, replication: int, seed: int, horizon: float, warmup: float, events: int
    ) -> RunRecord:
        """Freeze what was recorded into a :class:`RunRecord`."""
        episodes = self._episodes(self._rows)
        self._rows = []
        return self._record(episodes, replication, seed, horizon, warmup, events, copy=False)

    def snapshot(
        self,
        open_rows: list[tuple[object, ...]],
        replication: int,
        seed: int,
        now: float,
        warmup: float,
    ) -> RunRecord:
        """What was recorded so far, plus ``open_rows`` (the episodes still open, exit NaN,
        filtered as any other), as a :class:`RunRecord` ending ``now``; recording goes on
        untouched. Its event count is 0 (not counted)."""
        rows = list(self._rows)
        for row in open_rows:
            if self._keep is None or self._kept(str(row[2]), cast(float, row[4]), math.nan):
                rows.append(row)
        return self._record(self._episodes(rows), replication, seed, now, warmup, 0, copy=True)

    def _record(
        self,
        episodes: Episodes,
        replication: int,
        seed: int,
        horizon: float,
        warmup: float,
        events: int,
        copy: bool,
    ) -> RunRecord:
        def frozen(values: array[float]) -> np.ndarray:
            return np.array(values) if copy else np.frombuffer(values)

        series = {
            name: Series(frozen(self._times[i]), frozen(self._values[i]))
            for name, i in self.series_index.items()
        }
        return RunRecord(
            replication,
            seed,
            horizon,
            warmup,
            episodes,
            self.people,
            series,
            list(self.deadlocks) if copy else self.deadlocks,
            events,
            self._keep,
            {
                node: (
                    np.asarray(days, float),
                    np.asarray(ids, np.int64),
                    np.asarray(flags, bool).reshape(len(ids), len(self._attributes)),
                )
                for node, (days, ids, flags) in self._visits.items()
            },
        )

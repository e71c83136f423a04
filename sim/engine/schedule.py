"""Piecewise-constant schedules in model time (days from the scenario start)."""

from __future__ import annotations

import bisect
import datetime as dt
import math

from sim.inputs.scenario import Schedule, schedule_steps


class Steps:
    """A piecewise-constant function of time: ``values[i]`` from ``days[i]`` on."""

    __slots__ = ("days", "values")

    def __init__(self, days: list[float], values: list[float]) -> None:
        self.days = days
        self.values = values

    @classmethod
    def of(cls, schedule: Schedule, start: dt.date, scale: float = 1.0) -> Steps:
        """Build from a scenario schedule, values multiplied by ``scale``."""
        pairs = schedule_steps(schedule, start)
        return cls([d for d, _ in pairs], [v * scale for _, v in pairs])

    def at(self, t: float) -> float:
        """The value in force at time ``t`` (a step at ``t`` already applies)."""
        i = bisect.bisect_right(self.days, t) - 1
        return self.values[max(i, 0)]

    def next_change(self, t: float) -> float:
        """The first step time strictly after ``t`` (infinity if none)."""
        i = bisect.bisect_right(self.days, t)
        return self.days[i] if i < len(self.days) else math.inf

    def changes_after(self, t: float) -> list[tuple[float, float]]:
        """Steps strictly after ``t``, as ``(day, value)``."""
        i = bisect.bisect_right(self.days, t)
        return list(zip(self.days[i:], self.values[i:], strict=True))

    def maximum_before(self, t: float, end: float) -> float:
        """The largest value in force between ``t`` and ``end`` (excluded)."""
        return max([self.at(t), *(v for d, v in self.changes_after(t) if d < end)])

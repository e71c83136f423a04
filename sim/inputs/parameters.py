"""Setting numbers of a resolved scenario by dotted path (calibration, posterior draws).

Two rules make a parameter set drawn on one scenario mean the same thing on the scenarios
that extend it:

- **Paths by name.** A named parameter is set at the paths the *target* scenario's own
  ``calibration:`` block gives for that name, when it has one, else at the paths saved with
  the draws. A scenario that adds a node following a fitted rate lists it there (the étape 2
  outreach scenario ties its Chapelle extension to ``rest_space_referral`` this way).
- **Routing shares.** A parameter with ``rescale_siblings`` sets its share of a routing to
  the value drawn; the entries no parameter sets share what is left of the routing's total, in
  proportion to their values in the file. With several such parameters in one routing, each
  share is the value drawn, whatever the order and whatever the file says of them: a
  calibration does not depend on the point values written back into its scenario.
- **Schedules: the one rule.** A path that holds a schedule follows the rule of
  :mod:`sim.inputs.paths`: the value replaces the schedule, unless the parameter declares
  ``on_schedule: scale`` (its first step then takes the value and every later step keeps its
  ratio to it, so the relative change an alternative makes survives a draw).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.inputs.loading import ScenarioError, validate_json_data
from sim.inputs.paths import OnSchedule, PathError, is_schedule, locate, path_parts, put
from sim.inputs.scenario import FreeParameter, Scenario

PARAMETERS_KEY = b"parcours.parameters"


def prior_value(parameter: FreeParameter, u: float) -> float:
    """The value at place ``u`` (0 to 1) of the parameter's prior range: linear for a uniform
    prior, on the log scale for a log-uniform one."""
    low, high = parameter.lower, parameter.upper
    if parameter.prior == "loguniform":
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def prior_place(parameter: FreeParameter, value: float) -> float:
    """Where ``value`` lies in the prior range, from 0 to 1 (the inverse of
    :func:`prior_value`)."""
    low, high = parameter.lower, parameter.upper
    if parameter.prior == "loguniform":
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data (dates as ISO strings), ready to edit and re-validate."""
    data: dict[str, Any] = json.loads(
        json.dumps(scenario.model_dump(mode="json", by_alias=True, exclude_none=True))
    )
    return data


def set_path(
    data: dict[str, Any], path: str, value: float, on_schedule: OnSchedule = "replace"
) -> None:
    """Set the number at ``path`` by the schedule rule of :mod:`sim.inputs.paths`."""
    container, key, _ = locate(data, path_parts(path))
    old = container[key] if isinstance(container, list) or key in container else None  # type: ignore[index]
    if old is None or (not is_schedule(old) and not _is_number(old)):
        raise TypeError(path)
    put(container, key, value, on_schedule)


def _rescale(container: dict[str, Any], original: dict[str, float], set_keys: set[str]) -> None:
    """The entries of a routing not set by a parameter share what the set ones leave of the
    routing's original total, in proportion to their values in the file."""
    total = sum(original.values())
    fixed = sum(float(container[k]) for k in set_keys)
    rest = sum(v for k, v in original.items() if k not in set_keys)
    for k, v in original.items():
        if k not in set_keys:
            container[k] = (total - fixed) * v / rest if rest > 0 else 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def apply(
    scenario: Scenario,
    values: Mapping[str, float],
    spec: Mapping[str, FreeParameter] | None = None,
) -> Scenario:
    """A copy of ``scenario`` with parameter values set: by name, at the paths of the
    scenario's own calibration block or else of ``spec`` (see the module), or by path.

    >>> apply(sc, {"nodes.assore.readiness.mean": 300.0})                  # doctest: +SKIP
    """
    data = scenario_data(scenario)
    own = scenario.calibration.parameters if scenario.calibration is not None else {}
    routings: dict[int, tuple[dict[str, Any], dict[str, float], set[str]]] = {}
    for name, value in values.items():
        parameter = own.get(name) or (spec.get(name) if spec is not None else None)
        paths = parameter.paths if parameter is not None else [name]
        rescale = parameter.rescale_siblings if parameter is not None else False
        on_schedule = parameter.on_schedule if parameter is not None else "replace"
        for path in paths:
            try:
                if rescale:
                    container, key, _ = locate(data, path_parts(path))
                    if isinstance(container, dict) and _is_number(container.get(key)):
                        original = {k: float(v) for k, v in container.items()}
                        routing = routings.setdefault(id(container), (container, original, set()))
                        routing[2].add(str(key))
                set_path(data, path, float(value), on_schedule)
            except (KeyError, IndexError, TypeError, PathError) as err:
                raise _bad_path(path, "no such number in the scenario") from err
            except ValueError as err:
                raise _bad_path(path, f"{err}; name a step ({path}.N.value)") from err
    for container, original, set_keys in routings.values():
        _rescale(container, original, set_keys)
    return validate_json_data(data, "<parameters>")


def _bad_path(path: str, message: str) -> ScenarioError:
    from sim.inputs.loading import Problem

    return ScenarioError([Problem("<parameters>", 0, path, message)])


def write_parameter_sets(
    frame: pd.DataFrame, spec: Mapping[str, FreeParameter], path: Path
) -> None:
    """Save parameter sets (one row each, a column per parameter name) with their paths."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PARAMETERS_KEY] = json.dumps(
        {name: p.model_dump(mode="json") for name, p in spec.items()}
    ).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def read_parameter_sets(path: Path | str) -> tuple[pd.DataFrame, dict[str, FreeParameter]]:
    """Load parameter sets saved by :func:`write_parameter_sets`."""
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(PARAMETERS_KEY)
    if raw is None:
        raise ValueError(f"{path}: not a parcours parameter file (no parameter metadata)")
    spec = {
        name: FreeParameter.model_validate_json(json.dumps(p))
        for name, p in json.loads(raw).items()
    }
    return table.to_pandas(), spec


def draws(path: Path | str, count: int) -> tuple[list[dict[str, float]], dict[str, FreeParameter]]:
    """The first ``count`` parameter sets of a posterior file (its rows are in a fixed,
    shuffled order, so the first ``count`` are a random subsample and every scenario compared
    gets the same draws)."""
    frame, spec = read_parameter_sets(path)
    if count > len(frame):
        raise ValueError(f"{path} holds {len(frame)} parameter sets; asked for {count}")
    rows = frame[list(spec)].head(count)
    sets = [{str(k): float(v) for k, v in row.items()} for _, row in rows.iterrows()]
    return sets, spec

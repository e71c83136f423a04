"""The report's "limits" section, generated from the reference scenario and its calibration:
which street counts the model is fitted to and from when none constrains it, and which
fitted parameters the figures leave open (the ABC verdict: the calibration's intervals, else
the spread of the posterior draws the folder propagated)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.abc_smc import IDENTIFIED_WIDTH, identification, posterior_intervals
from sim.inputs.parameters import read_parameter_sets
from sim.inputs.scenario import FreeParameter, Observation, Scenario
from sim.outputs import formats, i18n
from sim.outputs.differences import setting_label
from sim.outputs.i18n import Lang, t
from sim.outputs.plots import Folder

MIN_DRAWS = 5
"""Fewer parameter draws than this say nothing about identification."""


def limits(folder: Folder, lang: Lang) -> list[str]:
    """The limits, one paragraph each: the street figures, identification, structure."""
    sc = folder.scenario
    return [
        *street_limits(sc, lang),
        identification_limit(folder, lang),
        t("report.limits_uncertainty", lang),
    ]


def _street(obs: Observation) -> bool:
    return obs.series == "street" and obs.target is not None


def _figure(obs: Observation, lang: Lang) -> str:
    """A street count in words, from its fields: ``the mean from 1 January 2021 to
    26 September 2021: 325 ± 25``."""
    target = formats.number(obs.target, lang, 0)
    if obs.tolerance:
        target += f" ±\u00a0{formats.number(obs.tolerance, lang, 0)}"
    if obs.on is not None:
        return t("report.figure_on", lang, date=i18n.date_long(obs.on, lang), target=target)
    if obs.start is not None and obs.end is not None:
        start, end = (i18n.date_long(d, lang) for d in (obs.start, obs.end))
        return t("report.figure_window", lang, start=start, end=end, target=target)
    return target


def street_limits(sc: Scenario, lang: Lang) -> list[str]:
    """How to read the street rows: the counts fitted, those checked, the last one's date."""
    fitted = {k: o for k, o in sc.observations.items() if _street(o) and o.role == "fit"}
    checked = {k: o for k, o in sc.observations.items() if _street(o) and o.role == "validate"}
    if not fitted:
        return [t("report.limits_street_none", lang)]
    last = max(o.end or o.on or sc.start for o in (fitted | checked).values())
    figures = "; ".join(_figure(o, lang) for o in fitted.values())
    last_text = i18n.date_long(last, lang)
    fit_key = "report.limits_street_fit"
    out = [i18n.count(len(fitted), fit_key, lang, figures=figures, last=last_text)]
    if checked:
        shown = "; ".join(_figure(o, lang) for o in checked.values())
        out.append(t("report.limits_street_checked", lang, figures=shown))
    return out


def parameter_label(name: str, parameter: FreeParameter, sc: Scenario, lang: Lang) -> str:
    """A calibration parameter by the setting it moves (its first path), e.g. ``Street:
    arrivals per year (step 2)``."""
    data = sc.model_dump(mode="json", by_alias=True)
    paths = parameter.paths
    label = setting_label(paths[0], data, data, lang)
    return label + (" …" if len(paths) > 1 else "") if label else name


def identification_limit(folder: Folder, lang: Lang) -> str:
    """Which fitted parameters the figures leave open, and how this folder knows it."""
    sc = folder.scenario
    spec = sc.calibration
    if spec is None:
        return t("report.limits_no_calibration", lang)
    verdicts = _verdicts(folder)
    if verdicts is None:
        fit = [o for o in sc.observations.values() if o.role == "fit" and o.target is not None]
        names = ", ".join(parameter_label(k, p, sc, lang) for k, p in spec.parameters.items())
        return t("report.limits_unknown", lang, p=len(spec.parameters), names=names, m=len(fit))
    open_names, draws = verdicts
    share = formats.number(IDENTIFIED_WIDTH, lang, 0, "share")
    if draws:
        source = t("report.limits_draws_source", lang, draws=draws, share=share)
    else:
        source = t("report.limits_calibration_source", lang, share=share)
    if not open_names:
        return t("report.limits_all_identified", lang, source=source)
    names = "; ".join(parameter_label(k, spec.parameters[k], sc, lang) for k in open_names)
    return t("report.limits_not_identified", lang, names=names, source=source)


def _verdicts(folder: Folder) -> tuple[list[str], int] | None:
    """The parameters not identified and how many posterior draws say so (0: the
    calibration's own ``intervals.csv``, beside the posterior the folder drew from), or None
    if this folder cannot tell. The verdict is the ABC one
    (:func:`~sim.analysis.abc_smc.identification`): the posterior 90% interval against the
    prior's; without the calibration's intervals, the posterior file's draws give it, else the
    draws this folder ran."""
    spec = folder.scenario.calibration
    assert spec is not None
    table, draws = _posterior_intervals(folder, spec.parameters)
    if table is None:
        return None
    found = table[~table["identified"].astype(bool)]
    return [str(n) for n in found["parameter"] if n in spec.parameters], draws


def calibration_intervals(posterior: Path) -> Path | None:
    """The ABC intervals of the calibration a posterior file comes from: ``intervals.csv``
    beside the calibration folder's ``posterior.parquet``, or, for a copy shipped beside a
    scenario (``<name>-posterior.parquet``), ``<name>-intervals.csv`` beside it."""
    candidates = [posterior.parent / "intervals.csv"]
    if posterior.stem.endswith("-posterior"):
        stem = posterior.stem.removesuffix("-posterior")
        candidates.insert(0, posterior.with_name(f"{stem}-intervals.csv"))
    return next((p for p in candidates if p.is_file()), None)


def _posterior_intervals(
    folder: Folder, parameters: dict[str, FreeParameter]
) -> tuple[pd.DataFrame | None, int]:
    named = folder.manifest.get("parameters")
    if named:
        intervals_csv = calibration_intervals(Path(str(named)))
        if intervals_csv is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                return identification(pd.read_csv(intervals_csv), parameters), 0
        with contextlib.suppress(OSError, ValueError, KeyError):
            frame, _ = read_parameter_sets(Path(str(named)))
            if len(frame) >= MIN_DRAWS:
                return posterior_intervals(frame, parameters), len(frame)
    sets: list[dict[str, Any]] = list(folder.manifest.get("parameter_sets") or [])
    known = {k: p for k, p in parameters.items() if all(k in s for s in sets)}
    if len(sets) < MIN_DRAWS or not known:
        return None, 0
    return posterior_intervals(pd.DataFrame(sets), known), len(sets)

"""The report's "limits" section, generated from the reference scenario and its calibration:
which street counts the model is fitted to and from when none constrains it, and which
fitted parameters the figures leave open (from the calibration's own verdict, or from the
spread of the parameter draws the folder propagated)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.scenario import FreeParameter, Observation, Scenario
from sim.outputs import i18n
from sim.outputs.differences import setting_label
from sim.outputs.i18n import Lang, t
from sim.outputs.plots import Folder

MIN_DRAWS = 5
"""Fewer parameter draws than this say nothing about identification."""
ACCEPT_WIDTH = 0.75
"""A parameter whose draws' 5-95% range spans more than this share of its prior's 90% is not
identified by the figures."""


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
    target = i18n.number(obs.target, lang)
    if obs.tolerance:
        target += f" ±\u00a0{i18n.number(obs.tolerance, lang)}"
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


def width_ratio(values: np.ndarray, parameter: FreeParameter) -> float:
    """The draws' 5-95% range as a share of the prior's 90% (log scale for a log prior)."""
    lo, hi = np.quantile(values, [0.05, 0.95])
    low, high = parameter.lower, parameter.upper
    if parameter.prior == "loguniform":
        lo, hi, low, high = (math.log(max(x, 1e-300)) for x in (lo, hi, low, high))
    return float((hi - lo) / (0.9 * (high - low)))


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
    if draws:
        share = i18n.percent(ACCEPT_WIDTH, lang, 0)
        source = t("report.limits_draws_source", lang, draws=draws, share=share)
    else:
        source = t("report.limits_calibration_source", lang)
    if not open_names:
        return t("report.limits_all_identified", lang, source=source)
    names = "; ".join(parameter_label(k, spec.parameters[k], sc, lang) for k in open_names)
    return t("report.limits_not_identified", lang, names=names, source=source)


def _verdicts(folder: Folder) -> tuple[list[str], int] | None:
    """The parameters not identified and how many draws say so (0: the calibration's own
    verdict), or None if this folder cannot tell."""
    spec = folder.scenario.calibration
    assert spec is not None
    table = folder.path / "identification.csv"
    if folder.kind == "calibrate" and table.exists():
        frame = pd.read_csv(table)
        found = frame[frame["verdict"].astype(str).str.startswith("not identified")]
        return [str(n) for n in found["parameter"] if n in spec.parameters], 0
    sets: list[dict[str, Any]] = list(folder.manifest.get("parameter_sets") or [])
    if len(sets) < MIN_DRAWS:
        return None
    draws = pd.DataFrame(sets)
    open_names = [
        name
        for name, p in spec.parameters.items()
        if name in draws and width_ratio(draws[name].to_numpy(float), p) > ACCEPT_WIDTH
    ]
    return open_names, len(sets)

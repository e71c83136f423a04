"""The one number formatter: every number people read goes through :func:`number`.

The report, the terminal tables, the comparison tables (Markdown, README blocks, the
terminal), chart axes and the app all write numbers here, by one rule:

- **Unit** (:data:`Unit`): ``number`` (a mean, a rate, a duration), ``count`` (people, places,
  a schedule's value), ``share`` (a fraction, written in %), ``points`` (a difference of two
  shares, in percentage points: ``+3.2 pts``), ``euro``.
- **Decimals** (:func:`decimals_for`) unless the caller fixes them: a ``number`` keeps about three
  significant digits (none from 100 up, one from 10, two below); a ``count`` none when whole,
  else one; a ``share`` or ``points`` one decimal of a percent; euros none, or two in millions
  (``12.34 M``).
- **A row** of a table (a value, its interval, the difference to the reference and its
  interval) takes its decimals and its scale from the reference's value (:func:`row_style`):
  euros in millions from a million up, so that a row reads at one precision; a difference of
  shares is in percentage points.
- **An interval** (:func:`interval`) is written in its value's unit and decimals, with more
  decimals when those would show a half-width that is not zero as ``0`` (never a misleading
  ``± 0``). A half-width that is zero even at :data:`MAX_DECIMALS` decimals (the same value in
  every replication, up to rounding) is left out by the tables and marked by the report.
- **Separators**: French ``1 234,5``, ``12,5 %``, ``1 234 €`` (a narrow no-break space,
  U+202F, between thousands and before ``%``, ``€``, ``M`` and ``pts``); English ``1,234.5``,
  ``12.5%``, ``€1,234``. Never the system locale: outputs do not depend on the machine.
- **Signs**: a true minus (U+2212), never ``-0``; ``signed=True`` puts ``+`` before a positive
  difference (none before a difference that rounds to zero).
- **Missing** values (None, NaN, infinities, pandas' NA) are an en dash.

Chart axes choose their decimals from the tick spacing (:class:`sim.outputs.charts.
NumberFormatter`) and the spreadsheet's number formats from :func:`decimals_for`
(:func:`sim.outputs.comparison.number_format`); both write through this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

Lang = Literal["fr", "en"]
Unit = Literal["number", "count", "share", "points", "euro"]

NNBSP = "\u202f"  # narrow no-break space: French thousands separator and before % and €
MINUS = "\u2212"
DASH = "–"
MAX_DECIMALS = 6
"""The most decimals an interval is given to show that it is not zero."""


def missing(x: Any) -> bool:
    """Whether ``x`` is no number to show: None, NaN, an infinity, pandas' NA, not a number."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return True
    return not math.isfinite(value)


def decimals_for(x: Any, unit: str = "number") -> int:
    """The decimals of ``x`` by its unit and magnitude (see the module's rule); two for a
    ``number`` whose magnitude is unknown (missing)."""
    if unit in ("share", "points"):
        return 1
    if unit == "euro":
        return 0
    if missing(x):
        return 2 if unit == "number" else 0
    value = float(x)
    if unit == "count":
        return 0 if value.is_integer() else 1
    magnitude = abs(value)
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2


def exact_decimals(values: Iterable[float], most: int = 3) -> int:
    """The fewest decimals (up to ``most``) that write every one of ``values`` exactly: for
    values read as given (a setting, a chart's ticks) rather than measured (``2.5`` needs one)."""
    numbers = [float(v) for v in values if not missing(v)]
    for places in range(most):
        if all(abs(v * 10**places - round(v * 10**places)) < 1e-6 * 10**places for v in numbers):
            return places
    return most


def significant(x: Any, lang: Lang = "en", digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits and no trailing zeros (``0.0123``, ``312.5``,
    ``36,741``): for values of any scale read one at a time, such as a calibration's
    parameters; French or English separators, a dash when missing."""
    if missing(x):
        return DASH
    value = float(x)
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    places = max(0, digits - 1 - magnitude)
    return number(value, lang, min(places, exact_decimals([value], most=places)))


def row_style(unit: str, reference: Any) -> tuple[int | None, bool]:
    """Decimals and scale (in millions or not) of a table row, set by its reference's value:
    ``(None, False)`` (each value its own) when the reference is missing."""
    if missing(reference):
        return None, False
    if unit == "euro":
        return None, abs(float(reference)) >= 1e6
    if unit in ("share", "points"):
        return None, False
    return decimals_for(reference, unit), False


def difference_unit(unit: str) -> str:
    """The unit of a difference of two values of ``unit``: percentage points for shares."""
    return "points" if unit == "share" else unit


def _scaled(value: float, unit: str, millions: bool) -> float:
    if unit in ("share", "points"):
        value *= 100
    return value / 1e6 if millions else value


def number(
    x: Any,
    lang: Lang = "en",
    decimals: int | None = None,
    unit: str = "number",
    signed: bool = False,
    millions: bool = False,
    symbol: bool = False,
) -> str:
    """``x`` written by the module's rule: in ``unit`` (a ``share`` times 100 with ``%``,
    ``points`` with ``pts``), with ``decimals`` (default :func:`decimals_for`, two in millions),
    French or English separators, ``+`` before a positive value when ``signed``, in millions
    (``12.34 M``) when ``millions``, with ``€`` when ``symbol`` and the unit is ``euro``; a dash
    when missing."""
    if missing(x):
        return DASH
    value = _scaled(float(x), unit, millions)
    if decimals is None:
        decimals = 2 if millions else decimals_for(x, unit)
    value = round(value, decimals) + 0.0  # no "-0"
    text = f"{abs(value):,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    if millions:
        text += f"{NNBSP}M"
    if unit == "share":
        text += f"{NNBSP}%" if lang == "fr" else "%"
    elif unit == "points":
        text += f"{NNBSP if lang == 'fr' else ' '}pts"
    elif unit == "euro" and symbol:
        text = f"{text}{NNBSP}€" if lang == "fr" else f"€{text}"
    sign = MINUS if value < 0 else "+" if signed and value > 0 else ""
    return sign + text


def interval(
    half_width: Any,
    lang: Lang = "en",
    decimals: int | None = None,
    unit: str = "number",
    millions: bool = False,
) -> str:
    """An interval's half-width in its value's unit and ``decimals``, with more decimals (up
    to :data:`MAX_DECIMALS`) when those would show a half-width that is not zero as ``0``;
    ``""`` for a half-width that is zero even then (the same value in every replication, up to
    rounding), a dash when missing."""
    if missing(half_width):
        return DASH
    if decimals is None:
        decimals = 2 if millions else decimals_for(half_width, unit)
    scaled = abs(_scaled(float(half_width), unit, millions))
    while round(scaled, decimals) == 0 and decimals < MAX_DECIMALS:
        decimals += 1
    if round(scaled, decimals) == 0:
        return ""
    return number(half_width, lang, decimals, unit, millions=millions)


def plus_minus(value: str, half_width: str) -> str:
    """``value ± half_width``, or ``value`` alone when the interval shows nothing (zero or
    missing, from :func:`interval`)."""
    return value if half_width in ("", DASH) else f"{value} ± {half_width}"


def separators(lang: Lang) -> str:
    """The decimal and thousands separators of ``lang``, in that order (Plotly's
    ``layout.separators``)."""
    return f",{NNBSP}" if lang == "fr" else ".,"

"""The one number formatter (``sim.outputs.formats``): its rule, case by case."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.outputs import formats
from sim.outputs.formats import DASH, MINUS, NNBSP, number


def test_french_and_english_separators_and_signs() -> None:
    assert number(1234, "fr", 0) == f"1{NNBSP}234"
    assert number(1234567.891, "fr", 1) == f"1{NNBSP}234{NNBSP}567,9"
    assert number(12.5, "fr", 1) == "12,5"
    assert number(-1234, "fr", 0) == f"{MINUS}1{NNBSP}234"
    assert number(1234.5, "en", 1) == "1,234.5"
    assert number(-0.004, "en", 2) == "0.00"  # never "-0"
    assert number(3.0, "fr", 0, signed=True) == "+3"
    assert number(-0.2, "fr", 0, signed=True) == "0"  # rounds to zero: no sign
    assert number(-3.0, "en", 0, signed=True) == f"{MINUS}3"


def test_units_share_points_euro_millions() -> None:
    assert number(0.125, "fr", unit="share") == f"12,5{NNBSP}%"
    assert number(0.125, "en", unit="share") == "12.5%"
    assert number(0.032, "en", unit="points", signed=True) == "+3.2 pts"
    assert number(-0.032, "fr", unit="points", signed=True) == f"{MINUS}3,2{NNBSP}pts"
    assert number(8_250_000, "fr", unit="euro", symbol=True) == f"8{NNBSP}250{NNBSP}000{NNBSP}€"
    assert number(8_250_000, "en", unit="euro", symbol=True) == "€8,250,000"
    assert number(8_250_000, "en", unit="euro") == "8,250,000"  # tables: the label says EUR
    assert number(12_345_678, "en", unit="euro", millions=True) == f"12.35{NNBSP}M"
    assert formats.difference_unit("share") == "points"
    assert formats.difference_unit("euro") == "euro"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1234.5, "number", 0),
        (100.0, "number", 0),
        (99.9, "number", 1),
        (10.0, "number", 1),
        (9.99, "number", 2),
        (-0.5, "number", 2),
        (math.nan, "number", 2),
        (0.123, "share", 1),
        (0.123, "points", 1),
        (1234.56, "euro", 0),
        (12.0, "count", 0),
        (12.5, "count", 1),
    ],
)
def test_decimals_by_magnitude_and_unit(value: float, unit: str, expected: int) -> None:
    assert formats.decimals_for(value, unit) == expected


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, pd.NA, "n/a"])
def test_missing_is_a_dash(value: object) -> None:
    assert formats.missing(value)
    assert number(value, "fr") == DASH
    assert formats.interval(value, "en") == DASH


def test_a_row_takes_the_reference_decimals_and_scale() -> None:
    assert formats.row_style("number", 686.4) == (0, False)
    assert formats.row_style("number", 5.38) == (2, False)
    assert formats.row_style("euro", 20_894_548.0) == (None, True)
    assert formats.row_style("euro", 660_372.0) == (None, False)
    assert formats.row_style("share", 0.5) == (None, False)
    assert formats.row_style("number", math.nan) == (None, False)


def test_an_interval_is_never_a_misleading_zero() -> None:
    assert formats.interval(3.2, "en", 0) == "3"
    assert formats.interval(0.004, "en", 2) == "0.004"  # more decimals, not "0.00"
    assert formats.interval(0.0004, "en", unit="share") == "0.04%"
    assert formats.interval(4_300, "en", unit="euro", millions=True) == f"0.004{NNBSP}M"
    assert formats.interval(0.0, "en", 1) == ""  # the same in every replication
    assert formats.interval(1.4e-9, "en", unit="euro", millions=True) == ""  # float noise
    assert formats.plus_minus("12", formats.interval(0.0, "en")) == "12"
    assert formats.plus_minus("12", formats.interval(1.5, "en", 0)) == "12 ± 2"


def test_exact_decimals_for_values_read_as_given() -> None:
    assert formats.exact_decimals([0.0, 2.5, 5.0]) == 1
    assert formats.exact_decimals([100, 200]) == 0
    assert formats.exact_decimals([0.125]) == 3
    assert formats.exact_decimals([1 / 3]) == 3  # at most three
    assert formats.exact_decimals([12.04], most=1) == 1


def test_plotly_separators_follow_the_language() -> None:
    assert formats.separators("en") == ".,"
    assert formats.separators("fr") == f",{NNBSP}"


def test_significant_digits_for_values_of_any_scale() -> None:
    assert formats.significant(0.0123) == "0.0123"
    assert formats.significant(312.5, "fr") == "312,5"
    assert formats.significant(1 / 3) == "0.3333"
    assert formats.significant(36741.2) == "36,741"  # not 3.674e+04
    assert formats.significant(0.0) == "0"
    assert formats.significant(math.nan) == DASH

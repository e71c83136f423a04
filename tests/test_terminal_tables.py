"""Tables on a terminal: at 80 and 120 columns, in French and English, a number is never broken
(French thousands spaces included) or cut, long scenario names wrap instead of being cut, and
no Markdown markup reaches the terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.text import Text

from sim.analysis.compare import Comparison, compare
from sim.inputs.loading import validate_data
from sim.outputs.comparison import rich_tables
from sim.outputs.display import NumberColumn, fitted_tables
from sim.outputs.formats import NNBSP
from tests.builders import queue_data

NAMES = ["reference", "more-places-from-the-start-of-the-run", "fewer-places",
         "twice-the-places-and-a-much-longer-name", "a-few-more-places"]  # fmt: skip


@pytest.fixture(scope="module")
def five() -> Comparison:
    """Five queues whose yearly cost runs to hundreds of thousands (thousands separators)."""
    scenarios = []
    for name, capacity in zip(NAMES, (5, 7, 4, 10, 6), strict=True):
        data = queue_data(1.0, capacity, {"dist": "exponential", "mean": 4.0}, 400)
        data["name"] = name
        data["nodes"]["queue"]["cost_per_place_day"] = 155.0
        scenarios.append(validate_data(data))
    return compare(scenarios, replications=4, seed=3, workers=1)


def _render(tables: list[object], width: int) -> str:
    out = io.StringIO()
    terminal = Console(file=out, width=width, color_system=None, highlight=False, soft_wrap=False)
    for table in tables:
        terminal.print(table)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_comparison_numbers_stay_whole_and_names_wrap(
    five: Comparison, width: int, lang: str
) -> None:
    tables = rich_tables(five, lang, width)  # type: ignore[arg-type]
    text = _render(list(tables), width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    assert "…" not in text  # nothing cut
    assert "<br>" not in text
    assert "\\*" not in text
    cells = [
        line.plain.strip()
        for table in tables
        for column in table.columns[1:]
        for cell in column._cells
        for line in Text.from_markup(str(cell)).split()
        if line.plain.strip()
    ]
    assert any(NNBSP in c or "," in c for c in cells)  # thousands separators are tested
    for cell in cells:  # each number line appears whole on one terminal line
        assert any(cell in line for line in lines), cell
    for name in NAMES:  # a name wraps at its hyphens, never mid-word
        pieces = [p for p in re.split(r"(?<=-)", name) if p]
        assert all(any(p in line for line in lines) for p in pieces), name
    if width == 80:
        assert len(tables) > 1  # five scenarios do not fit side by side in 80 columns


def test_a_header_wraps_at_hyphens_and_spaces() -> None:
    column = NumberColumn("etape2-400-downstream (reference)", ["1 234 ± 5"])
    assert column.width == len("(reference)")  # its longest piece: wider than the number
    assert column.header_lines().splitlines() == ["etape2-400-", "downstream", "(reference)"]


def test_fitted_tables_put_what_fits_side_by_side() -> None:
    columns = [NumberColumn(f"s{i}", ["123 456 ± 7"]) for i in range(4)]
    assert len(fitted_tables("KPI", ["a label"], columns, 200)) == 1
    narrow = fitted_tables("KPI", ["a label"], columns, 50)
    assert len(narrow) > 1
    assert sum(len(t.columns) - 1 for t in narrow) == 4  # every column, once


def test_run_table_shows_shares_in_percent_and_counts_as_numbers() -> None:
    """`parcours run`'s table: a share KPI reads as a percentage, a count as a plain number."""
    import pandas as pd

    from sim.outputs.display import run_table

    data = queue_data(1.0, 5, {"dist": "exponential", "mean": 4.0}, 400)
    scenario = validate_data(data)
    summary = pd.DataFrame(
        {
            "kpi": ["positive_share", "street.mean"],
            "mean": [0.953, 12.5],
            "ci95": [0.012, 1.25],
            "n": [4, 4],
        }
    )
    text = _render([run_table(scenario, summary, "run")], 120)
    assert "95.3%" in text
    assert "1.2%" in text
    assert "0.953" not in text
    assert "12.5" in text

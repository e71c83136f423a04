"""The ``table`` command: a series by month or year from a run or compare folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from sim.cli.common import EXIT_INPUT, console, lang_option
from sim.outputs.i18n import Lang


@click.command("table")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--series", default="street", show_default=True, help="e.g. waiting.assore.")
@click.option("--by", type=click.Choice(["month", "year"]), default="month", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV file (default FOLDER/<series>-by-<month|year>.csv).",
)
@lang_option("the table")
@click.option("--force", is_flag=True, help="Replace an existing CSV file.")
def table(folder: Path, series: str, by: str, out: Path | None, lang: str, force: bool) -> None:
    """Print and write SERIES by month or year for a run or compare FOLDER: each scenario's
    mean across replications with its 95% interval, and the paired difference to the
    reference.

    parcours table results/etape2-compare --series waiting.assore --by month
    """
    from sim.outputs.display import NumberColumn, fitted_tables
    from sim.outputs.formats import number
    from sim.running.folders import FolderError
    from sim.running.periods import PeriodError, period_table
    from sim.running.results import load_run, run_paths, write_text_atomic

    language = cast(Lang, lang)
    target = out or folder / f"{series}-by-{by}.csv"
    try:
        if target.exists() and not force:
            raise FolderError(f"{target} exists; use --force to replace it")
        runs = {}
        for path in run_paths(folder):
            run = load_run(path)
            runs[run.scenario.name] = run
        frame = period_table(runs, series, "month" if by == "month" else "year")
    except (FolderError, PeriodError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)
    names = list(runs)
    periods: list[str] = []
    cells: dict[str, list[str]] = {name: [] for name in names}
    for period, rows in frame.groupby("period", sort=True):
        periods.append(str(period))
        for _, row in rows.set_index("scenario").reindex(names).iterrows():
            text = f"{number(row['mean'], language, 1)} ± {number(row['ci95'], language, 1)}"
            if "diff" in row and row.name != names[0]:
                text += f"\nΔ {number(row['diff'], language, 1, signed=True)} ± "
                text += f"{number(row['diff_ci'], language, 1)}"
            cells[str(row.name)].append(text)
    columns = [NumberColumn(name, cells[name]) for name in names]
    terminal = console()
    title = f"{series} by {by} ({folder})"
    for view in fitted_tables(by, periods, columns, terminal.width, title=title):
        terminal.print(view)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, frame.to_csv(index=False))
    click.echo(f"written: {target}")


COMMANDS = [table]

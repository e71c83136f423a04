"""What every command shares: turning user errors into clear lines and exit codes, and the
progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sim.loading import ScenarioError
from sim.pathway import DeadlockError
from sim.results import OutputExistsError

EXIT_INPUT = 2  # bad input: scenario file, option or existing output


def parameter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--parameters FILE --draws K``: propagate a calibration posterior (run, compare)."""
    f = click.option(
        "--draws",
        type=click.IntRange(min=1),
        default=None,
        help="How many sets of --parameters to use (the same for every scenario), each run "
        "-n times; CIs are then over the per-draw means.",
    )(f)
    return click.option(
        "--parameters",
        "parameters_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Parameter sets to propagate (a calibration's posterior.parquet).",
    )(f)


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one clear line each and an exit code."""
    try:
        yield
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INPUT)
    except OutputExistsError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)
    except DeadlockError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)


@contextmanager
def progress_bar(total: int, label: str, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields a function advancing it."""
    if quiet:
        yield lambda n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)

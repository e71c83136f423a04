"""What every command shares: turning user errors into clear lines and exit codes, and the
progress bar."""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from sim.engine.pathway import DeadlockError
from sim.inputs.loading import ScenarioError
from sim.inputs.scenario import Scenario
from sim.outputs.i18n import LANGS
from sim.running.executors import Executor, make_executor
from sim.running.folders import FolderBusyError, FolderMismatchError, OutputExistsError

EXIT_INPUT = 2  # bad input: scenario file, option or existing output


LANG_ENVVAR = "PARCOURS_LANG"
DEFAULT_LANG = "en"


def lang_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--lang en|fr`` with one default on every command that writes words: English, or the
    ``PARCOURS_LANG`` environment variable (``export PARCOURS_LANG=fr`` once for a French
    session); ``what`` says what the language applies to."""
    return click.option(
        "--lang",
        type=click.Choice(LANGS),
        default=DEFAULT_LANG,
        envvar=LANG_ENVVAR,
        show_default=True,
        show_envvar=True,
        help=f"Language of {what}; fr also gives French number formats.",
    )


def parameter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--parameters FILE --draws K``: propagate a calibration posterior (run, compare);
    ``--point``: the scenario's own values even when its calibration names a posterior."""
    f = click.option(
        "--point",
        is_flag=True,
        help="Run the point estimate (the scenario's values), not the posterior draws its "
        "calibration block names.",
    )(f)
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


def console(stderr: bool = False) -> Console:
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
    except (OutputExistsError, FolderBusyError, FolderMismatchError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)
    except DeadlockError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except OSError as err:  # a read-only or full disk, a vanished folder...: one line
        click.echo(f"error: {os_error_text(err)}", err=True)
        sys.exit(EXIT_INPUT)


def os_error_text(err: OSError) -> str:
    """One line for any ``OSError``: what failed, on which file."""
    if err.strerror is None:
        return str(err)
    names = [str(n) for n in (err.filename, err.filename2) if n is not None]
    return f"{err.strerror}: {' -> '.join(names)}" if names else err.strerror


PROGRESS_SECONDS = "PARCOURS_PROGRESS_SECONDS"
"""Environment variable: seconds between two progress lines when stderr is not a terminal."""
DEFAULT_PROGRESS_SECONDS = 5.0


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class ProgressLines(Progress):
    """rich's progress, drawn as one line per task on stderr every few seconds: for logs and
    CI, where a bar would print nothing until the end. A command shorter than the interval
    prints nothing; a longer one ends with a last line per task."""

    def __init__(self, err: Console, interval: float) -> None:
        super().__init__(console=err, disable=True)
        self.interval = interval
        self.printed = False
        self._stopped = threading.Event()
        self._done: set[TaskID] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        super().start()
        if self._thread is None:
            self._thread = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None and not self._stopped.is_set():
            self._stopped.set()
            self._thread.join()
            if self.printed:
                self.print_lines()
        super().stop()

    def _tick(self) -> None:
        while not self._stopped.wait(self.interval):
            self.print_lines()
            self.printed = True

    def line(self, task: Task) -> str:
        """``description: done/total (percent), details, elapsed, ETA``."""
        total = task.total
        done = f"{task.completed:g}/{total:g}" if total else f"{task.completed:g}"
        parts = [f"{task.description}: {done}"]
        if total:
            parts[0] += f" ({100 * task.completed / total:.0f}%)"
        parts += [str(v) for v in task.fields.values() if str(v).strip()]
        parts.append(f"elapsed {_duration(task.elapsed)}")
        if not task.finished:
            parts.append(f"ETA {_duration(self.remaining(task))}")
        return ", ".join(parts)

    @staticmethod
    def remaining(task: Task) -> float | None:
        """rich's estimate from the last 30 s, else the mean rate so far (work that comes in
        chunks can pause longer than rich's window)."""
        if task.time_remaining is not None:
            return task.time_remaining
        if not task.total or not task.completed or not task.elapsed:
            return None
        return task.elapsed / task.completed * (task.total - task.completed)

    def print_lines(self) -> None:
        with self._lock:  # a finished task once, then no more
            tasks = [t for t in self.tasks if t.visible and t.id not in self._done]
            lines = [self.line(task) for task in tasks]
            self._done.update(t.id for t in tasks if t.finished)
        for text in lines:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)


def progress_interval() -> float:
    """Seconds between progress lines off a terminal (``PARCOURS_PROGRESS_SECONDS``)."""
    try:
        return max(0.05, float(os.environ.get(PROGRESS_SECONDS, DEFAULT_PROGRESS_SECONDS)))
    except ValueError:
        return DEFAULT_PROGRESS_SECONDS


def new_progress(*columns: str | ProgressColumn) -> Progress:
    """Progress on stderr for a long command: bars with the time left on a terminal, a line
    per task every few seconds otherwise (:class:`ProgressLines`)."""
    err = console(stderr=True)
    if not err.is_terminal:
        return ProgressLines(err, progress_interval())
    return Progress(*columns, console=err, transient=True)


@contextmanager
def progress_bar(total: int, label: str, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (lines when it is not a terminal); yields a function
    advancing it."""
    if quiet:
        yield lambda n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with new_progress(*columns) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def executor_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--workers``, ``--scheduler``, ``--dask-local``: where every command runs its
    replications (the numbers are the same whichever is chosen)."""
    options = [
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Local processes (default: all cores; 1 runs in this process).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            default=None,
            help="Run on a Dask cluster, e.g. tcp://host:8786 (needs parcours[dask]).",
        ),
        click.option(
            "--dask-local",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="Start a local Dask cluster of N single-threaded worker processes.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return limit_options(f)


LIMITS_KEY = "parcours.limits"


def _remember_limits(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    from sim.running.limits import parse_limit

    raised = ctx.meta.setdefault(LIMITS_KEY, {})
    if param.name == "no_limits" and value:
        ctx.meta[LIMITS_KEY] = None
    elif param.name == "limits" and raised is not None:
        for text in value:
            try:
                name, number = parse_limit(text)
            except ValueError as err:
                raise click.BadParameter(str(err), ctx, param) from None
            raised[name] = number
    return value


def limit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--limit NAME=VALUE`` and ``--no-limits``: the plausibility limits checked before
    running (:mod:`sim.running.limits`); read back with :func:`check_limits`."""
    f = click.option(
        "--limit",
        "limits",
        multiple=True,
        metavar="NAME=VALUE",
        expose_value=False,
        callback=_remember_limits,
        help="Raise one plausibility limit (people, capacity, replications, years, memory "
        "in GB, hours), e.g. --limit years=300.",
    )(f)
    return click.option(
        "--no-limits",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember_limits,
        help="Check no plausibility limit before running.",
    )(f)


def check_limits(
    scenarios: Sequence[Scenario], replications: int, workers: int = 1, kept: int | None = None
) -> None:
    """Check the plausibility limits the options ask for (exit 2 with one line if passed);
    ``kept``: replications held in memory at once, if not all."""
    from sim.running.limits import LimitError, check

    ctx = click.get_current_context(silent=True)
    raised = {} if ctx is None else ctx.meta.get(LIMITS_KEY, {})
    if raised is None:
        return
    try:
        check(scenarios, replications, workers, raised, kept)
    except LimitError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)


@contextmanager
def executor_for(
    workers: int | None, scheduler: str | None, dask_local: int | None
) -> Iterator[Executor]:
    """The executor the options ask for, closed on leaving. Make it before any progress bar:
    a local pool then forks its workers from a single-threaded process."""
    from sim.running.runner import default_workers

    if scheduler is not None and dask_local is not None:
        raise click.UsageError("give --scheduler or --dask-local, not both")
    try:
        executor = make_executor(workers or default_workers(), scheduler, dask_local)
    except (OSError, RuntimeError, TimeoutError) as err:
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        click.echo(f"error: cannot use {where}: {err}", err=True)
        sys.exit(EXIT_INPUT)
    try:
        yield executor
    finally:
        executor.close()


def window_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--window FROM:TO``: the question's window, for the headline rows that follow it."""
    return click.option(
        "--window",
        metavar="FROM:TO",
        default=None,
        help="The question's window, e.g. 2026-01-01:2027-12-31: the observations without "
        "dates of their own (the headline rows) cover it.",
    )(f)


def window_overrides(window: str | None) -> list[str]:
    """``--window FROM:TO`` as the two ``--set`` texts it stands for."""
    if window is None:
        return []
    start, sep, end = window.partition(":")
    if not sep or not start.strip() or not end.strip():
        raise click.BadParameter("write FROM:TO, e.g. 2026-01-01:2027-12-31", param_hint="--window")
    return [f"window.from={start.strip()}", f"window.to={end.strip()}"]


def posterior_file(
    scenario_file: Path, parameters_file: Path | None, draws: int | None, point: bool
) -> tuple[Path | None, int | None]:
    """The parameter sets to draw: ``--parameters`` if given; else, unless ``--point``, the
    posterior the scenario's calibration block names (relative to the scenario's folder)."""
    if parameters_file is not None or point:
        return (None if point else parameters_file), draws
    from sim.inputs.loading import load_scenario

    spec = load_scenario(scenario_file).calibration
    if spec is None or spec.posterior is None:
        return None, draws
    return scenario_file.parent / spec.posterior, draws or spec.draws

"""Commands for researchers: ``calibrate``, ``replications`` and ``welch``."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sim.cli.common import (
    check_limits,
    executor_for,
    executor_options,
    lang_option,
    new_progress,
    progress_bar,
    user_errors,
)
from sim.inputs.loading import load_scenario
from sim.running.runner import default_workers

RESUME_HINT = "continue with the same command and --resume"
GRACE_SECONDS = 5.0
"""After Ctrl-C, how long the calibration may take to unwind before it is ended at once."""


@contextlib.contextmanager
def _ctrl_c_never_hangs(target: Path) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual; if a library swallows it (SQLAlchemy's pool
    does when it lands while a connection to the history closes) and the command is still
    running ``GRACE_SECONDS`` later, the workers are terminated and the command exits 130 at
    once. The history is SQLite: its finished generations are safe, as after kill -9."""

    def end_now() -> None:
        sys.stderr.write(
            f"interrupted: the finished generations are in {target}/history.db; {RESUME_HINT}\n"
        )
        sys.stderr.flush()
        for child in multiprocessing.active_children():
            child.terminate()
        os._exit(130)

    timers: list[threading.Timer] = []

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        timer = threading.Timer(GRACE_SECONDS, end_now)
        timer.daemon = True
        timers.append(timer)
        timer.start()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:  # unwound in time (or never interrupted): no forced exit
        for timer in timers:
            timer.cancel()
        signal.signal(signal.SIGINT, previous)


def _from_ctrl_c(err: BaseException) -> bool:
    """Whether ``err`` is Ctrl-C's KeyboardInterrupt or was raised while handling it: pyabc
    and SQLAlchemy can turn an interrupt that lands in a history query into another error."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--population",
    type=click.IntRange(min=2),
    default=None,
    help="Particles per generation (default: the calibration block).",
)
@click.option(
    "--generations",
    type=click.IntRange(min=1),
    default=None,
    help="Generations at most (default: the calibration block).",
)
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications averaged per particle (default: the calibration block).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default results/calibrate-<scenario>).",
)
@executor_options
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted calibration from its history.db."
)
@click.option("--force", is_flag=True, help="Start an existing output folder again.")
@lang_option("the charts")
@click.option("--abc", "abc_smc", is_flag=True, hidden=True)  # ABC-SMC is the only calibration
def calibrate(
    scenario: Path,
    seed: int,
    population: int | None,
    generations: int | None,
    replications: int | None,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    overrides: tuple[str, ...],
    resume: bool,
    force: bool,
    lang: str,
    abc_smc: bool,
) -> None:
    """Fit SCENARIO's calibration parameters to its fit figures by ABC-SMC (pyabc); report
    the posterior, its diagnostics and every fitted and held-out figure."""
    from sim.analysis.abc_smc import fit_observations
    from sim.outputs.abc_output import run_calibration

    with user_errors():
        sc = load_scenario(scenario, overrides)
        if sc.calibration is None:
            raise click.UsageError(f"{scenario} has no calibration block")
        if not fit_observations(sc):
            raise click.UsageError(f"{scenario} has no observation with role: fit and a target")
        target = out or Path("results") / f"calibrate-{sc.name}"
        proposals = (population or sc.calibration.population) * (
            generations or sc.calibration.generations
        ) * 3  # fmt: skip
        cores = workers or default_workers()
        check_limits([sc], proposals, cores, kept=cores)  # observations only
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            new_progress(*columns) as bar,
        ):
            task = bar.add_task("ABC-SMC particles accepted", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                with _ctrl_c_never_hangs(target):
                    result, check = run_calibration(
                        sc, target, seed, population, generations, replications,
                        resume=resume, force=force, executor=executor, progress=advance,
                        lang=lang,
                    )  # fmt: skip
            except BaseException as err:
                if not _from_ctrl_c(err):
                    raise
                bar.stop()
                click.echo(
                    f"interrupted: the finished generations are in {target}/history.db; "
                    + RESUME_HINT,
                    err=True,
                )
                raise SystemExit(130) from None
    click.echo(result.generations.to_string(index=False))
    met = check[check["role"] == "fit"]["met"]
    click.echo(f"fit figures within tolerance at the predictive mean: {int(met.sum())}/{len(met)}")
    click.echo(f"results: {target}")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kpi", required=True, help="KPI column, e.g. street.mean or obs.<name>.")
@click.option(
    "--precision",
    type=click.FloatRange(min=0, min_open=True),
    default=0.05,
    show_default=True,
    help="Relative 95% CI half-width wanted.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--max", "maximum", type=click.IntRange(min=2), default=200, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@executor_options
def replications(
    scenario: Path,
    kpi: str,
    precision: float,
    seed: int,
    maximum: int,
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
) -> None:
    """Replications needed for KPI's 95% CI to be within PRECISION of its mean."""
    from sim.running.replications import replications_needed

    with user_errors():
        sc = load_scenario(scenario, overrides)
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            progress_bar(maximum, "replications", False) as advance,
        ):
            try:
                count = replications_needed(
                    sc, kpi, precision, seed, maximum=maximum, progress=advance, executor=executor
                )
            except KeyError as err:
                raise click.BadParameter(str(err), param_hint="--kpi") from None
    click.echo(count.table.tail(10).to_string(index=False))
    if count.needed is None:
        last = count.table.iloc[-1]
        click.echo(
            f"{kpi}: not within {precision:.1%} after {maximum} replications "
            f"(relative half-width {last['relative']:.1%}): more than {maximum} needed, "
            "raise --max"
        )
    else:
        row = count.table.iloc[count.needed - 1]
        click.echo(
            f"{kpi}: {count.needed} replications give a 95% CI within {precision:.1%} "
            f"of the mean ({row['mean']:.4g} ± {row['ci95']:.3g}, {row['relative']:.1%})"
        )


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--series", default="street", show_default=True)
@click.option("--window", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("-n", "--replications", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("welch.png"),
    show_default=True,
)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@click.option("--force", is_flag=True)
@executor_options
def welch(
    scenario: Path,
    series: str,
    window: int,
    replications: int,
    seed: int,
    out: Path,
    overrides: tuple[str, ...],
    force: bool,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
) -> None:
    """Welch plot of a series (moving average across replications) to choose a warm-up."""
    from sim.outputs.welch import welch_figure
    from sim.running.results import OutputExistsError, write_atomic
    from sim.running.runner import run

    with user_errors():
        if out.exists() and not force:
            raise OutputExistsError(f"{out} exists; use --force to replace it")
        sc = load_scenario(scenario, overrides)
        if series not in sc.series_names():
            raise click.BadParameter(f"unknown series '{series}'", param_hint="--series")
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            progress_bar(replications, sc.name, False) as advance,
        ):
            result = run(
                sc, replications, seed, keep_episodes=False, progress=advance, executor=executor
            )
        fig = welch_figure(result.timeseries, series, window)
        out.parent.mkdir(parents=True, exist_ok=True)
        kind = out.suffix.lstrip(".").lower() or "png"
        write_atomic(out, lambda tmp: fig.savefig(tmp, format=kind, dpi=150))
    click.echo(f"written: {out}")


COMMANDS = [calibrate, replications, welch]

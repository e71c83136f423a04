"""Commands for researchers: ``calibrate``, ``replications`` and ``welch``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

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
from sim.outputs.i18n import check_lang
from sim.running.runner import default_workers

if TYPE_CHECKING:
    from sim.analysis.calibrate import Evaluation
    from sim.inputs.scenario import Scenario


class CalibrationProgress:
    """Two bars: the search (design and local search, at most the budget) with the best
    distance among its evaluations, then the rejection sample with the draws accepted.
    Evaluations reloaded by ``--resume`` count as done."""

    def __init__(self, bar: Progress, scenario: Scenario, budget: int) -> None:
        from sim.analysis.calibrate import within_tolerance

        assert scenario.calibration is not None
        self.bar = bar
        self.observations = scenario.observations
        self.within = within_tolerance
        self.best = math.inf
        self.accepted = 0
        self.reloaded = 0
        self.simulated = 0
        self.search = bar.add_task("search", total=budget, note="best distance –")
        samples = scenario.calibration.abc_samples
        self.abc = bar.add_task("rejection sample", total=samples, note="", visible=samples > 0)
        self.abc_started = False

    def __call__(self, evaluation: Evaluation, reloaded: bool) -> None:
        self.reloaded += reloaded
        self.simulated += not reloaded
        again = f", {self.reloaded} reloaded" if self.reloaded else ""
        if evaluation.stage != "abc":
            self.best = min(self.best, evaluation.distance)
            self.bar.update(self.search, advance=1, note=f"best distance {self.best:.3f}{again}")
            return
        if not self.abc_started:  # the search is over: it may have used less than the budget
            self.abc_started = True
            done = self.bar.tasks[self.search].completed
            self.bar.update(self.search, total=done, completed=done)
        self.accepted += self.within(evaluation.means, self.observations)
        self.bar.update(self.abc, advance=1, note=f"{self.accepted} accepted{again}")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications per evaluation (default: the scenario's calibration block).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--budget",
    type=click.IntRange(min=4),
    default=None,
    help="Search evaluations, design and local search, besides the rejection sample "
    "(default: the scenario's calibration block).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default results/calibrate-<scenario>).",
)
@executor_options
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@click.option("--resume", is_flag=True, help="Continue an interrupted calibration into --out.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@lang_option("the charts")
@click.option(
    "--abc", "abc_smc", is_flag=True,
    help="ABC-SMC (pyabc) instead of the search and rejection sample.",
)  # fmt: skip
@click.option(
    "--population",
    type=click.IntRange(min=2),
    default=None,
    help="ABC-SMC particles per generation (default: the calibration block).",
)
@click.option(
    "--generations",
    type=click.IntRange(min=1),
    default=None,
    help="ABC-SMC generations at most (default: the calibration block).",
)
def calibrate(
    scenario: Path,
    replications: int | None,
    seed: int,
    budget: int | None,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    overrides: tuple[str, ...],
    resume: bool,
    force: bool,
    lang: str,
    abc_smc: bool,
    population: int | None,
    generations: int | None,
) -> None:
    """Fit SCENARIO's calibration parameters to its fit targets; report validation figures."""
    from sim.outputs.calibration_output import command_line, partial_folder, run_calibration

    with user_errors():
        sc = load_scenario(scenario, overrides)
        if sc.calibration is None:
            raise click.UsageError(f"{scenario} has no calibration block")
        target = out or Path("results") / f"calibrate-{sc.name}"
        if abc_smc:
            abc_runs = (population or sc.calibration.population) * (
                generations or sc.calibration.generations
            ) * 3  # fmt: skip
            cores = workers or default_workers()
            check_limits([sc], abc_runs, cores, kept=cores)  # observations only
            _abc_command(sc, target, seed, population, generations, replications,
                         workers, scheduler, dask_local, resume, force)  # fmt: skip
            return
        runs = (replications or sc.calibration.replications) * (budget or sc.calibration.budget)
        cores = workers or default_workers()
        check_limits([sc], runs, cores, kept=cores)  # observations only
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            new_progress(*columns) as bar,
        ):
            advance = CalibrationProgress(bar, sc, budget or sc.calibration.budget)
            bar.console.print(
                f"each evaluation is kept in {partial_folder(target)} as it finishes; "
                "if stopped, the same command with --resume continues",
                markup=False,
                highlight=False,
            )
            try:
                folder, result, check = run_calibration(
                    scenario,
                    target,
                    replications,
                    seed,
                    budget,
                    resume=resume,
                    force=force,
                    overrides=overrides,
                    progress=advance,
                    lang=check_lang(lang),
                    executor=executor,
                )
            except KeyboardInterrupt:
                bar.stop()
                again = command_line(
                    scenario,
                    seed,
                    budget or sc.calibration.budget,
                    replications or sc.calibration.replications,
                    overrides,
                    ["--out", str(target), "--resume"],
                )
                click.echo(
                    f"interrupted: {advance.simulated} evaluations finished in this run are kept "
                    f"in {partial_folder(target)}; continue with:\n  {again}",
                    err=True,
                )
                raise SystemExit(130) from None
    from sim.analysis.calibrate import targets_table

    table = Table(
        title=f"{sc.name}: calibrated in {result.seconds / 60:.1f} min "
        f"({len(result.evaluations)} evaluations)",
        title_justify="left",
    )
    for column in ("target", "role", "audit", "model", "± 95% CI", ""):
        table.add_column(column, justify="left" if column in ("target", "role") else "right")
    for _, row in targets_table(check).iterrows():
        table.add_row(
            str(row["label"]),
            str(row["role"]),
            f"{row['target']:.4g}",
            f"{row['mean']:.4g}",
            f"{row['ci95']:.2g}",
            "–" if row["met"] is None else "[green]✓[/]" if row["met"] else "[red]✗[/]",
        )
    Console().print(table)
    for _, row in result.identification.iterrows():
        click.echo(
            f"{row['parameter']}: {result.best.values[row['parameter']]:.4g} ({row['verdict']})"
        )
    click.echo(f"results: {folder}")


def _abc_command(
    sc: Scenario,
    target: Path,
    seed: int,
    population: int | None,
    generations: int | None,
    replications: int | None,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    resume: bool,
    force: bool,
) -> None:
    """``calibrate --abc``: ABC-SMC into ``target``, then the per-generation diagnostics."""
    from sim.outputs.abc_output import run_abc_calibration, settings_for

    settings = settings_for(sc, seed, population, generations, replications)
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
            result, check = run_abc_calibration(
                sc, target, settings, executor, resume, force, progress=advance
            )
        except FileExistsError as err:
            raise click.UsageError(str(err)) from None
        except KeyboardInterrupt:
            click.echo(
                f"interrupted: the finished generations are in {target}/history.db; continue "
                "with the same command and --resume",
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
    from sim.running.results import OutputExistsError
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
        partial = out.with_name(f".{out.name}.partial{out.suffix}")
        fig.savefig(partial, dpi=150)  # then renamed: never a half-written chart
        os.replace(partial, out)
    click.echo(f"written: {out}")


COMMANDS = [calibrate, replications, welch]

"""``parcours compare`` and ``parcours diff``: scenarios side by side, and what one changes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import click

from sim.analysis.compare import CompareError, Comparison
from sim.cli.common import (
    EXIT_INPUT,
    check_limits,
    executor_for,
    executor_options,
    lang_option,
    parameter_options,
    posterior_file,
    progress_bar,
    user_errors,
    window_option,
    window_overrides,
)
from sim.inputs.loading import Problem, ScenarioError, load_scenario
from sim.inputs.scenario import Scenario
from sim.outputs.i18n import Lang
from sim.running.folders import FolderError, check_destination, folder_lock, read_manifest


@contextmanager
def compare_errors() -> Iterator[None]:
    """As :func:`sim.cli.common.user_errors`, plus comparisons that cannot be made (exit 2)."""
    with user_errors():
        try:
            yield
        except CompareError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_INPUT)


def _kpi_list(values: Sequence[str]) -> list[str] | None:
    kpis = [k.strip() for v in values for k in v.split(",") if k.strip()]
    return kpis or None


@click.command("compare")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-n", "--replications", type=click.IntRange(min=2), default=20, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Base seed, the same for every scenario (default: parcours's default seed).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Comparison folder (default results/compare-<timestamp>).",
)
@click.option(
    "--kpis",
    multiple=True,
    metavar="KPI[,KPI...]",
    help="KPIs to show (names as in kpis.csv, e.g. street.mean); default: the étape-2 table.",
)
@click.option(
    "--reference",
    default=None,
    metavar="NAME",
    help="Scenario name of the reference (default: the file all others extend, else the first).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a value in every scenario file, e.g. end=2025-12-31.",
)
@executor_options
@window_option
@lang_option("the tables, chart and spreadsheet")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
@parameter_options
def compare_command(
    inputs: tuple[Path, ...],
    replications: int,
    seed: int | None,
    out: Path | None,
    kpis: tuple[str, ...],
    reference: str | None,
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    window: str | None,
    lang: str,
    force: bool,
    quiet: bool,
    parameters_file: Path | None,
    draws: int | None,
    point: bool,
) -> None:
    """Compare INPUTS with common random numbers: scenario files (the reference is the file all
    the others extend, else the first), or run folders (no re-run) made with the same seed,
    replications, parameter draws and dates.

    Every scenario runs with the same seed, so replication r of each sees the same random
    numbers; differences to the reference are paired by replication, with 95% CIs. Writes
    comparison.csv, comparison.md, comparison.xlsx, queues.png and runs/<scenario>/.
    """
    from sim.running.results import default_out

    language = cast(Lang, lang)
    overrides = (*overrides, *window_overrides(window))
    with compare_errors():
        folders = [p for p in inputs if p.is_dir()]
        if folders and len(folders) < len(inputs):
            raise CompareError("give either scenario files or run folders, not both")
        target = out or default_out("compare")
        check_destination(target, force)
        if not folders:
            parameters_file, draws = posterior_file(inputs[0], parameters_file, draws, point)
        with folder_lock(target):  # held through the run: a second writer stops at once
            comp = _compare_into(
                inputs, folders, target, replications, seed, overrides, kpis, reference,
                workers, scheduler, dask_local, force, quiet, parameters_file, draws, language,
            )  # fmt: skip
    if not quiet:
        from rich.console import Console

        from sim.outputs.comparison import rich_tables

        terminal = Console(highlight=False, soft_wrap=False)
        for table in rich_tables(comp, language, terminal.width):
            terminal.print(table)
    click.echo(f"results: {target}")


def _compare_into(
    inputs: tuple[Path, ...],
    folders: list[Path],
    target: Path,
    replications: int,
    seed: int | None,
    overrides: tuple[str, ...],
    kpis: tuple[str, ...],
    reference: str | None,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    force: bool,
    quiet: bool,
    parameters_file: Path | None,
    draws: int | None,
    language: Lang,
) -> Comparison:
    """Run (or read) the comparison and write its folder (``target`` is locked)."""
    from sim.analysis.compare import compare_files, compare_runs
    from sim.outputs.comparison import write_comparison
    from sim.running.runner import DEFAULT_SEED, default_workers

    sets, spec = None, None
    if parameters_file is not None:
        if folders:
            raise CompareError("--parameters applies to scenario files, not run folders")
        from sim.inputs.parameters import draws as read_draws

        try:
            sets, spec = read_draws(parameters_file, draws or 10)
        except (OSError, ValueError) as err:
            raise click.BadParameter(str(err), param_hint="--parameters") from None
    if folders:
        if overrides or seed is not None:
            raise CompareError("--set and --seed apply to scenario files, not run folders")
        comp = compare_runs(folders, _kpi_list(kpis), reference)
    else:
        runs = replications * (len(sets) if sets else 1)
        try:
            scenarios = [load_scenario(p, overrides) for p in dict.fromkeys(inputs)]
        except ScenarioError:
            scenarios = []  # compare_files reports the problems of every file together
        check_limits(scenarios, runs, workers or default_workers())
        total = replications * len(set(inputs)) * (len(sets) if sets else 1)
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            progress_bar(total, "scenarios", quiet) as advance,
        ):
            comp = compare_files(
                inputs,
                replications,
                DEFAULT_SEED if seed is None else seed,
                kpis=_kpi_list(kpis),
                overrides=overrides,
                reference=reference,
                progress=advance,
                parameter_sets=sets,
                parameter_spec=spec,
                executor=executor,
            )
        if parameters_file is not None:  # the report's limits read its calibration's intervals
            comp.parameters["parameters"] = str(parameters_file)
    write_comparison(comp, target, force, language)
    return comp


def _resolved(path: Path, overrides: Sequence[str]) -> tuple[str, dict[str, object]]:
    """A scenario file (or run folder) as resolved data, and the name to show for it."""
    from sim.inputs.diff import resolved

    if path.is_dir():
        if overrides:
            raise CompareError("--set-a/--set-b apply to scenario files, not run folders")
        try:
            info = read_manifest(path, ("run",))
        except FolderError as err:
            raise CompareError(str(err)) from None
        data = Scenario.model_validate_json(json.dumps(info["scenarios"][0]["resolved"]))
        return str(path), resolved(data)
    return str(path), resolved(load_scenario(path, overrides))


@click.command("diff")
@click.argument("a", type=click.Path(exists=True, path_type=Path))
@click.argument("b", type=click.Path(exists=True, path_type=Path))
@click.option("--set-a", "set_a", multiple=True, metavar="PATH=VALUE", help="Override in A.")
@click.option("--set-b", "set_b", multiple=True, metavar="PATH=VALUE", help="Override in B.")
def diff_command(a: Path, b: Path, set_a: tuple[str, ...], set_b: tuple[str, ...]) -> None:
    """Print what B changes compared with A: dotted paths with both values, after extends and
    --set (A and B are scenario files or run folders). Exit code 0 either way."""
    from sim.inputs.diff import format_diff, scenario_diff

    with compare_errors():
        problems: list[Problem] = []
        loaded: list[tuple[str, dict[str, object]]] = []
        for path, overrides in ((a, set_a), (b, set_b)):
            try:
                loaded.append(_resolved(path, overrides))
            except ScenarioError as err:
                problems += err.problems
        if problems:
            raise ScenarioError(problems)
        (name_a, data_a), (name_b, data_b) = loaded
        click.echo(format_diff(scenario_diff(data_a, data_b), name_a, name_b), nl=False)


compare = compare_command
diff = diff_command
COMMANDS = [compare_command, diff_command]

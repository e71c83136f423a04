"""The ``parcours`` command line: a thin face over the Python API."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sim.cli.common import (
    EXIT_INPUT,
    check_limits,
    console,
    executor_for,
    executor_options,
    os_error_text,
    parameter_options,
    posterior_file,
    progress_bar,
    user_errors,
    window_option,
    window_overrides,
)
from sim.inputs.loading import ScenarioError, load_scenario
from sim.running.folders import check_destination, folder_lock, rescue_folder

if TYPE_CHECKING:
    from sim.inputs.scenario import Scenario
    from sim.running.runner import RunResult


def _seed_option(f: Callable[..., Any]) -> Callable[..., Any]:
    from sim.running.runner import DEFAULT_SEED

    return click.option(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        show_default=True,
        help="Base seed; replication r uses the streams of (seed, r).",
    )(f)


def overridden_name(name: str, overrides: Sequence[str]) -> str:
    """A scenario changed by ``--set`` is not the file's scenario: its name says so, with a
    short digest of the changes (``etape2-610-set-3f2a1c``), unless a ``name=`` is set."""
    digest = hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:6]
    return f"{name}-set-{digest}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="parcours")
def main() -> None:
    """parcours: simulate the Paris crack-users care pathway and compare scenarios."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-n", "--replications", type=click.IntRange(min=1), default=20, show_default=True)
@_seed_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default results/<scenario>-<timestamp>).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scalar of the scenario, e.g. nodes.assore.capacity=610.",
)
@executor_options
@window_option
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
@parameter_options
def run(
    scenario: Path,
    replications: int,
    seed: int,
    out: Path | None,
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    window: str | None,
    force: bool,
    quiet: bool,
    parameters_file: Path | None,
    draws: int | None,
    point: bool,
) -> None:
    """Run SCENARIO's replications and write a run folder.

    With --parameters posterior.parquet --draws K, K parameter sets are each replicated N
    times, so the confidence intervals include parameter uncertainty."""
    from sim.outputs.display import run_table
    from sim.running.results import default_out, summary_with_targets
    from sim.running.runner import default_workers

    with user_errors():
        sc = load_scenario(scenario, (*overrides, *window_overrides(window)))
        if overrides and not any(o.strip().startswith("name=") for o in overrides):
            sc = sc.model_copy(update={"name": overridden_name(sc.name, overrides)})
        target = out or default_out(sc.name)
        parameters_file, draws = posterior_file(scenario, parameters_file, draws, point)
        sets_wanted = (draws or 10) if parameters_file is not None else 1
        check_limits([sc], replications * sets_wanted, workers or default_workers())
        check_destination(target, force)
        with folder_lock(target):
            result = _run_into(
                sc, target, replications, seed, workers, scheduler, dask_local, force, quiet,
                parameters_file, draws, overrides,
            )  # fmt: skip
    if not quiet:
        title = f"{sc.name}: {replications} replications, seed {seed} ({result.seconds:.1f} s)"
        console().print(run_table(sc, summary_with_targets(result), title))
    click.echo(f"results: {target}")


def _run_into(
    sc: Scenario,
    target: Path,
    replications: int,
    seed: int,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    force: bool,
    quiet: bool,
    parameters_file: Path | None,
    draws: int | None,
    overrides: tuple[str, ...] = (),
) -> RunResult:
    """Run the replications and write them to ``target`` (or, if that fails, to a rescue
    folder named in the error)."""
    from sim.running.results import write_run
    from sim.running.runner import run as run_replications

    sets, spec = None, None
    extra: dict[str, Any] = {"overrides": list(overrides)} if overrides else {}
    if parameters_file is not None:
        from sim.inputs.parameters import draws as read_draws

        try:
            sets, spec = read_draws(parameters_file, draws or 10)
        except (OSError, ValueError) as err:
            raise click.BadParameter(str(err), param_hint="--parameters") from None
        extra |= {
            "parameters": str(parameters_file),
            "draws": len(sets),
            "parameter_sets": [dict(values) for values in sets],
        }
    total = replications * (len(sets) if sets else 1)
    try:
        with (
            executor_for(workers, scheduler, dask_local) as executor,
            progress_bar(total, f"{sc.name}", quiet) as advance,
        ):
            result = run_replications(
                sc,
                replications,
                seed,
                progress=advance,
                parameter_sets=sets,
                parameter_spec=spec,
                executor=executor,
            )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: nothing written (a run folder is written only once every "
            "replication is done)",
            err=True,
        )
        raise SystemExit(130) from None
    try:
        write_run(result, target, force, extra)
    except OSError as err:
        rescue = rescue_folder(sc.name)
        write_run(result, rescue, force=True, extra=extra)
        raise OSError(
            f"cannot write {target} ({os_error_text(err)}); the results are kept in {rescue}"
        ) from None
    return result


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
def validate(files: tuple[Path, ...], overrides: tuple[str, ...]) -> None:
    """Check scenario files; one line per problem (file:line: path: message)."""
    failed = False
    for file in files:
        try:
            load_scenario(file, overrides)
        except ScenarioError as err:
            failed = True
            for problem in err.problems:
                click.echo(str(problem), err=True)
    if failed:
        sys.exit(EXIT_INPUT)
    click.echo(f"{len(files)} scenario file(s) valid")


@main.command()
@click.option("--markdown", is_flag=True, help="Print the format reference as Markdown instead.")
def schema(markdown: bool) -> None:
    """Print the scenario JSON Schema (for editor autocompletion)."""
    from sim.inputs.reference import markdown as reference
    from sim.inputs.scenario import Scenario

    if markdown:
        click.echo(reference(), nl=False)
        return
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
)
@click.option("-n", "--replications", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores)."
)
@click.option(
    "--update-readme",
    "readme",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Regenerate the comparison table in this Markdown file.",
)
def demo(out: Path, replications: int, workers: int | None, readme: Path | None) -> None:
    """Run the shipped étape 2 scenarios and write results under OUT."""
    from sim.cli.demo import run_demo

    terminal = console()
    with user_errors():
        for item in run_demo(out, replications, workers, readme, width=terminal.width):
            if isinstance(item, str):
                click.echo(item)
            else:
                terminal.print(item)


def _add_feature_commands() -> None:
    """Commands of the analyses (compare, sweep, calibrate, plot...) live beside their code."""
    import importlib

    for module_name in FEATURE_MODULES:
        module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            main.add_command(command)


FEATURE_MODULES: tuple[str, ...] = (
    "sim.cli.calibrate",
    "sim.cli.compare",
    "sim.cli.sweep",
    "sim.cli.table",
    "sim.cli.plot",
    "sim.app.command",
)
_add_feature_commands()

if __name__ == "__main__":  # pragma: no cover
    main()

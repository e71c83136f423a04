"""``parcours sweep``, ``parcours sensitivity`` and ``parcours plot-sweep``."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.analysis.sweep import SweepProgress
from sim.cli.common import (
    EXIT_INPUT,
    check_limits,
    executor_for,
    executor_options,
    lang_option,
    new_progress,
    user_errors,
)
from sim.inputs.loading import load_scenario, validate_data
from sim.outputs.i18n import check_lang
from sim.running.folders import check_destination
from sim.running.results import OutputExistsError
from sim.running.runner import default_workers
from sim.running.sweep_store import SweepError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def sweep_progress(quiet: bool) -> Iterator[Callable[[str, SweepProgress], None]]:
    """A progress bar per stage: points done, runs per second and time left."""
    if quiet:
        yield lambda label, p: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[points]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with new_progress(*columns) as bar:

        def update(label: str, p: SweepProgress) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=max(p.runs_total, 1), points="", rate="")
            failed = f", {p.points_failed} failed" if p.points_failed else ""
            bar.update(
                tasks[label],
                completed=p.runs_done,
                points=f"{p.points_done}/{p.points_total} points{failed}",
                rate=f"{p.runs_per_second:.1f} runs/s",
            )

        yield update


def _executor_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        executor_options,
        click.option(
            "--chunk",
            type=click.IntRange(min=1),
            default=None,
            metavar="RUNS",
            help="Runs per task (default: about 16 tasks per worker, at most 50 runs).",
        ),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@contextlib.contextmanager
def _sweep_errors() -> Iterator[None]:
    with user_errors():
        try:
            yield
        except SweepError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_INPUT)


def _origins(texts: tuple[str, ...], option: str) -> list[tuple[str, tuple[str, int]]]:
    return [(t, (option, i + 1)) for i, t in enumerate(texts)]


@click.command()
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grids", multiple=True, metavar="PATH=V1,V2,...", help="Values to try.")
@click.option(
    "--range", "ranges", multiple=True, metavar="PATH=LO:HI:N", help="N values from LO to HI."
)
@click.option(
    "--design",
    type=click.Choice(["grid", "lhs", "sobol"]),
    default=None,
    help="Space-filling design over --bounds: Latin hypercube or Sobol' (default grid).",
)
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Points of --design.")
@click.option(
    "--bounds",
    "bounds",
    multiple=True,
    metavar="PATH=LO:HI",
    help="Interval of a parameter for --design (add :int or :float to force the kind).",
)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Fixed override.")
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications per point (default 10, or the sweep file's).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Sweep seed (default 20190527)."
)
@click.option(
    "--crn/--no-crn",
    default=None,
    help="Common random numbers: every point uses the same seeds (default on).",
)
@_executor_options
@click.option(
    "--checkpoint",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Save finished points at most this often.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default results/sweep-<name>-<timestamp>).",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Finish an interrupted sweep: only the missing (or failed) points run.",
)
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def sweep(
    source: Path | None,
    grids: tuple[str, ...],
    ranges: tuple[str, ...],
    design: str | None,
    samples: int | None,
    bounds: tuple[str, ...],
    overrides: tuple[str, ...],
    replications: int | None,
    seed: int | None,
    crn: bool | None,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    chunk: int | None,
    quiet: bool,
    checkpoint: float,
    out: Path | None,
    resume: Path | None,
    force: bool,
) -> None:
    """Run SOURCE (a scenario or a sweep file) over a design of parameter values.

    PATH is dotted as for --set; a schedule's steps are numbered from 0, and -1 is the last
    (nodes.assore.capacity.-1.value: the 2023 step; nodes.assore.capacity alone replaces the
    whole schedule with one value).

    \b
    parcours sweep scenarios/etape2-610.yaml -n 10 \\
        --range nodes.assore.capacity.-1.value=400:800:5
    parcours sweep scenarios/etape2-610.yaml -n 20 \\
        --range nodes.assore.capacity.-1.value=400:800:9 \\
        --set "nodes.lhss.capacity={add_step: {from: 2024-07-01, value: 0}}" \\
        --range nodes.lhss.capacity.1.value=0:100:5   # LHSS beds from July 2024
    parcours sweep scenarios/sweeps/assore-capacity.yaml --scheduler tcp://host:8786
    parcours sweep --resume results/sweep-etape2-610-20240101-120000
    """
    from sim.analysis.sweep import plan_sweep, run_sweep
    from sim.inputs.sweep_spec import (
        SweepSpec,
        is_sweep_file,
        load_sweep_file,
        parse_bounds,
        parse_grid,
        parse_range,
    )
    from sim.running.results import default_out
    from sim.running.sweep_store import plan_from_folder

    with _sweep_errors():
        if source is None and resume is None:
            raise click.UsageError("give a scenario or sweep file, or --resume DIR")
        if resume is not None and out is not None and out.resolve() != resume.resolve():
            raise click.UsageError("--out and --resume name different folders")
        if source is None:
            assert resume is not None
            if grids or ranges or bounds or overrides or design or samples:
                raise click.UsageError("with --resume alone the design comes from DIR")
            plan = plan_from_folder(resume)
        else:
            spec = load_sweep_file(source) if is_sweep_file(source) else SweepSpec(scenario=source)
            axes = [parse_grid(t, o) for t, o in _origins(grids, "--grid")]
            axes += [parse_range(t, o) for t, o in _origins(ranges, "--range")]
            spec = dataclasses.replace(
                spec,
                overrides=spec.overrides + overrides,
                axes=spec.axes + tuple(axes),
                bounds=spec.bounds
                + tuple(parse_bounds(t, o) for t, o in _origins(bounds, "--bounds")),
                design=design or spec.design,  # type: ignore[arg-type]
                samples=samples if samples is not None else spec.samples,
                replications=replications or spec.replications,
                seed=seed if seed is not None else spec.seed,
                crn=crn if crn is not None else spec.crn,
            )
            if not (spec.axes or spec.bounds or spec.points):
                raise click.UsageError("nothing to sweep: give --grid, --range or --bounds")
            plan = plan_sweep(spec)
        target = resume or out or default_out(f"sweep-{plan.name}")
        if resume is None and target.exists() and not force:
            raise OutputExistsError(f"{target} exists; use --force to replace it or --resume")
        if resume is None:
            check_destination(target, force)
        runs = plan.replications * len(plan.points)
        check_limits([validate_data(copy.deepcopy(plan.base))], runs, workers or default_workers())
        with executor_for(workers, scheduler, dask_local) as executor, sweep_progress(quiet) as bar:
            try:
                result = run_sweep(
                    plan,
                    target,
                    executor=executor,
                    resume=resume is not None,
                    force=force,
                    progress=lambda p: bar(plan.name, p),
                    chunk_runs=chunk,
                    checkpoint_seconds=checkpoint,
                )
            except KeyboardInterrupt:
                from sim.running.folders import read_manifest

                done = len(read_manifest(target, ("sweep",)).get("finished", []))
                click.echo(
                    f"interrupted: {done} of {len(plan.points)} points saved in {target}\n"
                    f"finish with: parcours sweep --resume {target}",
                    err=True,
                )
                sys.exit(EXIT_INTERRUPTED)
    mode = "common random numbers" if plan.crn else "independent seeds per point"
    click.echo(
        f"sweep {plan.name}: {len(plan.points)} points x {plan.replications} replications "
        f"(seed {plan.seed}, {mode})"
    )
    rate = result.runs / result.seconds if result.seconds > 0 else 0.0
    resumed = f", {result.resumed} already done" if result.resumed else ""
    click.echo(
        f"done: {result.finished} points ok, {len(result.failed)} failed{resumed}; "
        f"{result.runs} runs in {result.seconds:.1f} s ({rate:.1f} runs/s) "
        f"on {result.executor} ({_workers(result.workers)})"
    )
    click.echo(f"results: {result.out}")
    if result.failed:
        click.echo(f"failed points ({len(result.failed)}):", err=True)
        for point, error in sorted(result.failed.items()):
            click.echo(f"  point {point} ({plan.describe(point)}): {error}", err=True)
        click.echo(f"retry them with: parcours sweep --resume {result.out}", err=True)
        sys.exit(EXIT_FAILED)


def _workers(n: int) -> str:
    return f"{n} worker" if n == 1 else f"{n} workers"


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--bounds",
    "bounds",
    multiple=True,
    required=True,
    metavar="PATH=LO:HI",
    help="Interval of a parameter (repeat for each).",
)
@click.option(
    "--kpi",
    "kpis",
    multiple=True,
    metavar="KPI",
    help="KPI to explain (repeat; default street.mean and exits.positive.per_month).",
)
@click.option(
    "--method", type=click.Choice(["morris", "sobol"]), default="morris", show_default=True
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Morris trajectories (default 10) or Sobol' base samples N, a power of 2 (default 64).",
)
@click.option("--levels", type=click.IntRange(min=2), default=4, show_default=True, help="Morris.")
@click.option("-n", "--replications", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=None)
@click.option("--crn/--no-crn", default=True, show_default=True, help="Common random numbers.")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@_executor_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default results/sensitivity-<scenario>-<timestamp>).",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Finish an interrupted analysis in DIR (same arguments).",
)
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@lang_option("the charts")
def sensitivity(
    scenario: Path,
    bounds: tuple[str, ...],
    kpis: tuple[str, ...],
    method: str,
    samples: int | None,
    levels: int,
    replications: int,
    seed: int | None,
    crn: bool,
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    chunk: int | None,
    quiet: bool,
    out: Path | None,
    resume: Path | None,
    force: bool,
    lang: str,
) -> None:
    """Which parameters drive the KPIs of SCENARIO: Morris or Sobol' indices and a tornado.

    \b
    parcours sensitivity scenarios/etape2-610.yaml --method sobol --samples 64 \\
        --bounds nodes.assore.capacity.-1.value=400:800 \\
        --bounds nodes.lhss.capacity=0:100 \\
        --kpi street.mean --kpi exits.positive.per_month
    """
    from sim.analysis.sensitivity import DEFAULT_KPIS, SensitivitySpec
    from sim.inputs.sweep_spec import parse_bounds
    from sim.outputs.sensitivity_output import run_sensitivity
    from sim.running.results import default_out
    from sim.running.runner import DEFAULT_SEED

    with _sweep_errors():
        if resume is not None and out is not None and out.resolve() != resume.resolve():
            raise click.UsageError("--out and --resume name different folders")
        spec = SensitivitySpec(
            scenario=scenario,
            bounds=tuple(parse_bounds(t, o) for t, o in _origins(bounds, "--bounds")),
            kpis=kpis or DEFAULT_KPIS,
            method=method,  # type: ignore[arg-type]
            samples=samples,
            levels=levels,
            replications=replications,
            seed=seed if seed is not None else DEFAULT_SEED,
            crn=crn,
            overrides=overrides,
        )
        target = resume or out or default_out(f"sensitivity-{scenario.stem}")
        if resume is None and target.exists() and not force:
            raise OutputExistsError(f"{target} exists; use --force to replace it or --resume")
        if resume is None:
            check_destination(target, force)
        check_limits([load_scenario(scenario, overrides)], replications, workers or 1)
        with executor_for(workers, scheduler, dask_local) as executor, sweep_progress(quiet) as bar:
            try:
                result = run_sensitivity(
                    spec,
                    target,
                    executor=executor,
                    resume=resume is not None,
                    force=force,
                    progress=bar,
                    chunk_runs=chunk,
                    lang=check_lang(lang),
                )
            except KeyboardInterrupt:
                click.echo(
                    f"interrupted; finish with the same command and --resume {target}", err=True
                )
                sys.exit(EXIT_INTERRUPTED)
    console = Console(highlight=False, soft_wrap=True)
    for kpi in spec.kpis:
        console.print(_indices_table(result.indices, result.tornado, kpi, spec.method))
    click.echo(f"results: {result.out} ({result.seconds:.1f} s)")
    if result.failed:
        for label, failed in result.failed.items():
            for point, error in sorted(failed.items()):
                click.echo(f"failed: {label} point {point}: {error}", err=True)
        sys.exit(EXIT_FAILED)


def _indices_table(indices: Any, tornado: Any, kpi: str, method: str) -> Table:
    from sim.outputs.formats import number

    table = Table(title=f"{kpi}: {method} indices and one-at-a-time swing", title_justify="left")
    table.add_column("parameter")
    keys = (
        ("mu_star", "mu_star_conf", "sigma")
        if method == "morris"
        else ("S1", "S1_conf", "ST", "ST_conf")
    )
    names = {"mu_star": "mu*", "mu_star_conf": "± 95%", "S1_conf": "± 95%", "ST_conf": "± 95%"}
    for key in keys:
        table.add_column(names.get(key, key), justify="right")
    table.add_column("tornado swing", justify="right")
    swing = tornado[tornado["kpi"] == kpi].set_index("parameter")["swing"]
    for row in indices[indices["kpi"] == kpi].itertuples(index=False):
        values = [number(getattr(row, k)) for k in keys]
        table.add_row(str(row.parameter), *values, number(swing.get(row.parameter)))
    return table


@click.command("plot-sweep")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kpi", required=True, help="KPI (or obs.<name>) to draw.")
@click.option("--x", "x", default=None, metavar="PATH", help="Parameter on the x axis.")
@click.option("--y", "y", default=None, metavar="PATH", help="Second parameter (heatmap).")
@click.option("--lines", is_flag=True, help="One line per value of --y instead of a heatmap.")
@click.option(
    "--out",
    "outs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Chart file(s), .png or .svg (default FOLDER/plots/<kpi>.png).",
)
@click.option("--force", is_flag=True, help="Replace existing chart files.")
@lang_option("the chart")
def plot_sweep(
    folder: Path,
    kpi: str,
    x: str | None,
    y: str | None,
    lines: bool,
    outs: tuple[Path, ...],
    force: bool,
    lang: str,
) -> None:
    """Chart a KPI of the sweep in FOLDER over one or two swept parameters (axes named after
    the scenario's places; points not yet done are marked and counted)."""
    from sim.analysis.sweep import load_sweep
    from sim.outputs.sweep_plots import save_figure, sweep_chart

    with _sweep_errors():
        loaded = load_sweep(folder)
        rows = loaded.rows
        parameters = list(loaded.parameters)
        if not len(rows):
            click.echo(f"error: {folder} has no finished points yet", err=True)
            sys.exit(EXIT_INPUT)
        for name, value, choices in (
            ("--kpi", kpi, loaded.kpis),
            ("--x", x, parameters),
            ("--y", y, parameters),
        ):
            if value is not None and value not in choices:
                shown = ", ".join(list(choices)[:15])
                click.echo(
                    f"error: {name} {value}: not in this sweep (choose from {shown})", err=True
                )
                sys.exit(EXIT_INPUT)
        if y is None and x is None and len(parameters) > 1:
            x, y = parameters[0], parameters[1]
        figure = sweep_chart(loaded, kpi, x, y, lines, check_lang(lang))
        slug = kpi if y is None else f"{kpi}-by-{x}-{y}"
        targets = outs or (folder / "plots" / f"{slug.replace('/', '_')}.png",)
        for target in targets:
            if target.suffix.lower() not in (".png", ".svg"):
                click.echo(f"error: {target}: use a .png or .svg file name", err=True)
                sys.exit(EXIT_INPUT)
            save_figure(figure, target, force)
            click.echo(f"chart: {target}")


COMMANDS = [sweep, sensitivity, plot_sweep]

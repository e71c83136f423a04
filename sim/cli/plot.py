"""The ``plot``, ``report`` and ``diagram`` commands (registered by :mod:`sim.cli.main`)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from sim.cli.common import lang_option
from sim.outputs.style import FORMATS, METRICS, SIZE_NAMES

EXIT_INPUT = 2  # as sim.cli.main: bad input


@contextmanager
def _folder_errors() -> Iterator[None]:
    """One clear line and exit code 2 for folders and options that do not fit."""
    from sim.running.folders import FolderError

    try:
        yield
    except FolderError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(METRICS),
    help="Chart to draw (repeatable; default: all).",
)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    metavar="NODE",
    help="Place for the per-node charts (repeatable; default: the open places).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="png", show_default=True)
@lang_option("the charts")
@click.option(
    "--size",
    type=click.Choice(SIZE_NAMES),
    default="slide",
    show_default=True,
    help="slide: 16:9 for a projector; a4: across an A4 page; square.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the charts (default FOLDER/charts).",
)
@click.option(
    "--replication",
    type=click.IntRange(min=0),
    default=None,
    help="Draw this replication's trajectory instead of the mean and 90% band.",
)
@click.option(
    "--band",
    default=None,
    metavar="SCENARIO|none",
    help="Draw the 90% band of this scenario only, or of none (default: every scenario's, "
    "light and outlined).",
)
@click.option("--from", "start", type=_DATE, default=None, help="First day shown (YYYY-MM-DD).")
@click.option("--to", "end", type=_DATE, default=None, help="Last day shown (YYYY-MM-DD).")
@click.option("--force", is_flag=True, help="Replace existing chart files.")
def plot(
    folder: Path,
    metrics: tuple[str, ...],
    nodes: tuple[str, ...],
    fmt: str,
    lang: str,
    size: str,
    out: Path | None,
    replication: int | None,
    band: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    force: bool,
) -> None:
    """Draw the charts of a run, compare or calibration FOLDER (targets marked)."""
    from sim.outputs.plots import plot_folder

    with _folder_errors():
        paths = plot_folder(
            folder, out, lang, metrics or None, nodes or None, fmt, size, replication,
            _date(start), _date(end), force, band,
        )  # fmt: skip
    for path in paths:
        click.echo(str(path))


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@lang_option("the report")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file (default FOLDER/report-<lang>.html).",
)
@click.option("--force", is_flag=True, help="Replace an existing report.")
def report(folder: Path, lang: str, out: Path | None, force: bool) -> None:
    """Write one self-contained HTML report of a run, compare or calibration FOLDER."""
    from sim.outputs.report import write_report

    with _folder_errors():
        path = write_report(folder, out, lang, force)
    click.echo(str(path))


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "mermaid", "png", "pdf"]),
    default="svg",
    show_default=True,
)
@lang_option("the diagram")
@click.option("--size", type=click.Choice(SIZE_NAMES), default="slide", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output file (default <scenario>-diagram.<format>; Mermaid prints to stdout).",
)
@click.option(
    "--on", type=_DATE, default=None, help="Date of the capacities shown (default: the end)."
)
@click.option(
    "--min-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.05,
    show_default=True,
    help="Leave off the chart the routes below this probability (the note counts them).",
)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def diagram(
    scenario: Path,
    fmt: str,
    lang: str,
    size: str,
    out: Path | None,
    on: dt.datetime | None,
    min_share: float,
    overrides: tuple[str, ...],
    force: bool,
) -> None:
    """Draw SCENARIO's network: nodes, capacities and routing, as SVG (PNG, PDF) or Mermaid."""
    from sim.cli.common import user_errors
    from sim.inputs.loading import load_scenario
    from sim.outputs import style
    from sim.outputs.diagram import diagram_chart, mermaid
    from sim.outputs.i18n import check_lang
    from sim.running.results import OutputExistsError

    language = check_lang(lang)
    with user_errors():
        sc = load_scenario(scenario, overrides)
        written = out if out is not None or fmt == "mermaid" else Path(f"{sc.name}-diagram.{fmt}")
        if written is not None and written.exists() and not force:
            raise OutputExistsError(f"{written} exists; use --force to replace it")
    if fmt == "mermaid":
        text = mermaid(sc, language, _date(on))
        if out is None:
            click.echo(text, nl=False)
            return
        from sim.running.results import write_text_atomic

        write_text_atomic(out, text)
    else:
        target = out or Path(f"{sc.name}-diagram.{fmt}")
        fig = diagram_chart(sc, language, size, _date(on), min_share)  # type: ignore[arg-type]
        with style.context(size):  # type: ignore[arg-type]
            style.save(fig, target, fmt, salt=f"diagram-{sc.name}")  # type: ignore[arg-type]
        out = target
    click.echo(str(out))


COMMANDS = [plot, report, diagram]

"""``parcours app``: start the workbench on this machine (registered by :mod:`sim.cli.main`
like the other feature commands; the app's libraries are imported only when it starts)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.app.server import DEFAULT_HOST, DEFAULT_PORT

EXIT_INPUT = 2


@click.command("app")
@click.option(
    "--scenarios",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("scenarios"),
    show_default=True,
    help="Folder of the scenario files the app lists, opens and saves to.",
)
@click.option(
    "--results",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Folder the app writes run and comparison folders to, and opens them from.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on; anything but 127.0.0.1 lets other machines reach the app.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for the replications (default: all cores; 1 runs in the app's process).",
)
def app_command(scenarios: Path, results: Path, port: int, host: str, workers: int | None) -> None:
    """A local web workbench: open, edit, run, compare and download, in the browser.

    Listens on 127.0.0.1 (this machine only) unless --host says otherwise, prints the
    address and opens nothing; every page asset is served by the app itself (no CDN).
    Needs the app extra: pip install 'parcours[app]'."""
    if not scenarios.is_dir():
        click.echo(f"error: no scenarios folder {scenarios}", err=True)
        sys.exit(EXIT_INPUT)
    try:
        import nicegui  # noqa: F401
    except ImportError:
        click.echo("error: parcours app needs the app extra: pip install 'parcours[app]'", err=True)
        sys.exit(EXIT_INPUT)
    from sim.app.server import serve
    from sim.running.runner import default_workers

    serve(scenarios, results, host, port, workers or default_workers())


COMMANDS = [app_command]

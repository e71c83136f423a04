"""Serving the app: NiceGUI on a local address, every asset from the installed packages."""

from __future__ import annotations

from pathlib import Path

from sim.app.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def serve(
    scenarios: Path,
    results: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
) -> None:
    """Serve the workbench on ``host:port`` until interrupted; opens no browser."""
    from nicegui import ui

    from sim.app.pages import page

    workspace = Workspace(scenarios.resolve(), results.resolve())
    results.mkdir(parents=True, exist_ok=True)
    print(f"parcours app: http://{host}:{port}/  (scenarios {scenarios}, results {results})")
    print("press Ctrl-C to stop", flush=True)
    ui.run(
        page(workspace, workers),
        host=host,
        port=port,
        title="parcours",
        reload=False,
        show=False,
        show_welcome_message=False,
        uvicorn_logging_level="warning",
    )

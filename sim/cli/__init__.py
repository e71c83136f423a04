"""The command line: a thin face over the Python API."""

from sim.cli.main import main

__all__ = ["main"]

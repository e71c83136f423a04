"""The package's layers import downwards only (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    """``lint-imports`` reads the contracts from pyproject.toml: a cycle between layers or an
    upward import fails here and in ``make lint``."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if command is None:  # pragma: no cover - the dev install brings it
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    done = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_imports_itself_through_another() -> None:
    """No import cycle between any two modules, inside a layer too."""
    graph = grimp.build_graph("sim")
    cycles = sorted(
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a < b and graph.chain_exists(importer=b, imported=a)
    )
    assert cycles == []


def test_no_module_uses_another_ones_private_names() -> None:
    """``from sim.x import _helper`` across modules is how the old chart helpers tangled."""
    offenders = []
    for path in (ROOT / "sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {private}")
    assert offenders == []

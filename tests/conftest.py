"""Shared fixtures: paths and small scenario builders."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


# --- parallel runs (pytest-xdist, ``--dist loadgroup``) -----------------------------------
# Tests that share a costly module- or session-scoped fixture run in one worker, so the
# fixture is built once; a notebook's tests share that notebook's execution only. pytest 9.2
# broke pytest-xdist's grouping silently (pytest-dev/pytest-xdist#1386): pyproject pins below.
SHARED_FIXTURE_MODULES = frozenset(
    {
        "test_abc_folder",
        "test_app_browser",
        "test_compare",
        "test_determinism",
        "test_metamorphic",
        "test_periods",
        "test_plots",
        "test_report",
        "test_results",
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        if module == "test_notebooks" and "executed" in getattr(item, "fixturenames", ()):
            group = f"notebook-{item.callspec.getparam('executed').name}"  # type: ignore[attr-defined]
        elif module in SHARED_FIXTURE_MODULES:
            group = module
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in their default language whatever the shell sets (``PARCOURS_LANG``)."""
    monkeypatch.delenv("PARCOURS_LANG", raising=False)

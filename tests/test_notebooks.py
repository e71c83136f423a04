"""The tutorial notebooks: stored without outputs, use the Python API only, and run (small, as
shipped) without error, showing every chart they draw. How long they take is measured by
``make bench`` (benchmarks/notebook_bench.py), not here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK_DIR = ROOT / "notebooks"
EXPECTED = (
    "01-quickstart.ipynb",
    "02-calibration.ipynb",
    "03-etape2.ipynb",
    "04-sweep-sensitivity.ipynb",
)
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# Shell escapes and subprocesses: the notebooks teach the `sim` API, not the command line.
SHELL_CALLS = (
    (re.compile(r"^\s*!", re.MULTILINE), "a `!` shell escape"),
    (re.compile(r"^\s*%%(bash|sh|script|system)\b", re.MULTILINE), "a shell cell magic"),
    (re.compile(r"^\s*%(sx|system)\b", re.MULTILINE), "a shell line magic"),
    (re.compile(r"\bsubprocess\b"), "subprocess"),
    (re.compile(r"\bos\.(system|popen)\b"), "os.system"),
    (re.compile(r"\bparcours\s"), "the parcours command"),
)
# Calls that draw a chart: sim.plot and the figure builders of sim.*_plots / sim.outputs.plots.
PLOT_CALL = re.compile(r"\b(sim\.plot|plot_folder|heatmap|\w+_figure|\w+_chart|plot_sweep)\(")
WARNING = re.compile(r"\b\w*Warning: ")


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def test_the_four_notebooks_exist() -> None:
    assert tuple(p.name for p in NOTEBOOKS) == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in code_cells(nb) if c.outputs or c.execution_count is not None]
    assert not dirty, f"strip the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown"
    assert "Question" in first.source
    assert last.cell_type == "markdown"
    assert "What we learned" in last.source
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one papermill-style parameters cell"
    assert tagged[0] is code_cells(nb)[0][1], "the parameters cell comes before any other code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python_api_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = [
        f"cell {i}: {what}"
        for i, cell in code_cells(nb)
        for pattern, what in SHELL_CALLS
        if pattern.search(cell.source)
    ]
    assert not found, "use the sim API instead of " + "; ".join(found)


@dataclass(frozen=True)
class Executed:
    notebook: nbformat.NotebookNode


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.name)
def executed(request: pytest.FixtureRequest) -> Executed:
    """The notebook run once, top to bottom, at its default parameters."""
    path: Path = request.param
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return Executed(nb)


@pytest.mark.slow
def test_every_chart_is_displayed(executed: Executed) -> None:
    """A cell that draws a chart shows it as an image (not ``<Figure size ...>`` text)."""
    drawing = [(i, c) for i, c in code_cells(executed.notebook) if PLOT_CALL.search(c.source)]
    assert drawing, "each tutorial shows its results as charts"
    blank = [i for i, c in drawing if not any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert not blank, f"cells {blank} draw a chart but display no image"


@pytest.mark.slow
def test_notebook_prints_no_warning(executed: Executed) -> None:
    """A tutorial that warns teaches a misuse (e.g. a Sobol' sample that is not a power of 2)."""
    warned = [
        f"cell {i}: {o.text.strip().splitlines()[0]}"
        for i, c in code_cells(executed.notebook)
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr" and WARNING.search(o.text)
    ]
    assert not warned, "; ".join(warned)

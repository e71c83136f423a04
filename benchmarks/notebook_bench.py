"""``make bench``: how long each tutorial notebook takes at its default (small) settings.

The notebooks issue asks for under two minutes each; the tests execute them for correctness,
this measures them (timings belong here, never in tests).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 120.0


def bench_notebooks() -> dict[str, object]:
    """Execute every notebook once; return seconds per notebook and a Markdown section."""
    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        started = time.perf_counter()
        try:
            client.execute()
        except Exception as err:  # a broken notebook is reported, the other timings kept
            failed[path.name] = str(err).strip().splitlines()[-1][:120]
            continue
        seconds[path.name] = time.perf_counter() - started
    rows = [
        f"| {name} | {s:.1f} | {'met' if s < BUDGET_SECONDS else 'missed'} |"
        for name, s in seconds.items()
    ] + [f"| {name} | failed: {error} | |" for name, error in failed.items()]
    markdown = "\n".join(
        [
            "## Notebooks (benchmarks/notebook_bench.py)",
            "",
            "Each notebook executed once, top to bottom, at its default parameters (kernel start",
            f"included). Target: under {BUDGET_SECONDS:.0f} s each.",
            "",
            "| notebook | seconds | target |",
            "|---|---:|---|",
            *rows,
        ]
    )
    return {"seconds": seconds, "markdown": markdown}

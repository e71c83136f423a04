"""Every number in a shipped scenario file names its source or says it is an assumption."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.modeldoc import parameter_rows
from tests.conftest import SCENARIOS

SEED_LINE = re.compile(r"\d{3}_[0-9a-f]{16}\.txt:\d+")
SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "verification").glob("*.yaml"))


def cites_a_source(comment: str) -> bool:
    return bool(
        SEED_LINE.search(comment)
        or "assumption:" in comment
        or comment.startswith(("ext ", "figures.md", "calibrated:"))
        or re.search(r"\bext [a-z0-9-]+", comment)
        or "figures.md §" in comment
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_number_has_a_source(path: Path) -> None:
    rows = parameter_rows(path)
    missing = [
        f"{path.name}:{r['line']}: {r['path']} = {r['value']}"
        for r in rows
        if not cites_a_source(r["source"])
    ]
    assert rows or path.name.startswith("_")
    assert not missing, "numbers without a source or 'assumption:':\n" + "\n".join(missing)


def test_the_check_catches_an_unsourced_number(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (SCENARIOS / "verification" / "mmc.yaml").read_text(encoding="utf-8")
    bad.write_text(
        text.replace(
            "capacity: 400                  # assumption: c = 400 servers", "capacity: 400"
        ),
        encoding="utf-8",
    )
    rows = parameter_rows(bad)
    assert any(
        r["path"] == "nodes.queue.capacity" and not cites_a_source(r["source"]) for r in rows
    )

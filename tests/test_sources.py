"""Every number in a shipped scenario file names its source or says it is an assumption."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.outputs.modeldoc import parameter_rows
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
    # a file that only continues another one may change dates and observations alone
    extends = "\nextends:" in path.read_text(encoding="utf-8")
    assert rows or path.name.startswith("_") or extends
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


def test_every_cited_document_and_external_figure_is_listed_in_sources_md() -> None:
    """A citation means something to a reader only if docs/sources.md describes it."""
    sources = (SCENARIOS.parent / "docs" / "sources.md").read_text(encoding="utf-8")
    listed_files = set(re.findall(r"^### (\d{3}_[0-9a-f]{16}\.txt)", sources, re.MULTILINE))
    listed_keys = set(re.findall(r"^\| `([a-z0-9-]+)` \|", sources, re.MULTILINE))
    text = "\n".join(p.read_text(encoding="utf-8") for p in SHIPPED)
    cited_files = set(re.findall(r"(\d{3}_[0-9a-f]{16}\.txt)", text))
    cited_keys = set(re.findall(r"\bext ([a-z][a-z0-9]*(?:-[a-z0-9]+)+)", text))
    assert cited_files
    assert cited_keys
    assert cited_files <= listed_files, cited_files - listed_files
    assert cited_keys <= listed_keys, cited_keys - listed_keys

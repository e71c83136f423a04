"""Documentation that is generated must be current."""

from __future__ import annotations

from sim.reference import markdown
from tests.conftest import ROOT


def test_scenario_format_reference_is_current() -> None:
    on_disk = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert on_disk == markdown(), "regenerate: parcours schema --markdown > docs/scenario-format.md"


def test_every_schema_field_is_described() -> None:
    text = markdown()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    undocumented = [r for r in rows if r.rstrip().endswith("|  |") and "`kind`" not in r]
    assert rows
    assert not undocumented, undocumented


def test_model_description_is_current() -> None:
    from sim.modeldoc import markdown as model_markdown

    on_disk = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert on_disk == model_markdown(ROOT), "regenerate: python -m sim.modeldoc"
    assert "not yet calibrated" not in on_disk

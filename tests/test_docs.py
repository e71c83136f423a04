"""Documentation that is generated must be current."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sim.inputs.loading import load_scenario
from sim.inputs.reference import markdown
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


@pytest.mark.slow
def test_model_description_is_current() -> None:
    from sim.outputs.modeldoc import markdown as model_markdown

    on_disk = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert on_disk == model_markdown(ROOT), "regenerate: python -m sim.outputs.modeldoc"
    assert "not yet calibrated" not in on_disk


def test_the_readme_scenario_examples_are_valid_where_the_readme_says_to_save_them(
    tmp_path: Path,
) -> None:
    """Each YAML example of the README that extends a shipped scenario loads as written, from
    the folder the README names for it (the repository root unless it says scenarios/)."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(# (\S+\.yaml):.*?)```", text, re.DOTALL)
    assert len(examples) >= 2
    for body, name in examples:
        folder = tmp_path / "scenarios" if f"scenarios/{name}" in text else tmp_path
        (folder / name).write_text(body, encoding="utf-8")
        assert load_scenario(folder / name).nodes, name

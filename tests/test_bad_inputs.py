"""The bad-input corpus: every malformed scenario gives one clear located line per problem.

Each ``tests/bad_inputs/*.yaml`` file not starting with ``_`` is broken in one way and says, in
its first comment lines, what the error must contain::

    # expect: <dotted.path substring> | <message substring>
    # line: N          (optional: the exact line, where it is unambiguous)
    # file: name.yaml  (optional: the file the error is in, when it is an extended one)

Files starting with ``_`` are the valid base and helpers for the ``extends`` cases.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.inputs.loading import ScenarioError, load_scenario

BAD = Path(__file__).resolve().parent / "bad_inputs"
BASE = BAD / "_base.yaml"
CORPUS = sorted(p for p in BAD.glob("*.yaml") if not p.name.startswith("_"))
LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+): (?P<path>\S+): (?P<message>.+)$")


@dataclasses.dataclass(frozen=True)
class Expect:
    path: str
    message: str
    line: int | None
    file: str


def expectation(bad: Path) -> Expect:
    """Read the ``# expect:``, ``# line:`` and ``# file:`` header of a corpus file."""
    header: dict[str, str] = {}
    for raw in bad.read_bytes().decode("utf-8", errors="replace").splitlines():
        m = re.match(r"^#\s*(expect|line|file):\s*(.*?)\s*$", raw)
        if m is None:
            break
        header[m.group(1)] = m.group(2)
    assert "expect" in header, f"{bad.name}: no '# expect: path | message' first line"
    path, sep, message = header["expect"].partition(" | ")
    assert sep, f"{bad.name}: the expect line needs 'path | message'"
    line = int(header["line"]) if "line" in header else None
    return Expect(path.strip(), message.strip(), line, header.get("file", bad.name))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


def test_valid_base_loads() -> None:
    sc = load_scenario(BASE)
    assert sc.name == "base"
    assert set(sc.nodes) == {"street", "maraudes", "assore", "housing", "housed", "lost"}


@pytest.mark.parametrize("bad", CORPUS, ids=lambda p: p.stem)
def test_bad_file_is_reported_with_file_line_and_path(bad: Path) -> None:
    want = expectation(bad)
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    text = str(info.value)
    assert "Traceback" not in text
    assert info.value.problems, "a ScenarioError without problems"
    lines = text.splitlines()
    assert len(lines) == len(info.value.problems)
    parsed = []
    for line in lines:
        m = LINE.match(line)
        assert m is not None, f"not 'file:line: path: message': {line!r}"
        assert int(m["line"]) >= 1, line
        parsed.append(m)
    matching = [
        m
        for m in parsed
        if Path(m["file"]).name == want.file
        and want.path in m["path"]
        and want.message in m["message"]
    ]
    assert matching, f"no line in {want.file} with {want.path!r} and {want.message!r}:\n{text}"
    if want.line is not None:
        assert [int(m["line"]) for m in matching] == [want.line] * len(matching), text


def test_problem_lines_carry_the_given_file_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors name files as the user typed them, extended files relative to those."""
    monkeypatch.chdir(BAD.parent)
    with pytest.raises(ScenarioError) as info:
        load_scenario(os.path.join("bad_inputs", "extends_error_in_parent.yaml"))
    assert str(info.value).startswith(os.path.join("bad_inputs", "_base.yaml") + ":21: ")
    with pytest.raises(ScenarioError) as info:
        load_scenario(os.path.join("bad_inputs", "duplicate_top_key.yaml"))
    assert str(info.value).startswith(os.path.join("bad_inputs", "duplicate_top_key.yaml") + ":")


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.yaml"
    bad.write_text(
        f"extends: {BASE}\nnodes:\n  assore:\n"
        f"    capacity: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(ScenarioError, match="is not allowed"):
        load_scenario(bad)
    assert not marker.exists()


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nowhere.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'nowhere.yaml'}:1: <document>: cannot read file: No such file or directory"
    )


# --- the command line -------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """A path for the command line, relative if possible (so it has no spaces to split on)."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _assert_problem_lines(output: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "no error line at all"
    for line in lines:
        assert LINE.match(line), f"not 'file:line: path: message': {line!r}"
    assert "Traceback" not in output


def test_cli_validate_accepts_the_valid_base() -> None:
    from sim.cli.main import main

    result = CliRunner().invoke(main, ["validate", _shown(BASE)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("bad", CORPUS, ids=lambda p: p.stem)
def test_cli_validate_and_run_exit_2_without_output(bad: Path, tmp_path: Path) -> None:
    from sim.cli.main import main

    runner = CliRunner()
    result = runner.invoke(main, ["validate", _shown(bad)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    _assert_problem_lines(result.output)

    out = tmp_path / "out"
    result = runner.invoke(main, ["run", _shown(bad), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    _assert_problem_lines(result.output)
    assert not out.exists(), "partial output written for a bad scenario"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("nodes.asore.capacity=30", "--set:1: nodes.asore: no such entry (did you mean 'assore'?)"),
        ("nodes.assore.capacty=30", "--set:1: nodes.assore.capacty: unknown key"),
        ("nodes.assore.capacity=-1", "--set:1: nodes.assore.capacity: Input should be greater"),
        ("start.year=2021", "--set:1: start.year: cannot set 'year' inside start"),
        ("no_equal_sign", "--set:1: <document>: 'no_equal_sign': expected dotted.path=value"),
    ],
)
def test_cli_bad_set_is_one_clear_line(override: str, expected: str, tmp_path: Path) -> None:
    from sim.cli.main import main

    runner = CliRunner()
    result = runner.invoke(main, ["validate", _shown(BASE), "--set", override])
    assert result.exit_code == 2, result.output
    _assert_problem_lines(result.output)
    assert next(ln for ln in result.output.splitlines() if ln.strip()).startswith(expected)

    out = tmp_path / "out"
    result = runner.invoke(main, ["run", _shown(BASE), "--set", override, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert not out.exists()

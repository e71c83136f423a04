"""Run folders: written atomically, never half-written, never overwritten without force."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sim.inputs.loading import load_scenario
from sim.running.results import OutputExistsError, git_commit, load_run, write_run
from sim.running.runner import RunResult, run
from tests.conftest import SCENARIOS

SHORT = ["end=2001-01-01", "warmup=0"]


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run(load_scenario(SCENARIOS / "verification" / "mmc.yaml", SHORT), 2, seed=4)


def _fail_on_episodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the second file written (episodes.parquet) fail, as a full disk would."""
    original = pd.DataFrame.to_parquet

    def to_parquet(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        if str(path).endswith("episodes.parquet"):
            raise OSError(28, "No space left on device")
        original(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


def test_a_failed_write_leaves_no_folder_and_no_temporary(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_episodes(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write_run(result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_forced_write_keeps_the_previous_folder_intact(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write_run(result, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fail_on_episodes(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write_run(result, out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_existing_folder_is_refused_without_force(result: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError):
        write_run(result, out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_run_folder_reads_back_to_the_same_numbers(result: RunResult, tmp_path: Path) -> None:
    back = load_run(write_run(result, tmp_path / "run"))
    pd.testing.assert_frame_equal(back.kpis, result.kpis, check_dtype=False)
    pd.testing.assert_frame_equal(
        back.episodes.reset_index(drop=True), result.episodes.reset_index(drop=True)
    )
    assert back.scenario.digest() == result.scenario.digest()


def test_the_manifest_names_the_code_commit_wherever_it_is_run_from(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the source is not a git checkout")
    monkeypatch.chdir(tmp_path)  # a folder outside any repository
    commit = git_commit()
    assert commit is not None
    assert commit.removesuffix("-dirty") == head
    info = json.loads((write_run(result, tmp_path / "run") / "manifest.json").read_text())
    assert info["git_commit"] == commit


def test_summaries_over_parameter_draws_use_the_per_draw_means() -> None:
    """Replications of one draw share its parameters: the CI is that of the draw means."""
    import math

    from scipy import stats

    from sim.running.metrics import summarise

    table = pd.DataFrame(
        {
            "replication": range(6),
            "draw": [0, 0, 1, 1, 2, 2],
            "street.mean": [10.0, 12.0, 20.0, 22.0, 30.0, 32.0],
        }
    )
    row = summarise(table).set_index("kpi").loc["street.mean"]
    # the draw means are 11, 21 and 31: their sd is 10
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(21.0)
    assert row["sd"] == pytest.approx(10.0)
    assert row["ci95"] == pytest.approx(stats.t.ppf(0.975, 2) * 10.0 / math.sqrt(3))
    independent = summarise(table.drop(columns="draw")).set_index("kpi").loc["street.mean"]
    assert independent["n"] == 6  # without draws, replications are the units
    assert independent["ci95"] < row["ci95"]


def test_load_run_names_the_folder_kind_it_expected(tmp_path: Path) -> None:
    """``sim.load_run`` on a compare folder says what it is and where its runs are."""
    from sim.running.folders import FolderError
    from sim.running.results import load_run, run_paths

    folder = tmp_path / "cmp"
    (folder / "runs" / "a").mkdir(parents=True)
    (folder / "manifest.json").write_text('{"kind": "compare", "run_folders": ["a"]}')
    with pytest.raises(FolderError, match="a compare folder, not a run folder"):
        load_run(folder)
    with pytest.raises(FolderError, match=r"compare folder without its runs \(a\)"):
        run_paths(folder)
    with pytest.raises(FolderError, match="not a parcours run folder"):
        load_run(tmp_path)


def _manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (None, "{folder}: not a parcours run or compare folder (no manifest.json)"),
        ('{\n  "kind": "run",\n  oops\n}', "{folder}/manifest.json:3: not valid JSON ("),
        ("[1, 2]", "{folder}/manifest.json: not a parcours manifest (a JSON object is expected)"),
        ('{"kind": "sweep"}', "{folder}: a sweep folder, not a run or compare folder"),
        ('{"kind": "picture"}', "{folder}: a picture folder, not a run or compare folder"),
    ],
)
def test_the_one_manifest_reader_says_what_is_wrong_in_one_line(
    tmp_path: Path, text: str | None, line: str
) -> None:
    """Every command reads manifests through ``read_manifest``: a missing, broken or foreign
    one is one line naming the file (and the JSON line), never a traceback."""
    from sim.running.folders import FolderError, read_manifest

    folder = tmp_path / "f"
    folder.mkdir()
    if text is not None:
        _manifest(folder, text)
    with pytest.raises(FolderError) as err:
        read_manifest(folder, ("run", "compare"))
    message = str(err.value)
    assert message.startswith(line.format(folder=folder)), message
    assert "\n" not in message


def test_the_manifest_reader_checks_kinds_and_raises_the_callers_error(tmp_path: Path) -> None:
    from sim.running.folders import FolderError, read_manifest
    from sim.running.sweep_store import SweepError, load_rows

    legacy = _manifest(tmp_path / "legacy", '{"seed": 1}')  # the first run folders had no kind
    assert read_manifest(legacy, ("run",)) == {"seed": 1}
    with pytest.raises(FolderError, match="a run folder, not a sweep folder"):
        read_manifest(legacy, ("sweep",))
    with pytest.raises(SweepError, match="a run folder, not a sweep folder"):
        load_rows(legacy)  # the sweep store's own error, from the same reader
    unreadable = tmp_path / "unreadable"
    (unreadable / "manifest.json").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(FolderError, match=r"manifest.json: cannot be read \("):
        read_manifest(unreadable)


def test_force_replaces_only_a_manifest_that_names_a_parcours_kind(tmp_path: Path) -> None:
    """A ``manifest.json`` of some other tool (no ``kind``) is not a parcours folder: --force
    leaves it alone, although the reader takes it for an early run folder."""
    from sim.running.folders import check_replaceable

    other = _manifest(tmp_path / "webapp", '{"name": "my app", "icons": []}')
    with pytest.raises(OutputExistsError, match="not a results folder written by parcours"):
        check_replaceable(other)
    broken = _manifest(tmp_path / "broken", "{")
    with pytest.raises(OutputExistsError, match="not a results folder written by parcours"):
        check_replaceable(broken)


@pytest.mark.parametrize("command", ["plot", "report", "table"])
def test_commands_on_a_broken_manifest_exit_2_with_the_file_and_line(
    tmp_path: Path, command: str
) -> None:
    from click.testing import CliRunner

    from sim.cli.main import main

    folder = _manifest(tmp_path / "run", '{"kind": "run",\n "seed": }')
    result = CliRunner().invoke(main, [command, str(folder)])
    assert result.exit_code == 2, result.output
    assert f"{folder}/manifest.json:2: not valid JSON" in result.output
    assert "Traceback" not in result.output

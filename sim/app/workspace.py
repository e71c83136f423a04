"""The two folders the app may touch: scenario files are read from and saved to one, results
are written to and read from the other. Every name that comes from the browser goes through
here, and a name that would leave its folder is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from sim.running.folders import FolderError, read_manifest

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
"""A file or folder name the app accepts: no separator, no leading dot, nothing hidden."""


class PathRefusedError(ValueError):
    """A name from the browser that does not name a file inside the app's folders."""


@dataclasses.dataclass(frozen=True)
class ScenarioEntry:
    """A scenario file of the list: its file name, title and question."""

    file: str
    name: str
    title: dict[str, str]
    description: dict[str, str]
    """The question by language (a plain text serves both)."""
    extends: str | None


@dataclasses.dataclass(frozen=True)
class ResultsEntry:
    """A results folder of the list: its name, kind and scenarios."""

    name: str
    kind: str
    scenarios: tuple[str, ...]
    created: str


def inside(root: Path, name: str, suffix: str = "") -> Path:
    """``root/name`` if ``name`` is a plain name (with ``suffix``) whose real path stays in
    ``root``; otherwise :class:`PathRefusedError`."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise PathRefusedError(f"'{name}' is not a plain file name")
    if suffix and not name.endswith(suffix):
        raise PathRefusedError(f"'{name}' does not end with {suffix}")
    base = root.resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise PathRefusedError(f"'{name}' leads outside {root}")
    return path


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The scenarios folder and the results folder of one app server."""

    scenarios: Path
    results: Path

    def scenario(self, file: str) -> Path:
        """An existing scenario file of the folder, by file name."""
        path = inside(self.scenarios, file, ".yaml")
        if not path.is_file():
            raise PathRefusedError(f"no scenario file '{file}'")
        return path

    def new_scenario(self, stem: str) -> Path:
        """Where "Save as" writes ``stem``.yaml (refused if it exists: nothing is overwritten)."""
        path = inside(self.scenarios, f"{stem.removesuffix('.yaml')}.yaml", ".yaml")
        if path.exists():
            raise PathRefusedError(f"{path.name} exists already; choose another name")
        return path

    def folder(self, name: str) -> Path:
        """An existing results folder, by name."""
        path = inside(self.results, name)
        if not (path / "manifest.json").is_file():
            raise PathRefusedError(f"no results folder '{name}'")
        return path

    def download(self, folder: str, file: str) -> Path:
        """A file of a results folder (a plain name, or ``runs/<name>/<file>``)."""
        base = self.folder(folder)
        parts = file.split("/")
        if len(parts) not in (1, 3) or (len(parts) == 3 and parts[0] != "runs"):
            raise PathRefusedError(f"'{file}' is not a file of a results folder")
        path = base
        for part in parts:
            path = inside(path, part)
        if not path.is_file():
            raise PathRefusedError(f"no file '{file}' in {folder}")
        return path

    def new_folder(self, prefix: str) -> Path:
        """A new results folder name, unique even for two tabs started in the same second."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", prefix).strip(".-") or "run"
        return inside(self.results, f"{stem[:40]}-{stamp}-{uuid.uuid4().hex[:6]}")

    def scenario_list(self) -> list[ScenarioEntry]:
        """The scenario files of the folder (not its subfolders), by file name."""
        entries = []
        for path in sorted(self.scenarios.glob("*.yaml")):
            if not NAME.fullmatch(path.name):
                continue
            data = _head(path)
            title = data.get("title")
            entries.append(
                ScenarioEntry(
                    file=path.name,
                    name=str(data.get("name") or path.stem),
                    title={k: str(v) for k, v in title.items()} if isinstance(title, dict) else {},
                    description=_by_language(data.get("description")),
                    extends=str(data["extends"]) if isinstance(data.get("extends"), str) else None,
                )
            )
        return entries

    def results_list(self) -> list[ResultsEntry]:
        """Run and comparison folders of the results folder, newest first."""
        entries: list[ResultsEntry] = []
        if not self.results.is_dir():
            return entries
        for path in self.results.iterdir():
            if not NAME.fullmatch(path.name):
                continue
            try:
                info = read_manifest(path, ("run", "compare"))
            except FolderError:  # not a results folder the app shows
                continue
            names = tuple(str(s.get("name")) for s in info.get("scenarios", []))
            kind = str(info.get("kind", "run"))
            entries.append(ResultsEntry(path.name, kind, names, str(info.get("created"))))
        return sorted(entries, key=lambda e: e.created, reverse=True)

    def posteriors(self) -> list[str]:
        """Calibration folders holding a posterior (``<folder>/posterior.parquet``)."""
        if not self.results.is_dir():
            return []
        return sorted(
            p.parent.name
            for p in self.results.glob("*/posterior.parquet")
            if NAME.fullmatch(p.parent.name)
        )

    def scenario_posterior(self, file: str) -> tuple[Path, int] | None:
        """The posterior the scenario file names (``calibration.posterior``, a file of the
        scenarios folder) and its ``draws``: what ``parcours run`` and ``compare`` draw by
        default. None if it names none or cannot be read (its problems show when it runs)."""
        from sim.inputs.loading import ScenarioError, load_scenario

        try:
            spec = load_scenario(self.scenario(file)).calibration
        except (ScenarioError, OSError, PathRefusedError):
            return None
        if spec is None or spec.posterior is None:
            return None
        path = inside(self.scenarios, spec.posterior)
        if not path.is_file():
            raise PathRefusedError(f"no posterior '{spec.posterior}' beside {file}")
        return path, spec.draws

    def posterior(self, folder: str) -> Path:
        """The posterior file of a calibration folder."""
        path = inside(self.results, folder) / "posterior.parquet"
        if not path.is_file():
            raise PathRefusedError(f"no posterior in '{folder}'")
        return path


def _by_language(value: object) -> dict[str, str]:
    """A ``{fr, en}`` text, or one text for both, as a mapping by language."""
    if isinstance(value, dict):
        return {str(k): str(v).strip() for k, v in value.items()}
    text = str(value or "").strip()
    return {"fr": text, "en": text} if text else {}


def _head(path: Path) -> dict[str, Any]:
    """The top keys of a scenario file (title, description, extends) without validating it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}

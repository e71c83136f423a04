"""Results folders around a write and a read: the one reader of their ``manifest.json``
(:func:`read_manifest`), is a destination usable, may ``--force`` replace what is there, and is
another parcours process writing it (a lock).

``--force`` replaces only a folder that parcours wrote: it holds a ``manifest.json`` of a
known kind and no file newer than that manifest (a file the user added later) other than
charts. It never replaces the current folder, one of its parents, a file or a symbolic link.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock

MANIFEST = "manifest.json"
FOLDER_KINDS = ("run", "compare", "calibrate", "sweep", "sensitivity")
"""The kinds of folder parcours writes (the ``kind`` of their manifest)."""
CHART_SUFFIXES = frozenset({".png", ".svg", ".pdf"})
"""Files parcours draws into a folder after its manifest (``parcours plot``, sweep charts)."""
MTIME_SLACK = 2.0
"""Seconds a file may be newer than the manifest and still count as written with it."""
MIN_FREE_BYTES = 20_000_000
"""Room a destination must have before any work starts (a run folder is a few MB)."""


class FolderError(ValueError):
    """A folder that is not the results folder expected; the message is one line for the user."""


def read_manifest(
    folder: Path | str,
    kinds: tuple[str, ...] = FOLDER_KINDS,
    error: type[FolderError] = FolderError,
) -> dict[str, Any]:
    """The manifest of a results folder of one of ``kinds``: the one reader of
    ``manifest.json`` (runs, comparisons, calibrations, sweeps, the app's list, ``--force``).

    Anything else is an ``error`` (:class:`FolderError` or a subclass) of one line naming the
    file: no manifest, one that cannot be read or is not valid JSON (``file:line: ...``), one
    that is not a JSON object, or a folder of another kind. A manifest without ``kind`` is a
    run folder (the first ones had none)."""
    path = Path(folder) / MANIFEST
    expected = " or ".join(kinds)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{folder}: not a parcours {expected} folder (no {MANIFEST})") from None
    except json.JSONDecodeError as err:
        raise error(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except (OSError, ValueError) as err:  # unreadable, a folder, not UTF-8
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise error(f"{path}: cannot be read ({reason})") from None
    if not isinstance(info, dict):
        raise error(f"{path}: not a parcours manifest (a JSON object is expected)")
    kind = info.get("kind", "run")
    if kind not in kinds:
        raise error(f"{folder}: a {kind} folder, not a {expected} folder")
    return info


def folder_kind(
    folder: Path | str, kinds: tuple[str, ...] = ("run", "compare", "calibrate")
) -> str:
    """The kind of a results folder, one of ``kinds`` (:func:`read_manifest`)."""
    return str(read_manifest(folder, kinds).get("kind", "run"))


class OutputExistsError(FileExistsError):
    """The output folder exists and ``force`` was not given, or may not be replaced."""


class FolderMismatchError(ValueError):
    """A folder to continue (``--resume``) was started with another scenario or settings."""


class FolderBusyError(RuntimeError):
    """Another process holds the lock of an output folder."""


class OutputUnusableError(OSError):
    """The destination cannot be written (read-only, no room, not a folder)."""


def _is_cwd_or_parent(path: Path) -> bool:
    here = Path.cwd().resolve()
    return path == here or path in here.parents


def check_replaceable(final: Path) -> None:
    """Raise :class:`OutputExistsError` unless ``final`` is a folder parcours wrote whole."""
    final = Path(final)
    if final.is_symlink():
        raise OutputExistsError(f"{final} is a symbolic link; --force replaces only folders")
    resolved = final.resolve()
    if _is_cwd_or_parent(resolved):
        raise OutputExistsError(
            f"{final} is the current folder or one of its parents; --force will not replace it"
        )
    if not final.is_dir():
        raise OutputExistsError(f"{final} is not a folder; --force replaces only results folders")
    try:
        kind = read_manifest(final).get("kind")  # stated: a manifest without one may be anyone's
    except FolderError:
        kind = None
    if kind not in FOLDER_KINDS:
        raise OutputExistsError(
            f"{final} is not a results folder written by parcours (no {MANIFEST} of a known "
            "kind); --force will not replace it: remove it yourself or choose another --out"
        )
    written = (final / MANIFEST).stat().st_mtime + MTIME_SLACK
    for path in sorted(final.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        if path.lstat().st_mtime > written and path.suffix not in CHART_SUFFIXES:
            raise OutputExistsError(
                f"{final} holds {path.relative_to(final)}, which parcours did not write; "
                "--force will not replace it: move that file or choose another --out"
            )


CALIBRATION_FILES = frozenset(
    {
        MANIFEST,
        "history.db",
        "history.db-journal",
        "history.db-wal",
        "history.db-shm",
        "posterior.parquet",
        "generations.csv",
        "intervals.csv",
        "correlations.csv",
        "predictive.csv",
        "report.md",
    }
)
"""The files a calibration folder holds at its top (``charts/`` and ``report-<lang>.html``
besides): what ``calibrate --force`` may delete."""


def _calibration_file(relative: Path) -> bool:
    """A file parcours writes in a calibration folder: one of :data:`CALIBRATION_FILES`, a
    chart, an HTML report, or an atomic write's leftover temporary file."""
    name = relative.name
    if name.startswith(".") and ".tmp-" in name:
        return True
    if len(relative.parts) == 2 and relative.parts[0] == "charts":
        return relative.suffix in CHART_SUFFIXES
    if len(relative.parts) != 1:
        return False
    return name in CALIBRATION_FILES or (name.startswith("report-") and name.endswith(".html"))


def calibration_files(final: Path) -> list[Path]:
    """The files of the calibration folder ``final`` that ``calibrate --force`` deletes before
    starting again; :class:`OutputExistsError` (one line) unless ``final`` is a calibration
    folder holding nothing a user owns: its manifest says kind ``calibrate`` or, for a folder
    written before calibrations had a manifest, it holds a ``history.db``; and every file in it
    is one parcours writes there."""
    final = Path(final)
    if final.is_symlink() or not final.is_dir():
        raise OutputExistsError(f"{final}: not a folder; choose another --out")
    if _is_cwd_or_parent(final.resolve()):
        raise OutputExistsError(
            f"{final}: the current folder or one of its parents; choose another --out"
        )
    try:
        kind, legacy = read_manifest(final).get("kind"), False
    except FolderError:  # no manifest (an early calibration has its history), or not ours
        kind = None
        legacy = not (final / MANIFEST).exists() and (final / "history.db").is_file()
    if kind != "calibrate" and not legacy:
        raise OutputExistsError(f"{final}: not a calibration folder; choose another --out")
    files = sorted(p for p in final.rglob("*") if p.is_symlink() or not p.is_dir())
    for path in files:
        if path.is_symlink() or not _calibration_file(path.relative_to(final)):
            raise OutputExistsError(
                f"{final}: holds {path.relative_to(final)}, which parcours did not write, so it "
                "is not a calibration folder; choose another --out"
            )
    return files


def clear_calibration_folder(final: Path) -> None:
    """Delete the files of the calibration folder ``final`` (checked by
    :func:`calibration_files`) so that a calibration starts there again; the folder and
    its ``charts/`` stay."""
    for path in calibration_files(final):
        path.unlink()


def check_destination(final: Path, force: bool, room: int = MIN_FREE_BYTES) -> None:
    """Before any work: ``final`` may be written (absent, or replaceable with ``force``), its
    parent is a writable folder (created if missing) with ``room`` bytes free."""
    final = Path(final)
    if final.exists() or final.is_symlink():
        if not force:
            raise OutputExistsError(f"{final} exists; use --force to replace it")
        check_replaceable(final)
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent, prefix=f".{final.name}.probe-") as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
            os.fsync(probe.fileno())
        free = shutil.disk_usage(parent).free
    except OSError as err:
        reason = err.strerror or str(err)
        raise OutputUnusableError(f"cannot write in {parent}: {reason}") from None
    if free < room:
        raise OutputUnusableError(
            f"only {free / 1e6:.1f} MB free in {parent}; the results need about {room / 1e6:.0f} MB"
        )


def lock_path(final: Path) -> Path:
    """The lock file of an output folder: hidden, beside it (the folder may not exist)."""
    final = Path(final)
    return final.parent / f".{final.name}.lock"


_HELD: dict[Path, int] = {}


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


@contextlib.contextmanager
def folder_lock(final: Path) -> Iterator[None]:
    """Hold the lock of the output folder ``final`` (re-entrant within this process).

    A second process asking for it gets :class:`FolderBusyError` at once, naming the holder.
    """
    key = Path(os.path.abspath(final))
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    path = lock_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path, blocking=False, on_acquired=_write_pid)
        lock.acquire()
    except filelock.Timeout:
        raise FolderBusyError(
            f"{final} is being written by another parcours process (pid {_holder(path)}); "
            "wait for it to finish or choose another --out"
        ) from None
    except OSError as err:
        raise OutputUnusableError(f"cannot write in {key.parent}: {err.strerror or err}") from None
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        # unlinked while held: filelock retries a lock whose file has no name any more
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return "unknown"
    return text if text.isdigit() else "unknown"


def rescue_folder(name: str) -> Path:
    """A path, in a new folder of the system's temporary folder, to keep results that could
    not be written where asked."""
    return Path(tempfile.mkdtemp(prefix=f"parcours-{name}-")) / name

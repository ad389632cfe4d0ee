"""Backups of the durable store and the published master, and their verified restore.

A backup is a directory: `state/` (the SQLite store copied with SQLite's online backup, so it is
consistent even with readers open, plus the golden history segments and the page's secret),
`master.duckdb` and its model, and `manifest.json` holding every file's size and SHA-256. It is
taken under the run lock, so no run writes while it is copied. A restore checks every file against
the manifest before it touches anything, takes the run lock, moves the current store aside (never
deleting it) and puts the backup's store and master in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mdm.errors import MdmError
from mdm.files import fsync_path, private_files
from mdm.state.lock import run_lock
from mdm.state.store import StateStore

MANIFEST = "manifest.json"
DB_NAME = StateStore.FILENAME
MASTER_FILES = {"master.duckdb": "", "master.model.json": ".model.json"}
"""A backup's master files -> the suffix that makes each from the master's path ("" the master itself)."""
SKIPPED = {"run.lock", ".prefect"}
"""State files that belong to the running machine, not to the data (the lock, Prefect's local home)."""


class BackupError(MdmError):
    """A backup that cannot be taken or a restore that cannot be done (named file, reason, fix)."""


@dataclass(frozen=True)
class Backup:
    directory: Path
    files: int
    bytes: int
    created_at: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_store(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while readers hold the database open."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def backup(master: Path, state_dir: Path, target: Path) -> Backup:
    """Copy the store and the master into a new directory `target`; refuse a target that exists."""
    master, state_dir, target = master.resolve(), state_dir.resolve(), target.resolve()
    if not (state_dir / DB_NAME).exists():
        raise BackupError(f"no durable store at {state_dir}; give --state (default: state/ beside the master)")
    if target.exists():
        raise BackupError(f"{target} exists; back up into a new directory (nothing is overwritten)")
    with private_files(), run_lock(state_dir, master, "backup"):
        work = target.with_name(f".{target.name}.partial")
        shutil.rmtree(work, ignore_errors=True)
        (work / "state").mkdir(parents=True)
        for path in sorted(state_dir.rglob("*")):
            relative = path.relative_to(state_dir)
            if path.is_dir() or SKIPPED & set(relative.parts) or relative.name.startswith(f"{DB_NAME}-"):
                continue  # the store's -wal / -shm files are folded in by the online backup
            destination = work / "state" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if relative.name == DB_NAME:
                _copy_store(path, destination)
            else:
                shutil.copy2(path, destination)
        for name, suffix in MASTER_FILES.items():
            path = master.with_suffix(suffix) if suffix else master
            if path.exists():
                shutil.copy2(path, work / name)
        files = {str(p.relative_to(work)): p for p in sorted(work.rglob("*")) if p.is_file()}
        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "created_at": created_at,
            "master": str(master),
            "state": str(state_dir),
            "files": {name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for name, p in files.items()},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        for path in [*files.values(), work / MANIFEST]:
            fsync_path(path)
        total = sum(p.stat().st_size for p in files.values())
        os.replace(work, target)
        fsync_path(target.parent)
    return Backup(target, len(files), total, created_at)


def verify(source: Path) -> dict[str, object]:
    """The backup's manifest once every file it lists is present with its size and hash."""
    try:
        manifest: dict[str, object] = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source}: no readable {MANIFEST} ({exc}); is this a directory `mdm backup` made?") from None
    files = manifest.get("files")
    if not isinstance(files, dict) or f"state/{DB_NAME}" not in files:
        raise BackupError(f"{source}/{MANIFEST}: lists no durable store; the backup is incomplete")
    problems = []
    for name, expected in sorted(files.items()):
        path = source / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            problems.append(f"{name} differs from the manifest (damaged or edited)")
    if problems:
        raise BackupError(f"{source}: not restored, the backup does not verify: " + "; ".join(problems))
    return manifest


def restore(source: Path, master: Path, state_dir: Path) -> Path | None:
    """Verify the backup, then put its store and master in place under the run lock. The current
    store is moved aside (returned), never deleted; the current master is replaced atomically."""
    source, master, state_dir = source.resolve(), master.resolve(), state_dir.resolve()
    verify(source)
    with private_files(), run_lock(state_dir, master, "restore"):
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = state_dir.with_name(f"{state_dir.name}.before-restore-{stamp}") if state_dir.exists() else None
        staged = state_dir.with_name(f".{state_dir.name}.restoring")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(source / "state", staged)
        if aside is not None:
            os.replace(state_dir, aside)  # the lock held goes with it: a run started now waits on the master's
        os.replace(staged, state_dir)
        for name, suffix in MASTER_FILES.items():
            if (source / name).exists():
                target = master.with_suffix(suffix) if suffix else master
                tmp = target.with_name(f".{target.name}.restoring")
                shutil.copy2(source / name, tmp)
                fsync_path(tmp)
                os.replace(tmp, target)
        fsync_path(master.parent)
    return aside

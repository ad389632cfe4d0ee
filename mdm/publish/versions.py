"""The last N published masters, kept beside the master, and `mdm rollback` to one of them.

Where versions live, how a rollback swaps them in, and what it does NOT roll back (the durable
store): docs/architecture.md, section "mdm/publish/versions.py".
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from mdm.errors import MdmError
from mdm.files import fsync_path

VERSIONS_DIRNAME = ".versions"
DEFAULT_KEEP_VERSIONS = 7
_VERSION_FILE = re.compile(r"^(?P<seq>\d{6,})-(?P<run_id>.+)\.duckdb$")


class RollbackError(MdmError, RuntimeError):
    """No version to roll back to, or the one asked for is not kept."""


@dataclass(frozen=True)
class MasterVersion:
    seq: int
    run_id: str
    path: Path
    published_at: str | None
    golden_customers: int | None

    @property
    def model_path(self) -> Path:
        return self.path.with_suffix(".model.json")


def versions_dir(master: Path) -> Path:
    return master.parent / VERSIONS_DIRNAME / master.stem


def model_path(master: Path) -> Path:
    """The match model published beside the master (the publish stage writes it)."""
    return master.with_suffix(".model.json")


def _kept(master: Path) -> list[tuple[int, str, Path]]:
    """(seq, run_id, path) of each kept version, oldest first."""
    directory = versions_dir(master)
    if not directory.exists():
        return []
    found = []
    for path in directory.iterdir():
        match = _VERSION_FILE.match(path.name)
        if match:
            found.append((int(match["seq"]), match["run_id"], path))
    return sorted(found)


def _place(source: Path, target: Path) -> str:
    """Hard-link `source` at `target`, else copy it there durably; return "link" or "copy"."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
        return "link"
    except OSError:  # EXDEV, EPERM, ENOTSUP...: a file system without hard links
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, tmp)
        fsync_path(tmp)
        os.replace(tmp, target)
        return "copy"


def keep_version(master: Path, run_id: str, keep: int = DEFAULT_KEEP_VERSIONS) -> str:
    """Keep the just-published master (and its model) as a version; remove the oldest beyond
    `keep`. Returns how it was kept: "link" or "copy"."""
    if keep < 1:
        raise ValueError(f"keep_versions must be at least 1, not {keep}")
    directory = versions_dir(master)
    directory.mkdir(parents=True, exist_ok=True)
    kept = _kept(master)
    seq = kept[-1][0] + 1 if kept else 1
    target = directory / f"{seq:06d}-{run_id}.duckdb"
    if model_path(master).exists():  # the model first: a kept .duckdb always has its model
        _place(model_path(master), target.with_suffix(".model.json"))
    how = _place(master, target)
    for _, _, old in _kept(master)[:-keep]:
        old.unlink()
        old.with_suffix(".model.json").unlink(missing_ok=True)
    fsync_path(directory)
    return how


def master_run_id(master: Path) -> str | None:
    """The run a master file was published by (the last of its published_runs)."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        rows = con.sql("SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT 1").fetchall()
    finally:
        con.close()
    return str(rows[0][0]) if rows else None


def list_versions(master: Path) -> list[MasterVersion]:
    """The kept versions, newest first, with their publish time and golden-customer count."""
    out = []
    for seq, run_id, path in reversed(_kept(master)):
        con = duckdb.connect(str(path), read_only=True)
        try:
            published = con.sql("SELECT published_at FROM published_runs WHERE run_id = ?", params=[run_id]).fetchall()
            golden = con.sql("SELECT count(*) FROM golden_customers").fetchall()
        finally:
            con.close()
        out.append(
            MasterVersion(
                seq,
                run_id,
                path,
                published[0][0].isoformat(sep=" ", timespec="seconds") + " UTC" if published else None,
                int(golden[0][0]),
            )
        )
    return out


def _restore(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.rollback.tmp")
    try:
        shutil.copyfile(source, tmp)
        fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(target.parent)


def rollback(master: Path, to_run_id: str | None = None) -> MasterVersion:
    """Restore a kept version over the master atomically: `to_run_id`, or by default the version
    before the master's own run. Returns the version restored. The durable store is unchanged
    (see the module docstring)."""
    versions = list_versions(master)
    if not versions:
        raise RollbackError(f"no versions kept for {master} (in {versions_dir(master)})")
    if to_run_id is not None:
        chosen = next((v for v in versions if v.run_id == to_run_id), None)
        if chosen is None:
            kept = ", ".join(v.run_id for v in versions)
            raise RollbackError(f"run {to_run_id} is not kept; kept versions (newest first): {kept}")
    else:
        current = master_run_id(master) if master.exists() else None
        seqs = [v.seq for v in versions if v.run_id == current]
        older = [v for v in versions if not seqs or v.seq < seqs[0]]
        if not older:
            raise RollbackError(
                f"the master is at run {current}, the oldest version kept; nothing earlier to roll back to"
            )
        chosen = older[0]
    if chosen.model_path.exists():
        _restore(chosen.model_path, model_path(master))
    _restore(chosen.path, master)
    return chosen

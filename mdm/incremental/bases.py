"""Each person source's accepted rows as the last published run held them: the base a delta
extract is applied to (mdm/ingest/delta.py).

`state/records/bases/<run_id>/staged_<source>.parquet` holds one source's staged rows (the
dictionary fields as ingest mapped them, sensitive fields as tokens) and `bases.json` which fields
and date formats each was staged with. A published run leaves one directory (mdm/publish/stage.py,
before the store records it as published); the next run reads the directory of the store's last
published run, so a run that failed after writing its own is never read, and the one before it is
still there. Unlike the carried records (mdm/incremental/carry.py) the bases do not depend on the
configuration fingerprint: for a delta source they are the only copy of its records.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from mdm.errors import MdmError
from mdm.files import fsync_path, place_copy
from mdm.incremental.carry import carry_dir
from mdm.sensitive import FieldCipher

log = logging.getLogger(__name__)

BASES_DIRNAME = "bases"
BASES_META = "bases.json"
INGESTED_META = "ingested.json"
"""Beside the bases: what the run's ingest of each unchanged-able source left (mdm/ingest/reuse.py)."""
STAGED_KEYS = ("source", "row_number", "source_record_id", "updated_at")
"""The staged columns of every source before its fields (mdm/ingest/source.py)."""


class BaseUnusable(MdmError):
    """A delta source's stored records cannot be read with today's sources.yaml."""


@dataclass(frozen=True)
class SourceBase:
    """What one source's base was staged with."""

    mapped: list[str]
    """The dictionary fields it mapped, and `updated_at` when it declared one."""
    formats: dict[str, str | None]
    """The date formats its values are in (field or `updated_at` -> format)."""


def base_file(directory: Path, source: str) -> Path:
    return directory / f"staged_{source}.parquet"


@dataclass(frozen=True)
class StagedBases:
    """The bases the store's last published run left."""

    directory: Path
    run_id: str
    sources: Mapping[str, SourceBase]
    ingested: Mapping[str, Any] = field(default_factory=dict)
    """Source or event source name -> what its ingest left (mdm/ingest/reuse.py), for the sources
    whose reads a later run may take over."""

    def records(
        self,
        source: str,
        mapped: list[str],
        formats: Mapping[str, str | None],
        cipher: FieldCipher | None,
        sensitive: list[str],
    ) -> pl.DataFrame | None:
        """The source's base in today's staged columns (`mapped`: today's fields and `updated_at`
        when declared; `formats`: today's date formats), sensitive values decrypted; None when the
        last published run left none for it. BaseUnusable when a field mapped today was not mapped
        then, or a date field is in another format (its stored values would not parse)."""
        stored = self.sources.get(source)
        if stored is None:
            return None
        path = base_file(self.directory, source)
        missing = [name for name in mapped if name not in stored.mapped]
        reformatted = [name for name in mapped if name in formats and stored.formats.get(name) != formats[name]]
        problems = []
        if missing:
            problems.append(f"it had no {', '.join(missing)} (mapped in sources.yaml since)")
        if reformatted:
            problems.append(
                "its "
                + ", ".join(f"{name} values are in format {stored.formats.get(name)!r}" for name in reformatted)
                + " (another format in sources.yaml now)"
            )
        if problems:
            raise BaseUnusable(
                f"source {source!r} is a delta extract and its records as of run {self.run_id} ({path}) cannot be"
                f" read with today's sources.yaml: {'; '.join(problems)}. Deliver one full extract: set"
                f" `extract: full` for {source} for one night with the whole source, then back to `extract: delta`"
            )
        fields = [name for name in mapped if name != "updated_at"]
        records = pl.read_parquet(path)
        updated = pl.col("updated_at") if "updated_at" in mapped else pl.lit(None, pl.String).alias("updated_at")
        records = records.select(*STAGED_KEYS[:3], updated, *fields)
        tokens = [name for name in sensitive if name in fields]
        if tokens and cipher is not None:
            records = records.with_columns(cipher.decrypt_series(records[name]).alias(name) for name in tokens)
        return records


def bases_root(state_dir: Path) -> Path:
    return carry_dir(state_dir) / BASES_DIRNAME


def load_bases(state_dir: Path, last_published: str | None) -> StagedBases | None:
    """The bases of the store's last published run, or None when it left none (the first run,
    or a store from before bases were kept)."""
    if last_published is None:
        return None
    directory = bases_root(state_dir) / last_published
    try:
        meta: dict[str, Any] = json.loads((directory / BASES_META).read_text())
    except (OSError, ValueError):
        log.info("delta: the last published run %s left no source records to apply deltas to", last_published)
        return None
    sources = {name: SourceBase(list(entry["mapped"]), dict(entry["formats"])) for name, entry in meta.items()}
    try:
        ingested: dict[str, Any] = json.loads((directory / INGESTED_META).read_text())
    except (OSError, ValueError):
        ingested = {}
    return StagedBases(directory, last_published, sources, ingested)


def save_bases(
    state_dir: Path,
    run_id: str,
    staged: Mapping[str, Path],
    sources: Mapping[str, SourceBase],
    keep: str | None,
    ingested: Mapping[str, Any] | None = None,
    files: Mapping[str, Path] | None = None,
) -> None:
    """Leave this run's staged rows per source (`staged`: source -> file, sensitive values already
    tokens) with what they were staged with, as `bases/<run_id>/` (written aside, fsynced, renamed
    into place), with `ingested` (INGESTED_META) and the `files` it names (file name -> this run's
    file); then remove every other run's directory but `keep`'s (the last published run's, still
    the valid one until this run is recorded as published: `prune_bases` then)."""
    root = bases_root(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{run_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    copies = {base_file(tmp, name): path for name, path in staged.items()}
    copies |= {tmp / name: path for name, path in (files or {}).items()}
    for target, path in copies.items():
        place_copy(path, target)
    (tmp / INGESTED_META).write_text(json.dumps(ingested or {}, sort_keys=True))
    meta = {name: {"mapped": base.mapped, "formats": base.formats} for name, base in sources.items()}
    (tmp / BASES_META).write_text(json.dumps(meta, sort_keys=True))
    fsync_path(tmp / BASES_META)
    final = root / run_id
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    fsync_path(root)
    prune_bases(state_dir, run_id, keep)


def prune_bases(state_dir: Path, *keep: str | None) -> None:
    """Remove the bases of every run but `keep` (of runs that failed, or older than the last published)."""
    root = bases_root(state_dir)
    if root.is_dir():
        for other in root.iterdir():
            if other.name not in keep:
                shutil.rmtree(other, ignore_errors=True)

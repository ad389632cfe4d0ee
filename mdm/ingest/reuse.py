"""A source whose file is byte for byte the one the last published run read is not read again.

Ingest is a function of the source's file, sources.yaml, the dictionary and the code (it does not
depend on the as-of day), and for an event source also of its person source's records. So when
the run is incremental (the carry's fingerprint: sources.yaml, the dictionary and the code are the
last run's, mdm/incremental/carry.py) and a full-extract file source's SHA-256 is the one the last
published run left, that run's ingest result is this run's: its staged rows are the base it left
(mdm/incremental/bases.py), its quarantined rows, counts and date formats are stored beside. An
event source is taken over when its file is unchanged and its person source was taken over too.

What a run leaves (`leave`) is what its ingest did, read or taken over; a source whose quarantine
would hold a sensitive value in the clear (a source mapping a sensitive field, with quarantined
rows) leaves nothing and is read again the next night. Databases (postgres) are always read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.sources import EventSourceConfig, SourceConfig, SourcesConfig
from mdm.context import RunContext

log = logging.getLogger(__name__)


def file_digest(config: SourcesConfig, source: SourceConfig | EventSourceConfig) -> str | None:
    """The SHA-256 of a file source's file (None: a database, or no such file)."""
    if source.kind == "postgres":
        return None
    path = config.resolve(source)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def quarantine_file(name: str) -> str:
    return f"quarantine_{name}.parquet"


def events_file(name: str) -> str:
    return f"events_{name}.parquet"


@dataclass(frozen=True)
class Taken:
    """The last published run's ingest of one source, taken over."""

    counts: dict[str, Any]
    """The source's SourceCounts, as a dict."""
    quarantine: pl.DataFrame
    formats: dict[str, str | None]
    """Person sources: the date formats its rows were staged with."""
    events: pl.DataFrame | None = None
    """Event sources: the accepted events."""


def taken_over(ctx: RunContext, name: str, digest: str | None, person_taken: bool = True) -> Taken | None:
    """The last published run's ingest of source `name` when this run may take it over (module
    docstring), else None. `person_taken`: for an event source, whether its person source was."""
    bases, carry = ctx.bases, ctx.carry
    if digest is None or not person_taken or bases is None or carry is None or bases.run_id != carry.run_id:
        return None
    left = bases.ingested.get(name)
    if not isinstance(left, dict) or left.get("digest") != digest:
        return None
    quarantine = bases.directory / quarantine_file(name)
    events = bases.directory / events_file(name)
    if not quarantine.exists() or ("events" in left and not events.exists()):
        return None
    log.info("ingest %s: the file is the one run %s read; its ingest taken over", name, bases.run_id)
    return Taken(
        dict(left["counts"]),
        pl.read_parquet(quarantine),
        dict(left.get("formats") or {}),
        pl.read_parquet(events) if "events" in left else None,
    )


def leave(
    ctx: RunContext, counts: Mapping[str, Any], formats: Mapping[str, dict[str, str | None]]
) -> tuple[dict[str, Any], dict[str, Path]]:
    """What this run leaves beside its bases for the next run to take over: (source name -> digest,
    counts and formats, and `events` for an event source; file name -> this run's file). `counts`:
    each source's and event source's SourceCounts."""
    files = ctx.files
    digests: dict[str, str | None] = json.loads(files.ingest_digests.read_text())
    sensitive = ctx.config.sensitive_columns
    quarantine = pl.read_parquet(files.quarantine)
    meta: dict[str, Any] = {}
    written: dict[str, Path] = {}
    event_sources = {e.name for e in ctx.config.sources.events}
    for name, digest in digests.items():
        mine = quarantine.filter(pl.col("source") == name)
        if digest is None or (sensitive.get(name) and mine.height):
            continue  # not taken over: a database, or its quarantine would hold sensitive values in the clear
        path = files.dir / quarantine_file(name)
        mine.write_parquet(path)
        written[quarantine_file(name)] = path
        entry: dict[str, Any] = {"digest": digest, "counts": _as_dict(counts[name])}
        if name in event_sources:
            entry["events"] = True
            written[events_file(name)] = files.events(name)
        else:
            entry["formats"] = formats[name]
        meta[name] = entry
    return meta, written


def _as_dict(counts: Any) -> dict[str, Any]:
    return asdict(counts) if not isinstance(counts, dict) else dict(counts)

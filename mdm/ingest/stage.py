"""The ingest stage: every person source, then every event source, to staged rows and quarantine;
each source's read is a step of its own (mdm/steps.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import polars as pl

from mdm.config.sources import EventSourceConfig, SourceConfig
from mdm.context import RunContext
from mdm.errors import MdmError
from mdm.ingest.delta import apply_delta
from mdm.ingest.events import EventIngestResult, PersonRecords, ingest_events, person_records
from mdm.ingest.reuse import file_digest, taken_over
from mdm.ingest.source import IngestResult, ingest_source
from mdm.state import StateStore
from mdm.steps import StageCaller, call_directly, source_step

log = logging.getLogger(__name__)


class SourceShrank(MdmError):
    """A source delivered no rows, or far fewer than at the last published run."""


@dataclass(frozen=True)
class SourceCounts:
    """Row accounting of one source: read = accepted + deleted + quarantined."""

    source: str
    kind: str
    rows_read: int
    rows_accepted: int
    """Rows accepted as records (a delta extract: records added or changed)."""
    rows_quarantined: int
    rows_deleted: int
    """A delta extract's rows marked deleted that removed a record (0 for a full extract)."""
    records: int
    """The source's records after this run: the accepted rows of a full extract, the base with the
    delta applied for a delta extract."""
    extract: str = "full"

    @classmethod
    def of(cls, name: str, kind: str, result: IngestResult | EventIngestResult) -> SourceCounts:
        accepted = result.rows_accepted
        return cls(name, kind, result.rows_read, accepted, result.rows_quarantined, 0, accepted)


@dataclass(frozen=True)
class IngestReport:
    sources: list[SourceCounts]
    events: list[SourceCounts] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    """How often each kind of reason occurs, most frequent first."""

    def total(self, key: str) -> int:
        """The sum of one count (`rows_read`, `rows_accepted`, `rows_quarantined`, `rows_deleted`,
        `records`) over the person sources."""
        return sum(int(getattr(s, key)) for s in self.sources)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> IngestReport:
        data: dict[str, Any] = json.loads(text)
        return cls(
            [SourceCounts(**s) for s in data["sources"]],
            [SourceCounts(**e) for e in data["events"]],
            data["quarantine_reasons"],
        )


@dataclass(frozen=True)
class SourceIngested:
    """What one source's read hands back to the stage (its accepted rows are in its work file)."""

    counts: SourceCounts
    quarantine: pl.DataFrame
    digest: str | None = None
    """The SHA-256 of the file read (None: a database)."""
    taken: bool = False
    """True when the last published run's ingest was taken over (the same file, mdm/ingest/reuse.py)."""


@dataclass(frozen=True)
class PersonSourceIngested(SourceIngested):
    records: PersonRecords = PersonRecords(frozenset(), frozenset())
    """Its accepted and quarantined record ids (its event sources name them)."""


def ingest_stage(ctx: RunContext, call: StageCaller = call_directly) -> IngestReport:
    """Read every source, each one a step of its own (`ingest <source>`, called through `call`, so
    a retry re-reads that source alone); then check for shrunken sources and write the quarantine
    and the report. Person sources come first: an event names a person record, which must be accepted."""
    sources, files = ctx.config.sources, ctx.files
    persons = [call(source_step(s.name), partial(ingest_person_source, source=s), ctx) for s in sources.sources]
    by_name = {s.name: p for s, p in zip(sources.sources, persons, strict=True)}
    events = [
        call(
            source_step(e.name),
            partial(
                ingest_event_source,
                source=e,
                person=by_name[e.person.source].records,
                person_taken=by_name[e.person.source].taken,
            ),
            ctx,
        )
        for e in sources.events
    ]
    digests = {
        s.name: r.digest
        for s, r in [*zip(sources.sources, persons, strict=True), *zip(sources.events, events, strict=True)]
    }
    files.ingest_digests.write_text(json.dumps(digests))
    counts = [p.counts for p in persons]
    _check_shrink(ctx, sources.sources, counts)
    rejected = pl.concat([r.quarantine for r in (*persons, *events)])
    rejected.write_parquet(files.quarantine)
    report = IngestReport(counts, [e.counts for e in events], reason_counts(rejected))
    files.ingest_report.write_text(report.to_json())
    return report


def ingest_person_source(ctx: RunContext, source: SourceConfig) -> PersonSourceIngested:
    """Read one person source: its records and date formats to its work files. A delta extract is
    applied to the source's records as the last published run left them (mdm/ingest/delta.py); a
    full extract whose file the last published run read takes that run's result over
    (mdm/ingest/reuse.py)."""
    digest = file_digest(ctx.config.sources, source) if source.extract == "full" else None
    taken = taken_over(ctx, source.name, digest)
    if taken is not None and ctx.bases is not None:
        staged = ctx.bases.records(
            source.name,
            source.staged_fields,
            taken.formats,
            ctx.cipher,
            ctx.config.dictionary.sensitive_fields,
        )
        if staged is not None:
            staged.write_parquet(ctx.files.staged(source.name))
            ctx.files.formats(source.name).write_text(json.dumps(taken.formats))
            counts = SourceCounts(**taken.counts)
            ids = person_records(staged, taken.quarantine)
            return PersonSourceIngested(counts, taken.quarantine, digest, True, ids)
    result = ingest_source(ctx.config.sources, source, ctx.config.dictionary)
    if source.extract == "delta":
        applied = apply_delta(result, _base(ctx, source, result.formats))
        records, quarantine, deleted = applied.records, applied.quarantine, applied.deleted
    else:
        records, quarantine, deleted = result.staged, result.quarantine, 0
    records.write_parquet(ctx.files.staged(source.name))
    ctx.files.formats(source.name).write_text(json.dumps(result.formats))
    counts = SourceCounts(
        source.name,
        source.kind,
        result.rows_read,
        result.rows_accepted,
        quarantine.height,
        deleted,
        records.height,
        source.extract,
    )
    log.info(
        "ingest %s (%s extract): %d read, %d quarantined, %d deleted, %d records",
        source.name,
        source.extract,
        counts.rows_read,
        counts.rows_quarantined,
        deleted,
        records.height,
    )
    return PersonSourceIngested(counts, quarantine, digest, False, person_records(records, quarantine))


def _base(ctx: RunContext, source: SourceConfig, formats: dict[str, str | None]) -> pl.DataFrame | None:
    """A delta source's records as the last published run left them (None: none, a first load)."""
    if ctx.bases is None:
        return None
    sensitive = ctx.config.dictionary.sensitive_fields
    return ctx.bases.records(source.name, source.staged_fields, formats, ctx.cipher, sensitive)


def ingest_event_source(
    ctx: RunContext, source: EventSourceConfig, person: PersonRecords, person_taken: bool = False
) -> SourceIngested:
    """Read one event source (`person`: the records of the person source its events name): its
    accepted events to its work file. When its file and its person source's (`person_taken`) are
    those the last published run read, that run's result is taken over (mdm/ingest/reuse.py)."""
    digest = file_digest(ctx.config.sources, source)
    taken = taken_over(ctx, source.name, digest, person_taken)
    if taken is not None and taken.events is not None:
        taken.events.write_parquet(ctx.files.events(source.name))
        return SourceIngested(SourceCounts(**taken.counts), taken.quarantine, digest, True)
    events = ingest_events(ctx.config.sources, source, person)
    events.events.write_parquet(ctx.files.events(source.name))
    log.info("ingest events %s: %d read, %d quarantined", source.name, events.rows_read, events.rows_quarantined)
    return SourceIngested(SourceCounts.of(source.name, source.kind, events), events.quarantine, digest)


def _check_shrink(ctx: RunContext, sources: list[SourceConfig], counts: list[SourceCounts]) -> None:
    """Refuse a source with no rows at all, or whose records fell by more than its max_shrink
    against the last published run: publishing it would retire its customers' golden ids. A delta
    extract may be empty (nothing changed); its records (the base with the delta applied) may not.
    Every such source is named at once; --allow-shrink lets a real shrink through."""
    with StateStore(ctx.state_dir) as store:
        last = store.last_published_source_counts()
    last_run, before = last if last is not None else (None, {})
    problems: dict[str, str] = {}
    for source, count in zip(sources, counts, strict=True):
        previous = before.get(source.name)
        if source.name in ctx.allow_shrink:
            continue
        if count.rows_read == 0 and source.extract == "full":
            problems[source.name] = f"source {source.name!r} has no rows at all (an empty or header-only export?)"
        elif source.extract == "delta" and count.records == 0 and not previous:
            problems[source.name] = (
                f"delta source {source.name!r} has no records at all: no row accepted and no records left by"
                " an earlier run (is the delta the source's first, and empty?)"
            )
        elif previous and count.records < previous * (1 - source.max_shrink):
            what = "accepted {} rows" if source.extract == "full" else "has {} records with its delta applied"
            problems[source.name] = (
                f"source {source.name!r} {what.format(count.records)} against {previous} at the last"
                f" published run {last_run}: {1 - count.records / previous:.0%} fewer, more than its"
                f" max_shrink {source.max_shrink:.0%}"
            )
    if problems:
        allow = " ".join(f"--allow-shrink {name}" for name in problems)
        raise SourceShrank(
            "; ".join(problems.values()) + ". Publishing it would retire those customers' golden ids: check the"
            f" export, and if the customers really left run again with {allow} (or raise the source's"
            " max_shrink in sources.yaml)"
        )


def reason_counts(quarantine: pl.DataFrame) -> dict[str, int]:
    """How often each kind of reason occurs (quoted values and numbers masked), most frequent first."""
    kinds = quarantine.select(
        pl.col("reasons").explode().str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"\d+", "N").alias("reason")
    ).drop_nulls()
    counted = kinds.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return dict(counted.iter_rows())

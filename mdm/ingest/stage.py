"""The ingest stage: every person source, then every event source, to staged rows and quarantine."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from mdm.config.sources import SourceConfig
from mdm.context import RunContext
from mdm.errors import MdmError
from mdm.ingest.events import EventIngestResult, ingest_events, person_records
from mdm.ingest.source import IngestResult, ingest_source
from mdm.state import StateStore

log = logging.getLogger(__name__)


class SourceShrank(MdmError):
    """A source delivered no rows, or far fewer than at the last published run."""


@dataclass(frozen=True)
class SourceCounts:
    """Row accounting of one source: read = accepted + quarantined."""

    source: str
    kind: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int

    @classmethod
    def of(cls, name: str, kind: str, result: IngestResult | EventIngestResult) -> SourceCounts:
        return cls(name, kind, result.rows_read, result.rows_accepted, result.rows_quarantined)


@dataclass(frozen=True)
class IngestReport:
    sources: list[SourceCounts]
    events: list[SourceCounts] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    """How often each kind of reason occurs, most frequent first."""

    def total(self, key: str) -> int:
        """The sum of one count (`rows_read`, `rows_accepted`, `rows_quarantined`) over the person sources."""
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


def ingest_stage(ctx: RunContext) -> IngestReport:
    """Read every source; staged rows and quarantined rows to parquet; counts per source."""
    sources, files = ctx.config.sources, ctx.files
    counts = []
    quarantine = []
    persons = {}
    for source in sources.sources:
        result = ingest_source(sources, source, ctx.config.dictionary)
        result.staged.write_parquet(files.staged(source.name))
        files.formats(source.name).write_text(json.dumps(result.formats))
        quarantine.append(result.quarantine)
        persons[source.name] = person_records(result.staged, result.quarantine)
        counts.append(SourceCounts.of(source.name, source.kind, result))
        log.info("ingest %s: %d read, %d quarantined", source.name, result.rows_read, result.rows_quarantined)
    # events after every person source: an event names a person record, which must be accepted
    event_counts = []
    for event_source in sources.events:
        events = ingest_events(sources, event_source, persons[event_source.person.source])
        events.events.write_parquet(files.events(event_source.name))
        quarantine.append(events.quarantine)
        event_counts.append(SourceCounts.of(event_source.name, event_source.kind, events))
        log.info(
            "ingest events %s: %d read, %d quarantined", event_source.name, events.rows_read, events.rows_quarantined
        )
    _check_shrink(ctx, sources.sources, counts)
    rejected = pl.concat(quarantine)
    rejected.write_parquet(files.quarantine)
    report = IngestReport(counts, event_counts, reason_counts(rejected))
    files.ingest_report.write_text(report.to_json())
    return report


def _check_shrink(ctx: RunContext, sources: list[SourceConfig], counts: list[SourceCounts]) -> None:
    """Refuse a source with no rows at all, or whose accepted rows fell by more than its
    max_shrink against the last published run: publishing it would retire its customers' golden
    ids. Every such source is named at once; --allow-shrink lets a real shrink through."""
    with StateStore(ctx.state_dir) as store:
        last = store.last_published_source_counts()
    last_run, before = last if last is not None else (None, {})
    problems: dict[str, str] = {}
    for source, count in zip(sources, counts, strict=True):
        previous = before.get(source.name)
        if source.name in ctx.allow_shrink:
            continue
        if count.rows_read == 0:
            problems[source.name] = f"source {source.name!r} has no rows at all (an empty or header-only export?)"
        elif previous and count.rows_accepted < previous * (1 - source.max_shrink):
            problems[source.name] = (
                f"source {source.name!r} accepted {count.rows_accepted} rows against {previous} at the last"
                f" published run {last_run}: {1 - count.rows_accepted / previous:.0%} fewer, more than its"
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

"""Ingest of one event source (sources.yaml `events:`): visits, purchases, survey answers.

Events are not matched: each row reaches a golden customer through the person record it names.
What is quarantined, and why: docs/architecture.md, section "mdm/ingest/events.py".
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import polars as pl

from mdm.config.sources import ColumnSpec, EventSourceConfig, SourcesConfig
from mdm.ingest.connectors import ROW, SourceReadError, missing_columns_message, read_source
from mdm.ingest.source import QUARANTINE_SCHEMA, AccountingError, _quarantine_frame
from mdm.ingest.validate import duplicate_failures

_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%p", "%c")


@dataclass(frozen=True)
class PersonRecords:
    """The record ids of one person source after its ingest: accepted and quarantined."""

    accepted: frozenset[str]
    quarantined: frozenset[str]


@dataclass
class EventIngestResult:
    source: str
    rows_read: int
    events: pl.DataFrame
    """source, row_number, event_id, person_source, person_record_id, event_time, declared columns"""
    quarantine: pl.DataFrame

    @property
    def rows_accepted(self) -> int:
        return self.events.height

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height


def temporal_type(fmt: str) -> type[pl.Date] | type[pl.Datetime]:
    """pl.Datetime when the strptime format has a time of day, else pl.Date."""
    return pl.Datetime if any(d in fmt for d in _TIME_DIRECTIVES) else pl.Date


def _parse(text: pl.Expr, fmt: str) -> pl.Expr:
    return text.str.strptime(temporal_type(fmt), fmt, strict=False, exact=True)


def _text(spec: ColumnSpec) -> pl.Expr:
    cols = [pl.col(c).str.strip_chars() for c in spec.source_columns]
    present = [pl.when(c != "").then(c) for c in cols]
    if len(present) == 1:
        return present[0]
    if spec.combine == "join":
        return pl.concat_str(present, separator=spec.separator, ignore_nulls=True)
    return pl.coalesce(present)


def _wanted_columns(source: EventSourceConfig) -> list[str]:
    wanted = [source.record_id, source.person.record_id, *source.event_time.source_columns]
    for spec in source.columns.values():
        wanted += spec.source_columns
    return wanted


def ingest_events(config: SourcesConfig, source: EventSourceConfig, person: PersonRecords) -> EventIngestResult:
    """Read one event source; split its rows into accepted events and quarantined rows."""
    raw = read_source(config, source)
    columns = [c for c in raw.frame.columns if c != ROW]
    wanted = _wanted_columns(source)
    if source.kind == "jsonl" or (not columns and raw.frame.height == 0):
        absent = sorted({c for c in wanted if c not in columns})
        raw.frame = raw.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
        columns += absent
    missing = sorted({c for c in wanted if c not in columns})
    if missing:
        raise SourceReadError(missing_columns_message(f"event source {source.name!r}", missing, columns))
    fmt = source.event_time.format or ""
    texts = {name: _text(spec).alias(f"_text_{name}") for name, spec in source.columns.items()}
    staged = raw.frame.select(
        pl.lit(source.name).alias("source"),
        pl.col(ROW).alias("row_number"),
        pl.col(source.record_id).str.strip_chars().alias("event_id"),
        pl.lit(source.person.source).alias("person_source"),
        pl.col(source.person.record_id).str.strip_chars().alias("person_record_id"),
        _text(source.event_time).alias("_event_time_text"),
        *texts.values(),
    ).with_columns(
        _parse(pl.col("_event_time_text"), fmt).alias("event_time"),
        *[
            (_parse(pl.col(f"_text_{name}"), spec.format) if spec.format else pl.col(f"_text_{name}")).alias(name)
            for name, spec in source.columns.items()
        ],
    )
    reasons = _row_failures(staged, source, person)
    for index, more in duplicate_failures(staged["event_id"], raw.frame).items():
        reasons[index].extend(more)
    rejected = sorted(i for i, r in reasons.items() if r)
    raw_rows = raw.frame[rejected].select(columns).to_dicts() if rejected else []
    quarantined = [
        (int(raw.frame[ROW][i]), staged["event_id"][i] or None, json.dumps(row, ensure_ascii=False), reasons[i])
        for i, row in zip(rejected, raw_rows, strict=True)
    ]
    quarantined += [(r.row_number, r.record_id, r.raw, r.reasons) for r in raw.rejects]
    quarantine = (
        _quarantine_frame(source.name, quarantined).sort("row_number")
        if quarantined
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    keep = pl.Series(range(staged.height)).is_in(rejected).not_()
    events = staged.filter(keep).select(
        "source", "row_number", "event_id", "person_source", "person_record_id", "event_time", *source.columns
    )
    result = EventIngestResult(source.name, raw.rows_read, events, quarantine)
    if result.rows_read != result.rows_accepted + result.rows_quarantined:
        raise AccountingError(
            f"event source {source.name!r}: read {result.rows_read} rows but accepted {result.rows_accepted}"
            f" and quarantined {result.rows_quarantined}"
        )
    return result


def _row_failures(staged: pl.DataFrame, source: EventSourceConfig, person: PersonRecords) -> dict[int, list[str]]:
    """Positional row index -> reasons (the checks in the module docstring, duplicates aside). The
    rows that fail some check are found by expressions first and only they are read row by row
    (593k visits took 2.0-2.9 s to ingest with every row read row by row, 0.7-0.8 s so,
    bench/RESULTS.md)."""
    reasons: dict[int, list[str]] = defaultdict(list)
    who = source.person.source
    fmt = source.event_time.format
    known = pl.Series(list(person.accepted), dtype=pl.String)
    unparsed = [
        pl.col(f"_text_{name}").is_not_null() & pl.col(name).is_null()
        for name, spec in source.columns.items()
        if spec.format
    ]
    # every check of the loop below, as expressions: a row they pass is not read (keep the two in step)
    failing = pl.any_horizontal(
        pl.col("event_id").fill_null("").eq(""),
        pl.col("person_record_id").fill_null("").eq(""),
        pl.col("person_record_id").is_in(known.implode()).not_(),
        pl.col("_event_time_text").is_null() | pl.col("event_time").is_null(),
        *unparsed,
    ).fill_null(True)
    checked = staged.with_row_index("_at").filter(failing)
    rows = zip(
        checked["_at"],
        checked.select(
            "event_id",
            "person_record_id",
            "_event_time_text",
            "event_time",
            *[f"_text_{n}" for n in source.columns],
            *source.columns,
        ).iter_rows(named=True),
        strict=True,
    )
    for i, row in rows:
        if not row["event_id"]:
            reasons[i].append("no event id")
        record = row["person_record_id"]
        if not record:
            reasons[i].append(f"no {who} record id (column {source.person.record_id})")
        elif record in person.quarantined and record not in person.accepted:
            reasons[i].append(f"person record {who}:{record!r} was quarantined (see its row in quarantine)")
        elif record not in person.accepted:
            reasons[i].append(f"person record {who}:{record!r} is not in source {who}")
        if row["_event_time_text"] is None:
            reasons[i].append(f"no event time (column {source.event_time.column})")
        elif row["event_time"] is None:
            reasons[i].append(f"event time {row['_event_time_text']!r} is not a date in the format {fmt}")
        for name, spec in source.columns.items():
            if spec.format and row[f"_text_{name}"] is not None and row[name] is None:
                reasons[i].append(f"{name} {row[f'_text_{name}']!r} is not a date in the format {spec.format}")
    return reasons


def person_records(staged: pl.DataFrame, quarantine: pl.DataFrame) -> PersonRecords:
    """The accepted and quarantined record ids of one person source's ingest result."""
    accepted = frozenset(staged["source_record_id"].drop_nulls().to_list())
    rejected = frozenset(quarantine["source_record_id"].drop_nulls().to_list())
    return PersonRecords(accepted, rejected)


__all__ = ["EventIngestResult", "PersonRecords", "ingest_events", "person_records", "temporal_type"]

"""Ingest one source: read, map to dictionary fields, validate, quarantine (a delta extract's
rows marked deleted aside: mdm/ingest/delta.py applies them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.config.dictionary import Dictionary
from mdm.config.sources import TRUTHY_MARKERS, ColumnSpec, SourceConfig, SourcesConfig
from mdm.ingest.connectors import ROW, RawRead, Reject, SourceReadError, missing_columns_message, read_source
from mdm.ingest.validate import NO_RECORD_ID, RECORD_ID, duplicate_failures, row_failures, value_failures

QUARANTINE_SCHEMA: dict[str, Any] = {
    "source": pl.String,
    "row_number": pl.Int64,
    "source_record_id": pl.String,
    "raw": pl.String,
    "reasons": pl.List(pl.String),
}
DELETES_SCHEMA: dict[str, Any] = {"row_number": pl.Int64, "source_record_id": pl.String, "raw": pl.String}


class AccountingError(RuntimeError):
    """Rows read did not equal rows accepted plus rows quarantined: a bug, never data."""


@dataclass
class IngestResult:
    source: str
    rows_read: int
    staged: pl.DataFrame
    quarantine: pl.DataFrame
    formats: dict[str, str | None]
    """dictionary field (and `updated_at`) -> the format its values are in."""
    deletes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DELETES_SCHEMA))
    """A delta extract's accepted rows marked deleted: row_number, source_record_id, raw (the row
    as read, JSON). Always empty for a full extract."""

    @property
    def rows_accepted(self) -> int:
        """Rows accepted as records (a delta extract: added or changed)."""
        return self.staged.height

    @property
    def rows_deleted(self) -> int:
        """Rows marked deleted, accepted as deletions (not yet checked against the source's records)."""
        return self.deletes.height

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height


def _mapped(spec: ColumnSpec) -> pl.Expr:
    cols = [pl.col(c) for c in spec.source_columns]
    if len(cols) == 1:
        return cols[0]
    present = [pl.when(c.str.strip_chars() != "").then(c.str.strip_chars()) for c in cols]
    if spec.combine == "join":
        return pl.concat_str(present, separator=spec.separator, ignore_nulls=True)
    return pl.coalesce(present)


def _format_for(spec: ColumnSpec, raw: RawRead) -> str | None:
    """Typed date columns (parquet, databases) arrive as ISO text, whatever the declared format."""
    if spec.column is not None and spec.column in raw.temporal_columns:
        return raw.temporal_columns[spec.column]
    return spec.format


def _declared_columns(source: SourceConfig) -> set[str]:
    """The source's columns sources.yaml names: its record id, update time and mapped fields."""
    wanted = [source.record_id]
    if source.delete_marker is not None:
        wanted.append(source.delete_marker.column)
    if source.updated_at is not None:
        wanted += source.updated_at.source_columns
    for spec in source.fields.values():
        wanted += spec.source_columns
    return set(wanted)


def _missing_columns(source: SourceConfig, present: list[str]) -> list[str]:
    return sorted(c for c in _declared_columns(source) if c not in present)


def _quarantine_frame(source: str, rows: list[tuple[int, str | None, str, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": [source] * len(rows),
            "row_number": [r[0] for r in rows],
            "source_record_id": [r[1] for r in rows],
            "raw": [r[2] for r in rows],
            "reasons": [r[3] for r in rows],
        },
        schema=QUARANTINE_SCHEMA,
    )


def ingest_source(config: SourcesConfig, source: SourceConfig, dictionary: Dictionary) -> IngestResult:
    """Read one source and split its rows into staged (accepted) and quarantined."""
    raw = read_source(config, source)
    columns = [c for c in raw.frame.columns if c != ROW]
    if source.kind == "jsonl" or (not columns and raw.frame.height == 0):
        # JSON documents leave out keys they have no value for, and an empty table has no
        # columns to check: a declared column that is absent is all null.
        absent = _missing_columns(source, columns)
        raw.frame = raw.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
        columns += absent
    nested = sorted(set(raw.nested_columns) & _declared_columns(source))
    if nested:
        raise SourceReadError(
            f"source {source.name!r}: column(s) {', '.join(f'{c} ({raw.nested_columns[c]})' for c in nested)} hold"
            " lists or records, not one value per row; map text, number or date columns (flatten the export)"
        )
    missing = _missing_columns(source, columns)
    if missing:
        raise SourceReadError(missing_columns_message(f"source {source.name!r}", missing, columns))
    fields = list(source.fields)
    mapped = [_mapped(spec).alias(name) for name, spec in source.fields.items()]
    updated = _mapped(source.updated_at) if source.updated_at is not None else pl.lit(None, pl.String)
    staged = raw.frame.select(
        pl.lit(source.name).alias("source"),
        pl.col(ROW).alias("row_number"),
        pl.col(source.record_id).str.strip_chars().alias(RECORD_ID),
        updated.alias("updated_at"),
        *mapped,
    )
    deleting = marked_deleted(source, raw.frame)
    reasons = _failures(staged, deleting, dictionary, fields)
    for index, more in duplicate_failures(staged[RECORD_ID], raw.frame).items():
        reasons.setdefault(index, []).extend(more)

    rejected = sorted(reasons)
    raw_rows = raw.frame[rejected].select(columns).to_dicts() if rejected else []
    quarantined = [
        (int(raw.frame[ROW][i]), staged[RECORD_ID][i] or None, json.dumps(row, ensure_ascii=False), reasons[i])
        for i, row in zip(rejected, raw_rows, strict=True)
    ]
    quarantined += [(r.row_number, r.record_id, r.raw, r.reasons) for r in raw.rejects]
    quarantine = _quarantine_frame(source.name, quarantined).sort("row_number")
    keep = pl.Series(range(staged.height)).is_in(rejected).not_()
    deletes = raw.frame.filter(keep & deleting)
    staged = staged.filter(keep & ~deleting)
    deleted = pl.DataFrame(
        {
            "row_number": deletes[ROW],
            "source_record_id": deletes[source.record_id].str.strip_chars(),
            "raw": [json.dumps(row, ensure_ascii=False) for row in deletes.select(columns).to_dicts()],
        },
        schema=DELETES_SCHEMA,
    )

    formats: dict[str, str | None] = {name: _format_for(spec, raw) for name, spec in source.fields.items()}
    if source.updated_at is not None:
        formats["updated_at"] = _format_for(source.updated_at, raw)
    result = IngestResult(source.name, raw.rows_read, staged, quarantine, formats, deleted)
    if result.rows_read != result.rows_accepted + result.rows_deleted + result.rows_quarantined:
        raise AccountingError(
            f"source {source.name!r}: read {result.rows_read} rows but accepted {result.rows_accepted},"
            f" marked deleted {result.rows_deleted} and quarantined {result.rows_quarantined}"
        )
    return result


def marked_deleted(source: SourceConfig, frame: pl.DataFrame) -> pl.Series:
    """True for the rows of a read frame (values as text) that the source's delete marker marks
    deleted: its value (spaces stripped), or without one a truthy value; all false without a marker."""
    marker = source.delete_marker
    if marker is None or frame.height == 0:
        return pl.Series("deleting", [False] * frame.height, dtype=pl.Boolean)
    text = pl.col(marker.column).cast(pl.String).str.strip_chars()
    test = text.str.to_lowercase().is_in(TRUTHY_MARKERS) if marker.value is None else text == marker.value.strip()
    return frame.select(test.fill_null(False).alias("deleting")).to_series()


def _failures(
    staged: pl.DataFrame, deleting: pl.Series, dictionary: Dictionary, fields: list[str]
) -> dict[int, list[str]]:
    """Positional row index -> reasons: the dictionary's checks for a row that adds or changes a
    record; for a row marked deleted, only that its record id is there and readable."""
    if not deleting.any():
        return row_failures(staged, dictionary, fields) if staged.height else {}
    upserts, deletes = deleting.not_().arg_true(), deleting.arg_true()
    reasons: dict[int, list[str]] = {}
    for index, more in row_failures(staged[upserts], dictionary, fields).items():
        reasons[int(upserts[index])] = more
    ids = staged[deletes].select(RECORD_ID)
    for index, more in value_failures(ids, [RECORD_ID]).items():
        reasons[int(deletes[index])] = more
    blank = ids[RECORD_ID].is_null() | (ids[RECORD_ID].str.strip_chars() == "")
    for index in blank.arg_true():
        reasons.setdefault(int(deletes[index]), []).append(NO_RECORD_ID)
    return reasons


__all__ = ["AccountingError", "IngestResult", "Reject", "ingest_source"]

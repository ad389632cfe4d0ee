"""The standardize stage: every source's staged rows to one table of clean values, with a profile
of what was flagged per source and field."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from mdm.config.sources import SourceConfig
from mdm.context import PAIR_FILE_COMPRESSION, RunContext
from mdm.errors import MdmError
from mdm.incremental.carry import HASH_COLUMN, PREVIOUS_RID, record_hashes
from mdm.ingest import QUARANTINE_SCHEMA, IngestResult
from mdm.standardize.base import distinct_values
from mdm.standardize.date import ISO_8601
from mdm.standardize.source import as_of_fields, restandardize_as_of, standardize_source, standardized_schema

log = logging.getLogger(__name__)

UNPARSED = "not a date in format"
"""How a date that does not fit its format is flagged (mdm/standardize/date.py)."""
MIN_VALUES_FOR_RATE = 10


class DatesUnparsed(MdmError):
    """A source's dates of one field mostly fail to parse: a wrong or missing format."""


@dataclass(frozen=True)
class SourceChanges:
    """How one source's accepted rows compare with the last published run's (all `new` in a full run)."""

    new: int
    changed: int
    unchanged: int
    deleted: int
    carried: bool
    """True when the unchanged rows were carried over, not standardized again."""


@dataclass(frozen=True)
class StandardizeReport:
    records: int
    flagged_values: dict[str, int]
    """field -> values flagged (not clean) over all sources."""
    flagged_by_source: dict[str, dict[str, int]]
    """field -> source -> values flagged."""
    mode: str = "full"
    """`incremental` when the last published run's records were carried over, else `full`."""
    changes: dict[str, SourceChanges] = field(default_factory=dict)
    """source -> new / changed / unchanged / deleted records against the last published run."""

    def total_changes(self) -> dict[str, int]:
        keys = ("new", "changed", "unchanged", "deleted")
        return {k: sum(int(getattr(c, k)) for c in self.changes.values()) for k in keys}


STANDARDIZE_BYTES_PER_ROW = 4_000
"""The standardizers' working set per staged row (every field's raw, clean, key and flag columns
and their intermediates): the row batches of one source are sized by it (mdm/budget.py)."""


def standardize_stage(ctx: RunContext) -> StandardizeReport:
    files, dictionary = ctx.files, ctx.config.dictionary
    date_fields = [f.name for f in dictionary.published_fields if f.kind == "date"]
    held = int(ctx.budget.limit_bytes * HELD_SHARE)
    done = _Standardized(files.dir, standardized_schema(dictionary), ctx.config.published_fields, date_fields, held)
    problems: list[str] = []
    changes: dict[str, SourceChanges] = {}
    with distinct_values(partitions=ctx.partitions):  # a phone or e-mail seen in several sources is parsed once
        for source in ctx.config.sources.sources:
            formats = json.loads(files.formats(source.name).read_text())
            carried = ctx.carry.source_records(source.name, formats, ctx.cipher) if ctx.carry else None
            dates = DateCounts()
            if carried is None:
                changes[source.name] = _standardize_fresh(ctx, source, formats, done, dates)
            else:
                staged = pl.read_parquet(files.staged(source.name))
                frame, row_hashes, changes[source.name] = _standardize(ctx, source, staged, formats, carried)
                del carried
                done.keep(frame, staged, row_hashes, formats, dates, source.name)
                del frame, staged
            problems += dates.problems(source, formats)
    if problems:
        raise DatesUnparsed("; ".join(problems) + ". Declare the right format for the field in sources.yaml")
    records = done.write(files.standardized, files.record_hashes, files.field_profile)
    profile = pl.read_parquet(files.field_profile)
    flagged = profile.group_by("field").agg(pl.col("flagged").sum()).filter(pl.col("flagged") > 0)
    by_source: dict[str, dict[str, int]] = {}
    for source_name, name, n in profile.filter(pl.col("flagged") > 0).select("source", "field", "flagged").iter_rows():
        by_source.setdefault(name, {})[source_name] = n
    mode = "incremental" if ctx.carry is not None else "full"
    files.changes.write_text(json.dumps({"mode": mode, "changes": {k: asdict(v) for k, v in changes.items()}}))
    log.info("standardize (%s): %d records, %d flagged values", mode, records, profile["flagged"].sum())
    return StandardizeReport(records, dict(sorted(flagged.iter_rows())), dict(sorted(by_source.items())), mode, changes)


HELD_SHARE = 0.25
"""The standardized batches are held in memory while together they take at most this share of the
memory budget (990k records of 126 columns take 482 MiB; the default budget is 8 GiB on 24); each
batch beyond goes to a file of its own. Held, the records are written once: each batch to a file
and all of them again to the records' file took 3.1 s at 990k records, one write 1.3 s
(bench/RESULTS.md)."""


class _Standardized:
    """The standardized records as they are done, batch by batch, held in memory up to a number of
    bytes and on disk beyond it (no source, and no batch of a big one, is in memory beside the
    others past that), with what the stage reports of them: each record's row hash and previous
    rid, and the field profile's counts, which add up over batches."""

    def __init__(
        self, work: Path, schema: pa.DataFrameSchema, fields: list[str], date_fields: list[str], hold_bytes: int
    ) -> None:
        self.work, self.schema, self.fields, self.date_fields = work, schema, fields, date_fields
        self.parts: list[pl.DataFrame | Path] = []
        self.held, self.hold_bytes = 0, hold_bytes
        self.hashes: list[pl.Series] = []
        self.previous: list[pl.Series] = []
        self.profiles: list[pl.DataFrame] = []

    def keep(
        self,
        frame: pl.DataFrame,
        staged: pl.DataFrame,
        row_hashes: pl.Series,
        formats: dict[str, str | None],
        dates: DateCounts,
        source: str,
    ) -> None:
        """One batch of `source`: standardized `frame` (with `previous_rid`) of the rows `staged`."""
        dates.add(frame, staged, formats, self.date_fields)
        self.hashes.append(row_hashes)
        self.previous.append(frame[PREVIOUS_RID])
        self.profiles += [field_profile(frame, self.fields), _updated_at_profile(frame, staged, source)]
        frame = frame.drop(PREVIOUS_RID)
        self.schema.validate(frame)
        size = int(frame.estimated_size())
        if self.held + size <= self.hold_bytes:
            self.parts.append(frame)
            self.held += size
            return
        path = self.work / f"standardized_{len(self.parts)}.parquet"
        frame.write_parquet(path, compression=PAIR_FILE_COMPRESSION)  # read once, by write()
        self.parts.append(path)

    def write(self, standardized: Path, hashes: Path, profile: Path) -> int:
        """The standardized records with their rids (in source and staged order), their row hashes and
        the field profile to their work files; the number of records."""
        held = [part for part in self.parts if isinstance(part, pl.DataFrame)]
        if len(held) == len(self.parts):
            pl.concat(held, how="vertical").with_row_index("rid").with_columns(
                pl.col("rid").cast(pl.Int64)
            ).write_parquet(standardized)
        else:
            (
                pl.concat(
                    [part.lazy() if isinstance(part, pl.DataFrame) else pl.scan_parquet(part) for part in self.parts],
                    how="vertical",
                )
                .with_row_index("rid")
                .with_columns(pl.col("rid").cast(pl.Int64))
                .sink_parquet(standardized)
            )
        for part in self.parts:
            if isinstance(part, Path):
                part.unlink()
        self.parts, self.held = [], 0  # the held batches let go
        kept = {HASH_COLUMN: pl.concat(self.hashes), PREVIOUS_RID: pl.concat(self.previous)}
        records = len(kept[HASH_COLUMN])
        pl.DataFrame({"rid": pl.int_range(records, dtype=pl.Int64, eager=True), **kept}).write_parquet(hashes)
        counts = ("records", "present", "clean", "flagged")
        (
            pl.concat(self.profiles)
            .group_by("source", "field")
            .agg(pl.col("records").sum().cast(pl.UInt32), pl.col(counts[1:]).sum().cast(pl.Int64))
            .sort("source", "field")
            .write_parquet(profile)
        )
        return records


def _standardize_fresh(
    ctx: RunContext, source: SourceConfig, formats: dict[str, str | None], done: _Standardized, dates: DateCounts
) -> SourceChanges:
    """Every staged row of `source` standardized afresh, in row batches of what the memory budget
    allows (a row's standardized form depends on that row alone), each read from the staged file
    and written to disk before the next."""
    path = ctx.files.staged(source.name)
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    size = ctx.budget.rows_per_partition(STANDARDIZE_BYTES_PER_ROW)
    starts = range(0, rows, size) if rows else range(1)
    if len(starts) > 1:
        log.info("standardize %s: %d rows in %d batches", source.name, rows, len(starts))
    for start in starts:
        staged = pl.scan_parquet(path).slice(start, size).collect()
        frame = _standardized_rows(ctx, source, staged, formats)
        fresh = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(PREVIOUS_RID))
        done.keep(fresh, staged, record_hashes(staged), formats, dates, source.name)
        del frame, fresh, staged
    return SourceChanges(rows, 0, 0, 0, carried=False)


def _standardized_rows(
    ctx: RunContext, source: SourceConfig, rows: pl.DataFrame, formats: dict[str, str | None]
) -> pl.DataFrame:
    """`rows` of `source` standardized."""
    ingested = IngestResult(source.name, rows.height, rows, pl.DataFrame(schema=QUARANTINE_SCHEMA), formats)
    return standardize_source(ingested, source, ctx.config.dictionary, ctx.as_of)


def _standardize(
    ctx: RunContext,
    source: SourceConfig,
    staged: pl.DataFrame,
    formats: dict[str, str | None],
    carried: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.Series, SourceChanges]:
    """One source's standardized records in staged order (with `previous_rid`), their row hashes,
    and what changed against `carried` (the last run's records of the source): only new and changed
    rows are standardized, the unchanged ones taken from `carried` with their dates re-checked as of
    today. `previous_rid` is a carried record's rid in the last run, null where the record was
    standardized afresh or a date of it reads otherwise today (its pairs are compared again)."""
    dictionary, as_of = ctx.config.dictionary, ctx.as_of
    row_hashes = record_hashes(staged)
    before = carried.select("source_record_id", pl.col(HASH_COLUMN).alias("_before"))
    compared = (
        staged.select("source_record_id", "row_number")
        .with_columns(row_hashes, pl.int_range(pl.len()).alias("_position"))
        .join(before, on="source_record_id", how="left", maintain_order="left")
    )
    same = (compared["_before"] == compared[HASH_COLUMN]).fill_null(False)
    new = int(compared["_before"].is_null().sum())
    unchanged = int(same.sum())
    deleted = carried.height - int(compared["_before"].is_not_null().sum())
    fresh = _standardized_rows(ctx, source, staged.filter(~same), formats).with_columns(
        pl.lit(None, dtype=pl.Int64).alias(PREVIOUS_RID)
    )
    kept_rows = compared.filter(same).select("source_record_id", "row_number", "_position")
    if unchanged == staged.height == carried.height and carried["source_record_id"].equals(staged["source_record_id"]):
        kept_rows = kept_rows.drop("source_record_id")  # every row as it was, in its place: no join to pay for
        kept = pl.concat([carried.drop("row_number", HASH_COLUMN), kept_rows], how="horizontal")
    else:
        kept = carried.drop("row_number", HASH_COLUMN).join(
            kept_rows, on="source_record_id", how="inner", maintain_order="right"
        )
    kept = kept.select(*fresh.columns, "_position")  # in staged order
    redone = restandardize_as_of(kept, source, dictionary, formats, as_of)
    dated = [c for name in as_of_fields(dictionary) for c in (name, f"{name}_flags")]
    if dated:
        same_dates = pl.DataFrame([kept[c].eq_missing(redone[c]) for c in dated]).select(pl.all_horizontal(pl.all()))
        redone = redone.with_columns(pl.when(same_dates.to_series()).then(pl.col(PREVIOUS_RID)).alias(PREVIOUS_RID))
    kept = redone
    if fresh.height:  # the new and changed rows put in their places
        positions = compared.filter(~same)["_position"]
        kept = pl.concat([fresh.with_columns(positions), kept], how="vertical").sort("_position")
    frame = kept.drop("_position")  # a source unchanged since the last run is not sorted again
    changes = SourceChanges(new, staged.height - unchanged - new, unchanged, deleted, carried=True)
    return frame, row_hashes, changes


class DateCounts:
    """Per date field (and updated_at) of one source: values present and values that failed their
    format, with a few of the failures, added up over the source's batches."""

    SAMPLES = 3

    def __init__(self) -> None:
        self.present: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.samples: dict[str, list[str]] = {}

    def add(self, frame: pl.DataFrame, staged: pl.DataFrame, formats: dict[str, str | None], fields: list[str]) -> None:
        """The counts of one batch: `frame` standardized from `staged`."""
        for name, flags, raw in [(f, f"{f}_flags", f"{f}_raw") for f in fields] + [
            ("updated_at", "updated_at_flags", None)
        ]:
            if name not in formats:  # not mapped in this source
                continue
            text = (frame[raw] if raw else staged["updated_at"]).str.strip_chars()
            failed = frame[flags].list.eval(pl.element().str.starts_with(UNPARSED)).list.any()
            self.present[name] = self.present.get(name, 0) + int((text.str.len_chars() > 0).sum())
            self.failed[name] = self.failed.get(name, 0) + int(failed.sum())
            seen = self.samples.setdefault(name, [])
            seen += text.filter(failed).head(self.SAMPLES - len(seen)).to_list()

    def problems(self, source: SourceConfig, formats: dict[str, str | None]) -> list[str]:
        """Each field whose values mostly fail their format."""
        problems = []
        for name, present in self.present.items():
            n_failed = self.failed[name]
            too_many = present >= MIN_VALUES_FOR_RATE and 1 - n_failed / present < source.min_date_parse_rate
            if n_failed and (too_many or n_failed == present):
                samples = ", ".join(repr(v) for v in self.samples[name])
                fmt = formats[name] or ISO_8601
                problems.append(
                    f"source {source.name!r}: {n_failed} of {present} {name} values do not parse with format"
                    f" {fmt!r} (e.g. {samples}), fewer than min_date_parse_rate {source.min_date_parse_rate:.0%} parse"
                )
        return problems


def unparsed_dates(
    frame: pl.DataFrame, staged: pl.DataFrame, source: SourceConfig, formats: dict[str, str | None], fields: list[str]
) -> list[str]:
    """Each date field (and updated_at) of one source whose values mostly fail their format."""
    counts = DateCounts()
    counts.add(frame, staged, formats, fields)
    return counts.problems(source, formats)


def _updated_at_profile(frame: pl.DataFrame, staged: pl.DataFrame, source: str) -> pl.DataFrame:
    """field_profile's row for updated_at: when the source last changed each record."""
    raw = staged["updated_at"] if "updated_at" in staged.columns else pl.Series([None] * frame.height, dtype=pl.String)
    return pl.DataFrame(
        {
            "source": [source],
            "field": ["updated_at"],
            "records": [frame.height],
            "present": [int((raw.str.strip_chars().str.len_chars() > 0).sum())],
            "clean": [int(frame["source_updated_at"].is_not_null().sum())],
            "flagged": [int((frame["updated_at_flags"].list.len() > 0).sum())],
        },
        schema={
            "source": pl.String,
            "field": pl.String,
            "records": pl.UInt32,
            **dict.fromkeys(("present", "clean", "flagged"), pl.Int64),
        },
    )


def field_profile(records: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """Per source and field: records, values present, clean, flagged. What a steward reads
    before trusting a new source."""
    return (
        pl.concat(
            [
                records.group_by("source").agg(
                    pl.lit(name).alias("field"),
                    pl.len().alias("records"),
                    (pl.col(f"{name}_raw").str.strip_chars().str.len_chars() > 0).sum().alias("present"),
                    pl.col(name).is_not_null().sum().alias("clean"),
                    (pl.col(f"{name}_flags").list.len() > 0).sum().alias("flagged"),
                )
                for name in fields
            ]
        )
        .with_columns(pl.col("present", "clean", "flagged").cast(pl.Int64))
        .sort("source", "field")
    )

"""The standardize stage: every source's staged rows to one table of clean values, with a profile
of what was flagged per source and field."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import polars as pl

from mdm.context import RunContext
from mdm.ingest import QUARANTINE_SCHEMA, IngestResult
from mdm.standardize.base import distinct_values
from mdm.standardize.source import standardize_source, standardized_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StandardizeReport:
    records: int
    flagged_values: dict[str, int]
    """field -> values flagged (not clean) over all sources."""
    flagged_by_source: dict[str, dict[str, int]]
    """field -> source -> values flagged."""


def standardize_stage(ctx: RunContext) -> StandardizeReport:
    files, dictionary = ctx.files, ctx.config.dictionary
    frames = []
    with distinct_values():  # a phone or e-mail seen in several sources is parsed once
        for source in ctx.config.sources.sources:
            staged = pl.read_parquet(files.staged(source.name))
            formats = json.loads(files.formats(source.name).read_text())
            result = IngestResult(source.name, staged.height, staged, pl.DataFrame(schema=QUARANTINE_SCHEMA), formats)
            frames.append(standardize_source(result, source, dictionary, ctx.as_of))
    records = pl.concat(frames, how="vertical")
    standardized_schema(dictionary).validate(records)
    records = records.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    records.write_parquet(files.standardized)
    profile = field_profile(records, ctx.config.published_fields)
    profile.write_parquet(files.field_profile)
    flagged = profile.group_by("field").agg(pl.col("flagged").sum()).filter(pl.col("flagged") > 0)
    by_source: dict[str, dict[str, int]] = {}
    for source_name, name, n in profile.filter(pl.col("flagged") > 0).select("source", "field", "flagged").iter_rows():
        by_source.setdefault(name, {})[source_name] = n
    log.info("standardize: %d records, %d flagged values", records.height, profile["flagged"].sum())
    return StandardizeReport(records.height, dict(sorted(flagged.iter_rows())), dict(sorted(by_source.items())))


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

"""Per-run quality metrics of the master (completeness, validity, duplicate rate, stale share),
kept across runs in the durable store so readers see the trend.

The metrics and what counts as present and valid: docs/architecture.md, section "mdm/publish/quality.py".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from mdm.stale.flags import ATTRIBUTES as STALE_ATTRIBUTES

QUALITY_TABLE = "quality_metrics"
STORED_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "metric": pl.String(),
    "source": pl.String(),
    "field": pl.String(),
    "numerator": pl.Int64(),
    "denominator": pl.Int64(),
}


def _with_all_sources(per_source: pl.DataFrame) -> pl.DataFrame:
    """Add rows for all sources together (source NULL), summing numerators and denominators."""
    total = (
        per_source.group_by("metric", "field", maintain_order=True)
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
        .with_columns(pl.lit(None, dtype=pl.String).alias("source"))
    )
    return pl.concat([per_source, total.select(per_source.columns)])


def _rows(frame: pl.DataFrame, metric: str, field: str | None) -> pl.DataFrame:
    return frame.select(
        pl.lit(metric).alias("metric"),
        pl.col("source"),
        pl.lit(field, dtype=pl.String).alias("field"),
        pl.col("numerator").cast(pl.Int64),
        pl.col("denominator").cast(pl.Int64),
    )


def field_quality(records: pl.LazyFrame, fields: Sequence[str]) -> pl.DataFrame:
    """Completeness and validity per source and field, from the standardized records: every field
    counted in one streaming pass over the records (a pass per field held them all at once)."""
    counted: list[pl.Expr] = [pl.len().alias("records")]
    for name in fields:
        present = pl.col(f"{name}_raw").str.strip_chars().str.len_chars().fill_null(0) > 0
        valid = present & pl.col(name).is_not_null()
        counted += [present.sum().alias(f"{name}:present"), valid.sum().alias(f"{name}:valid")]
    wide = records.group_by("source").agg(counted).collect(engine="streaming")
    counts = pl.concat(
        [
            wide.select("source", "records", present=f"{name}:present", valid=f"{name}:valid").with_columns(
                pl.lit(name).alias("field")
            )
            for name in fields
        ]
    ).sort("source", "field")
    completeness = counts.select(
        pl.lit("completeness").alias("metric"), "source", "field", numerator="present", denominator="records"
    )
    validity = counts.select(
        pl.lit("validity").alias("metric"), "source", "field", numerator="valid", denominator="present"
    )
    return pl.concat([completeness, validity]).with_columns(pl.col("numerator", "denominator").cast(pl.Int64))


def duplicate_rate(xref: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Records merged into another record's golden customer, per source (within it) and in all."""
    per_source = (
        xref.lazy()
        .group_by("source")
        .agg((pl.len() - pl.col("golden_id").n_unique()).alias("numerator"), pl.len().alias("denominator"))
        .sort("source")
    )
    overall = xref.lazy().select(
        pl.lit(None, dtype=pl.String).alias("source"),
        (pl.len() - pl.col("golden_id").n_unique()).alias("numerator"),
        pl.len().alias("denominator"),
    )
    return _rows(pl.concat([per_source, overall]).collect(), "duplicate_rate", None)


def stale_share(xref: pl.DataFrame | pl.LazyFrame, attributes: Sequence[str]) -> pl.DataFrame:
    """Stale contact values per source and attribute (over records carrying one), and records
    with any stale value (field NULL). All counted in one pass over `xref` (a query over the
    published file streams: only the counts are held)."""
    counts = (
        xref.lazy()
        .group_by("source")
        .agg(
            *[pl.col(f"{a}_is_stale").sum().alias(f"{a}:numerator") for a in attributes],
            *[pl.col(f"{a}_is_stale").is_not_null().sum().alias(f"{a}:denominator") for a in attributes],
            pl.col("is_stale").fill_null(False).sum().alias("numerator"),
            pl.len().alias("denominator"),
        )
        .collect()
    )
    parts = [
        _rows(counts.select("source", numerator=f"{a}:numerator", denominator=f"{a}:denominator"), "stale_share", a)
        for a in attributes
    ]
    parts.append(_rows(counts.select("source", "numerator", "denominator"), "stale_share", None))
    return pl.concat(parts).sort("field", "source", nulls_last=True, maintain_order=True)


def run_quality(
    records_path: Path,
    xref: pl.DataFrame | pl.LazyFrame,
    fields: Sequence[str],
    run_id: str,
    attributes: Sequence[str] = STALE_ATTRIBUTES,
) -> pl.DataFrame:
    """This run's metrics, in the store's shape (no `value`): see the module docstring.

    `xref` is the master's customer_xref (source, golden_id, `<attribute>_is_stale`, is_stale), or
    a query over its file."""
    columns = ["source", *(f"{name}{suffix}" for name in fields for suffix in ("_raw", ""))]
    per_field = field_quality(pl.scan_parquet(records_path).select(columns), fields)
    frames = [
        _with_all_sources(per_field),
        duplicate_rate(xref),
        _with_all_sources(stale_share(xref, attributes)),
    ]
    return pl.concat(frames).select(pl.lit(run_id).alias("run_id"), *list(STORED_SCHEMA)[1:])


def quality_table(stored: pl.DataFrame, this_run: pl.DataFrame) -> pl.DataFrame:
    """The master's quality_metrics: every earlier run's rows from the store, then this run's,
    with `value` = numerator / denominator (NULL when the denominator is 0)."""
    return pl.concat([stored.select(list(STORED_SCHEMA)), this_run.select(list(STORED_SCHEMA))]).with_columns(
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator"))
        .otherwise(None)
        .alias("value")
    )

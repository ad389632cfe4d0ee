"""Survivorship: for each attribute, the value of the most trusted, then most recent record.

Every golden value keeps the record it came from (golden_attribute_lineage).
"""

from __future__ import annotations

import polars as pl

SURVIVORSHIP_RULE = "trust, then most recent"


def build_golden(records: pl.DataFrame, fields: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(golden_customers, golden_attribute_lineage) from standardized records with a golden_id."""
    ranked = records.sort(
        ["golden_id", "trust", "source_updated_at", "source", "source_record_id"],
        descending=[False, True, True, False, False],
        nulls_last=True,
    )
    golden = ranked.group_by("golden_id", maintain_order=True).agg(
        *[pl.col(f).drop_nulls().first().alias(f) for f in fields],
        pl.len().alias("record_count"),
        pl.col("source").unique().sort().alias("sources"),
        pl.col("source_updated_at").max().alias("last_source_update"),
    )
    lineage = pl.concat(
        [
            ranked.filter(pl.col(f).is_not_null())
            .group_by("golden_id", maintain_order=True)
            .agg(
                pl.lit(f).alias("attribute"),
                pl.col(f).first().cast(pl.String).alias("value"),
                pl.col("source").first(),
                pl.col("source_record_id").first(),
                pl.lit(SURVIVORSHIP_RULE).alias("rule"),
                pl.col("source_updated_at").first().alias("source_updated_at"),
            )
            for f in fields
        ]
    )
    return golden, lineage.sort("golden_id", "attribute")

"""Tables of the master too big to hold as frames: built lazily, loaded by DuckDB from parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl


def parquet_sql(path: Path, exclude: Sequence[str] = (), order: str | None = None) -> str:
    """A SELECT over a parquet file of the work dir, for DuckDB to load without a frame in between."""
    quoted = str(path).replace("'", "''")
    columns = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    return f"SELECT {columns} FROM read_parquet('{quoted}')" + (f" ORDER BY {order}" if order else "")


def with_record_ids(pairs: pl.LazyFrame, keys: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of rids (`left`, `right`) with each side's `keys` columns (of `rid`, `source`,
    `source_record_id`, `golden_id`) as `left_source`, `left_record_id`, `left_golden_id`, ..."""
    short = {"source": "source", "source_record_id": "record_id", "golden_id": "golden_id"}
    for end in ("left", "right"):
        names = {"rid": end} | {c: f"{end}_{short[c]}" for c in keys.collect_schema().names() if c in short}
        pairs = pairs.join(keys.rename(names), on=end)
    return pairs


def explained_pairs(scored_path: Path, outcomes_path: Path, records_path: Path) -> pl.LazyFrame:
    """Every scored pair by its records' source ids, with each comparison's level and weight,
    the total, the class and what clustering did with it (lazy: millions of pairs stream)."""
    scored = pl.scan_parquet(scored_path)
    outcomes = pl.scan_parquet(outcomes_path)
    keys = pl.scan_parquet(records_path).select("rid", "source", "source_record_id", "golden_id")
    columns = scored.collect_schema().names()
    explained = [c for c in columns if c.endswith(("_level", "_weight")) and c != "match_weight"]
    return with_record_ids(scored.join(outcomes, on=["left", "right"], how="left"), keys).select(
        "left_source",
        "left_record_id",
        "right_source",
        "right_record_id",
        "left_golden_id",
        "right_golden_id",
        pl.col("rule").alias("blocking_rule"),
        "match_probability",
        "match_weight",
        pl.col("match_class").cast(pl.String),
        "outcome",
        *[pl.col(c).cast(pl.String) if c.endswith("_level") else pl.col(c) for c in explained],
    )

"""Tables of the master too big to hold as frames: built lazily or slice by slice, loaded by DuckDB
from parquet."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

PAIR_BYTES = 1_200
"""Bytes one pair takes while its slice of match_pairs is built: its scored row (levels, weights),
its outcome, both records' keys and the explained row written out (an estimate kept high: one
more slice costs little, a run over its budget much)."""
MAX_SLICE_PAIRS = 500_000
"""At most this many pairs per slice of match_pairs whatever the budget: beyond it a slice only
holds more at once for no gain in speed."""
MATCH_PAIRS_ORDER = "match_probability DESC, left_source, left_record_id, right_source, right_record_id"
"""match_pairs as a run that writes it whole stores it: best first, then by the pair's records (a pair
is unique, so the order is total and the master the same however the pairs were sliced). A patched
match_pairs (mdm/publish/patch.py) holds the same rows in another order: readers ORDER BY."""
RECORD_KEY_COLUMNS = ["rid", "source", "source_record_id", "golden_id"]
_SEED = 20261206


def row_hash(columns: Sequence[str]) -> pl.Expr:
    """`hash`: one number for a row's values of `columns` (the same values, the same number, in
    any run of this code; what the patches of mdm/publish/patch.py compare)."""
    return pl.struct(columns).hash(_SEED).alias("hash")


def parquet_sql(path: Path | str, exclude: Sequence[str] = (), order: str | None = None) -> str:
    """A SELECT over a parquet file of the work dir (or a glob pattern of several, read in the
    order of their names), for DuckDB to load without a frame in between."""
    quoted = str(path).replace("'", "''")
    columns = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    return f"SELECT {columns} FROM read_parquet('{quoted}')" + (f" ORDER BY {order}" if order else "")


def with_record_ids(pairs: pl.LazyFrame, keys: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of rids (`left`, `right`) with each side's `keys` columns (of `rid`, `source`,
    `source_record_id`, `golden_id`) as `left_source`, `left_record_id`, `left_golden_id`, ...;
    in the order of `pairs`."""
    short = {"source": "source", "source_record_id": "record_id", "golden_id": "golden_id"}
    for end in ("left", "right"):
        names = {"rid": end} | {c: f"{end}_{short[c]}" for c in keys.collect_schema().names() if c in short}
        pairs = pairs.join(keys.rename(names), on=end, maintain_order="left")
    return pairs


def explained_pairs(
    scored: pl.LazyFrame, outcomes: pl.LazyFrame, keys: pl.LazyFrame, rids: bool = False
) -> pl.LazyFrame:
    """Scored pairs by their records' source ids (`keys`: RECORD_KEY_COLUMNS of every record they
    name), with each comparison's level and weight, the total, the class and what clustering did
    with it (`outcomes`: left, right, outcome), in the order of `scored`; with `rids`, the pair's
    `left` and `right` first."""
    columns = scored.collect_schema().names()
    explained = [c for c in columns if c.endswith(("_level", "_weight")) and c != "match_weight"]
    joined = scored.join(outcomes, on=["left", "right"], how="left", maintain_order="left")
    return with_record_ids(joined, keys).select(
        *(["left", "right"] if rids else []),
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


def write_explained_pairs(
    scored_path: Path,
    outcomes_path: Path,
    records_path: Path,
    out_dir: Path,
    slice_pairs: int,
    hashes: Path,
    each_slice: Callable[[pl.DataFrame, pl.DataFrame], None] | None = None,
) -> int:
    """Every scored pair explained (`explained_pairs`), written to `out_dir` as numbered slice
    files of at most `slice_pairs` pairs each, in the scored file's order; return the slices.
    Beside them, in `hashes`: each pair's `left`, `right` and a hash of its explained row
    (`row_hash`), in the same order, from which the next run patches match_pairs; each slice's rows
    and hashes are handed to `each_slice` too (mdm/publish/patch.py `PairsDiff.add`).

    Only one slice of pairs is in memory at a time, with only the outcomes whose left rid falls in
    the slice's range of left rids (the scored pairs come in order of left rid, so that range is
    narrow; any order gives the same pairs, only a wider range) and every record's four keys: the
    scored pairs are ten times the records and more, the keys are not. A slice file is written
    even for no pairs: readers of the pattern need one for the columns."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    keys = pl.read_parquet(records_path, columns=RECORD_KEY_COLUMNS).lazy()
    total = int(pl.scan_parquet(scored_path).select(pl.len()).collect().item())
    starts = range(0, total, slice_pairs) if total else range(1)
    hashed: list[pl.DataFrame] = []
    for number, start in enumerate(starts):
        piece = pl.scan_parquet(scored_path).slice(start, slice_pairs).collect()
        outcomes = pl.scan_parquet(outcomes_path)
        if piece.height:
            outcomes = outcomes.filter(pl.col("left").is_between(piece["left"].min(), piece["left"].max()))
        else:
            outcomes = outcomes.head(0)
        explained = explained_pairs(piece.lazy(), outcomes, keys, rids=True).collect()
        del piece
        published = explained.drop("left", "right")
        published.write_parquet(out_dir / f"{number:06d}.parquet")
        hashed.append(explained.select("left", "right", row_hash(published.columns)))
        if each_slice is not None:
            each_slice(published, hashed[-1])
        del explained, published
    pl.concat(hashed).write_parquet(hashes)
    return len(starts)

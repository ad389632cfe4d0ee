"""Tables of the master too big to hold as frames: built lazily or slice by slice, loaded by DuckDB
from parquet."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from mdm.cluster.review import QUEUED
from mdm.files import RecordFiles, scan_rows
from mdm.incremental.carry import at_rids, row_hash
from mdm.match.blocking import pair_number

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


def parquet_sql(path: Path | str, exclude: Sequence[str] = (), order: str | None = None) -> str:
    """A SELECT over a parquet file of the work dir (or a glob pattern of several, read in the
    order of their names), for DuckDB to load without a frame in between."""
    quoted = str(path).replace("'", "''")
    columns = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    return f"SELECT {columns} FROM read_parquet('{quoted}')" + (f" ORDER BY {order}" if order else "")


_KEY_NAMES = {"source": "source", "source_record_id": "record_id", "golden_id": "golden_id"}
"""A record's key column -> its name in a pair's columns, after `left_` or `right_`."""


def with_record_ids(pairs: pl.LazyFrame, keys: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of rids (`left`, `right`) with each side's `keys` columns (of `rid`, `source`,
    `source_record_id`, `golden_id`) as `left_source`, `left_record_id`, `left_golden_id`, ...;
    in the order of `pairs`."""
    for end in ("left", "right"):
        names = {"rid": end} | {c: f"{end}_{_KEY_NAMES[c]}" for c in keys.collect_schema().names() if c in _KEY_NAMES}
        pairs = pairs.join(keys.rename(names), on=end, maintain_order="left")
    return pairs


def explained_pairs(scored: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs with their `outcome` (what clustering did with the pair) and their records'
    keys (`with_record_ids`' columns) as rows of match_pairs: by their records' source ids, with
    each comparison's level and weight, the total and the class, in the order of `scored`."""
    return scored.select(
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
        *[pl.col(c).cast(pl.String) if c.endswith("_level") else pl.col(c) for c in _evidence(scored.columns)],
    )


def _evidence(columns: Sequence[str]) -> list[str]:
    """The columns of each comparison's level and weight among a scored pair's `columns`."""
    return [c for c in columns if c.endswith(("_level", "_weight")) and c != "match_weight"]


class ScoredPairs:
    """The run's scored pairs read slice by slice with what clustering did with each (`outcome`:
    "non_match" for a non-match, else the cluster stage's), explained (`explained_pairs`) only
    where a row of match_pairs is wanted, and hashed without explaining them.

    Only one slice of pairs is in memory at a time, with only the outcomes whose left rid falls in
    the slice's range of left rids (the scored pairs come in order of left rid, so that range is
    narrow; any order gives the same pairs, only a wider range) and every record's four keys: the
    scored pairs are ten times the records and more, the keys are not.

    A pair's hash (`hashes`) stands for its explained row: it hashes the pair's scored values, its
    outcome and a hash of each record's keys (source, source_record_id, golden_id), so a pair is
    hashed by numbers picked by rid; the source ids, strings, are what makes explaining a pair
    cost (at 6.3M pairs, hashing every pair and explaining the 0.6M an incremental night inserts
    or queues for review took 4-5 s where explaining, writing and hashing every row took 13)."""

    def __init__(self, scored: Path, outcomes: Path, records: Path | RecordFiles, slice_pairs: int) -> None:
        self.scored, self.outcomes, self.slice_pairs = scored, outcomes, slice_pairs
        self.keys = scan_rows(records).select(RECORD_KEY_COLUMNS).collect()
        rids = self.keys["rid"]
        self.key_hash = at_rids(rids, self.keys.select(row_hash(RECORD_KEY_COLUMNS[1:]))["hash"])
        """Each record's keys hashed, by rid."""
        self.row = at_rids(rids, pl.int_range(rids.len(), dtype=pl.UInt32, eager=True))
        """Each record's row of `keys`, by rid."""
        self.golden = at_rids(rids, self.keys["golden_id"].rank("dense").cast(pl.UInt32))
        """Each record's golden id as a number (in the order of the ids), by rid."""
        self.total = int(pl.scan_parquet(scored).select(pl.len()).collect().item())
        self.starts = range(0, self.total, slice_pairs) if self.total else range(1)
        self.reviewed = 0
        """The pairs `hash_all` explained for the review queue."""

    def slice(self, number: int) -> pl.DataFrame:
        """The scored pairs of slice `number` (from 0), each with its `outcome`."""
        piece = pl.scan_parquet(self.scored).slice(self.starts[number], self.slice_pairs).collect()
        outcomes = pl.scan_parquet(self.outcomes)
        if piece.height:
            outcomes = outcomes.filter(pl.col("left").is_between(piece["left"].min(), piece["left"].max()))
        else:
            outcomes = outcomes.head(0)
        joined = piece.join(outcomes.collect(), on=["left", "right"], how="left", maintain_order="left")
        non_match = pl.col("match_class") == "non_match"
        return joined.with_columns(pl.when(non_match).then(pl.lit("non_match")).otherwise("outcome").alias("outcome"))

    def explain(self, piece: pl.DataFrame) -> pl.DataFrame:
        """`piece`'s pairs as rows of match_pairs, their records' keys picked by position (a join
        would hash every record's rid for each piece, however few its pairs)."""
        rows = {end: self.row.gather(piece[end]) for end in ("left", "right")}
        ends = [self.keys[c].gather(rows[end]).alias(f"{end}_{name}") for end in rows for c, name in _KEY_NAMES.items()]
        return explained_pairs(piece.with_columns(ends))

    def hashes(self, piece: pl.DataFrame) -> pl.DataFrame:
        """`left`, `right` and the hash of each pair of `piece` (see the class)."""
        values = ["rule", "match_probability", "match_weight", "match_class", "outcome", *_evidence(piece.columns)]
        ends = [self.key_hash.gather(piece[end]).alias(f"_{end}_keys") for end in ("left", "right")]
        return piece.with_columns(*ends).select("left", "right", row_hash([*values, "_left_keys", "_right_keys"]))

    def hash_all(
        self, each: Callable[[int, pl.DataFrame, pl.DataFrame], None], review_dir: Path, links: pl.DataFrame
    ) -> pl.DataFrame:
        """Every slice read and hashed, and handed with its number and hashes to `each` (which
        explains what it needs of it); the pairs of each slice that the review queue reads
        (`for_review`) explained into `review_dir`, in slice files; return every pair's `left`,
        `right` and `hash`, in order. `links`: see `for_review`."""
        fresh_dir(review_dir)
        between = self._queued_between()
        touched = pl.concat([links["left"], links["right"]]).cast(pl.Int64).unique().implode()
        hashed: list[pl.DataFrame] = []
        for number in range(len(self.starts)):
            piece = self.slice(number)
            hashed.append(self.hashes(piece))
            each(number, piece, hashed[-1])
            wanted = self.explain(piece.filter(self.for_review(piece, between, touched)))
            write_slice(wanted, review_dir, number)
            self.reviewed += wanted.height
            del piece, wanted
        return pl.concat(hashed)

    def for_review(self, piece: pl.DataFrame, between: pl.Series, touched: pl.Series) -> pl.Series:
        """Which pairs of `piece` the review queue reads (mdm/cluster/review.py `review_items`,
        mdm/state/decisions.py `requeue_changed`): those between two golden customers that an
        undecided pair joins (`between`: `_queued_between`), and those between two records of the
        steward decisions requeued (`touched`: their rids). Every other pair is one those functions
        drop."""
        cross = self._golden_pairs(piece).select(
            pl.col("pair").is_in(between.implode()) & (pl.col("g1") != pl.col("g2"))
        )
        linked = piece["left"].cast(pl.Int64).is_in(touched) & piece["right"].cast(pl.Int64).is_in(touched)
        return cross.to_series() | linked

    def _queued_between(self) -> pl.Series:
        """The pairs of golden customers (`_golden_pairs`' `pair`) an undecided pair (QUEUED) joins:
        read from the cluster stage's outcomes, as a non-match never is undecided."""
        undecided = pl.scan_parquet(self.outcomes).filter(QUEUED).select("left", "right").collect()
        golden = self._golden_pairs(undecided).filter(pl.col("g1") != pl.col("g2"))
        return golden["pair"].unique()

    def _golden_pairs(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """Each pair's golden customers (`g1` <= `g2`, as numbers) and both as one number `pair`."""
        ends = pl.DataFrame([self.golden.gather(pairs[end]).cast(pl.UInt64).alias(end) for end in ("left", "right")])
        g1, g2 = pl.min_horizontal("left", "right"), pl.max_horizontal("left", "right")
        return ends.select(g1.alias("g1"), g2.alias("g2"), pair_number(g1, g2).alias("pair"))

    def write_all(self, out_dir: Path) -> int:
        """Every pair explained, written to `out_dir` as numbered slice files in the scored file's
        order; return the slices."""
        fresh_dir(out_dir)
        for number in range(len(self.starts)):
            write_slice(self.explain(self.slice(number)), out_dir, number)
        return len(self.starts)


def fresh_dir(path: Path) -> None:
    """`path` as an empty directory."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def write_slice(rows: pl.DataFrame, out_dir: Path, number: int) -> None:
    """Slice `number` of a table written in slices (read back in order through `*.parquet`): a
    slice file is written even for no rows, as readers of the pattern need one for the columns."""
    rows.write_parquet(out_dir / f"{number:06d}.parquet")

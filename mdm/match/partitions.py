"""The candidate pairs in partitions: blocked and compared one partition at a time, each written to
disk before the next, so the match stage's memory is set by the budget (mdm/budget.py), not by
the number of pairs.

A partition is a range of left rids (a pair's lower rid). Every pair has one left rid, so the
partitions share no pair and together they are the candidate pairs of one blocking of all the
records (the block sizes, and so the giant blocks, are counted over all records in each). The
ranges ascend and each partition's pairs are sorted, so the partitions read one after the other
are all the pairs in their order (left, right). Training reads only the pairs' pattern counts,
which add up over partitions (mdm/match/model.py), and scoring reads one partition at a time.

The ranges are cut at equal shares of an upper bound of the pairs each record is the left one
of: per blocking rule, the records of its block with a higher rid (for a rule with an other key,
the records whose other key is its key, and the other way round). The pairs found by several
rules count once per rule, so the bound is above the pairs, near what blocking holds before
merging the rules' pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.budget import MemoryBudget
from mdm.config.rules import Comparison, MatchRules
from mdm.context import PAIR_FILE_COMPRESSION
from mdm.executor import Partitions
from mdm.match.blocking import GIANT_BLOCKS_SCHEMA, Blocked, RidRange, block_pairs, key_part, missing_columns
from mdm.match.comparisons import CODED_PAIRS_PER_RECORD
from mdm.match.model import add_pattern_counts, pattern_counts
from mdm.match.score import compare_for_scoring

log = logging.getLogger(__name__)

MATCH_BYTES_PER_PAIR = 250
"""Blocking and comparison's working set per pair a blocking rule finds: the rules' pairs before
they are merged, the merged pairs, their levels and the slice being compared (bench/RESULTS.md)."""


@dataclass(frozen=True)
class ComparedParts:
    """The run's candidate pairs and their levels, in files of ascending left rids (or, compared at
    once, in one frame)."""

    parts: Sequence[Path | pl.DataFrame]
    """Per partition, its pairs as compare_for_scoring gives them without the left values (scoring
    reads the term frequencies by rid), sorted by (left, right): a file,
    or the frame of pairs compared at once (`whole`)."""
    rules: list[dict[str, Any]]
    """The blocking report of all the pairs (block_pairs' `rules`)."""
    giant_blocks: pl.DataFrame
    patterns: pl.DataFrame
    """The pattern counts of all the pairs (mdm/match/model.py `pattern_counts`)."""
    candidate_pairs: int

    def scan(self) -> pl.LazyFrame:
        return pl.concat(
            [part.lazy() if isinstance(part, pl.DataFrame) else pl.scan_parquet(part) for part in self.parts]
        )

    def read(self) -> Iterator[pl.DataFrame]:
        """Each partition's pairs, one at a time."""
        for part in self.parts:
            yield part if isinstance(part, pl.DataFrame) else pl.read_parquet(part)

    def remove(self) -> None:
        for part in self.parts:
            if isinstance(part, Path):
                part.unlink(missing_ok=True)

    @classmethod
    def whole(cls, blocked: Blocked, compared: pl.DataFrame, comparisons: Sequence[Comparison]) -> ComparedParts:
        """Pairs compared at once (an incremental run's, mdm/match/delta.py) as one partition, kept
        as the frame they are in: scoring reads a partition whole, so writing it to a file and
        reading it back (3 s at 6.3M pairs) would only add the file."""
        patterns = pattern_counts(compared, comparisons)
        return cls([compared], blocked.rules, blocked.giant_blocks, patterns, blocked.pairs.height)


def compare_in_partitions(
    records: pl.DataFrame,
    rules: MatchRules,
    comparisons: list[Comparison],
    budget: MemoryBudget,
    work_dir: Path,
    partitions: Partitions | None = None,
) -> ComparedParts:
    """Block `records` (`rid` and the matching columns) and compare the pairs in as many partitions
    as the budget asks, each written to `work_dir`; compared on `partitions` when given."""
    weights = pairs_by_left(records, rules)
    bound = int(weights["pairs"].sum())
    count = budget.partitions(bound, MATCH_BYTES_PER_PAIR)
    ranges: list[RidRange | None] = [None]
    # one partition compares as it always has; in several, each holds a share of pairs that are
    # many per record overall, whatever its own share says
    many: bool | None = None
    if count > 1:
        ranges = list(left_ranges(weights, count, records))
        many = bound >= CODED_PAIRS_PER_RECORD * records.height
        log.info("match: about %d pairs blocked and compared in %d partitions of left rids", bound, len(ranges))
    del weights
    paths, reports, patterns, pairs = [], [], [], 0
    giant_blocks = pl.DataFrame(schema=GIANT_BLOCKS_SCHEMA)
    for number, left_in in enumerate(ranges):
        blocked = block_pairs(records, rules.blocking, rules.max_block_size, left_in=left_in)
        compared = compare_for_scoring(records, blocked.pairs, comparisons, partitions, many=many, left_values=False)
        paths.append(work_dir / f"compared_{number}.parquet")
        compared.write_parquet(paths[-1], compression=PAIR_FILE_COMPRESSION)
        patterns.append(pattern_counts(compared, comparisons))
        reports.append(blocked.rules)
        giant_blocks, pairs = blocked.giant_blocks, pairs + blocked.pairs.height
        del blocked, compared
    return ComparedParts(paths, _added(reports), giant_blocks, add_pattern_counts(patterns), pairs)


def pairs_by_left(records: pl.DataFrame, rules: MatchRules) -> pl.DataFrame:
    """`rid`, `pairs`: an upper bound of the candidate pairs whose left rid it is (module docstring),
    for the records that have any."""
    weights = pl.DataFrame(schema={"rid": pl.Int64, "pairs": pl.Int64})
    for rule in rules.blocking:
        if missing_columns(rule, records.columns):
            continue  # block_pairs skips it, with a warning
        limit = rule.max_block_size or rules.max_block_size
        parts = [key_part(p) for p in rule.key]
        names = [p.meta.output_name() for p in parts]
        keyed = records.select(pl.col("rid").cast(pl.Int64), *parts).drop_nulls(names)
        size = pl.len().over(names)
        if rule.other_key is None:
            higher = size - pl.col("rid").rank("ordinal").over(names)
            found = keyed.filter(size <= limit).select("rid", higher.cast(pl.Int64).alias("pairs"))
        else:
            others = records.select(
                pl.col("rid").cast(pl.Int64),
                *[key_part(p).alias(n) for p, n in zip(rule.other_key, names, strict=True)],
            ).drop_nulls(names)
            keyed = keyed.filter(size <= limit)
            by_key, by_other = keyed.group_by(names).len("_k"), others.group_by(names).len("_o")
            found = pl.concat(
                [
                    keyed.join(by_other, on=names).select("rid", pl.col("_o").cast(pl.Int64).alias("pairs")),
                    others.join(by_key, on=names).select("rid", pl.col("_k").cast(pl.Int64).alias("pairs")),
                ]
            )
        weights = pl.concat([weights, found]).group_by("rid").agg(pl.col("pairs").sum())
    return weights.filter(pl.col("pairs") > 0).sort("rid")


def left_ranges(weights: pl.DataFrame, count: int, records: pl.DataFrame) -> list[RidRange]:
    """`count` ranges of left rids (fewer when one record outweighs a share) covering every rid of
    `records`, each holding about an equal share of `weights` (`rid`, `pairs`, sorted by rid)."""
    start, end = int(records["rid"].min()), int(records["rid"].max()) + 1  # type: ignore[arg-type]
    if weights.is_empty():
        return [(start, end)]
    total = int(weights["pairs"].sum())
    running = weights.select("rid", pl.col("pairs").cum_sum().alias("_running"))
    cuts = [int(running.filter(pl.col("_running") > total * share // count)["rid"][0]) for share in range(1, count)]
    bounds = sorted({start, *(c for c in cuts if start < c < end), end})
    return list(zip(bounds, bounds[1:], strict=False))


def _added(reports: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One blocking report of the partitions' reports: their pairs added per rule, the rest (giant
    blocks, skipped rules) the same in each."""
    added = []
    for entries in zip(*reports, strict=True):
        entry = dict(entries[0])
        if "skipped" not in entry:
            entry |= {key: sum(int(e[key]) for e in entries) for key in ("pairs", "new_pairs")}
        added.append(entry)
    return added

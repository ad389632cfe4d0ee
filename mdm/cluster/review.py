"""The steward review queue: one item per pair of golden customers a steward should decide, with the
evidence of every record pair between them, ranked by what a decision changes.

How items are chosen and ranked, and why: docs/architecture.md, section "mdm/cluster/review.py".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from mdm.config.rules import ReviewSettings

UNDECIDED = (pl.col("outcome") == "review") | pl.col("outcome").str.starts_with("blocked")
"""The outcomes a pair must have to be considered for the queue (a cheap filter before `review_items`)."""
REVIEW_REASON = "score between the review and match thresholds"
STEWARD_BLOCKED = "blocked: steward"
"""Pairs a steward's "not the same" keeps apart: never queued again."""
QUEUED = UNDECIDED & ~pl.col("outcome").str.starts_with(STEWARD_BLOCKED)
"""The outcomes of the pairs that make an item of the queue (between two golden customers): a
score between the thresholds, or a merge blocked by a conflict rather than by a steward."""
ITEM_COLUMNS: dict[str, pl.DataType] = {
    "review_rank": pl.Int64(),
    "left_source": pl.String(),
    "left_record_id": pl.String(),
    "left_golden_id": pl.String(),
    "right_source": pl.String(),
    "right_record_id": pl.String(),
    "right_golden_id": pl.String(),
    "match_probability": pl.Float64(),
    "reason": pl.String(),
    "evidence": pl.String(),
    "record_pairs": pl.Int64(),
    "best_probability": pl.Float64(),
    "mean_probability": pl.Float64(),
    "reasons": pl.String(),
    "left_records": pl.Int64(),
    "right_records": pl.Int64(),
    "shared_sources": pl.List(pl.String()),
    "priority": pl.Float64(),
}
"""The review_queue's columns before `changed_since_decision` (mdm/state/decisions.py adds it)."""

GoldenPair = tuple[str, str]


@dataclass(frozen=True)
class QueueReport:
    items: int
    """Items in review_queue: the best ranked, up to the daily capacity (requeued decisions always)."""
    waiting: int
    """Items that qualify for the queue, today's and those that wait for later runs."""
    record_pairs: int
    """Record pairs between the golden customers of the waiting items."""
    changed: int
    """Decisions requeued because their records changed since (always on top)."""


def golden_pair(a: str, b: str) -> GoldenPair:
    return (a, b) if a <= b else (b, a)


def bits(probability: float) -> float:
    """log2 odds of a probability: the match weight at which a pair reaches it."""
    return math.log2(probability / (1 - probability))


def source_bits(records: pl.DataFrame) -> dict[str, float]:
    """Per source, the evidence (bits, never above 0) that two golden customers who both hold a
    record of it are one person: log2(d / f), where f is the share of golden customers holding a
    record of the source (how often two different customers both do) and d the share of those
    holding two or more (how often one person's records of it would be split between the two),
    with one added to each count of d so a source without duplicates still has a finite weight.
    `records`: source and golden_id of every record."""
    customers = max(records["golden_id"].n_unique(), 1)
    held = records.group_by("golden_id", "source").len()
    stats = held.group_by("source").agg(pl.len().alias("holding"), (pl.col("len") >= 2).sum().alias("twice"))
    out = {}
    for source, holding, twice in stats.iter_rows():
        f = holding / customers
        d = (twice + 1) / (holding + 2)
        out[str(source)] = min(0.0, math.log2(d / f))
    return out


def size_shares(records: pl.DataFrame) -> dict[int, float]:
    """Share of golden customers holding n records, per n (`records`: golden_id of every record)."""
    counts = records.group_by("golden_id").len().group_by("len").agg(pl.len().alias("customers"))
    total = max(int(counts["customers"].sum()), 1)
    return {int(n): c / total for n, c in counts.iter_rows()}


def size_bits(shares: dict[int, float], customers: int) -> pl.Expr:
    """The evidence (bits, never above 0) of the two customers' record counts a and b: one person
    holding a + b records is as common as golden customers of a + b records are, two people
    holding a and b as common as those of a times those of b; log2 of the ratio. (A count no
    customer has counts as half a customer.)"""
    floor = 0.5 / max(customers, 1)

    def share(column: pl.Expr) -> pl.Expr:
        return column.replace_strict(list(shares), list(shares.values()), default=floor, return_dtype=pl.Float64)

    a, b = pl.col("left_records"), pl.col("right_records")
    ratio = share(a + b) / (share(a) * share(b))
    return pl.min_horizontal(ratio.log(2), pl.lit(0.0))


def decided_golden_pairs(
    decided: Iterable[tuple[tuple[str, str], tuple[str, str], str]], records: pl.DataFrame
) -> set[GoldenPair]:
    """The pairs of this run's golden customers a steward decision (applied this run) stands
    between: their items are settled. `records`: source, source_record_id, golden_id."""
    decided = list(decided)
    if not decided:
        return set()
    wanted = {r for a, b, _ in decided for r in (a, b)}
    golden = {
        (s, r): g
        for s, r, g in records.select("source", "source_record_id", "golden_id").iter_rows()
        if (s, r) in wanted
    }
    out = set()
    for a, b, _ in decided:
        if a in golden and b in golden and golden[a] != golden[b]:
            out.add(golden_pair(golden[a], golden[b]))
    return out


def _evidence_text(columns: Iterable[str]) -> pl.Expr:
    levels = [c for c in columns if c.endswith("_level")]
    if not levels:
        return pl.lit("")
    return pl.concat_str(
        [pl.format("{}: {}", pl.lit(c.removesuffix("_level")), pl.col(c)) for c in levels], separator=", "
    )


def review_items(
    pairs: pl.LazyFrame,
    records: pl.DataFrame,
    settings: ReviewSettings,
    *,
    threshold_match_probability: float,
    threshold_review_probability: float,
    settled: set[GoldenPair] | None = None,
) -> pl.DataFrame:
    """Every item a steward should decide, best first (review_rank from 1; no capacity applied).

    `pairs` are the run's explained pairs (match_pairs: source ids, golden ids, probability,
    weight, class, outcome, levels); `records` every record's source, source_record_id and
    golden_id; `settled` the golden pairs a steward decision already stands between.

    An item is a pair of golden customers with at least one record pair between the thresholds
    or one a hard conflict blocked. Its evidence is its strongest pair's match weight, less
    `conflict_bits` when a conflict blocked that pair, plus the evidence of the sources both
    customers already hold (`source_bits`) and of their record counts (`size_bits`); it is
    queued when that reaches the review threshold.
    Its priority is what answering it changes: closeness x (records of both customers), where
    closeness = 1 / (1 + 2^-(evidence - match threshold's weight)).
    """
    settled = settled or set()
    w_match, w_review = bits(threshold_match_probability), bits(threshold_review_probability)
    columns = pairs.collect_schema().names()
    g1 = pl.min_horizontal("left_golden_id", "right_golden_id").alias("g1")
    g2 = pl.max_horizontal("left_golden_id", "right_golden_id").alias("g2")
    cross = pairs.filter(pl.col("left_golden_id") != pl.col("right_golden_id")).with_columns(g1, g2)
    blocked = pl.col("outcome").str.starts_with("blocked")
    undecided = (
        cross.filter(QUEUED)
        .with_columns(
            (pl.col("match_weight") - pl.when(blocked).then(settings.conflict_bits).otherwise(0.0)).alias("_evidence")
        )
        .collect()
    )
    if settled:
        keep = [(a, b) not in settled for a, b in undecided.select("g1", "g2").iter_rows()]
        undecided = undecided.filter(pl.Series(keep, dtype=pl.Boolean))
    if undecided.height == 0:
        return pl.DataFrame(schema=ITEM_COLUMNS)
    order = ["_evidence", "match_probability", "left_source", "left_record_id", "right_source", "right_record_id"]
    representative = undecided.sort(order, descending=[True, True, False, False, False, False]).unique(
        subset=["g1", "g2"], keep="first", maintain_order=True
    )
    keys = representative.select("g1", "g2").lazy()
    between = cross.join(keys, on=["g1", "g2"], how="semi")
    stats = between.group_by("g1", "g2").agg(
        pl.len().cast(pl.Int64).alias("record_pairs"),
        pl.col("match_probability").max().alias("best_probability"),
        # summed exactly (18 decimals): a float sum depends on the order and chunks the join gives
        pl.col("match_probability").cast(pl.Decimal(38, 18)).mean().cast(pl.Float64).alias("mean_probability"),
    )
    reasons = (
        between.group_by("g1", "g2", "outcome")
        .len()
        .sort(["len", "outcome"], descending=[True, False])
        .group_by("g1", "g2", maintain_order=True)
        .agg(pl.format("{} × {}", "len", "outcome").str.join("; ").alias("reasons"))
    )
    # the record counts and sources of the items' customers only (a few percent of them all)
    customers_of_items = pl.concat([representative["left_golden_id"], representative["right_golden_id"]])
    members = (
        records.lazy()
        .filter(pl.col("golden_id").is_in(customers_of_items.unique().implode()))
        .group_by("golden_id")
        .agg(pl.len().cast(pl.Int64).alias("records"), pl.col("source").unique().sort().alias("sources"))
    )
    per_source = source_bits(records.select("golden_id", "source"))
    shares = size_shares(records.select("golden_id"))
    customers = records["golden_id"].n_unique()
    shared_bits = (
        pl.col("shared_sources")
        .list.eval(pl.element().replace_strict(list(per_source), list(per_source.values()), default=0.0))
        .list.sum()
    )
    items = (
        representative.lazy()
        .join(stats, on=["g1", "g2"], how="left")
        .join(reasons, on=["g1", "g2"], how="left")
        .join(
            members.rename({"golden_id": "left_golden_id", "records": "left_records", "sources": "_ls"}),
            on="left_golden_id",
            how="left",
        )
        .join(
            members.rename({"golden_id": "right_golden_id", "records": "right_records", "sources": "_rs"}),
            on="right_golden_id",
            how="left",
        )
        .with_columns(pl.col("_ls").list.set_intersection("_rs").list.sort().alias("shared_sources"))
        .with_columns(
            (pl.col("_evidence") + shared_bits.fill_null(0.0) + size_bits(shares, customers)).alias("_item_evidence")
        )
        .filter(pl.col("_item_evidence") >= w_review)
        .with_columns(
            (
                (pl.col("left_records") + pl.col("right_records"))
                / (1.0 + pl.lit(2.0).pow(-(pl.col("_item_evidence") - w_match)))
            ).alias("priority")
        )
        .sort(["priority", "_item_evidence", "g1", "g2"], descending=[True, True, False, False])
        .collect()
    )
    return items.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("review_rank"),
        "left_source",
        "left_record_id",
        "left_golden_id",
        "right_source",
        "right_record_id",
        "right_golden_id",
        "match_probability",
        pl.when(pl.col("outcome") == "review").then(pl.lit(REVIEW_REASON)).otherwise("outcome").alias("reason"),
        _evidence_text(columns).alias("evidence"),
        "record_pairs",
        "best_probability",
        "mean_probability",
        "reasons",
        "left_records",
        "right_records",
        "shared_sources",
        "priority",
    ).cast(ITEM_COLUMNS)  # type: ignore[arg-type]


def todays_queue(queue: pl.DataFrame, capacity: int) -> pl.DataFrame:
    """The items a run publishes: every requeued decision (changed since), then the best ranked
    items up to `capacity` in all; review_rank renumbered."""
    changed = queue.filter(pl.col("changed_since_decision"))
    rest = queue.filter(~pl.col("changed_since_decision")).head(max(capacity - changed.height, 0))
    return pl.concat([changed, rest]).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("review_rank"))


def queue_report(waiting: pl.DataFrame, today: pl.DataFrame) -> QueueReport:
    pairs = waiting["record_pairs"].fill_null(1).sum() if waiting.height else 0
    changed = int(today["changed_since_decision"].sum()) if today.height else 0
    return QueueReport(items=today.height, waiting=waiting.height, record_pairs=int(pairs), changed=changed)

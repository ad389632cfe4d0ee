"""Scoring: each candidate pair's match weight and probability, explained comparison by comparison.

For every comparison the output holds the pair's level label (`<comparison>_level`) and that
level's weight (`<comparison>_weight` = log2 m/u, 0 for the null level). An exact level marked
`term_frequency_adjusted` uses the agreed value's frequency among the records as u, so two
records agreeing on a rare surname weigh more than two agreeing on "smith" (as Splink does).
`match_weight` = `prior_weight` + the sum of the comparison weights, always; the probability is
2^w / (1 + 2^w). The prior is that of two random records among those scored (see model.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import get_args

import polars as pl

from mdm.config.rules import Comparison
from mdm.executor import Partitions
from mdm.incremental.carry import at_rids
from mdm.match.comparisons import compare_pairs, usable_comparisons
from mdm.match.model import MatchModel, TrainedComparison, in_steps, in_steps_expr
from mdm.types import PairClass

PAIR_CLASSES = list(get_args(PairClass))


def term_frequencies(records: pl.DataFrame, column: str) -> pl.DataFrame:
    """`value`, `term_frequency`: the share of the records with a value that have this value, both
    counts read in steps (`in_steps`, so a few records more or less leave most frequencies as
    they were)."""
    values = records.select(pl.col(column).alias("value")).drop_nulls()
    with_value = in_steps(max(values.height, 1))
    return values.group_by("value").agg((in_steps_expr(pl.len()) / with_value).alias("term_frequency"))


def frequencies_by_rid(records: pl.DataFrame, frequencies: Mapping[str, pl.DataFrame]) -> dict[str, pl.Series]:
    """Per column of `frequencies` (its `term_frequencies`): each record's value's frequency, by
    rid (null where the record has no value or no rid), for `score_pairs` to pick by each pair's
    left rid: at 6.3M pairs a look-up by position, where joining the pairs to the frequencies on
    the left values needs those values beside the pairs first (two joins of every pair)."""
    found = {}
    for column, table in frequencies.items():
        values = records.select(pl.col(column).alias("value"))
        frequency = values.join(table, on="value", how="left", maintain_order="left")["term_frequency"]
        found[column] = at_rids(records["rid"], frequency.cast(pl.Float64))
    return found


def tf_columns(comparisons: list[Comparison]) -> list[str]:
    """The columns whose term frequencies scoring reads (term-frequency adjusted levels)."""
    return sorted({column for comparison in comparisons for _, column in _tf_levels(comparison)})


FEW_TERMS = 64
"""Up to this many known values, a term-frequency look-up is an expression instead of a join."""


def _tf_levels(comparison: Comparison) -> list[tuple[int, str]]:
    return [
        (index, level.columns_or(comparison.column)[0])
        for index, level in enumerate(comparison.levels)
        if level.term_frequency_adjusted
    ]


def _weight(
    records: pl.DataFrame,
    scored: pl.DataFrame,
    trained: TrainedComparison,
    frequencies: Mapping[str, pl.DataFrame] | None = None,
    by_rid: Mapping[str, pl.Series] | None = None,
) -> tuple[pl.DataFrame, list[pl.Expr]]:
    """(`scored` with the term frequencies the comparison reads joined on, the expressions of its
    `<c>_level` and `<c>_weight`): the expressions of every comparison are evaluated together.
    A column of `by_rid` (`frequencies_by_rid`) is read from `_tf_<column>`, put beside the pairs
    by `score_pairs`."""
    comparison = trained.comparison
    name = comparison.name
    # a level's weight and label picked by its index (the pair's level), not looked up: scoring the
    # 6.26M pairs of a 1M-record night took 1.5-2.9 s with look-ups, 0.8-1.6 s so (bench/RESULTS.md)
    weight = _by_level(name, pl.Series([level.match_weight for level in trained.levels], dtype=pl.Float64))
    for index, column in _tf_levels(comparison):
        m = trained.levels[index].m_probability or 0.0
        scored, frequency = _frequency(records, scored, column, frequencies, by_rid)
        adjusted = pl.lit(math.log2(m)) - frequency.log(2)
        weight = pl.when(pl.col(name) == index).then(adjusted).otherwise(weight)
    labels = [level.label for level in trained.levels]
    return scored, [
        _by_level(name, pl.Series(labels, dtype=pl.Enum(labels))).alias(f"{name}_level"),
        weight.alias(f"{name}_weight"),
    ]


def _by_level(name: str, values: pl.Series) -> pl.Expr:
    """Each pair's value of `values` at its level of comparison `name` (a level index; null stays
    null, an index past the levels is an error)."""
    return pl.lit(values).gather(pl.col(name))


def _frequency(
    records: pl.DataFrame,
    scored: pl.DataFrame,
    column: str,
    frequencies: Mapping[str, pl.DataFrame] | None,
    by_rid: Mapping[str, pl.Series] | None,
) -> tuple[pl.DataFrame, pl.Expr]:
    """(`scored`, with a join of the frequencies when one is needed; the expression of the pair's
    term frequency of `column`, the left value's): see `_weight`."""
    if by_rid is not None and column in by_rid:
        return scored, pl.col(f"_tf_{column}")
    known = frequencies.get(column) if frequencies is not None else None
    table = known if known is not None else term_frequencies(records, column)
    if table.height <= FEW_TERMS and scored.schema[f"{column}_l"] == pl.String:
        # a few values (the API's one record): looked up in an expression, no join to pay for
        frequency = pl.col(f"{column}_l").replace_strict(
            table["value"], table["term_frequency"], default=None, return_dtype=pl.Float64
        )
        return scored, frequency
    tf = table.rename({"value": f"{column}_l", "term_frequency": f"_tf_{column}"})
    # the carried values are categorical codes (compare_pairs): join code to code
    tf = tf.with_columns(pl.col(f"{column}_l").cast(scored.schema[f"{column}_l"]))
    return scored.join(tf, on=f"{column}_l", how="left", maintain_order="left"), pl.col(f"_tf_{column}")


def compare_for_scoring(
    records: pl.DataFrame,
    pairs: pl.DataFrame,
    comparisons: list[Comparison],
    partitions: Partitions | None = None,
    many: bool | None = None,
    left_values: bool = True,
) -> pl.DataFrame:
    """The level of every comparison per pair, with what scoring and training need beside it:
    the pairs' `rule` and `rule_mask` and, with `left_values`, the left values of term-frequency
    adjusted columns (which `score_pairs` reads unless given the frequencies by rid); compared on
    `partitions` when given (mdm/executor.py); `many` as compare_pairs takes it."""
    keep = [c for c in ("rule", "rule_mask") if c in pairs.columns]
    tf_columns = sorted({column for comparison in comparisons for _, column in _tf_levels(comparison)})
    tf_columns = tf_columns if left_values else []
    return compare_pairs(
        records, pairs, comparisons, keep=keep, carry_left=tf_columns, partitions=partitions, many=many
    )


def classify(probability: pl.Expr, threshold_match_probability: float, threshold_review_probability: float) -> pl.Expr:
    """match at or above the match threshold, review at or above the review threshold, else non_match."""
    return (
        pl.when(probability >= threshold_match_probability)
        .then(pl.lit("match"))
        .when(probability >= threshold_review_probability)
        .then(pl.lit("review"))
        .otherwise(pl.lit("non_match"))
        .cast(pl.Enum(PAIR_CLASSES))
    )


def score_pairs(
    records: pl.DataFrame,
    pairs: pl.DataFrame,
    model: MatchModel,
    *,
    threshold_match_probability: float,
    threshold_review_probability: float,
    compared: pl.DataFrame | None = None,
    frequencies: Mapping[str, pl.DataFrame] | None = None,
    record_count: int | None = None,
    by_rid: Mapping[str, pl.Series] | None = None,
) -> pl.DataFrame:
    """Score candidate pairs (`left`, `right` rids of `records`; `rule` kept if present).

    Returns left, right[, rule], per comparison `<c>_level` (label) and `<c>_weight`, then
    `prior_weight`, `match_weight`, `match_probability` and `match_class` (match / review /
    non_match). A comparison whose columns are absent from `records` is skipped with a warning
    and contributes nothing. `compared` is `compare_for_scoring(records, pairs, ...)` when
    already computed (training compares the same pairs). `frequencies` (column -> its
    `term_frequencies`) and `record_count` stand for what `records` would give when `records` holds
    only the pairs' records of a larger set (the API scores a few candidates against the whole
    master's frequencies and prior). `by_rid` (`frequencies_by_rid`) gives a term frequency by the
    pair's left rid instead of by the left value: `compared` then needs no left values of its
    columns. Lowering the thresholds sends more pairs to merge or review
    (recall); raising them keeps only surer pairs (precision).
    """
    usable = usable_comparisons(records.columns, [t.comparison for t in model.comparisons])
    trained = [t for t in model.comparisons if t.comparison in usable]
    keep = [c for c in ("rule",) if c in pairs.columns]
    scored = compared if compared is not None else compare_for_scoring(records, pairs, usable)
    if by_rid:
        picked = sorted({column for t in trained for _, column in _tf_levels(t.comparison) if column in by_rid})
        scored = scored.with_columns(by_rid[column].gather(scored["left"]).alias(f"_tf_{column}") for column in picked)
    explaining = []
    for t in trained:
        scored, expressions = _weight(records, scored, t, frequencies, by_rid)
        explaining += expressions
    scored = scored.with_columns(explaining)
    weights = [f"{t.comparison.name}_weight" for t in trained]
    prior_weight = model.prior_weight_for(record_count if record_count is not None else records.height)
    scored = scored.with_columns(pl.lit(prior_weight, dtype=pl.Float64).alias("prior_weight"))
    # added one column after the other: polars' sum_horizontal gives a sum that depends on how the
    # frame is chunked (in the last bit), and a run must score the same however it compared
    total = functools.reduce(lambda acc, weight: acc + pl.col(weight), weights, pl.col("prior_weight"))
    scored = scored.with_columns(total.alias("match_weight"))
    probability = 1.0 / (1.0 + pl.lit(2.0, dtype=pl.Float64).pow(-pl.col("match_weight")))
    scored = scored.with_columns(probability.alias("match_probability"))
    scored = scored.with_columns(
        classify(pl.col("match_probability"), threshold_match_probability, threshold_review_probability).alias(
            "match_class"
        )
    )
    explained = [col for t in trained for col in (f"{t.comparison.name}_level", f"{t.comparison.name}_weight")]
    return scored.select(
        "left", "right", *keep, *explained, "prior_weight", "match_weight", "match_probability", "match_class"
    )

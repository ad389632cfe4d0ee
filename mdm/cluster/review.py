"""The steward review queue: which pairs a steward should decide, and in what order."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

UNDECIDED = (pl.col("outcome") == "review") | pl.col("outcome").str.starts_with("blocked")
"""The outcomes a pair must have to be considered for the queue (a cheap filter before `review_queue`)."""


def review_queue(pairs: pl.DataFrame, decided: Sequence[tuple[tuple[str, str], tuple[str, str], str]]) -> pl.DataFrame:
    """Pairs a steward should decide, the likeliest duplicates first: scores between the two
    thresholds, and pairs the model would merge, whose names agree, but a hard conflict stopped
    (a mistyped birth date looks like this; a household member whose given name differs does not,
    and is left out). Pairs a steward has already decided are left out."""
    done = {tuple(sorted((a, b))) for a, b, _ in decided}
    names_agree = pl.all_horizontal(
        [pl.col(f"{c}_weight") > 0 for c in ("given_name", "family_name") if f"{c}_weight" in pairs.columns]
        or [pl.lit(True)]
    )
    candidates = pairs.filter(UNDECIDED & ((pl.col("outcome") == "review") | names_agree)).with_columns(
        pl.when(pl.col("outcome") == "review")
        .then(pl.lit("score between the review and match thresholds"))
        .otherwise(pl.col("outcome"))
        .alias("reason")
    )
    if done:
        keep = [
            tuple(sorted(((ls, lr), (rs, rr)))) not in done
            for ls, lr, rs, rr in candidates.select(
                "left_source", "left_record_id", "right_source", "right_record_id"
            ).iter_rows()
        ]
        candidates = candidates.filter(pl.Series(keep, dtype=pl.Boolean))
    candidates = candidates.sort(
        ["match_probability", "left_source", "left_record_id"], descending=[True, False, False]
    )
    levels = [c for c in pairs.columns if c.endswith("_level")]
    evidence = pl.concat_str(
        [pl.format("{}: {}", pl.lit(c.removesuffix("_level")), pl.col(c)) for c in levels], separator=", "
    )
    return candidates.select(
        pl.int_range(1, pl.len() + 1).alias("review_rank"),
        "left_source",
        "left_record_id",
        "left_golden_id",
        "right_source",
        "right_record_id",
        "right_golden_id",
        "match_probability",
        "reason",
        evidence.alias("evidence"),
    )

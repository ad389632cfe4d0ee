"""Deterministic matching: records agreeing on every key of a rule are linked.

Pairs come from joins on the rule's keys, never from comparing all records with all.
"""

from __future__ import annotations

import polars as pl

from mdm.config.rules import MatchRules

PAIR_SCHEMA = {"left": pl.Int64, "right": pl.Int64, "rule": pl.String}


def find_pairs(records: pl.DataFrame, rules: MatchRules) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """Pairs (left < right, by the `rid` column) and a report line per rule.

    Key values shared by more than `max_block_size` records are skipped and reported.
    """
    pairs = []
    report: list[dict[str, object]] = []
    for rule in rules.rules:
        keyed = records.select("rid", *rule.equal).drop_nulls(rule.equal)
        sizes = keyed.group_by(rule.equal).agg(pl.len().alias("n"))
        giant = sizes.filter(pl.col("n") > rules.max_block_size)
        keyed = keyed.join(giant.select(rule.equal), on=rule.equal, how="anti")
        joined = (
            keyed.join(keyed, on=rule.equal, suffix="_r")
            .filter(pl.col("rid") < pl.col("rid_r"))
            .select(pl.col("rid").alias("left"), pl.col("rid_r").alias("right"), pl.lit(rule.name).alias("rule"))
        )
        pairs.append(joined)
        report.append(
            {
                "rule": rule.name,
                "pairs": joined.height,
                "skipped_blocks": giant.height,
                "skipped_records": int(giant["n"].sum() or 0),
                "largest_skipped": giant.sort("n", descending=True).head(3).to_dicts(),
            }
        )
    found = pl.concat(pairs) if pairs else pl.DataFrame(schema=PAIR_SCHEMA)
    found = found.group_by("left", "right").agg(pl.col("rule").first()).sort("left", "right")
    return found.cast(PAIR_SCHEMA), report  # type: ignore[arg-type]

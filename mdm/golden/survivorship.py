"""Survivorship: one golden value per attribute, chosen by the ordered rules of
rules/survivorship.yaml (mdm/config/survivorship.py says what each rule means).

For each attribute the cluster's records that carry a value are ranked rule by rule; the best
record lends the value (and, for a group such as the address, every field of the group, so an
address is never assembled from two records). golden_attribute_lineage names that record and the
rule that decided: the first rule on which the winner beats the best record carrying a
*different* value. Where every record agrees, or only one carries a value, it says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mdm.config.survivorship import Attribute, PreferRule, SurvivorshipRules, rule_label
from mdm.types import ALL_VALUES_RULE

ONLY_VALUE = "only value"
ALL_AGREE = "all records agree"
TIE = "tie: lower source name, then record id"
LINEAGE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "golden_id": pl.String,
    "attribute": pl.String,
    "value": pl.String,
    "source": pl.String,
    "source_record_id": pl.String,
    "rule": pl.String,
    "source_updated_at": pl.Datetime("us"),
    "candidates": pl.UInt32,
    "agreeing": pl.UInt32,
    "runner_up": pl.String,
}
_ORDER = ["source", "source_record_id"]


def _key(records: pl.DataFrame, field: str) -> pl.Expr:
    """The comparable form of a field: its `_key` column where the standardizer made one."""
    value = pl.col(field).cast(pl.String)
    return pl.coalesce(pl.col(f"{field}_key"), value) if f"{field}_key" in records.columns else value


def _rank_expr(records: pl.DataFrame, rule: object, fields: list[str]) -> pl.Expr:
    """An integer per record, higher is better, for one rule."""
    if isinstance(rule, PreferRule):
        values = rule.prefer.values
        return (
            pl.col(rule.prefer.column)
            .replace_strict({v: len(values) - i for i, v in enumerate(values)}, default=0, return_dtype=pl.Int64)
            .fill_null(0)
        )
    if rule == "_first_field":
        return pl.col(fields[0]).is_not_null().cast(pl.Int64)
    if rule == "valid":
        clean = [pl.col(f"{f}_flags").list.len().fill_null(0) == 0 for f in fields if f"{f}_flags" in records.columns]
        if "phone" in fields and "phone_is_valid" in records.columns:
            clean.append(pl.col("phone_is_valid").fill_null(False))
        return pl.all_horizontal(clean).cast(pl.Int64) if clean else pl.lit(1, dtype=pl.Int64)
    if rule == "most_trusted":
        return pl.col("trust").cast(pl.Int64).fill_null(-(2**31))
    if rule == "most_recent":
        return pl.col("source_updated_at").dt.date().cast(pl.Int64).fill_null(-(2**31))
    if rule == "most_frequent":
        return pl.len().over("golden_id", "_vid").cast(pl.Int64)
    if rule == "most_complete":
        present = pl.sum_horizontal(pl.col(f).is_not_null().cast(pl.Int64) for f in fields)
        length = pl.sum_horizontal(pl.col(f).cast(pl.String).str.len_chars().fill_null(0) for f in fields)
        return present * 100_000 + length.clip(upper_bound=99_999).cast(pl.Int64)
    if rule == "earliest":
        if records.schema[fields[0]] != pl.Date:
            raise ValueError(f"survivorship rule `earliest` needs a date field, not {fields[0]!r}")
        return (-pl.col(fields[0]).cast(pl.Int64)).fill_null(-(2**31))
    raise ValueError(f"unknown survivorship rule {rule!r}")


def choose(
    records: pl.DataFrame, name: str, attribute: Attribute, fields: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(golden columns, lineage rows, all-values list or None) of one attribute.

    records: golden_id, source, source_record_id, trust, source_updated_at and the columns the
    attribute's fields, rules and carry name."""
    # a group's first field comes before every rule: a street address beats a lone postcode
    rules: list[object] = [*(["_first_field"] if len(fields) > 1 else []), *attribute.rules]
    labels = [f"has {fields[0]}" if r == "_first_field" else rule_label(r) for r in rules]  # type: ignore[arg-type]
    ranks = [f"_r{i}" for i in range(len(rules))]
    candidates = records.filter(pl.any_horizontal(pl.col(f).is_not_null() for f in fields)).with_columns(
        pl.concat_str([_key(records, f).fill_null("") for f in fields], separator="\x1f").alias("_vid")
    )
    candidates = candidates.with_columns(
        _rank_expr(candidates, rule, fields).alias(r) for rule, r in zip(rules, ranks, strict=True)
    ).sort(
        ["golden_id", *ranks, *_ORDER],
        descending=[False, *([True] * len(ranks)), False, False],
        nulls_last=True,
    )
    candidates = candidates.with_columns(
        pl.col("_vid").first().over("golden_id").alias("_winner_vid"),
        pl.len().over("golden_id").cast(pl.UInt32).alias("candidates"),
    )
    winners = candidates.group_by("golden_id", maintain_order=True).first()
    agreeing = candidates.filter(pl.col("_vid") == pl.col("_winner_vid")).group_by("golden_id").len("agreeing")
    runners = (
        candidates.filter(pl.col("_vid") != pl.col("_winner_vid"))
        .group_by("golden_id", maintain_order=True)
        .first()
        .select(
            "golden_id",
            *[pl.col(r).alias(f"{r}_runner") for r in ranks],
            *[pl.col(f).alias(f"{f}_runner") for f in fields],
        )
    )
    decided = winners.join(agreeing, on="golden_id", how="left").join(runners, on="golden_id", how="left")
    alone = pl.when(pl.col(f"{ranks[0]}_runner").is_null()).then(
        pl.when(pl.col("candidates") == 1).then(pl.lit(ONLY_VALUE)).otherwise(pl.lit(ALL_AGREE))
    )
    decisive = [
        pl.when(pl.col(r) != pl.col(f"{r}_runner")).then(pl.lit(label)) for label, r in zip(labels, ranks, strict=True)
    ]
    decided = decided.with_columns(
        pl.coalesce(alone, *decisive, pl.lit(TIE)).alias("rule"),
        pl.when(pl.col(f"{ranks[0]}_runner").is_not_null())
        .then(pl.concat_str([pl.col(f"{f}_runner").cast(pl.String).fill_null("-") for f in fields], separator=", "))
        .alias("runner_up"),
    )
    golden = decided.select("golden_id", *fields, *attribute.carry)
    lineage = pl.concat(
        [
            decided.filter(pl.col(f).is_not_null()).select(
                "golden_id",
                pl.lit(f).alias("attribute"),
                pl.col(f).cast(pl.String).alias("value"),
                "source",
                "source_record_id",
                "rule",
                "source_updated_at",
                "candidates",
                pl.col("agreeing").cast(pl.UInt32),
                "runner_up",
            )
            for f in fields
        ]
    )
    every: pl.DataFrame | None = None
    if attribute.all_values:
        valid = (
            candidates.filter(pl.col(ranks[attribute.rules.index("valid")]) == 1)
            if "valid" in attribute.rules
            else candidates
        )
        distinct = valid.with_columns(pl.len().over("golden_id", "_vid").cast(pl.UInt32).alias("agreeing")).unique(
            subset=["golden_id", "_vid"], keep="first", maintain_order=True
        )
        every = distinct.group_by("golden_id", maintain_order=True).agg(pl.col(fields[0]).alias(attribute.all_values))
        lineage = pl.concat(
            [
                lineage,
                distinct.select(
                    "golden_id",
                    pl.lit(attribute.all_values).alias("attribute"),
                    pl.col(fields[0]).cast(pl.String).alias("value"),
                    "source",
                    "source_record_id",
                    pl.lit(ALL_VALUES_RULE).alias("rule"),
                    "source_updated_at",
                    "candidates",
                    "agreeing",  # the records carrying this value, counted before duplicates were dropped
                    pl.lit(None, dtype=pl.String).alias("runner_up"),
                ),
            ]
        )
    return golden, lineage.cast(LINEAGE_SCHEMA), every  # type: ignore[arg-type]


_BASE = ["golden_id", "source", "source_record_id", "trust", "source_updated_at"]


def _inputs(rules: SurvivorshipRules, name: str) -> set[str]:
    """The record columns one attribute's choice reads (besides _BASE), where the records have them."""
    attribute, group = rules.attributes[name], rules.fields_of(name)
    needed = {*group, *attribute.carry}
    needed |= {f"{f}{suffix}" for f in group for suffix in ("_key", "_flags")}
    needed |= {r.prefer.column for r in attribute.rules if isinstance(r, PreferRule)}
    return needed | ({"phone_is_valid"} if "phone" in group else set())


def golden_inputs(rules: SurvivorshipRules, available: Sequence[str]) -> list[str]:
    """The columns of `available` build_golden reads: what a partition of records needs to hold."""
    needed = set(_BASE).union(*(_inputs(rules, name) for name in rules.attributes))
    return [c for c in available if c in needed]


def build_golden(
    records: pl.DataFrame, rules: SurvivorshipRules, fields: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(golden_customers, golden_attribute_lineage) from standardized records with a golden_id.

    `fields`: the dictionary's published fields, in the order the golden record shows them."""
    golden = records.group_by("golden_id").agg(
        pl.len().alias("record_count"),
        pl.col("source").unique().sort().alias("sources"),
        pl.col("source_updated_at").max().alias("last_source_update"),
    )
    lineages = []
    for name, attribute in rules.attributes.items():
        group = rules.fields_of(name)
        columns = _BASE + sorted(c for c in _inputs(rules, name) if c in records.columns and c not in _BASE)
        chosen, lineage, every = choose(records.select(columns), name, attribute, group)
        golden = golden.join(chosen, on="golden_id", how="left")
        if every is not None:
            golden = golden.join(every, on="golden_id", how="left")
        lineages.append(lineage)
    extras = [
        c
        for c in golden.columns
        if c not in fields and c not in ("golden_id", "record_count", "sources", "last_source_update")
    ]
    golden = golden.select("golden_id", *fields, *extras, "record_count", "sources", "last_source_update").sort(
        "golden_id"
    )
    lineage = pl.concat(lineages)  # in golden id order per attribute; sorting 5M rows at 1M records costs seconds
    return golden, lineage

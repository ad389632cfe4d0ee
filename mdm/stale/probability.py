"""The probability that a contact value is out of date, from the evidence of mdm/stale/evidence.py,
with the reason saying which evidence moved it and how far.

Start: the decay prior 1 - (1 - monthly_decay) ** months since the value was last confirmed. A
later confirmation by the household, then by a record showing the same postcode, mixes in the
prior from its date, weighted by the attribute's `household_weight` and `partial_weight`. Each
piece of stale evidence then removes a share of what is left of the chance that the value is
current (a noisy-or): superseded by a newer different value (`superseded_reliability`), the
household moved away from it (`household_weight` x that), another postcode (`partial_weight` x
that), a failed contact attempt (the outcome's `failed_reliability`). Measured on generated data:
bench/RESULTS.md.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.stale.evidence import months_since
from mdm.types import ContactAttribute


def _prior(at: pl.Expr, as_of: dt.date, decay: float) -> pl.Expr:
    return 1 - pl.lit(1 - decay).pow(months_since(at, as_of).clip(lower_bound=0))


def _step(text: pl.Expr, probability: pl.Expr) -> pl.Expr:
    return text + ": " + probability.round(2).cast(pl.String)


def with_probability(
    evidence: pl.DataFrame, attribute: ContactAttribute, as_of: dt.date, rules: StalenessRules
) -> pl.DataFrame:
    """The evidence with `months` (since last confirmed), `freshness` (1 - the prior), `stale_probability`,
    `is_stale` (the probability reaches the threshold) and `stale_reason`. Undated values with no
    stale evidence get no probability and are not stale."""
    rule = rules.rule(attribute)
    decay = rules.decay(attribute)
    h = rule.household_weight
    prior = _prior(pl.col("confirmed_at"), as_of, decay)
    w = rule.partial_weight
    household_prior = _prior(pl.col("household_confirmed_at"), as_of, decay)
    household = (
        pl.when(pl.col("household_confirmed_at").is_not_null())
        .then(h * household_prior + (1 - h) * prior)
        .otherwise(prior)
    )
    partial_prior = _prior(pl.col("partial_confirmed_at"), as_of, decay)
    base = (
        pl.when(pl.col("partial_confirmed_at").is_not_null())
        .then(w * partial_prior + (1 - w) * pl.col("_household"))
        .otherwise(pl.col("_household"))
    )
    # each stale evidence: the share of the remaining chance of being current it removes
    strengths = [
        ("superseded", pl.col("superseded_by").is_not_null(), pl.lit(rule.superseded_reliability)),
        (
            "household_superseded",
            pl.col("household_superseded_by").is_not_null(),
            pl.lit(h * rule.superseded_reliability),
        ),
        (
            "partial_superseded",
            pl.col("partial_superseded_by").is_not_null(),
            pl.lit(w * rule.superseded_reliability),
        ),
        ("failed", pl.col("failed_by").is_not_null(), pl.col("failed_reliability")),
    ]
    months = months_since(pl.col("confirmed_at"), as_of)
    frame = evidence.with_columns(months.alias("months"), (1 - prior).alias("freshness"), household.alias("_household"))
    frame = frame.with_columns(base.alias("_p0"))
    current = 1 - pl.col("_p0").fill_null(0.0)
    steps = []
    for name, present, strength in strengths:
        current = pl.when(present).then(current * (1 - strength)).otherwise(current)
        frame = frame.with_columns(current.alias(f"_p_{name}"))
        current = pl.col(f"_p_{name}")
        steps.append((name, present, 1 - pl.col(f"_p_{name}")))
    any_stale_evidence = pl.any_horizontal(present for _, present, _ in strengths)
    probability = pl.when(pl.col("_p0").is_not_null() | any_stale_evidence).then(1 - current)
    texts = {
        "superseded": pl.lit("superseded by ") + pl.col("superseded_by"),
        "household_superseded": pl.lit("household moved: superseded by ") + pl.col("household_superseded_by"),
        "partial_superseded": pl.lit("another postcode on ") + pl.col("partial_superseded_by"),
        "failed": pl.lit("failed: ") + pl.col("failed_by"),
    }
    start = pl.when(pl.col("confirmed_at").is_not_null()).then(
        _step(
            pl.format(
                "{} months since {} ({})",
                months.floor().cast(pl.Int64),
                pl.col("confirmed_by"),
                pl.col("confirmed_at").dt.date().cast(pl.String),
            ),
            prior,
        )
    )
    household_step = pl.when(pl.col("household_confirmed_at").is_not_null()).then(
        _step(
            pl.format(
                "household confirmed by {} ({})",
                pl.col("household_confirmed_by"),
                pl.col("household_confirmed_at").dt.date().cast(pl.String),
            ),
            pl.col("_household"),
        )
    )
    partly = pl.when(pl.col("partial_confirmed_at").is_not_null()).then(
        _step(
            pl.format(
                "same postcode on {} ({})",
                pl.col("partial_confirmed_by"),
                pl.col("partial_confirmed_at").dt.date().cast(pl.String),
            ),
            pl.col("_p0"),
        )
    )
    parts = [start, household_step, partly, *(pl.when(p).then(_step(texts[n], value)) for n, p, value in steps)]
    threshold = rules.threshold_stale_probability
    return (
        frame.with_columns(
            probability.alias("stale_probability"),
            pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("stale_reason"),
        )
        .with_columns(
            (pl.col("stale_probability") >= threshold).fill_null(False).alias("is_stale"),
            pl.when(pl.col("stale_reason") != "").then(pl.col("stale_reason")).alias("stale_reason"),
        )
        .drop("_p0", *(f"_p_{n}" for n, _, _ in strengths))
    )

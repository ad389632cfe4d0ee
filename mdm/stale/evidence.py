"""The evidence the master holds about each contact value of each golden customer: when it was last
confirmed, whether a newer different value superseded it, what the customer's household and their
postcode-only records say, and contact outcomes (returned mail, bounces) from event sources.

Pure functions over polars frames; mdm/stale/probability.py turns the evidence into a probability.
Definitions and the measured choices: docs/architecture.md, section "mdm/stale/".
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.match.similarity import pairwise
from mdm.types import ContactAttribute

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
RECORD_KEY = ["source", "source_record_id"]

# Two known phone types that differ: two numbers a person can hold at once.
_DISTINCT_PHONE_TYPES = ("mobile", "fixed_line")
# A value more customers than this hold is not a household's (a shared office, a placeholder):
# their evidence is not used, which also bounds the join.
HOUSEHOLD_MAX_CUSTOMERS = 6

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_record_id": pl.String(),
    "attribute": pl.String(),
    "outcome": pl.String(),  # "failed" or "confirmed"
    "event": pl.String(),  # "<event source>:<event id> <outcome> (<day>)"
    "event_time": pl.Datetime("us"),
    "reliability": pl.Float64(),
}


def dated(records: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """`confirmed_at`: source_updated_at, or the start of `as_of` for a record dated after it."""
    as_of_start = dt.datetime.combine(as_of, dt.time())
    ts = pl.col("source_updated_at")
    return records.with_columns(
        pl.when(ts.dt.date() > as_of).then(pl.lit(as_of_start)).otherwise(ts).alias("confirmed_at")
    )


def months_since(since: pl.Expr, as_of: dt.date) -> pl.Expr:
    """Months from the day of `since` to `as_of` (whole days / 30.4375); null when `since` is."""
    return (pl.lit(as_of) - since.dt.date()).dt.total_days() / DAYS_PER_MONTH


def _ref(record: pl.Expr, at: pl.Expr) -> pl.Expr:
    """'crm:C1 (2026-10-01)'."""
    return record + " (" + at.dt.date().cast(pl.String) + ")"


def _no_evidence(prefix: str) -> list[pl.Expr]:
    """The `<prefix>_confirmed_at / _by` and `<prefix>_superseded_at / _by` columns of a kind of
    evidence the rules do not weigh: empty."""
    return [
        pl.lit(None, pl.Datetime("us")).alias(f"{prefix}_confirmed_at"),
        pl.lit(None, pl.String).alias(f"{prefix}_confirmed_by"),
        pl.lit(None, pl.Datetime("us")).alias(f"{prefix}_superseded_at"),
        pl.lit(None, pl.String).alias(f"{prefix}_superseded_by"),
    ]


def _same_values(values: pl.DataFrame, typo_edits: int) -> pl.DataFrame:
    """(golden_id, value, other): pairs of one customer's distinct values that count as one
    value written two ways: the same digits and at most `typo_edits` edits apart."""
    if typo_edits == 0:
        return pl.DataFrame(schema={"golden_id": pl.String, "value": pl.String, "other": pl.String})
    digits = pl.col("value").str.replace_all(r"\D", "")
    pairs = (
        values.select("golden_id", "value")
        .join(values.select("golden_id", pl.col("value").alias("other")), on="golden_id")
        .filter(pl.col("value") != pl.col("other"), digits == pl.col("other").str.replace_all(r"\D", ""))
    )
    edits = pairwise("levenshtein", pairs["value"], pairs["other"])
    return pairs.filter(edits <= typo_edits)


def _latest(frame: pl.DataFrame, at: str, ref: str, keys: list[str], prefix: str) -> pl.DataFrame:
    """Per key: the latest `at` and the `ref` of the row holding it (ties: the smallest ref)."""
    return (
        frame.sort(at, ref, descending=[True, False], nulls_last=True)
        .group_by(keys, maintain_order=True)
        .agg(pl.col(at).first().alias(f"{prefix}_at"), pl.col(ref).first().alias(f"{prefix}_by"))
    )


def value_evidence(
    records: pl.DataFrame,
    attribute: ContactAttribute,
    as_of: dt.date,
    rules: StalenessRules,
    outcomes: pl.DataFrame | None = None,
    household: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per golden customer and value of the attribute:

    - confirmed_at / confirmed_by: the latest record carrying it (or a typo of it), or the latest
      `confirmed` outcome of an attempt that used it; null when no record is dated;
    - superseded_at / superseded_by: the newest record of the customer carrying another value
      first seen after it was last confirmed (once `values_at_once` other values were);
    - household_confirmed_at / _by and household_superseded_at / _by: the same, seen on other
      customers holding the value (only when the attribute's `household_weight` is above 0);
    - partial_confirmed_at / _by and partial_superseded_at / _by: the customer's newer records
      lacking the value but showing the same or another `partial_column` value (a postcode);
    - failed_at / failed_by / failed_reliability: the latest failed contact attempt after it was
      confirmed (returned mail, a bounce).

    `household`: the household evidence (household_evidence) of every customer, when `records` are
    only some customers' (a partition): other customers holding a value may be in other partitions.
    """
    rule = rules.rule(attribute)
    values, present, tried = own_values(records, attribute, as_of, rules, outcomes)
    partial = rule.partial_column if rule.partial_weight > 0 and rule.partial_column in records.columns else None
    if rule.household_weight > 0:
        found = _household(values) if household is None else household
        values = values.join(found, on=["golden_id", "value"], how="left")
    else:
        values = values.with_columns(_no_evidence("household"))
    if partial:
        values = values.join(
            _partial(records, values, rule.column, partial, as_of), on=["golden_id", "value"], how="left"
        )
    else:
        values = values.with_columns(_no_evidence("partial"))
    failed = (
        tried.filter(pl.col("outcome") == "failed")
        .join(values.select("golden_id", "value", "confirmed_at"), on=["golden_id", "value"])
        .filter(pl.col("confirmed_at").is_null() | (pl.col("event_time") > pl.col("confirmed_at")))
        .sort("event_time", "event", descending=[True, False])
        .group_by("golden_id", "value", maintain_order=True)
        .agg(
            pl.col("event_time").first().alias("failed_at"),
            pl.col("event").first().alias("failed_by"),
            pl.col("reliability").first().alias("failed_reliability"),
        )
    )
    return values.join(failed, on=["golden_id", "value"], how="left").drop("kind", "partial")


HOUSEHOLD_COLUMNS = ["golden_id", "value", "confirmed_at", "confirmed_by", "superseded_at", "superseded_by"]
"""What household evidence reads of a customer's values (own_values)."""


def own_values(
    records: pl.DataFrame,
    attribute: ContactAttribute,
    as_of: dt.date,
    rules: StalenessRules,
    outcomes: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The evidence of each customer's own records and attempts (values: golden_id, value, kind,
    partial, confirmed_at / _by, superseded_at / _by), the records carrying a value (present) and
    the attempts on them (tried): a function of the customer's records alone."""
    rule = rules.rule(attribute)
    typed = attribute == "phone" and rules.phone_type_column is not None and rules.phone_type_column in records
    kind = pl.col(rules.phone_type_column) if typed and rules.phone_type_column else pl.lit(None, pl.String)
    partial = rule.partial_column if rule.partial_weight > 0 and rule.partial_column in records.columns else None
    coarse = pl.col(partial) if partial else pl.lit(None, pl.String)
    present = dated(records, as_of).filter(pl.col(rule.column).is_not_null())
    present = present.select(
        coarse.alias("partial"),
        "golden_id",
        pl.col(rule.column).alias("value"),
        "confirmed_at",
        (pl.col("source") + ":" + pl.col("source_record_id")).alias("record"),
        kind.alias("kind"),
        *RECORD_KEY,
    )
    tried = _attempts(present, attribute, outcomes)
    confirmations = pl.concat(
        [
            present.select("golden_id", "value", "confirmed_at", "record"),
            tried.filter(pl.col("outcome") == "confirmed").select(
                "golden_id", "value", pl.col("event_time").alias("confirmed_at"), pl.col("event").alias("record")
            ),
        ]
    )
    # the kind and postcode of the value's latest record that has one, not of whichever row comes
    # first (an incremental run may order rows differently from a --full one); rows keep their
    # order within a group, so one sort serves every group
    values = (
        present.sort("confirmed_at", "record", descending=[True, False], nulls_last=True)
        .group_by("golden_id", "value")
        .agg(pl.col("kind").drop_nulls().first(), pl.col("partial").drop_nulls().first())
    )
    same = _same_values(values, rule.typo_edits)
    # a typo of a value confirms it: each value is confirmed by its own rows and its typos' rows
    confirming = pl.concat(
        [
            confirmations.with_columns(pl.col("value").alias("of")),
            confirmations.join(same.rename({"value": "of", "other": "value"}), on=["golden_id", "value"]),
        ],
        how="diagonal",
    ).select("golden_id", pl.col("of").alias("value"), "confirmed_at", pl.col("record"))
    values = values.join(
        _latest(confirming, "confirmed_at", "record", ["golden_id", "value"], "confirmed"),
        on=["golden_id", "value"],
        how="left",
    )
    values = values.join(
        _superseding(values, present, same, rule.values_at_once), on=["golden_id", "value"], how="left"
    )
    return values, present, tried


def household_evidence(values: pl.LazyFrame) -> pl.DataFrame:
    """_household of every customer's own values (HOUSEHOLD_COLUMNS of own_values, say from the
    files of many partitions), reading whole only the values 2 to HOUSEHOLD_MAX_CUSTOMERS
    customers hold."""
    shared = (
        values.group_by("value")
        .len()
        .filter(pl.col("len") > 1, pl.col("len") <= HOUSEHOLD_MAX_CUSTOMERS)
        .select("value")
    )
    return _household(values.join(shared, on="value", how="semi").collect())


def _attempts(present: pl.DataFrame, attribute: ContactAttribute, outcomes: pl.DataFrame | None) -> pl.DataFrame:
    """Contact outcomes of this attribute, each on the value of the record the event names."""
    frame = pl.DataFrame(schema=OUTCOME_SCHEMA) if outcomes is None else outcomes
    return (
        frame.filter(pl.col("attribute") == attribute)
        .join(present.select("golden_id", "value", *RECORD_KEY), on=RECORD_KEY)
        .select("golden_id", "value", "outcome", "event", "event_time", "reliability")
    )


def _superseding(values: pl.DataFrame, present: pl.DataFrame, same: pl.DataFrame, values_at_once: int) -> pl.DataFrame:
    """(golden_id, value, superseded_at, superseded_by): the newest record of the customer carrying
    another value (not a typo of it, not a phone of another known type) first seen after the value's
    last confirmation, once `values_at_once` such other values were seen."""
    newer = present.filter(pl.col("confirmed_at").is_not_null()).select(
        "golden_id",
        pl.col("value").alias("other"),
        pl.col("kind").alias("newer_kind"),
        pl.col("confirmed_at").alias("newer_at"),
        pl.col("record").alias("newer_record"),
        pl.col("confirmed_at").min().over("golden_id", "value").alias("other_first_seen"),
    )
    both_kinds_known = (
        pl.col("kind").is_in(_DISTINCT_PHONE_TYPES) & pl.col("newer_kind").is_in(_DISTINCT_PHONE_TYPES)
    ).fill_null(False)
    return (
        values.join(newer, on="golden_id")
        .filter(
            pl.col("other") != pl.col("value"),
            pl.col("confirmed_at").is_null() | (pl.col("newer_at") > pl.col("confirmed_at")),
            ~(both_kinds_known & (pl.col("kind") != pl.col("newer_kind"))),
            # the other value is new since: two values seen in turn are held at once (a mobile and
            # a landline), or one source lags behind; neither supersedes the other
            pl.col("confirmed_at").is_null() | (pl.col("other_first_seen") > pl.col("confirmed_at")),
        )
        .join(same, on=["golden_id", "value", "other"], how="anti")
        .sort("newer_at", "newer_record", descending=[True, False])
        .group_by("golden_id", "value", maintain_order=True)
        .agg(
            pl.col("other").n_unique().alias("newer_values"),
            pl.col("newer_at").first().alias("superseded_at"),
            _ref(pl.col("newer_record").first(), pl.col("newer_at").first()).alias("superseded_by"),
        )
        .filter(pl.col("newer_values") >= values_at_once)
        .drop("newer_values")
    )


def _household(values: pl.DataFrame) -> pl.DataFrame:
    """What other customers holding the same value say about it, after this customer's own last
    confirmation: the latest of their confirmations, and the latest of their moves away from it
    (their own value superseded)."""
    holders = values.filter(pl.len().over("value") <= HOUSEHOLD_MAX_CUSTOMERS, pl.len().over("value") > 1)
    others = holders.select(
        pl.col("golden_id").alias("other_id"),
        "value",
        pl.col("confirmed_at").alias("other_confirmed_at"),
        pl.col("confirmed_by").alias("other_confirmed_by"),
        "superseded_at",
        pl.col("superseded_by").alias("other_superseded_by"),
    )
    pairs = (
        holders.select("golden_id", "value", "confirmed_at")
        .join(others, on="value")
        .filter(pl.col("golden_id") != pl.col("other_id"), pl.col("confirmed_at").is_not_null())
    )
    later = pl.col("confirmed_at")
    confirmed = _latest(
        pairs.filter(pl.col("other_confirmed_at") > later),
        "other_confirmed_at",
        "other_confirmed_by",
        ["golden_id", "value"],
        "household_confirmed",
    )
    moved = _latest(
        pairs.filter(pl.col("superseded_at") > later),
        "superseded_at",
        "other_superseded_by",
        ["golden_id", "value"],
        "household_superseded",
    )
    return confirmed.join(moved, on=["golden_id", "value"], how="full", coalesce=True)


def _partial(records: pl.DataFrame, values: pl.DataFrame, column: str, partial: str, as_of: dt.date) -> pl.DataFrame:
    """What the customer's newer records that lack the value but carry its coarser form (a web
    sign-up's postcode) say: the latest showing the value's own postcode (confirms it, partly) and
    the latest showing another (supersedes it, partly)."""
    coarse = (
        dated(records, as_of)
        .filter(pl.col(column).is_null(), pl.col(partial).is_not_null(), pl.col("confirmed_at").is_not_null())
        .select(
            "golden_id",
            pl.col(partial).alias("seen"),
            pl.col("confirmed_at").alias("seen_at"),
            (pl.col("source") + ":" + pl.col("source_record_id")).alias("seen_by"),
        )
    )
    pairs = (
        values.filter(pl.col("partial").is_not_null())
        .select("golden_id", "value", "partial", "confirmed_at")
        .join(coarse, on="golden_id")
        .filter(pl.col("confirmed_at").is_null() | (pl.col("seen_at") > pl.col("confirmed_at")))
    )
    keys = ["golden_id", "value"]
    same = _latest(pairs.filter(pl.col("seen") == pl.col("partial")), "seen_at", "seen_by", keys, "partial_confirmed")
    other = pairs.filter(pl.col("seen") != pl.col("partial")).with_columns(
        _ref(pl.col("seen_by"), pl.col("seen_at")).alias("seen_by")
    )
    moved = _latest(other, "seen_at", "seen_by", keys, "partial_superseded")
    return same.join(moved, on=keys, how="full", coalesce=True)

"""Staleness of contact data: how fresh each address, phone and e-mail is, and which are stale.

Pure functions over polars frames; the stale stage (mdm/stale/stage.py, after `golden`) calls
`flag_stale`. Definitions, edge cases and the measured choices: docs/architecture.md, section
"mdm/stale/flags.py".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, get_args

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mdm.config.errors import parse_model
from mdm.config.survivorship import STALENESS_HINTS, StalenessRules
from mdm.match.similarity import pairwise
from mdm.types import ContactAttribute

ATTRIBUTES: tuple[ContactAttribute, ...] = get_args(ContactAttribute)
DAYS_PER_MONTH = 30.4375  # 365.25 / 12
RECORD_KEY = ["source", "source_record_id"]
AGE_BUCKETS_MONTHS: list[tuple[float, float | None]] = [(0, 3), (3, 6), (6, 12), (12, 24), (24, 48), (48, None)]


class _RulesFile(BaseModel):
    """rules/survivorship.yaml as far as staleness reads it: the other sections belong to survivorship."""

    model_config = ConfigDict(extra="allow")
    staleness: StalenessRules = Field(default_factory=StalenessRules)

    @field_validator("staleness", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value


def load_staleness_rules(path: Path | str) -> StalenessRules:
    """The `staleness:` section of rules/survivorship.yaml; defaults when the file or the section
    is missing. Raises ConfigError naming the file, the line and a fix."""
    path = Path(path)
    if not path.exists():
        return StalenessRules()
    return parse_model(_RulesFile, path, STALENESS_HINTS).staleness


# ---- flags ------------------------------------------------------------------------------------


# Two known phone types that differ: two numbers a person can hold at once (see the module doc).
_DISTINCT_PHONE_TYPES = ("mobile", "fixed_line")


def _dated(records: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """`confirmed_at`: source_updated_at, or the start of `as_of` for a record dated after it."""
    as_of_start = dt.datetime.combine(as_of, dt.time())
    ts = pl.col("source_updated_at")
    return records.with_columns(
        pl.when(ts.dt.date() > as_of).then(pl.lit(as_of_start)).otherwise(ts).alias("confirmed_at")
    )


def _months(since: pl.Expr, as_of: dt.date) -> pl.Expr:
    """Months from the day of `since` to `as_of` (whole days / 30.4375); null when `since` is."""
    return (pl.lit(as_of) - since.dt.date()).dt.total_days() / DAYS_PER_MONTH


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


def value_evidence(
    records: pl.DataFrame, attribute: ContactAttribute, as_of: dt.date, rules: StalenessRules
) -> pl.DataFrame:
    """Per golden customer and value of the attribute: last_confirmed (the latest update of a
    record carrying it or a typo of it), months, freshness, superseded_by ("source:record_id
    (date)" of the newest record carrying another value confirmed after it, when
    `values_at_once` other values were), is_stale and stale_reason."""
    rule = rules.rule(attribute)
    typed = attribute == "phone" and rules.phone_type_column is not None and rules.phone_type_column in records
    kind = pl.col(rules.phone_type_column) if typed and rules.phone_type_column else pl.lit(None, pl.String)
    present = _dated(records, as_of).filter(pl.col(rule.column).is_not_null())
    present = present.select(
        "golden_id", *RECORD_KEY, "confirmed_at", pl.col(rule.column).alias("value"), kind.alias("kind")
    )
    values = present.group_by("golden_id", "value").agg(
        pl.col("confirmed_at").max().alias("last_confirmed"), pl.col("kind").first()
    )
    same = _same_values(values, rule.typo_edits)
    confirmed_by_typo = (
        same.join(
            values.select("golden_id", pl.col("value").alias("other"), "last_confirmed"), on=["golden_id", "other"]
        )
        .group_by("golden_id", "value")
        .agg(pl.col("last_confirmed").max().alias("typo_confirmed"))
    )
    values = (
        values.join(confirmed_by_typo, on=["golden_id", "value"], how="left")
        .with_columns(pl.max_horizontal("last_confirmed", "typo_confirmed").alias("last_confirmed"))
        .drop("typo_confirmed")
    )
    newer = present.filter(pl.col("confirmed_at").is_not_null()).select(
        "golden_id",
        pl.col("value").alias("other"),
        pl.col("kind").alias("newer_kind"),
        pl.col("confirmed_at").alias("newer_at"),
        (pl.col("source") + ":" + pl.col("source_record_id")).alias("newer_record"),
    )
    both_kinds_known = (
        pl.col("kind").is_in(_DISTINCT_PHONE_TYPES) & pl.col("newer_kind").is_in(_DISTINCT_PHONE_TYPES)
    ).fill_null(False)
    superseding = (
        values.join(newer, on="golden_id")
        .filter(
            pl.col("other") != pl.col("value"),
            pl.col("last_confirmed").is_null() | (pl.col("newer_at") > pl.col("last_confirmed")),
            ~(both_kinds_known & (pl.col("kind") != pl.col("newer_kind"))),
        )
        .join(same, on=["golden_id", "value", "other"], how="anti")
        .sort("newer_at", "newer_record", descending=[True, False])
        .group_by("golden_id", "value", maintain_order=True)
        .agg(
            pl.col("other").n_unique().alias("newer_values"),
            (pl.col("newer_record").first() + " (" + pl.col("newer_at").first().dt.date().cast(pl.String) + ")").alias(
                "superseded_by"
            ),
        )
        .filter(pl.col("newer_values") >= rule.values_at_once)
        .drop("newer_values")
    )
    months = _months(pl.col("last_confirmed"), as_of)
    evidence = values.join(superseding, on=["golden_id", "value"], how="left").with_columns(
        months.alias("months"), pl.lit(1 - rules.monthly_decay).pow(months).alias("freshness")
    )
    aged = pl.col("freshness") < rules.stale_below_freshness
    return evidence.with_columns(
        (pl.col("superseded_by").is_not_null() | aged.fill_null(False)).alias("is_stale"),
        pl.when(pl.col("superseded_by").is_not_null())
        .then(pl.lit("superseded by ") + pl.col("superseded_by"))
        .when(aged)
        .then(pl.format("aged past threshold: {} months", pl.col("months").floor().cast(pl.Int64)))
        .alias("stale_reason"),
    ).drop("kind")


def flag_stale(
    records: pl.DataFrame, golden: pl.DataFrame, as_of: dt.date, rules: StalenessRules
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(golden_flags, record_flags).

    `records`: golden_id, source, source_record_id, source_updated_at and each attribute's
    comparable column (`phone_type` too, when present). `golden`: golden_id and the same
    comparable columns holding the golden customer's chosen values.

    golden_flags, per golden_id and attribute: `<attr>_last_confirmed`, `<attr>_freshness`,
    `<attr>_is_stale` (null when the golden has no value), `<attr>_stale_reason`.
    record_flags, per source and source_record_id: `<attr>_is_stale` (null when the record has no
    value), `is_stale` (any attribute) and `stale_reason` ("address: superseded by ...; phone: ...").
    """
    golden_flags = golden.select("golden_id")
    record_flags = records.select(*RECORD_KEY)
    for attribute in ATTRIBUTES:
        column = rules.column(attribute)
        evidence = value_evidence(records, attribute, as_of, rules)
        chosen = golden.select("golden_id", pl.col(column).alias("value")).join(
            evidence, on=["golden_id", "value"], how="left"
        )
        golden_flags = golden_flags.join(
            chosen.select(
                "golden_id",
                pl.col("last_confirmed").alias(f"{attribute}_last_confirmed"),
                pl.col("freshness").alias(f"{attribute}_freshness"),
                pl.col("is_stale").alias(f"{attribute}_is_stale"),  # null: no value, or no record carries it
                pl.col("stale_reason").alias(f"{attribute}_stale_reason"),
            ),
            on="golden_id",
            how="left",
            maintain_order="left",
        )
        per_record = records.select("golden_id", *RECORD_KEY, pl.col(column).alias("value")).join(
            evidence.select("golden_id", "value", "is_stale", "stale_reason"), on=["golden_id", "value"], how="left"
        )
        record_flags = record_flags.join(
            per_record.select(
                *RECORD_KEY,
                pl.col("is_stale").alias(f"{attribute}_is_stale"),
                (pl.lit(f"{attribute}: ") + pl.col("stale_reason")).alias(f"_{attribute}_reason"),
            ),
            on=RECORD_KEY,
            how="left",
            maintain_order="left",
        )
    reasons = [f"_{a}_reason" for a in ATTRIBUTES]
    record_flags = record_flags.with_columns(
        pl.any_horizontal(pl.col(f"{a}_is_stale").fill_null(False) for a in ATTRIBUTES).alias("is_stale"),
        pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("stale_reason"),
    ).with_columns(pl.when(pl.col("is_stale")).then(pl.col("stale_reason")).alias("stale_reason"))
    return golden_flags, record_flags.drop(reasons)


RECORD_FLAG_COLUMNS = [*(f"{a}_is_stale" for a in ATTRIBUTES), "is_stale", "stale_reason"]


# ---- wiring helpers: inputs, the golden's values, the run report, the re-verify view ----------

# The golden field whose lineage names the record a golden value came from, for an attribute
# whose comparable column the golden frame does not carry itself (address_key, email_key).
LINEAGE_FIELD: dict[ContactAttribute, str] = {"address": "address_line1", "phone": "phone", "email": "email"}


def stale_inputs(records: pl.DataFrame | pl.LazyFrame, rules: StalenessRules) -> pl.DataFrame:
    """The columns flag_stale reads; a comparable column the dictionary lacks is all null."""
    columns = records.collect_schema().names()
    wanted = [rules.column(a) for a in ATTRIBUTES]
    if rules.phone_type_column:
        wanted.append(rules.phone_type_column)
    keys = ["golden_id", *RECORD_KEY, "source_updated_at"]
    return (
        records.lazy()
        .select(
            *keys, *(pl.col(c) if c in columns else pl.lit(None, pl.String).alias(c) for c in dict.fromkeys(wanted))
        )
        .collect()
    )


def golden_values(
    golden: pl.DataFrame, lineage: pl.DataFrame, records: pl.DataFrame, rules: StalenessRules
) -> pl.DataFrame:
    """golden_id and each attribute's comparable column for the golden's chosen value: the
    golden's own column when it has one, else the column of the record its lineage names."""
    out = golden.select("golden_id")
    for attribute in ATTRIBUTES:
        column = rules.column(attribute)
        if column in golden.columns:
            out = out.with_columns(golden[column])
            continue
        winner = lineage.filter(pl.col("attribute") == LINEAGE_FIELD[attribute]).select("golden_id", *RECORD_KEY)
        value = winner.join(records.select(*RECORD_KEY, column), on=RECORD_KEY, how="left").drop(RECORD_KEY)
        out = out.join(value, on="golden_id", how="left", maintain_order="left")
    return out


def stale_by_months(records: pl.DataFrame, record_flags: pl.DataFrame, as_of: dt.date) -> list[dict[str, Any]]:
    """The run report's curve: per bucket of months since a record's update, the share of
    records flagged stale (any attribute, and per attribute among records with that value)
    beside the share a steady 2% monthly decay predicts, 1 - 0.98 ** months at the bucket's
    midpoint (the open last bucket: the mean age of its records)."""
    aged = (
        _dated(records.select(*RECORD_KEY, "source_updated_at"), as_of)
        .join(record_flags, on=RECORD_KEY)
        .with_columns(_months(pl.col("confirmed_at"), as_of).alias("months"))
        .filter(pl.col("months").is_not_null())
    )
    rows = []
    for low, high in AGE_BUCKETS_MONTHS:
        bucket = aged.filter(pl.col("months") >= low, pl.col("months") < high if high is not None else True)
        if bucket.is_empty():
            continue
        mid = (low + high) / 2 if high is not None else float(bucket["months"].mean())  # type: ignore[arg-type]
        row: dict[str, Any] = {
            "months": f"{low}-{high}" if high is not None else f"{low}+",
            "records": bucket.height,
            "stale": round(float(bucket["is_stale"].mean()), 3),  # type: ignore[arg-type]
        }
        for attribute in ATTRIBUTES:
            share = bucket[f"{attribute}_is_stale"].drop_nulls().mean()
            row[attribute] = None if share is None else round(float(share), 3)  # type: ignore[arg-type]
        row["expected"] = round(1 - 0.98**mid, 3)
        rows.append(row)
    return rows


def reverify_view_sql(customers: str = "golden_customers") -> str:
    """customers_to_reverify: golden customers with a stale address, phone or e-mail, which and
    why, the most valuable customers first, then the least fresh.

    Value of a customer is approximated by how many records and sources know them; a later issue
    brings purchases and visits, which should replace this proxy.
    """
    stale = [f"coalesce({a}_is_stale, false)" for a in ATTRIBUTES]
    stale_list = ", ".join(f"CASE WHEN {s} THEN '{a}' END" for s, a in zip(stale, ATTRIBUTES, strict=True))
    least = ", ".join(f"CASE WHEN {s} THEN {a}_freshness END" for s, a in zip(stale, ATTRIBUTES, strict=True))
    per_attribute = ",\n  ".join(
        f"{a}_is_stale, {a}_stale_reason, {a}_freshness, {a}_last_confirmed" for a in ATTRIBUTES
    )
    return f"""
SELECT
  golden_id, given_name, family_name,
  list_filter([{stale_list}], lambda x: x IS NOT NULL) AS stale_attributes,
  record_count, len(sources) AS source_count,
  least({least}) AS lowest_freshness,
  {per_attribute}
FROM "{customers}"
WHERE {" OR ".join(stale)}
ORDER BY record_count DESC, source_count DESC, lowest_freshness ASC NULLS FIRST, golden_id
"""

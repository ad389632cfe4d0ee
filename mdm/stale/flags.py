"""Staleness of contact data: per customer and record, the probability that each address, phone
and e-mail is out of date, the flags that decide on it, and why.

Pure functions over polars frames; the stale stage (mdm/stale/stage.py, after `golden`) calls
`flag_stale`. The evidence: mdm/stale/evidence.py; the probability: mdm/stale/probability.py;
definitions and measured choices: docs/architecture.md, section "mdm/stale/".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, get_args

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mdm.config.errors import parse_model
from mdm.config.survivorship import STALENESS_HINTS, StalenessRules
from mdm.stale.evidence import DAYS_PER_MONTH, RECORD_KEY, dated, months_since, value_evidence
from mdm.stale.probability import with_probability
from mdm.types import ContactAttribute

ATTRIBUTES: tuple[ContactAttribute, ...] = get_args(ContactAttribute)


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


def value_flags(
    records: pl.DataFrame,
    attribute: ContactAttribute,
    as_of: dt.date,
    rules: StalenessRules,
    outcomes: pl.DataFrame | None = None,
    household: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per golden customer and value of the attribute: its evidence (mdm/stale/evidence.py), months,
    freshness, stale_probability, is_stale and stale_reason (mdm/stale/probability.py)."""
    evidence = value_evidence(records, attribute, as_of, rules, outcomes, household)
    return with_probability(evidence, attribute, as_of, rules)


class StaleFlags(NamedTuple):
    golden: pl.DataFrame
    records: pl.DataFrame
    checks: pl.DataFrame
    """Per record and attribute with a value: months (since the record's update, null: undated),
    stale_probability, and `checked_months` / `contradicted`: how long after the record a newer
    record of the customer showed that attribute again, and whether with another value (null: none
    did). The run report's calibration table (mdm/stale/report.py) reads it."""


def flag_stale(
    records: pl.DataFrame,
    golden: pl.DataFrame,
    as_of: dt.date,
    rules: StalenessRules,
    outcomes: pl.DataFrame | None = None,
    households: Mapping[ContactAttribute, pl.DataFrame] | None = None,
    evidence: Mapping[ContactAttribute, pl.DataFrame] | None = None,
) -> StaleFlags:
    """(golden_flags, record_flags, checks).

    `records`: golden_id, source, source_record_id, source_updated_at and each attribute's
    comparable column (`phone_type` too, when present). `golden`: golden_id and the same
    comparable columns holding the golden customer's chosen values. `outcomes`: contact outcomes
    (evidence.OUTCOME_SCHEMA), or None. `households`: per attribute, the household evidence of every
    customer (evidence.household_evidence) when `records` are one partition's; None: from `records`.
    `evidence`: per attribute, the evidence of every customer's values (evidence.value_evidence)
    when the caller has it (an incremental run carries most of it, mdm/stale/delta.py); None: found
    from `records`, `outcomes` and `households`.

    golden_flags, per golden_id and attribute: `<attr>_last_confirmed`, `<attr>_freshness` (1 - the
    decay prior), `<attr>_stale_probability`, `<attr>_is_stale` (null when the golden has no value)
    and `<attr>_stale_reason` (how the probability was reached).
    record_flags, per source and source_record_id: `<attr>_stale_probability` and `<attr>_is_stale`
    (null when the record has no value), `is_stale` (any attribute) and `stale_reason` (the flagged
    attributes: "address 0.97: 1 months since crm:C1 (2026-09-20): 0.02; superseded by ...: 0.97").
    """
    golden_flags = golden.select("golden_id")
    record_flags = records.select(*RECORD_KEY)
    checks = []
    record_dates = dated(records.select("source_updated_at"), as_of)["confirmed_at"].alias("record_at")
    for attribute in ATTRIBUTES:
        column = rules.column(attribute)
        household = None if households is None else households.get(attribute)
        if evidence is None:
            flags = value_flags(records, attribute, as_of, rules, outcomes, household)
        else:
            flags = with_probability(evidence[attribute], attribute, as_of, rules)
        # one row of flags per (golden_id, value): the golden's chosen values, then the records'
        # values, joined to the flags at once (one join of both: 0.2 s less at 1M records,
        # bench/RESULTS.md); a join keeps its left rows, one for one and in order, so the flags go
        # beside the golden and the records by position, not joined on their keys
        of_records = ["stale_probability", "is_stale", "stale_reason", "confirmed_at", "superseded_at"]
        wanted = [*of_records, "freshness"]  # freshness: the golden's only
        keys = pl.concat(
            [
                golden.select("golden_id", pl.col(column).alias("value")),
                records.select("golden_id", pl.col(column).alias("value")),
            ]
        )
        joined = keys.join(
            flags.select("golden_id", "value", *wanted), on=["golden_id", "value"], how="left", maintain_order="left"
        )
        chosen = joined.slice(0, golden.height)
        has_value = pl.col("value").is_not_null() & pl.col("stale_probability").is_not_null()
        golden_flags = pl.concat(
            [
                golden_flags,
                chosen.select(
                    pl.col("confirmed_at").alias(f"{attribute}_last_confirmed"),
                    pl.col("freshness").alias(f"{attribute}_freshness"),
                    pl.col("stale_probability").alias(f"{attribute}_stale_probability"),
                    # null: no value, or no record carries it
                    pl.when(pl.col("is_stale").is_not_null()).then(pl.col("is_stale")).alias(f"{attribute}_is_stale"),
                    pl.when(has_value | pl.col("is_stale").is_not_null())
                    .then(pl.col("stale_reason"))
                    .alias(f"{attribute}_stale_reason"),
                ),
            ],
            how="horizontal",
        )
        per_record = pl.concat([records.select(*RECORD_KEY), joined.slice(golden.height)], how="horizontal").select(
            "golden_id", *RECORD_KEY, "value", *of_records
        )
        checks.append(_checks(per_record.with_columns(record_dates), attribute, as_of))
        reason = pl.format("{} {}: {}", pl.lit(attribute), pl.col("stale_probability").round(2), pl.col("stale_reason"))
        record_flags = pl.concat(
            [
                record_flags,
                per_record.select(
                    pl.col("stale_probability").alias(f"{attribute}_stale_probability"),
                    pl.col("is_stale").alias(f"{attribute}_is_stale"),
                    pl.when(pl.col("is_stale")).then(reason).alias(f"_{attribute}_reason"),
                ),
            ],
            how="horizontal",
        )
    reasons = [f"_{a}_reason" for a in ATTRIBUTES]
    record_flags = record_flags.with_columns(
        pl.any_horizontal(pl.col(f"{a}_is_stale").fill_null(False) for a in ATTRIBUTES).alias("is_stale"),
        pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("stale_reason"),
    ).with_columns(pl.when(pl.col("is_stale")).then(pl.col("stale_reason")).alias("stale_reason"))
    return StaleFlags(golden_flags, record_flags.drop(reasons), pl.concat(checks))


def _checks(per_record: pl.DataFrame, attribute: str, as_of: dt.date) -> pl.DataFrame:
    """StaleFlags.checks of one attribute (`per_record`: each record's value, its flags and the
    record's own date `record_at`): a record's value was checked again when a newer record of the
    customer confirmed it (its value's last confirmation is after the record) or superseded it."""
    own = pl.col("record_at")
    later = pl.when(pl.col("confirmed_at") > own).then(pl.col("confirmed_at"))
    seen_again = pl.max_horizontal(later, pl.col("superseded_at"))
    return per_record.filter(pl.col("value").is_not_null()).select(
        *RECORD_KEY,
        pl.lit(attribute).alias("attribute"),
        months_since(own, as_of).alias("months"),
        "stale_probability",
        ((seen_again.dt.date() - own.dt.date()).dt.total_days() / DAYS_PER_MONTH).alias("checked_months"),
        pl.when(seen_again.is_not_null()).then(pl.col("superseded_at").is_not_null()).alias("contradicted"),
    )


RECORD_FLAG_COLUMNS = [
    *(f"{a}_stale_probability" for a in ATTRIBUTES),
    *(f"{a}_is_stale" for a in ATTRIBUTES),
    "is_stale",
    "stale_reason",
]


# ---- wiring helpers: inputs, the golden's values, the run report, the re-verify view ----------

# The golden field whose lineage names the record a golden value came from, for an attribute
# whose comparable column the golden frame does not carry itself (address_key, email_key).
LINEAGE_FIELD: dict[ContactAttribute, str] = {"address": "address_line1", "phone": "phone", "email": "email"}


def stale_inputs(records: pl.DataFrame | pl.LazyFrame, rules: StalenessRules) -> pl.DataFrame:
    """The columns flag_stale reads; a comparable column the dictionary lacks is all null."""
    columns = records.collect_schema().names()
    wanted = [rules.column(a) for a in ATTRIBUTES]
    wanted += [c for a in ATTRIBUTES if (c := rules.rule(a).partial_column)]
    if rules.phone_type_column:
        wanted.append(rules.phone_type_column)
    keys = ["golden_id", *RECORD_KEY, "source_updated_at"]
    return (
        records.lazy()
        .select(
            *keys, *(pl.col(c) if c in columns else pl.lit(None, pl.String).alias(c) for c in dict.fromkeys(wanted))
        )
        .collect(engine="streaming")
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


def reverify_view_sql(customers: str = "golden_customers") -> str:
    """customers_to_reverify: golden customers with a stale address, phone or e-mail, which and
    why, ranked by the expected value of re-verifying them: the highest stale probability among
    the flagged attributes times how much the customer is in contact (1 + their events of the
    last year: a customer never seen still counts once)."""
    stale = [f"coalesce({a}_is_stale, false)" for a in ATTRIBUTES]
    stale_list = ", ".join(f"CASE WHEN {s} THEN '{a}' END" for s, a in zip(stale, ATTRIBUTES, strict=True))
    highest = ", ".join(f"CASE WHEN {s} THEN {a}_stale_probability END" for s, a in zip(stale, ATTRIBUTES, strict=True))
    per_attribute = ",\n  ".join(
        f"{a}_is_stale, {a}_stale_probability, {a}_stale_reason, {a}_freshness, {a}_last_confirmed" for a in ATTRIBUTES
    )
    return f"""
SELECT
  golden_id, given_name, family_name,
  list_filter([{stale_list}], lambda x: x IS NOT NULL) AS stale_attributes,
  greatest({highest}) AS highest_stale_probability,
  contacts_last_year,
  round(greatest({highest}) * (1 + coalesce(contacts_last_year, 0)), 6) AS expected_value,
  record_count, len(sources) AS source_count,
  {per_attribute}
FROM "{customers}"
WHERE {" OR ".join(stale)}
ORDER BY expected_value DESC, golden_id
"""

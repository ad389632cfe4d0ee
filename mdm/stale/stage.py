"""The stale stage: per contact value, the probability that it is out of date as of the run's day,
its flag and its reason (mdm/stale/flags.py), beside the golden customers and the records; the
master's tables join them in (mdm/publish/tables.py)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.context import RunContext
from mdm.stale.evidence import OUTCOME_SCHEMA, RECORD_KEY
from mdm.stale.flags import ATTRIBUTES, LINEAGE_FIELD, flag_stale, golden_values, stale_inputs
from mdm.stale.report import calibration_by_months

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["source", "event_id", "person_source", "person_record_id", "event_time"]
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class StaleReport:
    stale_records: int
    stale_golden: dict[str, int]
    """contact attribute -> golden customers whose chosen value is stale."""
    by_months_since_update: list[dict[str, Any]]
    """Per age bucket: values, predicted and flagged shares, and the evidence check
    (mdm/stale/report.py)."""


def contact_outcomes(ctx: RunContext, rules: StalenessRules) -> pl.DataFrame:
    """The outcomes `staleness.outcomes` names, from the run's accepted event rows (OUTCOME_SCHEMA)."""
    parts = [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for rule in rules.outcomes:
        events = pl.read_parquet(ctx.files.events(rule.events), columns=[*EVENT_COLUMNS, rule.column])
        text = pl.col(rule.column).cast(pl.String).str.strip_chars().str.to_lowercase()
        outcome = (
            pl.when(text.is_in([v.lower() for v in rule.failed]))
            .then(pl.lit("failed"))
            .when(text.is_in([v.lower() for v in rule.confirmed]))
            .then(pl.lit("confirmed"))
        )
        at = pl.col("event_time").cast(pl.Datetime("us"))
        parts.append(
            events.select(
                pl.col("person_source").alias("source"),
                pl.col("person_record_id").alias("source_record_id"),
                pl.lit(rule.attribute).alias("attribute"),
                outcome.alias("outcome"),
                (
                    pl.col("source")
                    + ":"
                    + pl.col("event_id")
                    + " "
                    + pl.col(rule.column).cast(pl.String)
                    + " ("
                    + at.dt.date().cast(pl.String)
                    + ")"
                ).alias("event"),
                at.alias("event_time"),
                pl.lit(rule.failed_reliability).alias("reliability"),
            ).filter(pl.col("outcome").is_not_null(), pl.col("event_time").is_not_null())
        )
    return pl.concat(parts)


def contacts_last_year(ctx: RunContext, records: pl.DataFrame) -> pl.DataFrame:
    """golden_id, contacts_last_year: events of the customer (every event source) in the year before
    the run's as-of, events dated after it included."""
    since = dt.datetime.combine(ctx.as_of - dt.timedelta(days=DAYS_PER_YEAR), dt.time())
    parts = [pl.DataFrame(schema={"golden_id": pl.String})]
    for source in ctx.config.sources.events:
        events = pl.read_parquet(ctx.files.events(source.name), columns=EVENT_COLUMNS)
        recent = events.filter(pl.col("event_time").cast(pl.Datetime("us")) >= since)
        parts.append(
            recent.join(
                records.select("golden_id", "source", "source_record_id"),
                left_on=["person_source", "person_record_id"],
                right_on=["source", "source_record_id"],
            ).select("golden_id")
        )
    return pl.concat(parts).group_by("golden_id").agg(pl.len().cast(pl.Int64).alias("contacts_last_year"))


def stale_stage(ctx: RunContext) -> StaleReport:
    files, rules = ctx.files, ctx.config.staleness_rules
    records = stale_inputs(pl.scan_parquet(files.records), rules)
    # only what golden_values reads: the lineage of the contact attributes is a tenth of the whole
    wanted = {"golden_id"} | {rules.column(a) for a in ATTRIBUTES}
    golden = pl.read_parquet(files.golden, columns=[c for c in pl.read_parquet_schema(files.golden) if c in wanted])
    lineage = (
        pl.scan_parquet(files.lineage)
        .filter(pl.col("attribute").is_in(list(LINEAGE_FIELD.values())))
        .select("golden_id", "attribute", *RECORD_KEY)
        .collect()
    )
    chosen = golden_values(golden, lineage, records, rules)
    flags = flag_stale(records, chosen, ctx.as_of, rules, contact_outcomes(ctx, rules))
    contacts = contacts_last_year(ctx, records)
    golden_flags = flags.golden.join(contacts, on="golden_id", how="left", maintain_order="left").with_columns(
        pl.col("contacts_last_year").fill_null(0)
    )
    golden_flags.write_parquet(files.stale_golden)
    flags.records.write_parquet(files.stale_records)
    report = StaleReport(
        stale_records=int(flags.records["is_stale"].sum()),
        stale_golden={
            c.removesuffix("_is_stale"): int(golden_flags[c].sum())
            for c in golden_flags.columns
            if c.endswith("_is_stale")
        },
        by_months_since_update=calibration_by_months(flags.checks, rules),
    )
    log.info("stale: %d records flagged", report.stale_records)
    return report

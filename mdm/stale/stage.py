"""The stale stage: per contact value, the probability that it is out of date as of the run's day,
its flag and its reason (mdm/stale/flags.py), beside the golden customers and the records; the
master's tables join them in (mdm/publish/tables.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.context import RunContext
from mdm.files import join_parts
from mdm.stale.delta import LastEvidence, evidence_carriable, kept_customers, night_evidence, outcome_changes
from mdm.stale.evidence import (
    HOUSEHOLD_COLUMNS,
    OUTCOME_SCHEMA,
    RECORD_KEY,
    household_evidence,
    own_values,
    value_evidence,
)
from mdm.stale.flags import ATTRIBUTES, LINEAGE_FIELD, flag_stale, golden_values, stale_inputs
from mdm.stale.report import calibration_by_months
from mdm.types import ContactAttribute

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["source", "event_id", "person_source", "person_record_id", "event_time"]
DAYS_PER_YEAR = 365
CHECK_COLUMNS = ["attribute", "months", "stale_probability", "checked_months", "contradicted"]
"""What the run report's calibration reads of StaleFlags.checks (mdm/stale/report.py)."""
STALE_BYTES_PER_RECORD = 1_500
"""The stale flags' working set per record: its contact columns, each attribute's values and their
evidence, the record and golden flags (measured at 1M generated records, bench/RESULTS.md)."""


@dataclass(frozen=True)
class StaleReport:
    stale_records: int
    stale_golden: dict[str, int]
    """contact attribute -> golden customers whose chosen value is stale."""
    by_months_since_update: list[dict[str, Any]]
    """Per age bucket: values, predicted and flagged shares, and the evidence check
    (mdm/stale/report.py)."""


def contact_outcomes(ctx: RunContext, rules: StalenessRules, records: pl.DataFrame | None = None) -> pl.DataFrame:
    """The outcomes `staleness.outcomes` names, from the run's accepted event rows (OUTCOME_SCHEMA);
    with `records`, only the outcomes of those records (a partition's)."""
    parts = [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for rule in rules.outcomes:
        events = _events_of(ctx, rule.events, [*EVENT_COLUMNS, rule.column], records).collect(engine="streaming")
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
        events = pl.scan_parquet(ctx.files.events(source.name)).select(EVENT_COLUMNS)
        recent = events.filter(pl.col("event_time").cast(pl.Datetime("us")) >= since)
        parts.append(
            recent.join(
                records.lazy().select("golden_id", "source", "source_record_id"),
                left_on=["person_source", "person_record_id"],
                right_on=["source", "source_record_id"],
            )
            .select("golden_id")
            .collect(engine="streaming")
        )
    return pl.concat(parts).group_by("golden_id").agg(pl.len().cast(pl.Int64).alias("contacts_last_year"))


def _events_of(ctx: RunContext, source: str, columns: list[str], records: pl.DataFrame | None) -> pl.LazyFrame:
    """An event source's rows (those columns), only those of `records` when given."""
    events = pl.scan_parquet(ctx.files.events(source)).select(columns)
    if records is None:
        return events
    keys = records.lazy().select(
        pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id")
    )
    return events.join(keys, on=["person_source", "person_record_id"], how="semi", maintain_order="left")


def _records(ctx: RunContext, rules: StalenessRules, mine: pl.Series | None) -> pl.DataFrame:
    """The columns flag_stale reads of every record, or of the records of the golden ids `mine`."""
    records = ctx.files.records.scan()
    if mine is not None:
        records = records.join(mine.to_frame().lazy(), on="golden_id", how="semi", maintain_order="left")
    return stale_inputs(records, rules)


def _of(frame: pl.LazyFrame, mine: pl.Series | None) -> pl.LazyFrame:
    return (
        frame if mine is None else frame.join(mine.to_frame().lazy(), on="golden_id", how="semi", maintain_order="left")
    )


def _flag_partition(
    ctx: RunContext,
    rules: StalenessRules,
    mine: pl.Series | None,
    households: dict[ContactAttribute, pl.DataFrame] | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(golden flags, record flags, checks) of the golden ids `mine` (None: every customer)."""
    files = ctx.files
    records = _records(ctx, rules, mine)
    # only what golden_values reads: the lineage of the contact attributes is a tenth of the whole
    wanted = {"golden_id"} | {rules.column(a) for a in ATTRIBUTES}
    golden = _of(
        pl.scan_parquet(files.golden).select([c for c in pl.read_parquet_schema(files.golden) if c in wanted]), mine
    ).collect(engine="streaming")
    lineage = _of(
        pl.scan_parquet(files.lineage)
        .filter(pl.col("attribute").is_in(list(LINEAGE_FIELD.values())))
        .select("golden_id", "attribute", *RECORD_KEY),
        mine,
    ).collect(engine="streaming")
    chosen = golden_values(golden, lineage, records, rules)
    outcomes = contact_outcomes(ctx, rules, None if mine is None else records)
    evidence = _evidence(ctx, rules, records, outcomes) if mine is None else None
    flags = flag_stale(records, chosen, ctx.as_of, rules, outcomes, households, evidence)
    contacts = contacts_last_year(ctx, records)
    golden_flags = flags.golden.join(contacts, on="golden_id", how="left", maintain_order="left").with_columns(
        pl.col("contacts_last_year").fill_null(0)
    )
    return golden_flags, flags.records, flags.checks.select(CHECK_COLUMNS)


def _evidence(
    ctx: RunContext, rules: StalenessRules, records: pl.DataFrame, outcomes: pl.DataFrame
) -> dict[ContactAttribute, pl.DataFrame] | None:
    """Every customer's evidence per attribute when one partition flags them all: in an incremental
    run most of it is the last run's (mdm/stale/delta.py); left in the work files for the next run
    with the outcomes it was found from. None (flag_stale finds it) when it may not be kept."""
    if not evidence_carriable(rules, ctx.config.dictionary.sensitive_fields):
        return None
    last = LastEvidence.read(ctx.carry, rules)
    if last is None:
        evidence = {a: value_evidence(records, a, ctx.as_of, rules, outcomes) for a in ATTRIBUTES}
    else:
        unchanged = pl.read_parquet(ctx.files.unchanged_customers)["golden_id"]  # the golden stage's
        changed = outcome_changes(last.outcomes, outcomes)
        kept = kept_customers(unchanged, records, changed, min(last.as_of, ctx.as_of))
        evidence, again = night_evidence(records, outcomes, ctx.as_of, rules, last.evidence, kept)
        customers = records["golden_id"].n_unique()
        log.info("stale (incremental): evidence of %d of %d customers found again, the rest carried", again, customers)
    for attribute, frame in evidence.items():
        frame.write_parquet(ctx.files.stale_evidence(attribute))
    outcomes.write_parquet(ctx.files.stale_outcomes)
    return evidence


def _households(
    ctx: RunContext, rules: StalenessRules, partitions: list[pl.Series]
) -> dict[ContactAttribute, pl.DataFrame]:
    """Per attribute with household evidence, that evidence of every customer: each partition's own
    values go to a file, then the values other customers share are read back whole (they are few)."""
    weighted = [a for a in ATTRIBUTES if rules.rule(a).household_weight > 0]
    parts: dict[ContactAttribute, list[Path]] = {a: [] for a in weighted}
    for number, mine in enumerate(partitions):
        if not weighted:
            break
        records = _records(ctx, rules, mine)
        outcomes = contact_outcomes(ctx, rules, records)
        for attribute in weighted:
            values, _, _ = own_values(records, attribute, ctx.as_of, rules, outcomes)
            parts[attribute].append(ctx.files.dir / f"stale_values_{attribute}_{number}.parquet")
            values.select(HOUSEHOLD_COLUMNS).write_parquet(parts[attribute][-1])
    households = {a: household_evidence(pl.concat([pl.scan_parquet(p) for p in parts[a]])) for a in weighted}
    for path in (p for paths in parts.values() for p in paths):
        path.unlink()
    return households


def stale_stage(ctx: RunContext) -> StaleReport:
    files, rules = ctx.files, ctx.config.staleness_rules
    golden_ids = pl.read_parquet(files.golden, columns=["golden_id"])["golden_id"]
    rows = files.records.scan().select(pl.len()).collect().item()
    count = min(ctx.budget.partitions(rows, STALE_BYTES_PER_RECORD), max(golden_ids.len(), 1))
    # partitions of the golden file's rows, so stale_golden keeps its order; every customer's flags
    # depend on its own records, household evidence aside, which is read across partitions first
    edges = [round(i * golden_ids.len() / count) for i in range(count + 1)]
    partitions = [golden_ids.slice(start, end - start) for start, end in itertools.pairwise(edges)]
    households = _households(ctx, rules, partitions) if count > 1 else None
    golden_parts, record_parts, checks = [], [], []
    stale_records, stale_golden = 0, dict[str, int]()
    for number, mine in enumerate(partitions):
        golden_flags, record_flags, partition_checks = _flag_partition(
            ctx, rules, mine if count > 1 else None, households
        )
        golden_parts.append(files.dir / f"stale_golden_{number}.parquet")
        record_parts.append(files.dir / f"stale_records_{number}.parquet")
        golden_flags.write_parquet(golden_parts[-1])
        record_flags.write_parquet(record_parts[-1])
        checks.append(partition_checks)
        stale_records += int(record_flags["is_stale"].sum())
        for c in (c for c in golden_flags.columns if c.endswith("_is_stale")):
            stale_golden[c.removesuffix("_is_stale")] = stale_golden.get(c.removesuffix("_is_stale"), 0) + int(
                golden_flags[c].sum()
            )
        del golden_flags, record_flags
    join_parts(golden_parts, files.stale_golden)
    join_parts(record_parts, files.stale_records)
    if count > 1:
        log.info("stale: %d customers flagged in %d partitions", golden_ids.len(), count)
    report = StaleReport(
        stale_records=stale_records,
        stale_golden=stale_golden,
        by_months_since_update=calibration_by_months(pl.concat(checks), rules),
    )
    log.info("stale: %d records flagged", report.stale_records)
    return report

"""The stale stage: last-confirmed date, freshness and stale flags of every contact value as of the
run's day (mdm/stale/flags.py), beside the golden customers and the records; the master's tables
join them in (mdm/publish/tables.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import polars as pl

from mdm.context import RunContext
from mdm.stale.flags import flag_stale, golden_values, stale_by_months, stale_inputs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaleReport:
    stale_records: int
    stale_golden: dict[str, int]
    """contact attribute -> golden customers whose chosen value is stale."""
    by_months_since_update: list[dict[str, Any]]
    """Per age bucket: records, and the share stale overall and per attribute beside 1 - 0.98^m."""


def stale_stage(ctx: RunContext) -> StaleReport:
    files, rules = ctx.files, ctx.config.staleness_rules
    records = stale_inputs(pl.scan_parquet(files.records), rules)
    chosen = golden_values(pl.read_parquet(files.golden), pl.read_parquet(files.lineage), records, rules)
    golden_flags, record_flags = flag_stale(records, chosen, ctx.as_of, rules)
    golden_flags.write_parquet(files.stale_golden)
    record_flags.write_parquet(files.stale_records)
    report = StaleReport(
        stale_records=int(record_flags["is_stale"].sum()),
        stale_golden={
            c.removesuffix("_is_stale"): int(golden_flags[c].sum())
            for c in golden_flags.columns
            if c.endswith("_is_stale")
        },
        by_months_since_update=stale_by_months(records, record_flags, ctx.as_of),
    )
    log.info("stale: %d records flagged", report.stale_records)
    return report

"""The golden stage: stable golden ids for the clusters, one golden record per customer by the
survivorship rules, and the lineage of every golden value."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.context import RunContext
from mdm.golden.ids import assign_golden_ids
from mdm.golden.survivorship import build_golden
from mdm.state import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GoldenReport:
    golden_customers: int
    duplicates_found: int
    """Records merged into another record's golden customer."""
    new_golden_ids: int


@dataclass(frozen=True)
class RunIds:
    """What this run does to the golden id registry, saved by publish (work file `ids`)."""

    new_ids: list[str]
    next_number: int
    events: list[dict[str, Any]]
    """Id events (new, merged, split, retired) in the shape of the store's id_events."""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> RunIds:
        return cls(**json.loads(path.read_text()))


def golden_stage(ctx: RunContext) -> GoldenReport:
    files, fields = ctx.files, ctx.config.published_fields
    records = pl.read_parquet(files.standardized)
    clusters = pl.read_parquet(files.clusters)
    with StateStore(ctx.state_dir) as store:
        registry, next_number, retired = store.registry(), store.peek_next_numbers(), store.retired_ids()
    assignment = assign_golden_ids(records, clusters["cluster"].to_list(), registry, next_number, retired=retired)
    records = records.with_columns(pl.Series("golden_id", assignment.golden_ids, dtype=pl.String))
    rules = ctx.config.survivorship_rules
    rules.check_fields(ctx.config.survivorship_path, fields, set(records.columns))
    customers, lineage = build_golden(records, rules, fields)
    records.write_parquet(files.records)
    customers.write_parquet(files.golden)
    lineage.write_parquet(files.lineage)
    RunIds(list(assignment.new_ids), assignment.next_number, list(assignment.events)).write(files.ids)
    log.info(
        "golden: %d customers from %d records, %d new ids", customers.height, records.height, len(assignment.new_ids)
    )
    return GoldenReport(customers.height, records.height - customers.height, len(assignment.new_ids))

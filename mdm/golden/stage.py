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
from mdm.golden.delta import CarriedGolden, carried_golden_ids, golden_fingerprint, unchanged_customers
from mdm.golden.ids import assign_golden_ids
from mdm.golden.survivorship import build_golden
from mdm.incremental.carry import GOLDEN_FILE, GOLDEN_FINGERPRINT, LINEAGE_FILE, PREVIOUS_RID
from mdm.state import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GoldenReport:
    golden_customers: int
    duplicates_found: int
    """Records merged into another record's golden customer."""
    new_golden_ids: int
    built: int = 0
    """Golden records built in this run: every one in a full run; in an incremental run those whose
    records changed, the others carried over (mdm/golden/delta.py)."""


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
    carried = _carried_golden(ctx, records)
    if carried is None:
        customers, lineage = build_golden(records, rules, fields)
    else:
        changed = records.filter(~pl.col("golden_id").is_in(carried.golden["golden_id"].implode()))
        rebuilt, rebuilt_lineage = build_golden(changed, rules, fields)
        customers = pl.concat([carried.golden.select(rebuilt.columns), rebuilt]).sort("golden_id")
        lineage = pl.concat([carried.lineage.select(rebuilt_lineage.columns), rebuilt_lineage])
        log.info("golden (incremental): %d customers built, %d carried over", rebuilt.height, carried.golden.height)
    records.write_parquet(files.records)
    customers.write_parquet(files.golden)
    lineage.write_parquet(files.lineage)
    RunIds(list(assignment.new_ids), assignment.next_number, list(assignment.events)).write(files.ids)
    log.info(
        "golden: %d customers from %d records, %d new ids", customers.height, records.height, len(assignment.new_ids)
    )
    built = customers.height if carried is None else customers.height - carried.golden.height
    return GoldenReport(customers.height, records.height - customers.height, len(assignment.new_ids), built)


def _carried_golden(ctx: RunContext, records: pl.DataFrame) -> CarriedGolden | None:
    """The unchanged customers' golden records from the last run (mdm/golden/delta.py), or None when
    this run builds every golden record."""
    carry, fields = ctx.carry, ctx.config.published_fields
    fingerprint = golden_fingerprint(ctx.config.survivorship_rules, fields)
    if carry is None or not carry.usable(GOLDEN_FINGERPRINT, fingerprint, [GOLDEN_FILE, LINEAGE_FILE]):
        return None
    previous = pl.read_parquet(ctx.files.record_hashes, columns=["rid", PREVIOUS_RID])
    ids = unchanged_customers(records, previous, carried_golden_ids(carry))
    return CarriedGolden.read(carry, ids, ctx.config.dictionary.sensitive_fields, ctx.cipher)

"""The archive stage: each golden customer's last activity (a record updated, an event, a restore)
and which customers are archived as of the run's day; publish moves them to archived_customers
and the tags stage leaves them out. The store changes are committed by publish with the ids."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass

import polars as pl

from mdm.archive.policy import (
    DECIDED_SCHEMA,
    archive_changes,
    archive_reason_column,
    decide,
    event_activity,
    inactive_since,
    record_activity,
    restore_activity,
)
from mdm.context import RunContext
from mdm.golden.ids import REVIVAL_EVENT
from mdm.golden.stage import RunIds
from mdm.state import StateStore
from mdm.state.archive import ArchiveChanges, archive_restores, archived_ids

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["source", "event_id", "person_source", "person_record_id", "event_time"]
RECORD_COLUMNS = ["golden_id", "source", "source_record_id", "source_updated_at"]
ARCHIVE_BYTES_PER_RECORD = 600
"""The archive decision's working set per record: its keys, its events and each one's activity row
and description (measured at 1M generated records, bench/RESULTS.md)."""


@dataclass(frozen=True)
class ArchiveReport:
    inactive_years: int | None
    """the policy (None: never archive)"""
    inactive_since: str | None
    """ISO day: a customer whose last activity is before it is archived"""
    archived_customers: int
    """in archived_customers after this run"""
    archived: int
    """archived by this run"""
    unarchived: int
    """archived before, not after this run: back in golden_customers (or their id merged or retired)"""
    undated_customers: int | None
    """customers none of whose records or events has a date: never archived (None: not counted, as
    no policy archives anyone)"""


def archive_stage(ctx: RunContext) -> ArchiveReport:
    files, rules = ctx.files, ctx.config.survivorship_rules.archive
    run_events = RunIds.read(files.ids).events
    with StateStore(ctx.state_dir) as store:
        previous, restores, retired = archived_ids(store), archive_restores(store), dict(store.retired_ids())
    # this run's merges and retirements, as the store will hold them once the run is published
    retiring = run_events.filter(pl.col("kind").is_in(["merged", "retired"]))
    retired |= dict(retiring.select("old_id", "new_id").iter_rows())
    for revived in run_events.filter(REVIVAL_EVENT)["new_id"]:
        retired.pop(revived, None)
    # without a policy nobody is archived: only the customers archived before are decided (to bring
    # them back), and the customers without any date are not counted
    only = None if rules.enabled else previous["golden_id"]
    decided, undated = _decide_in_partitions(ctx, restore_activity(restores, retired), previous["golden_id"], only)
    changes = archive_changes(decided, set(previous["golden_id"].to_list()), retired, ctx.as_of, rules)
    since = inactive_since(ctx.as_of, rules)
    archived = (
        decided.filter("archived")
        .join(previous.select("golden_id", "archived_run", "archived_as_of"), on="golden_id", how="left")
        .select(
            "golden_id",
            pl.col("archived_run").fill_null(ctx.run_id),
            pl.col("archived_as_of").str.to_date().fill_null(ctx.as_of).alias("archived_on"),
            "last_activity_on",
            "last_activity",
            archive_reason_column(ctx.as_of, rules),
        )
    )
    archived.write_parquet(files.archived)
    files.archive_changes.write_text(json.dumps(ArchiveChanges(ctx.as_of.isoformat(), changes).as_dict()))
    report = ArchiveReport(
        inactive_years=rules.inactive_years,
        inactive_since=since.isoformat() if since else None,
        archived_customers=archived.height,
        archived=sum(e.kind == "archived" for e in changes),
        unarchived=sum(e.kind == "unarchived" for e in changes),
        undated_customers=undated if only is None else None,
    )
    log.info(
        "archive: %d archived customers (%d archived, %d back this run); customers without any date: %s;"
        " inactive since %s",
        report.archived_customers,
        report.archived,
        report.unarchived,
        report.undated_customers if only is None else "not counted (no policy)",
        report.inactive_since or "never (archive.inactive_years: null)",
    )
    return report


def _decide_in_partitions(
    ctx: RunContext, restored: pl.DataFrame, previous: pl.Series, only: pl.Series | None = None
) -> tuple[pl.DataFrame, int]:
    """The archive decision (policy.decide) of every golden customer (or of those of `only`), made
    in as many partitions of consecutive golden ids as the memory budget asks (mdm/budget.py), each
    reading only its customers' records and the events of those records from disk; a customer's
    decision depends on its own activity only, so the partitions change nothing. (The decided rows
    a run keeps: the customers archived now or before, in golden id order; the customers without
    any date.) Deciding every customer reads every record and event: 1.35-2.1 s of a night at
    1M records (bench/RESULTS.md)."""
    files, rules = ctx.files, ctx.config.survivorship_rules.archive
    golden_ids = (
        files.records.scan().select(pl.col("golden_id").unique().sort()).collect(engine="streaming")["golden_id"]
    )
    if only is not None:
        golden_ids = golden_ids.filter(golden_ids.is_in(only.implode()))
        if golden_ids.is_empty():
            return pl.DataFrame(schema=DECIDED_SCHEMA), 0
    rows = files.records.scan().select(pl.len()).collect().item()
    count = min(ctx.budget.partitions(rows, ARCHIVE_BYTES_PER_RECORD), max(golden_ids.len(), 1))
    edges = [round(i * golden_ids.len() / count) for i in range(count + 1)]
    kept, undated = [pl.DataFrame(schema=DECIDED_SCHEMA)], 0
    for start, end in itertools.pairwise(edges):
        mine = golden_ids.slice(start, end - start)
        records = (
            files.records.scan()
            .select(RECORD_COLUMNS)
            .join(mine.to_frame().lazy(), on="golden_id", how="semi", maintain_order="left")
            .collect(engine="streaming")
        )
        keys = records.lazy().select(
            pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id")
        )
        activity = [record_activity(records), restored.filter(pl.col("golden_id").is_in(mine.implode()))]
        for source in ctx.config.sources.events:
            events = (
                pl.scan_parquet(files.events(source.name))
                .select(EVENT_COLUMNS)
                .join(keys, on=["person_source", "person_record_id"], how="semi", maintain_order="left")
                .collect(engine="streaming")
            )
            activity.append(event_activity(events, records))
        decided = decide(records["golden_id"], pl.concat(activity), ctx.as_of, rules)
        del records, activity
        undated += decided.filter(pl.col("last_activity_on").is_null()).height
        kept.append(decided.filter(pl.col("archived") | pl.col("golden_id").is_in(previous.implode())))
    if count > 1:
        log.info("archive: %d customers decided in %d partitions", golden_ids.len(), count)
    return pl.concat(kept), undated

"""The master's tables (those of the tags stage and mdm/golden/history.py, mdm/publish/quality.py
aside), each built from the run's work files (mdm/context.py WorkFiles); their
columns are documented in mdm/publish/catalog.py. The publish stage (mdm/publish/stage.py) puts
them together."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from mdm.cluster.review import QueueReport, decided_golden_pairs, queue_report, review_items, todays_queue
from mdm.context import RunContext, WorkFiles
from mdm.duck import Table
from mdm.ingest.stage import IngestReport
from mdm.match.model import MatchModel
from mdm.publish.pairs import (
    MATCH_PAIRS_ORDER,
    MAX_SLICE_PAIRS,
    PAIR_BYTES,
    RECORD_KEY_COLUMNS,
    ScoredPairs,
    fresh_dir,
    parquet_sql,
    with_record_ids,
    write_slice,
)
from mdm.publish.patch import PairsDiff
from mdm.stale.flags import RECORD_FLAG_COLUMNS
from mdm.state.archive import EVENTS_SCHEMA as ARCHIVE_EVENTS_SCHEMA
from mdm.state.archive import ArchiveChanges
from mdm.state.decisions import changed_link_outcomes, requeue_changed
from mdm.state.store import StateStore

RECORD_KEYS = ["rid", "source", "source_record_id", "golden_id", "row_number", "trust", "source_updated_at"]
"""The columns of a record the master's customer_xref and the pair tables are built from."""

log = logging.getLogger(__name__)
RUN_LOG_SCHEMA: dict[str, Any] = {
    name: pl.String
    for name in (
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "code_version",
        "sources_path",
        "master_path",
        "as_of",
        "counts",
        "error",
    )
}


def published_records(files: WorkFiles) -> pl.DataFrame:
    """Every record's keys (RECORD_KEYS) with its stale flags: what customer_xref and the pair tables are
    built from."""
    return scan_published_records(files).collect()


def scan_published_records(files: WorkFiles) -> pl.LazyFrame:
    """`published_records` as a query: for the publish stage to stream customer_xref to disk."""
    return (
        files.records.scan()
        .select(RECORD_KEYS)
        .join(
            pl.scan_parquet(files.stale_records), on=["source", "source_record_id"], how="left", maintain_order="left"
        )
    )


def record_keys(files: WorkFiles) -> pl.DataFrame:
    """Every record's rid, source, source_record_id and golden_id: all the review queue, the
    steward links and the store's record -> golden id registry read of the records."""
    return files.records.scan().select(RECORD_KEY_COLUMNS).collect()


def _golden_with_flags(ctx: RunContext) -> pl.LazyFrame:
    """Every golden record of the run with the stale flags of its chosen values and the run id."""
    files = ctx.files
    return (
        pl.scan_parquet(files.golden)
        .join(pl.scan_parquet(files.stale_golden), on="golden_id", how="left", maintain_order="left")
        .with_columns(ctx.run_column())
    )


def archived_golden_ids(files: WorkFiles) -> pl.Series:
    """The golden ids the archive stage archived (as of this run)."""
    return pl.read_parquet(files.archived, columns=["golden_id"])["golden_id"]


def golden_customers_table(ctx: RunContext) -> pl.DataFrame:
    """The master's golden_customers: each golden record that is not archived, with the stale flags
    of its chosen values."""
    return scan_golden_customers(ctx).collect()


def scan_golden_customers(ctx: RunContext) -> pl.LazyFrame:
    """`golden_customers_table` as a query: for the publish stage to stream it to disk."""
    archived = archived_golden_ids(ctx.files)
    return _golden_with_flags(ctx).filter(pl.col("golden_id").is_in(archived.implode()).not_())


def archived_customers_table(ctx: RunContext) -> pl.DataFrame:
    """The master's archived_customers: the golden records the archive policy took out of
    golden_customers (same columns), then when, and why."""
    archived = pl.scan_parquet(ctx.files.archived)
    return _golden_with_flags(ctx).join(archived, on="golden_id", how="inner", maintain_order="left").collect()


def customer_xref_table(ctx: RunContext, records: pl.DataFrame) -> pl.DataFrame:
    """The master's customer_xref: each source record's golden id, trust, update time and stale
    flags, and whether its golden customer is archived (in archived_customers, not golden_customers)."""
    return scan_customer_xref(ctx, records.lazy()).collect()


def scan_customer_xref(ctx: RunContext, records: pl.LazyFrame) -> pl.LazyFrame:
    """`customer_xref_table` of `records` (published_records' columns) as a query: for the publish
    stage to stream it to disk from `scan_published_records`."""
    archived = archived_golden_ids(ctx.files)
    return records.select(
        "source",
        "source_record_id",
        "golden_id",
        "row_number",
        "trust",
        "source_updated_at",
        *RECORD_FLAG_COLUMNS,
        pl.col("golden_id").is_in(archived.implode()).alias("archived"),
        ctx.run_column(),
    )


def archive_events_table(ctx: RunContext, earlier: pl.DataFrame) -> pl.DataFrame:
    """The master's archive_events: every earlier run's archive and unarchive events (from the
    store, in order), then this run's."""
    changes = ArchiveChanges.from_dict(json.loads(ctx.files.archive_changes.read_text()))
    this_run = pl.DataFrame(
        [{"run_id": ctx.run_id, "as_of": changes.as_of} | {k: v for k, v in vars(e).items()} for e in changes.events],
        schema=ARCHIVE_EVENTS_SCHEMA,
    )
    return pl.concat([earlier, this_run]).with_columns(pl.col("as_of", "last_activity_on").str.to_date())


def per_run(ctx: RunContext, frame: pl.DataFrame) -> pl.DataFrame:
    """A work table as the master keeps it: with this run's id."""
    return frame.with_columns(ctx.run_column())


def match_pairs(ctx: RunContext, diff: PairsDiff | None = None) -> Table:
    """Explain the run's scored pairs by their records' source ids, with each pair's outcome and
    evidence (mdm/publish/pairs.py `ScoredPairs`), in slices the memory budget sizes: every pair
    into the work files of match_pairs, or with `diff` (an incremental run patching the last
    master's table) only the pairs that changed, into the patch; either way the pairs the review
    queue reads into the work file review_pairs, and every pair's hash for the next run. Return
    table match_pairs: with `diff`, what explains every pair when the table is written whole
    after all (a patch that does not hold)."""
    files = ctx.files
    slice_pairs = min(ctx.budget.rows_per_partition(PAIR_BYTES), MAX_SLICE_PAIRS)
    pairs = ScoredPairs(files.scored, files.pair_outcomes, files.records, slice_pairs)
    if diff is None:
        fresh_dir(files.match_pairs)

        def each(number: int, piece: pl.DataFrame, hashes: pl.DataFrame) -> None:
            write_slice(pairs.explain(piece), files.match_pairs, number)
    else:
        patching = diff

        def each(number: int, piece: pl.DataFrame, hashes: pl.DataFrame) -> None:
            patching.insert(pairs.explain(piece.filter(patching.add(hashes))))

    links = _requeued_links(pl.read_parquet(files.steward_changed), pairs.keys)
    hashed = pairs.hash_all(each, files.review_pairs, links)
    hashed.write_parquet(files.match_pairs_hashes)
    log.info(
        "publish: %d pairs hashed in %d slices of at most %d, %s; %d for the review queue",
        hashed.height,
        len(pairs.starts),
        slice_pairs,
        "all explained" if diff is None else f"{diff.inserted} changed explained",
        pairs.reviewed,
    )
    table = parquet_sql(files.match_pairs_glob, order=MATCH_PAIRS_ORDER)
    if diff is None:
        return table

    def whole() -> str:
        pairs.write_all(files.match_pairs)
        return table

    return whole


def _requeued_links(changed: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The `left` and `right` rids of the steward decisions held back (`changed`, by source ids;
    null for a record gone) among the records' `keys`."""
    keys = keys.select("rid", "source", "source_record_id")
    return pl.DataFrame(
        {
            end: changed.select(source=f"{end}_source", source_record_id=f"{end}_record_id").join(
                keys, on=["source", "source_record_id"], how="left", maintain_order="left"
            )["rid"]
            for end in ("left", "right")
        },
        schema={"left": pl.Int64, "right": pl.Int64},
    )


def run_thresholds(files: WorkFiles) -> tuple[float, float]:
    """The (match, review) thresholds the run classified with (the rules', moved by labels)."""
    found = json.loads(files.thresholds.read_text())
    return float(found["match"]), float(found["review"])


def review_queue_table(ctx: RunContext, records: pl.DataFrame) -> tuple[pl.DataFrame, QueueReport]:
    """Today's review items (mdm/cluster/review.py), the pairs of steward decisions whose records
    changed since the decision on top, up to the daily capacity; and the queue's counts. Needs
    the work file review_pairs (`match_pairs`)."""
    files, settings = ctx.files, ctx.config.match_rules.review
    decided = [(tuple(a), tuple(b), d) for a, b, d in json.loads(files.steward_applied.read_text())]
    pairs = pl.scan_parquet(files.review_pairs / "*.parquet")
    match_t, review_t = run_thresholds(files)
    items = review_items(
        pairs,
        records.select("source", "source_record_id", "golden_id"),
        settings,
        threshold_match_probability=match_t,
        threshold_review_probability=review_t,
        settled=decided_golden_pairs(decided, records),
    )
    waiting = requeue_changed(items, pl.read_parquet(files.steward_changed), pairs, records)
    today = todays_queue(waiting, settings.daily_capacity)
    return today, queue_report(waiting, today)


def match_model_table(ctx: RunContext, model: MatchModel) -> pl.DataFrame:
    """The parameters the run scored with (the stewards' labels applied), the thresholds it
    classified with and whether this run trained the model."""
    match_t, review_t = run_thresholds(ctx.files)
    return model.parameters().with_columns(
        pl.lit(model.trained_at.isoformat()).alias("trained_at"),
        pl.lit(ctx.files.model_trained.exists()).alias("trained_this_run"),
        pl.lit(match_t).alias("threshold_match_probability"),
        pl.lit(review_t).alias("threshold_review_probability"),
        ctx.run_column(),
    )


def match_learning_table(ctx: RunContext) -> pl.DataFrame:
    """What the stewards' labels moved: each m probability and threshold, by how much, from how many labels."""
    return per_run(ctx, pl.read_parquet(ctx.files.learning))


def steward_links_table(ctx: RunContext, records: pl.DataFrame) -> pl.DataFrame:
    """Each steward "same" decision of this run by its records' source ids and whether it was
    applied ("merged") or could not be ("blocked: steward: not the same" when it contradicts a
    steward's own "not the same"); then the decisions held back because their records changed."""
    keys = records.lazy().select("rid", "source", "source_record_id")
    steward = pl.scan_parquet(ctx.files.steward_outcomes)
    applied = (
        with_record_ids(steward, keys)
        .select("left_source", "left_record_id", "right_source", "right_record_id", "outcome")
        .collect()
    )
    return pl.concat([applied, changed_link_outcomes(pl.read_parquet(ctx.files.steward_changed))])


def run_source_counts_table(ctx: RunContext, ingested: IngestReport) -> pl.DataFrame:
    """Rows read, accepted and quarantined per person source and event source."""
    rows = [vars(s) | {"role": "person"} for s in ingested.sources]
    rows += [vars(e) | {"role": "events"} for e in ingested.events]
    return per_run(ctx, pl.DataFrame(rows))


def run_log_table(ctx: RunContext, store: StateStore, counts: dict[str, Any]) -> pl.DataFrame:
    """Every run the store knows, this one marked published with its counts."""
    this_run = pl.col("run_id") == ctx.run_id
    return pl.DataFrame(store.runs(), schema=RUN_LOG_SCHEMA).with_columns(
        pl.when(this_run).then(pl.lit("published")).otherwise("status").alias("status"),
        pl.when(this_run)
        .then(pl.lit(dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
        .otherwise("finished_at")
        .alias("finished_at"),
        pl.when(this_run).then(pl.lit(json.dumps(counts, sort_keys=True))).otherwise("counts").alias("counts"),
    )


def event_files(ctx: RunContext) -> dict[str, Path]:
    """events_<name> -> the tags stage's file of each event source's rows resolved to golden ids."""
    return {f"events_{e.name}": ctx.files.published_events(e.name) for e in ctx.config.sources.events}


def event_tables(ctx: RunContext) -> dict[str, str]:
    """events_<name> (`event_files`) as SELECTs over their files: DuckDB loads them under its
    memory limit."""
    return {name: parquet_sql(path) for name, path in event_files(ctx).items()}


def tag_tables(ctx: RunContext) -> dict[str, pl.DataFrame | str]:
    """customer_tags (already per run; a SELECT over the tags stage's file, for DuckDB to load:
    it has a row per customer and tag) and the tag engine's definitions, errors and reviews."""
    files = ctx.files
    return {
        "customer_tags": parquet_sql(files.tag_table("customer_tags")),
        "tag_definitions": per_run(ctx, pl.read_parquet(files.tag_table("tag_definitions"))),
        "tag_errors": per_run(ctx, pl.read_parquet(files.tag_table("tag_errors"))),
        "tag_reviews": per_run(ctx, pl.read_parquet(files.tag_table("tag_reviews"))),
    }

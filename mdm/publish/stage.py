"""The publish stage: every table of the master from the run's work files, written into a new
DuckDB file and swapped in atomically; the durable store saves this run's golden ids, model,
history and quality metrics just before the swap (mdm/publish/atomic.py)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.cluster.delta import cluster_fingerprint
from mdm.cluster.review import QueueReport
from mdm.context import RunContext
from mdm.duck import SqlPatch, Table
from mdm.files import RecordFiles
from mdm.golden.delta import carried_golden_ids, golden_fingerprint
from mdm.golden.history import HISTORY_TABLE, prepare_history
from mdm.golden.ids import id_event_history, id_events_patch
from mdm.golden.stage import RunIds
from mdm.incremental.bases import SourceBase, prune_bases, save_bases
from mdm.incremental.carry import (
    CLUSTER_FINGERPRINT,
    CLUSTER_PAIRS_FILE,
    CLUSTER_RECORDS_FILE,
    EVENT_HASHES_FILE,
    GIANT_BLOCKS_FILE,
    GOLDEN_FILE,
    GOLDEN_FINGERPRINT,
    HASH_FILES,
    HISTORY_HASHES_FILE,
    LINEAGE_FILE,
    MATCH_FINGERPRINT,
    PAIRS_FILE,
    PREVIOUS_RID,
    RECORD_HASHES_FILE,
    REGISTRY_FILE,
    STALE_AS_OF,
    STALE_EVIDENCE_FILES,
    STALE_FINGERPRINT,
    STALE_OUTCOMES_FILE,
    CarryOver,
    save_carry,
)
from mdm.ingest import reuse
from mdm.ingest.stage import IngestReport
from mdm.match.delta import match_fingerprint
from mdm.match.learn import read_new_labels
from mdm.match.model import load_model
from mdm.publish.atomic import publish_master
from mdm.publish.pairs import parquet_sql
from mdm.publish.patch import PairsDiff, TablePatch, master_run, table_patch
from mdm.publish.protect import (
    protect_file,
    protect_golden,
    protect_lineage_file,
    protect_quarantine,
    protect_records,
    protected_golden,
)
from mdm.publish.quality import QUALITY_TABLE, quality_table, run_quality
from mdm.publish.snapshot import write_snapshot
from mdm.publish.tables import (
    archive_events_table,
    archived_customers_table,
    event_files,
    event_tables,
    match_learning_table,
    match_model_table,
    match_pairs,
    per_run,
    record_keys,
    review_queue_table,
    run_log_table,
    run_source_counts_table,
    scan_customer_xref,
    scan_golden_customers,
    scan_published_records,
    steward_links_table,
    tag_tables,
)
from mdm.publish.versions import keep_version, model_path
from mdm.publish.views import crm_views
from mdm.stale.delta import stale_fingerprint
from mdm.stale.flags import reverify_view_sql
from mdm.standardize.stage import STANDARDIZE_BYTES_PER_ROW
from mdm.state import StateStore
from mdm.state.archive import ArchiveChanges, archive_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishReport:
    tables: dict[str, int]
    """Rows of each table of the master."""
    golden_versions_opened: int
    golden_versions_closed: int
    master_version: str
    """How the published master was kept among the versions (mdm/publish/versions.py)."""
    review: QueueReport
    """The review queue: items today, items waiting, record pairs between their customers."""


def publish_stage(ctx: RunContext) -> PublishReport:
    files, phases = ctx.files, _Phases()
    # the big tables go from work file to work file, DuckDB loads them from there (under its memory
    # limit): only the records' keys and the small tables are frames
    records = record_keys(files)
    sensitive, cipher = ctx.config.dictionary.sensitive_fields, ctx.cipher
    customers = files.published_golden
    protected_golden(scan_golden_customers(ctx), sensitive, cipher).sink_parquet(customers)
    xref = files.published_xref
    scan_customer_xref(ctx, scan_published_records(files)).sink_parquet(xref)
    lineage = protect_lineage_file(files.lineage, files.dir / "published_lineage.parquet", sensitive, cipher)
    protected_records = protect_records(files.records, files.published_records, sensitive, cipher)
    phases.done("golden_customers, customer_xref, lineage and source_records to files")
    base = _base(ctx)
    diff = _pairs_diff(ctx) if base is not None else None
    pairs_table = match_pairs(ctx, diff)
    phases.done("match_pairs hashed, explained to files")
    patched: dict[str, tuple[Path | RecordFiles, list[str]]] = {
        "source_records": (protected_records, ["rid"]),
        "golden_attribute_lineage": (lineage, []),
        "customer_tags": (files.tag_table("customer_tags"), []),
    }
    patched |= {name: (path, []) for name, path in event_files(ctx).items()}
    carried = {"golden_attribute_lineage": _carried_lineage(ctx), "source_records": _carried_records(ctx)}
    patches = _patches(ctx, base, patched, carried)
    if diff is not None and ctx.carry is not None and (pairs := diff.patch(_last_keys(ctx.carry))) is not None:
        patches["match_pairs"] = pairs
    phases.done("the patches of the last master")
    ids = RunIds.read(files.ids)
    ingested = IngestReport.from_json(files.ingest_report.read_text())
    model = load_model(files.model)
    queue, review = review_queue_table(ctx, records)
    phases.done("review_queue")
    archive = ArchiveChanges.from_dict(json.loads(files.archive_changes.read_text()))
    with StateStore(ctx.state_dir) as store:
        tables: dict[str, Table] = {
            "golden_customers": parquet_sql(customers),
            "archived_customers": protect_golden(archived_customers_table(ctx), sensitive, cipher),
            "customer_xref": parquet_sql(xref),
            "source_records": protected_records.sql(exclude=["rid"]),
            "golden_attribute_lineage": parquet_sql(lineage),
            "match_pairs": pairs_table,
            "review_queue": queue,
            "match_model": match_model_table(ctx, model),
            "match_learning": match_learning_table(ctx),
            "blocking_giant_blocks": per_run(ctx, pl.read_parquet(files.giant_blocks)),
            "steward_links": steward_links_table(ctx, records),
            "quarantine": per_run(
                ctx, protect_quarantine(pl.read_parquet(files.quarantine), ctx.config.sensitive_columns, cipher)
            ),
            "id_events": lambda: id_event_history(store.id_events(), ctx.run_id, ids.events),
            "archive_events": archive_events_table(ctx, archive_events(store)),
            "run_log": run_log_table(ctx, store, _run_counts(ingested, ids, files.changes, archive)),
            "run_source_counts": run_source_counts_table(ctx, ingested),
            "field_profile": per_run(ctx, pl.read_parquet(files.field_profile)),
        }
        tables |= event_tables(ctx)
        tables |= tag_tables(ctx)
        # the last run's golden records' version hashes by their values (mdm/golden/history.py `_hashed`)
        known = _left_hashes(ctx.carry, HISTORY_HASHES_FILE)
        # the carry is the last published run's (load_carry), so its hashes are the store's current versions
        versions = prepare_history(
            store, ctx.run_id, pl.scan_parquet(customers), ctx.work_dir, known=known, stored=known
        )
        versions.hashes.write_parquet(files.history_hashes)
        tables |= versions.tables
        if base is not None:  # the histories from the last master's: this run's rows added, a few closed
            patches[HISTORY_TABLE] = versions.patch
            run_events = files.dir / "id_events_of_run.parquet"
            patches["id_events"] = id_events_patch(store.id_event_count(), ctx.run_id, ids.events, run_events)
        phases.done("golden history")
        quality = run_quality(files.records.values, pl.scan_parquet(xref), ctx.config.published_fields, ctx.run_id)
        tables[QUALITY_TABLE] = quality_table(store.quality_metrics(), quality)
        phases.done("quality")
        views, macros = crm_views(ctx.as_of)
        assignments = pl.read_parquet(files.assigned)  # the new and changed ids; read by the store in batches
        # the model as trained (before the stewards' labels moved it): later runs reuse it and apply the labels again
        trained = (
            (model.trained_at.isoformat(), load_model(files.model_trained).model_dump_json())
            if files.model_trained.exists()
            else None
        )
        labels = read_new_labels(files.new_labels)
        _leave_records(
            ctx, protected_records, lineage, ingested
        )  # for the next run, before the store says this run is published
        phases.done("records left for the next run")
        counts = publish_master(
            ctx.master_path,
            ctx.run_id,
            tables,
            views={"customers_to_reverify": reverify_view_sql("golden_customers")} | views,
            macros=versions.macros | macros,
            memory_limit=ctx.budget.duckdb_limit,
            base=base,
            patches=patches,
            before_swap=lambda: store.save_assignments(
                ctx.run_id,
                assignments,
                ids.new_ids,
                ids.next_number,
                trained_model=trained,
                events=ids.events,
                versions=versions.changes,
                quality=quality.drop("run_id").iter_rows(),
                labels=labels,
                archive=archive,
            ),
        )
    phases.done("the DuckDB file written, the store saved, the file swapped in")
    prune_bases(ctx.state_dir, ctx.run_id)  # this run is the last published: the bases before it are stale
    # the model beside the master, for `mdm explain` and for reading (the master holds its parameters too)
    model_file = model_path(ctx.master_path)
    tmp = model_file.with_suffix(".json.tmp")
    shutil.copyfile(files.model, tmp)
    os.replace(tmp, model_file)
    kept = keep_version(ctx.master_path, ctx.run_id, ctx.config.sources.keep_versions)
    snapshot = {"golden_customers": customers, "customer_xref": xref, "customer_tags": files.tag_table("customer_tags")}
    write_snapshot(ctx.master_path, ctx.run_id, snapshot)
    log.info("publish: %s (%d golden customers), kept as %s", ctx.master_path, counts["golden_customers"], kept)
    return PublishReport(counts, versions.opened, versions.closed, kept, review)


class _Phases:
    """Logs the seconds of each step of publish as it ends: where a large run spends its time."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def done(self, step: str) -> None:
        now = time.monotonic()
        log.info("publish: %s in %.1f s", step, now - self.last)
        self.last = now


def _base(ctx: RunContext) -> Path | None:
    """The last master, to start from, when this run is incremental and the master is the last
    published run's (mdm/publish/patch.py), else None."""
    carry = ctx.carry
    return ctx.master_path if carry is not None and master_run(ctx.master_path) == carry.run_id else None


def _patches(
    ctx: RunContext,
    base: Path | None,
    tables: dict[str, tuple[Path | RecordFiles, list[str]]],
    kept: Mapping[str, tuple[pl.DataFrame, Path | pl.LazyFrame] | None],
) -> dict[str, TablePatch | SqlPatch]:
    """The patches of the last master's tables `tables` (name -> its rows' file and the columns it
    does not publish; HASH_FILES' tables and the events_<name>) from `base`; either way each
    table's group hashes go to the work dir, for the next run (the event tables' to one file,
    EVENT_HASHES_FILE). `kept`: name -> the groups whose rows are the last run's and the file of the
    others' (table_patch), where known."""
    carry = ctx.carry
    left = carry if base is not None and carry is not None else None
    last_events = _left_hashes(left, EVENT_HASHES_FILE)
    patches: dict[str, TablePatch | SqlPatch] = {}
    events: list[pl.DataFrame] = []
    for name, (rows, exclude) in tables.items():
        if name in HASH_FILES:
            before = _left_hashes(left, HASH_FILES[name])
        else:
            before = None if last_events is None else last_events.filter(pl.col("table") == name).drop("table")
        patch, hashes = table_patch(name, rows, exclude, before, ctx.files.dir, kept.get(name))
        if name in HASH_FILES:
            hashes.write_parquet(ctx.files.dir / HASH_FILES[name])
        else:
            events.append(hashes.select(pl.lit(name).alias("table"), pl.all()))
        if patch is not None:
            patches[name] = patch
    held = pl.concat(events, how="vertical_relaxed") if events else pl.DataFrame(schema={"table": pl.String})
    held.write_parquet(ctx.files.dir / EVENT_HASHES_FILE)
    return patches


def _left_hashes(carry: CarryOver | None, name: str) -> pl.DataFrame | None:
    """The hashes the last run left in file `name` (one of LEFT_FILES), when it did (not a run of
    older code)."""
    path = carry.left(name) if carry is not None else None
    return pl.read_parquet(path) if path is not None and path.exists() else None


def _carried_lineage(ctx: RunContext) -> tuple[pl.DataFrame, Path] | None:
    """(the golden ids whose lineage rows are the last run's as it published them, the file of the
    other customers' lineage), when the golden stage carried customers over (mdm/golden/delta.py)
    and no value of the lineage is a token (tokens are made again under today's key), else None."""
    files = ctx.files
    if ctx.cipher is not None or not files.lineage_built.exists() or not files.unchanged_customers.exists():
        return None
    return pl.read_parquet(files.unchanged_customers), files.lineage_built


def _carried_records(ctx: RunContext) -> tuple[pl.DataFrame, pl.LazyFrame] | None:
    """(the keys and today's row numbers of the records whose source_records row is the last run's
    but for its row number: carried over unchanged (PREVIOUS_RID) under the same golden id; the
    other records' rows), in an incremental run whose records hold no tokens (tokens are made
    again under today's key) and whose other records' rows fit a batch of the memory budget (they
    are held; a night that changed most records hashes them all streamed), else None."""
    files, carry = ctx.files, ctx.carry
    if ctx.cipher is not None or carry is None:
        return None
    today = files.records.scan().select("rid", "source", "source_record_id", "row_number", "golden_id").collect()
    previous = pl.read_parquet(files.record_hashes, columns=["rid", PREVIOUS_RID])
    last = carried_golden_ids(carry).rename({"golden_id": "_last_golden_id"})
    same = (
        today.join(previous, on="rid", how="left", maintain_order="left")
        .join(last, on=PREVIOUS_RID, how="left", maintain_order="left")
        .select(pl.col("golden_id").eq(pl.col("_last_golden_id")).fill_null(False))
        .to_series()
    )
    others = today.filter(~same).select("rid", "golden_id")
    if others.height > ctx.budget.rows_per_partition(STANDARDIZE_BYTES_PER_ROW):
        log.info("publish: source_records: %d records changed or moved customer; every row hashed", others.height)
        return None
    # read once, from the standardized file alone (a filter of the two files side by side reads
    # every row of both), and held: they are few
    wanted = pl.col("rid").is_in(others["rid"].implode())
    rows = pl.scan_parquet(files.records.values).filter(wanted).collect()
    rows = rows.join(others, on="rid", how="left", maintain_order="left")  # golden_id last, as in the records
    log.info(
        "publish: source_records: %d records' hashes carried, %d records hashed",
        today.height - others.height,
        others.height,
    )
    return today.filter(same).select("source", "source_record_id", "row_number"), rows.lazy()


def _pairs_diff(ctx: RunContext) -> PairsDiff | None:
    """What finds match_pairs' patch while its rows are written (mdm/publish/patch.py)."""
    if ctx.carry is None:
        return None
    renumbered = pl.read_parquet(ctx.files.record_hashes, columns=["rid", PREVIOUS_RID])
    return PairsDiff.read(ctx.carry.left(HASH_FILES["match_pairs"]), renumbered, ctx.files.dir)


def _last_keys(carry: CarryOver) -> pl.LazyFrame:
    """The last run's records' keys by its rids: a carried record's rid is its row (PREVIOUS_RID)."""
    keys = pl.scan_parquet(carry.path).select("source", "source_record_id").with_row_index("rid")
    return keys.with_columns(pl.col("rid").cast(pl.Int64))


def _leave_records(ctx: RunContext, records: RecordFiles, lineage: Path, ingested: IngestReport) -> None:
    """What the next run carries over (mdm/incremental/carry.py): this run's standardized records
    with their golden ids (`records`, as source_records publishes them) and row hashes, its compared
    pairs, its clustering, and its golden records and lineage (`lineage` as published), sensitive
    values as tokens."""
    files, sensitive = ctx.files, ctx.config.dictionary.sensitive_fields
    hashes = files.carried_hashes
    pl.read_parquet(files.record_hashes).drop(PREVIOUS_RID).write_parquet(hashes)  # two numbers a record
    golden = protect_file(files.golden, files.dir / "carried_golden.parquet", sensitive, ctx.cipher)
    formats = {s.name: json.loads(files.formats(s.name).read_text()) for s in ctx.config.sources.sources}
    rules, fields = ctx.config.match_rules, ctx.config.published_fields
    left = {
        RECORD_HASHES_FILE: hashes,
        PAIRS_FILE: files.compared,
        GIANT_BLOCKS_FILE: files.giant_blocks,
        GOLDEN_FILE: golden,
        LINEAGE_FILE: lineage,
        CLUSTER_RECORDS_FILE: files.cluster_records,
        CLUSTER_PAIRS_FILE: files.cluster_pairs,
        HISTORY_HASHES_FILE: files.history_hashes,
        REGISTRY_FILE: files.registry,
    } | {name: files.dir / name for name in [*HASH_FILES.values(), EVENT_HASHES_FILE]}
    fingerprints = {
        MATCH_FINGERPRINT: match_fingerprint(rules),
        GOLDEN_FINGERPRINT: golden_fingerprint(ctx.config.survivorship_rules, fields),
        CLUSTER_FINGERPRINT: cluster_fingerprint(rules.cannot_link, ctx.config.dictionary.strong_ids),
    }
    evidence = {name: files.stale_evidence(a) for a, name in STALE_EVIDENCE_FILES.items()}
    evidence[STALE_OUTCOMES_FILE] = files.stale_outcomes
    if all(path.exists() for path in evidence.values()):  # the stale stage keeps them when it may (mdm/stale/delta.py)
        left |= evidence
        fingerprints |= {
            STALE_FINGERPRINT: stale_fingerprint(ctx.config.staleness_rules),
            STALE_AS_OF: ctx.as_of.isoformat(),
        }
    save_carry(ctx.state_dir, ctx.run_id, ctx.fingerprint, formats, records, left, fingerprints)
    if golden != files.golden:  # the tokens' copy (without a key, the file itself)
        golden.unlink(missing_ok=True)
    _leave_bases(ctx, formats, ingested)


def _leave_bases(ctx: RunContext, formats: dict[str, dict[str, str | None]], ingested: IngestReport) -> None:
    """Every person source's staged records, sensitive values as tokens: what the next run applies
    a delta extract to (mdm/incremental/bases.py). Full sources leave theirs too, so a source can
    move to delta extracts (or back after one full night) with its records in place. Beside them,
    what the next run needs to take over the ingest of a file that does not change (mdm/ingest/reuse.py)."""
    files, sensitive = ctx.files, ctx.config.dictionary.sensitive_fields
    staged, described = {}, {}
    for source in ctx.config.sources.sources:
        path, fields = files.staged(source.name), [f for f in sensitive if f in source.fields]
        if fields:
            path = protect_file(
                files.staged(source.name), files.dir / f"base_{source.name}.parquet", fields, ctx.cipher
            )
        staged[source.name] = path
        described[source.name] = SourceBase(source.staged_fields, formats[source.name])
    counts = {c.source: c for c in [*ingested.sources, *ingested.events]}
    taken, left = reuse.leave(ctx, counts, formats)
    keep = ctx.bases.run_id if ctx.bases else None
    save_bases(ctx.state_dir, ctx.run_id, staged, described, keep=keep, ingested=taken, files=left)


def _run_counts(ingested: IngestReport, ids: RunIds, changes: Path, archive: ArchiveChanges) -> dict[str, Any]:
    """The counts run_log shows for this run: rows, new golden ids, whether it was incremental
    with each source's new / changed / unchanged / deleted records, and the customers archived
    and brought back."""
    keys = ("rows_read", "rows_accepted", "rows_quarantined", "rows_deleted")
    mode: dict[str, Any] = json.loads(changes.read_text())
    kinds = [e.kind for e in archive.events]
    counts = {key: ingested.total(key) for key in keys} | {"new_golden_ids": ids.new_ids.len()} | mode
    return counts | {"archived": kinds.count("archived"), "unarchived": kinds.count("unarchived")}

"""The tags stage: resolve events to golden customers (tables events_<name>) and compute the tags
of tags.yaml as of the run's day, with the manual and survey tags of the durable store, for the
customers not archived; a broken tag is reported in tag_errors, never fails the run."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mdm.context import RunContext
from mdm.golden.ids import REVIVAL_EVENT
from mdm.golden.stage import RunIds
from mdm.publish.tables import archived_golden_ids
from mdm.stale.flags import RECORD_FLAG_COLUMNS
from mdm.state import StateStore
from mdm.tags.compute import compute_tags
from mdm.tags.stored import Split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagsReport:
    tags: int
    customer_tags: int
    by_status: dict[str, int]
    """Tag status (ok, stored, error, skipped...) -> tags."""
    errors: list[str]
    """One line per broken tag: name, line, the first line of the problem."""
    tags_file: str
    reviews: int
    not_published: dict[str, int]
    """Why stored tags were not published -> how many."""
    seconds: float


def tags_stage(ctx: RunContext) -> TagsReport:
    files, sources = ctx.files, ctx.config.sources
    work = files.dir / "tags"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    # the tables are joined by DuckDB from the work files, within its memory limit, never whole in memory
    tables: dict[str, pl.DataFrame | Path | str] = {
        "golden_customers": golden_customers_sql(ctx),
        "customer_xref": customer_xref_sql(ctx),
    }
    keys = files.records.scan().select(
        pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id"), "golden_id"
    )
    for event_source in sources.events:
        events = pl.scan_parquet(files.events(event_source.name))
        columns = events.collect_schema().names()
        resolved = events.join(keys, on=["person_source", "person_record_id"], how="left", maintain_order="left")
        resolved.select(
            "source",
            "row_number",
            "event_id",
            "golden_id",
            *[c for c in columns if c not in ("source", "row_number", "event_id")],
        ).sink_parquet(files.published_events(event_source.name))
        tables[f"events_{event_source.name}"] = files.published_events(event_source.name)
    run_events = RunIds.read(files.ids).events
    with StateStore(ctx.state_dir) as store:
        stored, retired = store.stored_tags(), dict(store.retired_ids())
        published = dict(store.published_runs().select("run_id", "published_at").iter_rows())
        history = store.id_events(kind="split")  # of the 450k events at 1M records, a few
    retired |= dict(run_events.filter(pl.col("kind") == "merged").select("old_id", "new_id").iter_rows())
    for revived in run_events.filter(REVIVAL_EVENT)["new_id"]:
        retired.pop(revived, None)
    splits = [Split(o, n, r, published.get(r)) for r, _, o, n, _ in history.iter_rows()]
    this_run = run_events.filter(pl.col("kind") == "split").select("old_id", "new_id").iter_rows()
    splits += [Split(o, n, ctx.run_id, None) for o, n in this_run]
    config = ctx.config.tags_config
    result = compute_tags(
        tables,
        config,
        ctx.as_of,
        event_sources={e.name for e in sources.events},
        stored=stored,
        retired=retired,
        splits=splits,
        archived=frozenset(archived_golden_ids(files).to_list()),
        work_dir=work,
        memory_limit=ctx.budget.duckdb_limit,
    )
    result.customer_tags.sink_parquet(files.tag_table("customer_tags"))
    shutil.rmtree(work)
    result.definitions.write_parquet(files.tag_table("tag_definitions"))
    result.errors.write_parquet(files.tag_table("tag_errors"))
    result.reviews.write_parquet(files.tag_table("tag_reviews"))
    report = TagsReport(
        tags=len(config.tags),
        customer_tags=result.customers,
        by_status=dict(result.definitions.group_by("status").len().sort("status").iter_rows()),
        errors=[
            f"{e['tag'] or '?'} (line {e['line']}): {e['problem'].splitlines()[0]}"
            for e in result.errors.iter_rows(named=True)
        ],
        tags_file=str(ctx.config.tags_path),
        reviews=result.reviews.height,
        not_published=result.not_published,
        seconds=result.seconds,
    )
    log.info("tags: %d customer tags from %d tags, %d errors", report.customer_tags, report.tags, len(report.errors))
    return report


def _text(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def golden_customers_sql(ctx: RunContext) -> str:
    """golden_customers (mdm/publish/tables.py golden_customers_table) as DuckDB's query of the work
    files: each golden record not archived, in the golden file's order, with its stale flags."""
    files = ctx.files
    return f"""
SELECT g.* EXCLUDE (file_row_number), s.* EXCLUDE (golden_id), {_text(ctx.run_id)} AS run_id
FROM read_parquet({_text(files.golden)}, file_row_number = true) AS g
LEFT JOIN read_parquet({_text(files.stale_golden)}) AS s ON s.golden_id = g.golden_id
WHERE g.golden_id NOT IN (SELECT golden_id FROM read_parquet({_text(files.archived)}) WHERE golden_id IS NOT NULL)
ORDER BY g.file_row_number
"""


def customer_xref_sql(ctx: RunContext) -> str:
    """customer_xref (mdm/publish/tables.py customer_xref_table) as DuckDB's query of the work files,
    in the records file's order."""
    files = ctx.files
    flags = ", ".join(f's."{c}"' for c in RECORD_FLAG_COLUMNS)
    return f"""
SELECT r.source, r.source_record_id, r.golden_id, r.row_number, r.trust, r.source_updated_at, {flags},
  r.golden_id IN (SELECT golden_id FROM read_parquet({_text(files.archived)}) WHERE golden_id IS NOT NULL)
    AS archived,
  {_text(ctx.run_id)} AS run_id
FROM ({files.records.sql(row_number=True)}) AS r
LEFT JOIN read_parquet({_text(files.stale_records)}) AS s
  ON s.source = r.source AND s.source_record_id = r.source_record_id
ORDER BY r.file_row_number
"""

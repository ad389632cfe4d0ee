"""The tags stage: resolve events to golden customers (tables events_<name>) and compute the tags
of tags.yaml as of the run's day, with the manual and survey tags of the durable store, for the
customers not archived; a broken tag is reported in tag_errors, never fails the run."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

from mdm.context import RunContext
from mdm.golden.ids import REVIVAL_EVENT
from mdm.golden.stage import RunIds
from mdm.publish.tables import archived_golden_ids, customer_xref_table, golden_customers_table, published_records
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
    records = published_records(files)
    keys = records.select(
        pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id"), "golden_id"
    )
    tables: dict[str, pl.DataFrame] = {
        "golden_customers": golden_customers_table(ctx),
        "customer_xref": customer_xref_table(ctx, records),
    }
    for event_source in sources.events:
        events = pl.read_parquet(files.events(event_source.name))
        resolved = events.join(keys, on=["person_source", "person_record_id"], how="left", maintain_order="left")
        resolved = resolved.select(
            "source",
            "row_number",
            "event_id",
            "golden_id",
            *[c for c in events.columns if c not in ("source", "row_number", "event_id")],
        )
        resolved.write_parquet(files.published_events(event_source.name))
        tables[f"events_{event_source.name}"] = resolved
    run_events = RunIds.read(files.ids).events
    with StateStore(ctx.state_dir) as store:
        stored, retired = store.stored_tags(), dict(store.retired_ids())
        published = dict(store.published_runs().select("run_id", "published_at").iter_rows())
        history = store.id_events().filter(pl.col("kind") == "split")
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
    )
    result.customer_tags.write_parquet(files.tag_table("customer_tags"))
    result.definitions.write_parquet(files.tag_table("tag_definitions"))
    result.errors.write_parquet(files.tag_table("tag_errors"))
    result.reviews.write_parquet(files.tag_table("tag_reviews"))
    report = TagsReport(
        tags=len(config.tags),
        customer_tags=result.customer_tags.height,
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

"""The nightly run: stages in the order data moves, each reading and writing files in a work dir.

`run_pipeline` is the one code path. The CLI calls it directly; the Prefect flow calls it with
`call` wrapping each stage in a task. Stages pass parquet files, not frames, between them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import polars as pl

from mdm import __version__
from mdm.cluster import PROFILE_COLUMNS, cluster_records, profiles_of
from mdm.cluster.review import UNDECIDED, review_queue
from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary, load_dictionary
from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules, load_match_rules
from mdm.config.sources import SourcesConfig, load_sources
from mdm.config.survivorship import SurvivorshipRules, load_survivorship_rules
from mdm.golden import assign_golden_ids, build_golden
from mdm.golden.history import prepare_history
from mdm.golden.ids import id_event_history
from mdm.golden.stale import (
    RECORD_FLAG_COLUMNS,
    StalenessRules,
    flag_stale,
    golden_values,
    reverify_view_sql,
    stale_by_months,
    stale_inputs,
)
from mdm.ingest import QUARANTINE_SCHEMA, IngestResult, ingest_source
from mdm.ingest.events import EventIngestResult, ingest_events, person_records
from mdm.match import block_pairs, load_model, save_model, score_pairs
from mdm.match.choose import choose_model
from mdm.match.comparisons import usable_comparisons
from mdm.match.score import compare_for_scoring
from mdm.publish import publish_master
from mdm.publish.pairs import RECORD_KEYS, explained_pairs, parquet_sql, with_record_ids
from mdm.publish.quality import QUALITY_TABLE, quality_table, run_quality
from mdm.publish.versions import keep_version
from mdm.publish.views import crm_views
from mdm.standardize import distinct_values, standardize_source, standardized_schema
from mdm.state import StateStore
from mdm.steward.apply import changed_link_outcomes, requeue_changed, run_links
from mdm.steward.fingerprint import FINGERPRINT_COLUMNS
from mdm.tags import TagsConfig, compute_tags, load_tags
from mdm.tags.stored import Split

STATE_DIRNAME = "state"
PAIR_FILE_COMPRESSION: Literal["lz4"] = "lz4"
"""The work files of millions of pairs (scored, pair_outcomes) live for one run: lz4 writes them
about twice as fast as the default zstd (9.3M scored pairs: 1.2 s, not 2.1 s) for a larger file."""
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


class PipelineError(RuntimeError):
    """The run failed; the previous master and the durable store are untouched."""


@dataclass
class RunContext:
    run_id: str
    sources_path: Path
    master_path: Path
    state_dir: Path
    as_of: dt.date
    work_dir: Path
    retrain: bool = False

    @cached_property
    def sources(self) -> SourcesConfig:
        return load_sources(self.sources_path, self.dictionary.names)

    @cached_property
    def dictionary(self) -> Dictionary:
        raw = load_sources(self.sources_path)
        return load_dictionary(raw.relative(raw.dictionary) if raw.dictionary else DEFAULT_DICTIONARY)

    @cached_property
    def rules_dir(self) -> Path:
        return self.sources.relative(self.sources.rules) if self.sources.rules else DEFAULT_RULES_DIR

    @cached_property
    def match_rules(self) -> MatchRules:
        return load_match_rules(self.rules_dir / "match.yaml")

    @cached_property
    def survivorship_path(self) -> Path:
        """The rules directory's survivorship.yaml, else the project's (a rules directory made for
        one benchmark may hold only match.yaml)."""
        own = self.rules_dir / "survivorship.yaml"
        return own if own.exists() else DEFAULT_RULES_DIR / "survivorship.yaml"

    @cached_property
    def survivorship_rules(self) -> SurvivorshipRules:
        rules = load_survivorship_rules(self.survivorship_path)
        rules.check_fields(self.survivorship_path, [f.name for f in self.dictionary.published_fields])
        return rules

    @cached_property
    def staleness_rules(self) -> StalenessRules:
        return self.survivorship_rules.staleness

    @cached_property
    def tags_path(self) -> Path:
        """sources.yaml's `tags:` file, else the rules directory's tags.yaml, else the project's."""
        if self.sources.tags:
            return self.sources.relative(self.sources.tags)
        own = self.rules_dir / "tags.yaml"
        return own if own.exists() else DEFAULT_RULES_DIR / "tags.yaml"

    @cached_property
    def tags_config(self) -> TagsConfig:
        """Every valid tag; problems of the others are reported by the run, not raised."""
        return load_tags(self.tags_path)

    def path(self, name: str) -> Path:
        return self.work_dir / name


@dataclass
class RunSummary:
    run_id: str
    master: str
    as_of: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- stages -----------------------------------------------------------------------------------


def ingest(ctx: RunContext) -> dict[str, Any]:
    """Read every source; staged rows and quarantined rows to parquet; counts per source."""
    counts = []
    quarantine = []
    persons = {}
    for source in ctx.sources.sources:
        result = ingest_source(ctx.sources, source, ctx.dictionary)
        result.staged.write_parquet(ctx.path(f"staged_{source.name}.parquet"))
        ctx.path(f"formats_{source.name}.json").write_text(json.dumps(result.formats))
        quarantine.append(result.quarantine)
        persons[source.name] = person_records(result.staged, result.quarantine)
        counts.append(_source_counts(source.name, source.kind, result))
    # events after every person source: an event names a person record, which must be accepted
    event_counts = []
    for event_source in ctx.sources.events:
        events = ingest_events(ctx.sources, event_source, persons[event_source.person.source])
        events.events.write_parquet(ctx.path(f"events_{event_source.name}.parquet"))
        quarantine.append(events.quarantine)
        event_counts.append(_source_counts(event_source.name, event_source.kind, events))
    rejected = pl.concat(quarantine)
    rejected.write_parquet(ctx.path("quarantine.parquet"))
    return {"sources": counts, "events": event_counts, "quarantine_reasons": reason_counts(rejected)}


def _source_counts(name: str, kind: str, result: IngestResult | EventIngestResult) -> dict[str, Any]:
    return {
        "source": name,
        "kind": kind,
        "rows_read": result.rows_read,
        "rows_accepted": result.rows_accepted,
        "rows_quarantined": result.rows_quarantined,
    }


def reason_counts(quarantine: pl.DataFrame) -> dict[str, int]:
    """How often each kind of reason occurs (quoted values and numbers masked), most frequent first."""
    kinds = quarantine.select(
        pl.col("reasons").explode().str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"\d+", "N").alias("reason")
    ).drop_nulls()
    counted = kinds.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return dict(counted.iter_rows())


def standardize(ctx: RunContext) -> dict[str, Any]:
    frames = []
    with distinct_values():  # a phone or e-mail seen in several sources is parsed once
        for source in ctx.sources.sources:
            staged = pl.read_parquet(ctx.path(f"staged_{source.name}.parquet"))
            formats = json.loads(ctx.path(f"formats_{source.name}.json").read_text())
            result = IngestResult(source.name, staged.height, staged, pl.DataFrame(schema=QUARANTINE_SCHEMA), formats)
            frames.append(standardize_source(result, source, ctx.dictionary, ctx.as_of))
    records = pl.concat(frames, how="vertical")
    standardized_schema(ctx.dictionary).validate(records)
    records = records.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    records.write_parquet(ctx.path("standardized.parquet"))
    profile = field_profile(records, [f.name for f in ctx.dictionary.published_fields])
    profile.write_parquet(ctx.path("field_profile.parquet"))
    flagged = profile.group_by("field").agg(pl.col("flagged").sum()).filter(pl.col("flagged") > 0)
    by_source: dict[str, dict[str, int]] = {}
    for source, name, n in profile.filter(pl.col("flagged") > 0).select("source", "field", "flagged").iter_rows():
        by_source.setdefault(name, {})[source] = n
    return {
        "records": records.height,
        "flagged_values": dict(sorted(flagged.iter_rows())),
        "flagged_by_source": dict(sorted(by_source.items())),
    }


def field_profile(records: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """Per source and field: records, values present, clean, flagged. What a steward reads
    before trusting a new source."""
    return (
        pl.concat(
            [
                records.group_by("source").agg(
                    pl.lit(name).alias("field"),
                    pl.len().alias("records"),
                    (pl.col(f"{name}_raw").str.strip_chars().str.len_chars() > 0).sum().alias("present"),
                    pl.col(name).is_not_null().sum().alias("clean"),
                    (pl.col(f"{name}_flags").list.len() > 0).sum().alias("flagged"),
                )
                for name in fields
            ]
        )
        .with_columns(pl.col("present", "clean", "flagged").cast(pl.Int64))
        .sort("source", "field")
    )


def match(ctx: RunContext) -> dict[str, Any]:
    """Block, score every candidate pair with the Fellegi-Sunter model, classify by the thresholds."""
    rules = ctx.match_rules
    wanted = {"rid"} | {c for b in rules.blocking for c in b.columns}
    wanted |= {c for comparison in rules.comparisons for c in comparison.required_columns}
    available = pl.read_parquet_schema(ctx.path("standardized.parquet"))
    records = pl.read_parquet(ctx.path("standardized.parquet"), columns=[c for c in available if c in wanted])
    blocked = block_pairs(records, rules.blocking, rules.max_block_size)
    with StateStore(ctx.state_dir) as store:
        stored = store.current_model()
    # the levels are compared once, for training (when this run trains) and scoring alike
    compared = compare_for_scoring(records, blocked.pairs, usable_comparisons(records.columns, rules.comparisons))
    model, origin = choose_model(records, blocked, rules, ctx.rules_dir, stored, ctx.retrain, compared)
    scored = score_pairs(
        records,
        blocked.pairs,
        model,
        threshold_match_probability=rules.threshold_match_probability,
        threshold_review_probability=rules.threshold_review_probability,
        compared=compared,
    )
    scored.write_parquet(ctx.path("scored.parquet"), compression=PAIR_FILE_COMPRESSION)
    save_model(model, ctx.path("model.json"))
    if origin == "trained":
        ctx.path("model.trained").touch()
    blocked.giant_blocks.write_parquet(ctx.path("giant_blocks.parquet"))
    classes = dict(
        scored.group_by("match_class").len().select(pl.col("match_class").cast(pl.String), "len").iter_rows()
    )
    return {
        "candidate_pairs": scored.height,
        "pairs_by_class": {c: classes.get(c, 0) for c in ("match", "review", "non_match")},
        "model": origin,
        "model_trained_at": model.trained_at.isoformat(),
        "blocking": [{k: v for k, v in r.items() if k != "largest_skipped"} for r in blocked.rules],
        "giant_blocks": blocked.giant_blocks.height,
    }


def _steward_links(ctx: RunContext, records: pl.DataFrame) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Steward decisions as must/cannot links; those whose records changed materially since the
    decision are held back (steward_changed.parquet, for publish) — see mdm/steward/apply.py."""
    links = run_links(ctx.state_dir, records)
    links.changed.write_parquet(ctx.path("steward_changed.parquet"))
    ctx.path("steward_applied.json").write_text(json.dumps(links.applied))
    return links.must, links.cannot


def cluster(ctx: RunContext) -> dict[str, Any]:
    """Join matched pairs, strongest first, unless a hard conflict or a steward forbids it."""
    available = pl.read_parquet_schema(ctx.path("standardized.parquet"))
    records = pl.read_parquet(
        ctx.path("standardized.parquet"),
        columns=[
            c
            for c in dict.fromkeys(("rid", "source", "source_record_id", *PROFILE_COLUMNS, *FINGERPRINT_COLUMNS))
            if c in available
        ],
    )
    scored = pl.read_parquet(ctx.path("scored.parquet"), columns=["left", "right", "match_probability", "match_class"])
    must, cannot = _steward_links(ctx, records)
    links = scored.filter(pl.col("match_class") == "match").sort(
        ["match_probability", "left", "right"], descending=[True, False, False]
    )
    review = scored.filter(pl.col("match_class") == "review")
    result = cluster_records(
        profiles_of(records),
        links,
        ctx.match_rules.cannot_link,
        must_link=must,
        cannot_link=cannot,
        review_pairs=review,
    )
    labels, outcomes, steward = result.labels, result.outcomes, result.steward
    clusters = pl.DataFrame({"rid": records["rid"], "cluster": labels})
    clusters.write_parquet(ctx.path("clusters.parquet"))
    linked = links.select("left", "right", pl.Series("outcome", outcomes, dtype=pl.String))
    reviewed = review.select("left", "right", pl.Series("outcome", result.review_outcomes, dtype=pl.String))
    others = scored.filter(pl.col("match_class") == "non_match").select(
        "left", "right", pl.lit("non_match").alias("outcome")
    )
    pl.concat([linked, reviewed, others]).write_parquet(
        ctx.path("pair_outcomes.parquet"), compression=PAIR_FILE_COMPRESSION
    )
    steward.write_parquet(ctx.path("steward_outcomes.parquet"))
    blocked = [o for o in outcomes if o.startswith("blocked")]
    return {
        "clusters": len(set(labels)),
        "merged_pairs": len(outcomes) - len(blocked),
        "blocked_pairs": len(blocked),
        "blocked_by_reason": {r: blocked.count(r) for r in sorted(set(blocked))},
        "steward_must_links": len(must),
        "steward_cannot_links": len(cannot),
    }


def golden(ctx: RunContext) -> dict[str, Any]:
    records = pl.read_parquet(ctx.path("standardized.parquet"))
    clusters = pl.read_parquet(ctx.path("clusters.parquet"))
    with StateStore(ctx.state_dir) as store:
        registry, next_number, retired = store.registry(), store.peek_next_numbers(), store.retired_ids()
    assignment = assign_golden_ids(records, clusters["cluster"].to_list(), registry, next_number, retired=retired)
    records = records.with_columns(pl.Series("golden_id", assignment.golden_ids, dtype=pl.String))
    fields = [f.name for f in ctx.dictionary.published_fields]
    ctx.survivorship_rules.check_fields(ctx.survivorship_path, fields, set(records.columns))
    customers, lineage = build_golden(records, ctx.survivorship_rules, fields)
    records.write_parquet(ctx.path("records.parquet"))
    customers.write_parquet(ctx.path("golden.parquet"))
    lineage.write_parquet(ctx.path("lineage.parquet"))
    ctx.path("ids.json").write_text(
        json.dumps({"new_ids": assignment.new_ids, "next_number": assignment.next_number, "events": assignment.events})
    )
    return {
        "golden_customers": customers.height,
        "duplicates_found": records.height - customers.height,
        "new_golden_ids": len(assignment.new_ids),
    }


def stale(ctx: RunContext) -> dict[str, Any]:
    """Last-confirmed date, freshness and stale flags of every contact value, as of ctx.as_of
    (mdm/golden/stale.py); flags beside the golden and the records, joined in by publish."""
    rules = ctx.staleness_rules
    records = stale_inputs(pl.scan_parquet(ctx.path("records.parquet")), rules)
    chosen = golden_values(
        pl.read_parquet(ctx.path("golden.parquet")), pl.read_parquet(ctx.path("lineage.parquet")), records, rules
    )
    golden_flags, record_flags = flag_stale(records, chosen, ctx.as_of, rules)
    golden_flags.write_parquet(ctx.path("stale_golden.parquet"))
    record_flags.write_parquet(ctx.path("stale_records.parquet"))
    return {
        "stale_records": int(record_flags["is_stale"].sum()),
        "stale_golden": {
            c.removesuffix("_is_stale"): int(golden_flags[c].sum())
            for c in golden_flags.columns
            if c.endswith("_is_stale")
        },
        "by_months_since_update": stale_by_months(records, record_flags, ctx.as_of),
    }


def _published_records(ctx: RunContext) -> pl.DataFrame:
    stale_keys = ["source", "source_record_id"]
    return pl.read_parquet(ctx.path("records.parquet"), columns=RECORD_KEYS).join(
        pl.read_parquet(ctx.path("stale_records.parquet")), on=stale_keys, how="left", maintain_order="left"
    )


def _published_customers(ctx: RunContext) -> pl.DataFrame:
    return (
        pl.read_parquet(ctx.path("golden.parquet"))
        .join(pl.read_parquet(ctx.path("stale_golden.parquet")), on="golden_id", how="left", maintain_order="left")
        .with_columns(pl.lit(ctx.run_id).alias("run_id"))
    )


def _published_xref(ctx: RunContext, records: pl.DataFrame) -> pl.DataFrame:
    return records.select(
        "source",
        "source_record_id",
        "golden_id",
        "row_number",
        "trust",
        "source_updated_at",
        *RECORD_FLAG_COLUMNS,
        pl.lit(ctx.run_id).alias("run_id"),
    )


def tags(ctx: RunContext) -> dict[str, Any]:
    """Resolve events to golden customers (tables events_<name>) and compute the tags of
    tags.yaml as of ctx.as_of, with the manual and survey tags of the durable store
    (mdm/tags/); a broken tag is reported in tag_errors, never fails the run."""
    records = _published_records(ctx)
    keys = records.select(
        pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id"), "golden_id"
    )
    tables: dict[str, pl.DataFrame] = {
        "golden_customers": _published_customers(ctx),
        "customer_xref": _published_xref(ctx, records),
    }
    for event_source in ctx.sources.events:
        events = pl.read_parquet(ctx.path(f"events_{event_source.name}.parquet"))
        resolved = events.join(keys, on=["person_source", "person_record_id"], how="left", maintain_order="left")
        resolved = resolved.select(
            "source",
            "row_number",
            "event_id",
            "golden_id",
            *[c for c in events.columns if c not in ("source", "row_number", "event_id")],
        )
        resolved.write_parquet(ctx.path(f"published_events_{event_source.name}.parquet"))
        tables[f"events_{event_source.name}"] = resolved
    run_events = json.loads(ctx.path("ids.json").read_text())["events"]
    with StateStore(ctx.state_dir) as store:
        stored, retired = store.stored_tags(), dict(store.retired_ids())
        published = dict(store.published_runs().select("run_id", "published_at").iter_rows())
        history = store.id_events().filter(pl.col("kind") == "split")
    retired |= {e["old_id"]: e["new_id"] for e in run_events if e["kind"] == "merged"}
    splits = [Split(o, n, r, published.get(r)) for r, _, o, n, _ in history.iter_rows()]
    splits += [Split(e["old_id"], e["new_id"], ctx.run_id, None) for e in run_events if e["kind"] == "split"]
    result = compute_tags(
        tables,
        ctx.tags_config,
        ctx.as_of,
        event_sources={e.name for e in ctx.sources.events},
        stored=stored,
        retired=retired,
        splits=splits,
    )
    result.customer_tags.write_parquet(ctx.path("customer_tags.parquet"))
    result.definitions.write_parquet(ctx.path("tag_definitions.parquet"))
    result.errors.write_parquet(ctx.path("tag_errors.parquet"))
    result.reviews.write_parquet(ctx.path("tag_reviews.parquet"))
    return {
        "tags": len(ctx.tags_config.tags),
        "customer_tags": result.customer_tags.height,
        "by_status": dict(result.definitions.group_by("status").len().sort("status").iter_rows()),
        "errors": [
            f"{e['tag'] or '?'} (line {e['line']}): {e['problem'].splitlines()[0]}"
            for e in result.errors.iter_rows(named=True)
        ],
        "tags_file": str(ctx.tags_path),
        "reviews": result.reviews.height,
        "not_published": result.not_published,
        "seconds": result.seconds,
    }


def publish(ctx: RunContext) -> dict[str, Any]:
    records = _published_records(ctx)
    customers = _published_customers(ctx)
    ids = json.loads(ctx.path("ids.json").read_text())
    pairs = explained_pairs(ctx.path("scored.parquet"), ctx.path("pair_outcomes.parquet"), ctx.path("records.parquet"))
    pairs.sink_parquet(ctx.path("match_pairs.parquet"))
    model = load_model(ctx.path("model.json"))
    decided = [(tuple(a), tuple(b), d) for a, b, d in json.loads(ctx.path("steward_applied.json").read_text())]
    changed = pl.read_parquet(ctx.path("steward_changed.parquet"))
    queue = requeue_changed(
        review_queue(pl.scan_parquet(ctx.path("match_pairs.parquet")).filter(UNDECIDED).collect(), decided),
        changed,
        pl.scan_parquet(ctx.path("match_pairs.parquet")),
        records,
    )
    xref = _published_xref(ctx, records)
    quarantine = pl.read_parquet(ctx.path("quarantine.parquet")).with_columns(pl.lit(ctx.run_id).alias("run_id"))
    ingested = json.loads(ctx.path("counts.json").read_text())
    source_counts = pl.DataFrame(
        [s | {"role": "person"} for s in ingested["sources"]] + [e | {"role": "events"} for e in ingested["events"]]
    ).with_columns(pl.lit(ctx.run_id).alias("run_id"))
    with StateStore(ctx.state_dir) as store:
        this_run = pl.col("run_id") == ctx.run_id
        history = pl.DataFrame(store.runs(), schema=RUN_LOG_SCHEMA).with_columns(
            pl.when(this_run).then(pl.lit("published")).otherwise("status").alias("status"),
            pl.when(this_run)
            .then(pl.lit(dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
            .otherwise("finished_at")
            .alias("finished_at"),
            pl.when(this_run)
            .then(pl.lit(json.dumps(_counts_from_files(ctx), sort_keys=True)))
            .otherwise("counts")
            .alias("counts"),
        )
        tables: dict[str, pl.DataFrame | str] = {
            "golden_customers": customers,
            "customer_xref": xref,
            "source_records": parquet_sql(ctx.path("records.parquet"), exclude=["rid"]),
            "golden_attribute_lineage": pl.read_parquet(ctx.path("lineage.parquet")),
            "match_pairs": parquet_sql(
                ctx.path("match_pairs.parquet"), order="match_probability DESC, left_source, left_record_id"
            ),
            "review_queue": queue,
            "match_model": model.parameters().with_columns(
                pl.lit(model.trained_at.isoformat()).alias("trained_at"),
                pl.lit(ctx.path("model.trained").exists()).alias("trained_this_run"),
                pl.lit(ctx.match_rules.threshold_match_probability).alias("threshold_match_probability"),
                pl.lit(ctx.match_rules.threshold_review_probability).alias("threshold_review_probability"),
                pl.lit(ctx.run_id).alias("run_id"),
            ),
            "blocking_giant_blocks": pl.read_parquet(ctx.path("giant_blocks.parquet")).with_columns(
                pl.lit(ctx.run_id).alias("run_id")
            ),
            "steward_links": pl.concat([steward_link_outcomes(ctx, records), changed_link_outcomes(changed)]),
            "quarantine": quarantine,
            "id_events": id_event_history(store.id_events(), ctx.run_id, ids["events"]),
            "run_log": history,
            "run_source_counts": source_counts,
            "field_profile": pl.read_parquet(ctx.path("field_profile.parquet")).with_columns(
                pl.lit(ctx.run_id).alias("run_id")
            ),
        }
        run_column = pl.lit(ctx.run_id).alias("run_id")
        tables |= {
            f"events_{e.name}": pl.read_parquet(ctx.path(f"published_events_{e.name}.parquet"))
            for e in ctx.sources.events
        }
        tables |= {
            "customer_tags": pl.read_parquet(ctx.path("customer_tags.parquet")),
            "tag_definitions": pl.read_parquet(ctx.path("tag_definitions.parquet")).with_columns(run_column),
            "tag_errors": pl.read_parquet(ctx.path("tag_errors.parquet")).with_columns(run_column),
            "tag_reviews": pl.read_parquet(ctx.path("tag_reviews.parquet")).with_columns(run_column),
        }
        versions = prepare_history(store, ctx.run_id, customers, ctx.work_dir)
        tables |= versions.tables
        fields = [f.name for f in ctx.dictionary.published_fields]
        quality = run_quality(ctx.path("records.parquet"), xref, fields, ctx.run_id)
        tables[QUALITY_TABLE] = quality_table(store.quality_metrics(), quality)
        views, macros = crm_views(ctx.as_of)
        assignments = list(records.select("source", "source_record_id", "golden_id").iter_rows())
        trained = (
            (model.trained_at.isoformat(), model.model_dump_json()) if ctx.path("model.trained").exists() else None
        )
        counts = publish_master(
            ctx.master_path,
            ctx.run_id,
            tables,
            views={"customers_to_reverify": reverify_view_sql("golden_customers")} | views,
            macros=versions.macros | macros,
            before_swap=lambda: store.save_assignments(
                ctx.run_id,
                assignments,
                ids["new_ids"],
                ids["next_number"],
                trained_model=trained,
                events=ids["events"],
                versions=versions.changes,
                quality=quality.drop("run_id").iter_rows(),
            ),
        )
    # the model beside the master, for `mdm explain` and for reading (the master holds its parameters too)
    model_file = ctx.master_path.with_suffix(".model.json")
    tmp = model_file.with_suffix(".json.tmp")
    shutil.copyfile(ctx.path("model.json"), tmp)
    os.replace(tmp, model_file)
    kept = keep_version(ctx.master_path, ctx.run_id, ctx.sources.keep_versions)
    return {
        "tables": counts,
        "golden_versions": {"opened": versions.opened, "closed": versions.closed},
        "master_version": kept,
    }


def steward_link_outcomes(ctx: RunContext, records: pl.DataFrame) -> pl.DataFrame:
    """Each steward "same" decision of this run by its records' source ids, and whether it was
    applied ("merged") or could not be ("blocked: steward: not the same" when it contradicts a
    steward's own "not the same")."""
    keys = records.lazy().select("rid", "source", "source_record_id")
    steward = pl.scan_parquet(ctx.path("steward_outcomes.parquet"))
    return (
        with_record_ids(steward, keys)
        .select("left_source", "left_record_id", "right_source", "right_record_id", "outcome")
        .collect()
    )


Stage = Callable[[RunContext], dict[str, Any]]
STAGES: list[tuple[str, Stage]] = [
    ("ingest", ingest),
    ("standardize", standardize),
    ("match", match),
    ("cluster", cluster),
    ("golden", golden),
    ("stale", stale),
    ("tags", tags),
    ("publish", publish),
]
StageCaller = Callable[[str, Stage, RunContext], dict[str, Any]]


def call_directly(name: str, stage: Stage, ctx: RunContext) -> dict[str, Any]:
    return stage(ctx)


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def run_pipeline(
    sources: Path | str,
    master: Path | str,
    state: Path | str | None = None,
    as_of: dt.date | None = None,
    call: StageCaller = call_directly,
    retrain: bool = False,
) -> RunSummary:
    """Run every stage and publish the master. On any failure the previous master and the
    durable store are left as they were, the run is recorded as failed, and PipelineError is raised."""
    started = time.monotonic()
    sources, master = Path(sources).resolve(), Path(master).resolve()
    state_dir = Path(state).resolve() if state else master.parent / STATE_DIRNAME
    run_id = new_run_id()
    as_of = as_of or dt.date.today()
    work_dir = master.parent / ".mdm-work" / run_id
    ctx = RunContext(run_id, sources, master, state_dir, as_of, work_dir, retrain)
    summary = RunSummary(run_id, str(master), as_of.isoformat())
    # config errors fail before any write (a broken tag does not: it is reported by the run)
    _ = ctx.sources, ctx.match_rules, ctx.survivorship_rules, ctx.staleness_rules, ctx.tags_config
    work_dir.mkdir(parents=True)
    with StateStore(state_dir) as store:
        store.start_run(
            run_id,
            code_version=code_version(),
            sources_path=str(sources),
            master_path=str(master),
            as_of=as_of.isoformat(),
        )
    try:
        for name, stage in STAGES:
            result = call(name, stage, ctx)
            summary.stages[name] = result
            if name == "ingest":
                summary.sources = result["sources"]
                ctx.path("counts.json").write_text(json.dumps(result))
            if name == "standardize":
                _check_accounting(summary)
    except BaseException as exc:
        with StateStore(state_dir) as store:
            store.finish_run(run_id, "failed", error="".join(traceback.format_exception_only(exc)).strip())
        raise PipelineError(
            f"run {run_id} failed in stage {name}: {exc}; the previous master is unchanged"
            f" (work files kept in {work_dir})"
        ) from exc
    summary.seconds = round(time.monotonic() - started, 2)
    with StateStore(state_dir) as store:
        store.finish_run(run_id, "published", counts=_counts(summary))
    shutil.rmtree(work_dir, ignore_errors=True)
    return summary


def _counts_from_files(ctx: RunContext) -> dict[str, Any]:
    sources = json.loads(ctx.path("counts.json").read_text())["sources"]
    golden_ids = json.loads(ctx.path("ids.json").read_text())
    return {key: sum(s[key] for s in sources) for key in ("rows_read", "rows_accepted", "rows_quarantined")} | {
        "new_golden_ids": len(golden_ids["new_ids"])
    }


def _check_accounting(summary: RunSummary) -> None:
    read = sum(s["rows_read"] for s in summary.sources)
    accepted = sum(s["rows_accepted"] for s in summary.sources)
    quarantined = sum(s["rows_quarantined"] for s in summary.sources)
    standardized = summary.stages["standardize"]["records"]
    if read != accepted + quarantined or standardized != accepted:
        raise RuntimeError(
            f"row accounting broken: read {read}, accepted {accepted}, quarantined {quarantined},"
            f" standardized {standardized}"
        )
    for e in summary.stages["ingest"].get("events", []):
        if e["rows_read"] != e["rows_accepted"] + e["rows_quarantined"]:
            raise RuntimeError(f"row accounting broken for event source {e['source']}: {e}")


def _counts(summary: RunSummary) -> dict[str, Any]:
    golden_stage = summary.stages.get("golden", {})
    return {
        "rows_read": sum(s["rows_read"] for s in summary.sources),
        "rows_accepted": sum(s["rows_accepted"] for s in summary.sources),
        "rows_quarantined": sum(s["rows_quarantined"] for s in summary.sources),
        "golden_customers": golden_stage.get("golden_customers"),
        "duplicates_found": golden_stage.get("duplicates_found"),
        "seconds": summary.seconds,
    }

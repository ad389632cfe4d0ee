"""The cluster stage: join matched pairs, strongest first, unless a hard conflict or a steward
forbids it; steward "same" decisions join too."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import polars as pl

from mdm.cluster.conflicts import Profile, profile_columns, profiles_of
from mdm.cluster.delta import Carried, carried_clustering, cluster_changed, cluster_fingerprint, leave_clustering
from mdm.cluster.partitioned import cluster_in_partitions, components, pairs_frame
from mdm.context import PAIR_FILE_COMPRESSION, RunContext
from mdm.incremental.carry import CLUSTER_FINGERPRINT, CLUSTER_PAIRS_FILE, CLUSTER_RECORDS_FILE, PREVIOUS_RID
from mdm.state.decisions import run_links
from mdm.state.fingerprint import FINGERPRINT_COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterReport:
    clusters: int
    merged_pairs: int
    blocked_pairs: int
    """Matched pairs a hard conflict kept apart."""
    blocked_by_reason: dict[str, int]
    steward_must_links: int
    steward_cannot_links: int
    outweighed_by_reason: dict[str, int] = field(default_factory=dict)
    """Merges a conflict would have stopped but a strong id both sides hold outweighed, by outcome."""
    carried_records: int = 0
    """Records whose clusters were carried over from the last run: none in a full run; in an
    incremental run those of the connected components that did not change (mdm/cluster/delta.py)."""


CLUSTER_BYTES_PER_RECORD = 1_000
"""Clustering's working set per record: its profile (Python objects), its place in the union-find,
and its links' outcomes (1.8 GiB for the whole stage at 1,980,183 records, bench/RESULTS.md)."""


def cluster_stage(ctx: RunContext) -> ClusterReport:
    files = ctx.files
    available = pl.read_parquet_schema(files.standardized)
    strong_ids = ctx.config.dictionary.strong_ids
    rids = pl.read_parquet(files.standardized, columns=["rid"])["rid"]
    # only the matched and review pairs in memory: the non-matches (most pairs) go from file to file
    scored = pl.scan_parquet(files.scored).select("left", "right", "match_probability", "match_class")
    # steward decisions as must/cannot links; those whose records changed materially since the
    # decision are held back (for publish to requeue), see mdm/state/decisions.py
    keyed = [c for c in dict.fromkeys(("rid", "source", "source_record_id", *FINGERPRINT_COLUMNS)) if c in available]
    steward_links = run_links(ctx.state_dir, pl.scan_parquet(files.standardized).select(keyed))
    steward_links.changed.write_parquet(files.steward_changed)
    files.steward_applied.write_text(json.dumps(steward_links.applied))
    must, cannot = steward_links.must, steward_links.cannot
    links = (
        scored.filter(pl.col("match_class") == "match")
        .collect()
        .sort(["match_probability", "left", "right"], descending=[True, False, False])
    )
    review = scored.filter(pl.col("match_class") == "review").collect()
    profiled = [c for c in profile_columns(strong_ids) if c in available]

    def read_profiles(wanted: pl.Series) -> list[Profile]:
        """The profiles of the records `wanted` (sorted rids: a rid is its record's row)."""
        scan = pl.scan_parquet(files.standardized).select("rid", *profiled)
        if wanted.len() < rids.len():
            scan = scan.filter(pl.col("rid").is_in(wanted.implode()))
        return profiles_of(scan.collect().sort("rid"), strong_ids)

    rules = ctx.config.match_rules.cannot_link
    edges = pl.concat([pairs_frame(links), pairs_frame(must)])
    component = components(edges["left"], edges["right"], rids.len())
    carried = _carried(ctx, component, links, must, cannot, review)
    if carried is None:
        result = cluster_in_partitions(
            read_profiles,
            rids.len(),
            links,
            rules,
            ctx.budget.partitions(rids.len(), CLUSTER_BYTES_PER_RECORD),
            must_link=must,
            cannot_link=cannot,
            review_pairs=review,
            component=component,
        )
    else:
        result = cluster_changed(
            read_profiles,
            links,
            rules,
            lambda records: ctx.budget.partitions(records, CLUSTER_BYTES_PER_RECORD),
            carried,
            must_link=must,
            cannot_link=cannot,
            review_pairs=review,
        )
    labels, outcomes = result.labels, result.outcomes
    pl.DataFrame({"rid": rids, "cluster": labels}).write_parquet(files.clusters)
    left_records, left_pairs = leave_clustering(
        component,
        pl.Series(labels, dtype=pl.Int64),
        pairs_frame(must),
        links,
        review,
        pairs_frame(cannot),
        pl.Series(outcomes, dtype=pl.String),
        pl.Series(result.review_outcomes, dtype=pl.String),
        result.steward["outcome"],
    )
    left_records.write_parquet(files.cluster_records)
    left_pairs.write_parquet(files.cluster_pairs)
    linked = links.select("left", "right", pl.Series("outcome", outcomes, dtype=pl.String))
    reviewed = review.select("left", "right", pl.Series("outcome", result.review_outcomes, dtype=pl.String))
    # a non-match's outcome is "non_match": only the others are written (a sixth of the pairs), in
    # the scored pairs' order (mdm/publish/pairs.py reads them by ranges of left rids)
    pl.concat([linked, reviewed]).sort("left", "right").write_parquet(
        files.pair_outcomes, compression=PAIR_FILE_COMPRESSION
    )
    result.steward.write_parquet(files.steward_outcomes)
    blocked = [o for o in outcomes if o.startswith("blocked")]
    outweighed = [o for o in outcomes if o.startswith("merged (")]
    report = ClusterReport(
        clusters=len(set(labels)),
        merged_pairs=len(outcomes) - len(blocked),
        blocked_pairs=len(blocked),
        blocked_by_reason={r: blocked.count(r) for r in sorted(set(blocked))},
        steward_must_links=len(must),
        steward_cannot_links=len(cannot),
        outweighed_by_reason={r: outweighed.count(r) for r in sorted(set(outweighed))},
        carried_records=int(carried.clean.sum()) if carried is not None else 0,
    )
    log.info("cluster: %d clusters, %d pairs merged, %d blocked", report.clusters, report.merged_pairs, len(blocked))
    return report


def _carried(
    ctx: RunContext,
    component: pl.Series,
    links: pl.DataFrame,
    must: list[tuple[int, int]],
    cannot: list[tuple[int, int]],
    review: pl.DataFrame,
) -> Carried | None:
    """What the clean components keep of the last run's clustering (mdm/cluster/delta.py), or None
    when this run clusters every component."""
    carry = ctx.carry
    fingerprint = cluster_fingerprint(ctx.config.match_rules.cannot_link, ctx.config.dictionary.strong_ids)
    if carry is None or not carry.usable(CLUSTER_FINGERPRINT, fingerprint, [CLUSTER_RECORDS_FILE, CLUSTER_PAIRS_FILE]):
        return None
    previous = pl.read_parquet(ctx.files.record_hashes, columns=["rid", PREVIOUS_RID]).sort("rid")[PREVIOUS_RID]
    return carried_clustering(
        previous,
        component,
        pairs_frame(must),
        links,
        review,
        pairs_frame(cannot),
        pl.read_parquet(carry.left(CLUSTER_RECORDS_FILE)),
        pl.read_parquet(carry.left(CLUSTER_PAIRS_FILE)),
    )

"""What a run reports: the typed report of each stage, and the text `mdm run` prints from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mdm.archive.stage import ArchiveReport
from mdm.cluster.stage import ClusterReport
from mdm.golden.stage import GoldenReport
from mdm.ingest.stage import IngestReport, SourceCounts
from mdm.match.stage import MatchReport
from mdm.publish.stage import PublishReport
from mdm.stale.stage import StaleReport
from mdm.standardize.stage import StandardizeReport
from mdm.tags.stage import TagsReport


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    master: str
    as_of: str
    seconds: float
    ingest: IngestReport
    standardize: StandardizeReport
    match: MatchReport
    cluster: ClusterReport
    golden: GoldenReport
    stale: StaleReport
    archive: ArchiveReport
    tags: TagsReport
    publish: PublishReport

    @property
    def sources(self) -> list[SourceCounts]:
        return self.ingest.sources

    def counts(self) -> dict[str, Any]:
        """The counts the durable store keeps with the run."""
        return {
            "rows_read": self.ingest.total("rows_read"),
            "rows_accepted": self.ingest.total("rows_accepted"),
            "rows_quarantined": self.ingest.total("rows_quarantined"),
            "rows_deleted": self.ingest.total("rows_deleted"),
            "golden_customers": self.golden.golden_customers,
            "duplicates_found": self.golden.duplicates_found,
            "archived_customers": self.archive.archived_customers,
            "archived": self.archive.archived,
            "unarchived": self.archive.unarchived,
            "seconds": self.seconds,
            "sources": {s.source: s.records for s in self.sources},
            "mode": self.standardize.mode,
            "changes": self.standardize.total_changes(),
            "candidate_pairs": self.match.candidate_pairs,
            "compared_pairs": self.match.compared_pairs,
            "golden_built": self.golden.built,
            "cluster_carried_records": self.cluster.carried_records,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _source_lines(summary: RunSummary) -> list[str]:
    """Rows read, accepted and quarantined per source; with a delta extract among them, also the
    rows that deleted a record and the records each source holds after the run."""
    delta = any(s.extract == "delta" for s in summary.sources)
    columns = [("read", "rows_read", 8), ("accepted", "rows_accepted", 10), ("quarantined", "rows_quarantined", 13)]
    if delta:
        columns += [("deleted", "rows_deleted", 9), ("records", "records", 9)]
    kind_width = 15 if delta else 9
    header = f"{'source':<12}{'kind':<{kind_width}}" + "".join(f"{name:>{w}}" for name, _, w in columns)
    lines = [header, "-" * len(header)]
    for s in summary.sources:
        kind = f"{s.kind} ({s.extract})" if delta else s.kind
        lines.append(f"{s.source:<12}{kind:<{kind_width}}" + "".join(f"{getattr(s, k):>{w}}" for _, k, w in columns))
    totals = "".join(f"{summary.ingest.total(k):>{w}}" for _, k, w in columns)
    lines += ["-" * len(header), f"{'total':<{12 + kind_width}}{totals}"]
    for e in summary.ingest.events:
        counts = "".join(f"{getattr(e, k):>{w}}" for _, k, w in columns[:3])
        lines.append(f"{e.source:<12}{e.kind:<{kind_width}}{counts}  (events, table events_{e.source})")
    return lines


def _change_lines(summary: RunSummary) -> list[str]:
    """Full or incremental, and what changed since the last published run."""
    report = summary.standardize
    if report.mode != "incremental":
        return ["full run: every record standardized (mdm run is incremental after a run of the same configuration)"]
    total = report.total_changes()
    per_source = "; ".join(
        f"{name} {c.new}/{c.changed}/{c.unchanged}/{c.deleted}" for name, c in report.changes.items()
    )
    golden = summary.golden
    return [
        f"incremental run: {total['new']} new, {total['changed']} changed, {total['unchanged']} unchanged (carried"
        f" over), {total['deleted']} deleted records; per source new/changed/unchanged/deleted: {per_source}",
        f"  golden records built: {golden.built} of {golden.golden_customers} (the others' records did not change)",
    ]


def format_summary(summary: RunSummary) -> str:
    lines = [
        f"run {summary.run_id} published {summary.master} in {summary.seconds} s (as of {summary.as_of})",
        "",
    ]
    lines += _source_lines(summary)
    lines.append("")
    lines += _change_lines(summary)
    lines.append(
        f"golden customers: {summary.golden.golden_customers}   duplicates found: {summary.golden.duplicates_found}"
        f" (records merged into another record's golden customer)"
    )
    lines += _match_lines(summary.match, summary.cluster, summary.publish.tables)
    lines += _review_lines(summary)
    lines += _stale_lines(summary.stale)
    lines += _archive_lines(summary.archive)
    lines += _tag_lines(summary.tags)
    reasons = summary.ingest.quarantine_reasons
    if reasons:
        lines.append("quarantined rows, by reason:")
        lines += [f"  {n:>6}  {reason}" for reason, n in reasons.items()]
    flagged = summary.standardize.flagged_values
    if flagged:
        lines.append("flagged values: " + ", ".join(f"{k} {v}" for k, v in sorted(flagged.items())))
        lines += _flag_table(summary.standardize.flagged_by_source, [s.source for s in summary.sources])
    return "\n".join(lines)


def _match_lines(match: MatchReport, cluster: ClusterReport, tables: dict[str, int]) -> list[str]:
    by_rule = ", ".join(f"{r['rule']} {r['new_pairs']}" for r in match.blocking if "new_pairs" in r)
    skipped = [f"{r['rule']} ({r['skipped']})" for r in match.blocking if "skipped" in r]
    classes = match.pairs_by_class
    carried = match.candidate_pairs - match.compared_pairs
    compared = f"{match.compared_pairs} compared in this run, {carried} carried over; " if carried > 0 else ""
    lines = [
        f"candidate pairs: {match.candidate_pairs} ({compared}new pairs per blocking rule: {by_rule})",
        f"match model: {match.model} (trained {match.model_trained_at})",
        f"scored: match {classes['match']} (merged {cluster.merged_pairs}, blocked by conflicts"
        f" {cluster.blocked_pairs}), review {classes['review']}, non-match {classes['non_match']}",
    ]
    if cluster.carried_records:
        lines.append(f"clusters of {cluster.carried_records} records carried over (their components did not change)")
    if match.giant_blocks:
        lines.append(f"oversized blocks skipped: {match.giant_blocks} (see table blocking_giant_blocks)")
    if skipped:
        lines.append("blocking rules skipped: " + ", ".join(skipped))
    lines += [f"  blocked {n}: {reason.removeprefix('blocked: ')}" for reason, n in cluster.blocked_by_reason.items()]
    lines += [f"  {reason.replace('merged', f'merged {n}', 1)}" for reason, n in cluster.outweighed_by_reason.items()]
    return lines


def _review_lines(summary: RunSummary) -> list[str]:
    """The review queue (items, what waits) and what the stewards' labels moved."""
    review, learning = summary.publish.review, summary.match.learning
    records = summary.standardize.records
    share = f"{review.waiting / records:.2%} of the records" if records else "no records"
    lines = [
        f"review queue: {review.items} items for the stewards (table review_queue, one per pair of golden"
        f" customers); {review.waiting} waiting in all ({share}) over {review.record_pairs} record pairs"
    ]
    if review.changed:
        lines.append(f"  decisions back in the queue because their records changed: {review.changed}")
    if learning.labels or learning.unusable:
        moved = f", most {learning.largest_move}" if learning.largest_move else ""
        lines.append(
            f"labels: {learning.labels} steward answers ({learning.same} same, {learning.not_same} not the same;"
            f" {learning.new} new this run): {learning.parameters_moved} m probabilities moved{moved};"
            f" thresholds match {learning.threshold_match_probability:.4f}, review"
            f" {learning.threshold_review_probability:.4f} from {learning.band_labels} labels between them"
            f" (table match_learning)"
        )
    if learning.unusable:
        lines.append(f"  labels not usable this run (records gone, levels of other comparisons): {learning.unusable}")
    return lines


STALE_COLUMNS = (("values", 8), ("predicted", 11), ("flagged", 9), ("checked", 9), ("observed", 10), ("expected", 10))


def _stale_lines(stale: StaleReport) -> list[str]:
    """Stale flags, and per bucket of months since a record's update the predicted share of stale
    contact values beside the share the master's evidence observed (mdm/stale/report.py)."""
    golden = ", ".join(f"{attribute} {n}" for attribute, n in stale.stale_golden.items())
    lines = [
        f"stale: {stale.stale_records} records; golden customers by attribute: {golden} (view customers_to_reverify)",
        "  contact values by months since the record's update: predicted stale, flagged; of those a newer record"
        " showed again, observed with another value beside the decay prior's expectation",
        f"  {'months':<8}" + "".join(f"{k:>{w}}" for k, w in STALE_COLUMNS),
    ]
    for row in stale.by_months_since_update:
        cells = "".join(
            f"{'-' if row[k] is None else (format(row[k], '.2f') if isinstance(row[k], float) else row[k]):>{w}}"
            for k, w in STALE_COLUMNS
        )
        lines.append(f"  {row['months']:<8}{cells}")
    return lines


def _archive_lines(archive: ArchiveReport) -> list[str]:
    """How many customers are archived, and what this run changed."""
    if archive.inactive_years is None and not archive.unarchived:
        return ["archive: off (archive.inactive_years: null in survivorship.yaml)"]
    policy = (
        f"no record updated and no event since {archive.inactive_since} ({archive.inactive_years} years)"
        if archive.inactive_years is not None
        else "off (archive.inactive_years: null)"
    )
    return [
        f"archive: {archive.archived_customers} in archived_customers ({policy});"
        f" this run archived {archive.archived}, brought back {archive.unarchived} (table archive_events)",
        "  customers without any date (never archived): "
        + ("not counted (no policy)" if archive.undated_customers is None else str(archive.undated_customers)),
    ]


def _tag_lines(tags: TagsReport) -> list[str]:
    """Tags computed, and every broken tag with its problem (the run goes on without it)."""
    status = ", ".join(f"{s} {n}" for s, n in tags.by_status.items())
    lines = [
        f"tags: {tags.tags} defined ({status}); {tags.customer_tags} customer tags in {tags.seconds} s"
        f" (table customer_tags, `mdm tags`)"
    ]
    if tags.errors:
        lines.append(f"  tag errors ({tags.tags_file}; table tag_errors has the fix; `mdm check` fails on them):")
        lines += [f"    {e}" for e in tags.errors]
    if tags.reviews:
        lines.append(f"  tags to review after merges and splits: {tags.reviews} (view pending_reviews)")
    lines += [f"  stored tags not published: {n} {reason}" for reason, n in tags.not_published.items()]
    return lines


def _flag_table(by_source: dict[str, dict[str, int]], sources: list[str]) -> list[str]:
    """Flagged values per field (rows) and source (columns): what to read before trusting a source."""
    if not by_source:
        return []
    width = max(8, *(len(s) + 2 for s in sources))
    lines = ["flagged values by source:", f"  {'field':<16}" + "".join(f"{s:>{width}}" for s in sources)]
    for name, counts in by_source.items():
        lines.append(f"  {name:<16}" + "".join(f"{counts.get(s, 0):>{width}}" for s in sources))
    return lines

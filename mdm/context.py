"""What one run is: its id, its paths, its as-of day, its configuration and its work files.

Every stage is a function `<stage>_stage(ctx: RunContext) -> <Stage>Report` in
`mdm/<stage>/stage.py`; stages hand data on as files in the run's work directory, each declared
once in `WorkFiles` with the stage that writes it and the stages that read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from mdm.budget import MemoryBudget
from mdm.config.project import ProjectConfig
from mdm.executor import LocalPartitions, Partitions
from mdm.files import RecordFiles
from mdm.incremental.bases import StagedBases
from mdm.incremental.carry import (
    HASH_FILES,
    HISTORY_HASHES_FILE,
    REGISTRY_FILE,
    STALE_EVIDENCE_FILES,
    STALE_OUTCOMES_FILE,
    CarryOver,
)
from mdm.sensitive import FieldCipher
from mdm.types import ContactAttribute

TagTable = Literal["customer_tags", "tag_definitions", "tag_errors", "tag_reviews"]
PAIR_FILE_COMPRESSION: Literal["lz4"] = "lz4"
"""The work files of millions of pairs (scored, pair_outcomes) live for one run: lz4 writes them
about twice as fast as the default zstd (9.3M scored pairs: 1.2 s, not 2.1 s) for a larger file.
So do standardize's batches, read once when the records file is written (990k records: 1.8 s, not
2.5 s, 154 MiB instead of 104)."""


@dataclass(frozen=True)
class WorkFiles:
    """The files stages hand on to later stages, in one run's work directory."""

    dir: Path

    # ingest ->
    def staged(self, source: str) -> Path:
        """One source's records as staged: its accepted rows, a delta extract applied to the last
        published run's (-> standardize; publish leaves it for the next run, mdm/incremental/bases.py)."""
        return self.dir / f"staged_{source}.parquet"

    def formats(self, source: str) -> Path:
        """The date formats ingest settled on per field of one source (-> standardize)."""
        return self.dir / f"formats_{source}.json"

    def events(self, source: str) -> Path:
        """One event source's accepted rows (-> archive, tags)."""
        return self.dir / f"events_{source}.parquet"

    @property
    def quarantine(self) -> Path:
        """Every rejected row with its reasons (-> publish)."""
        return self.dir / "quarantine.parquet"

    @property
    def ingest_digests(self) -> Path:
        """Each source's and event source's file SHA-256, null for a database (-> publish leaves it
        for the next run to take unchanged reads over, mdm/ingest/reuse.py)."""
        return self.dir / "ingest_digests.json"

    @property
    def ingest_report(self) -> Path:
        """Rows read, accepted and quarantined per source (-> publish: run_source_counts, run_log)."""
        return self.dir / "ingest_report.json"

    # standardize ->
    @property
    def standardized(self) -> Path:
        """Every accepted record with its clean values, keys and flags, numbered by `rid`
        (-> match, cluster, golden)."""
        return self.dir / "standardized.parquet"

    @property
    def field_profile(self) -> Path:
        """Per source and field: values present, clean, flagged (-> publish)."""
        return self.dir / "field_profile.parquet"

    # match ->
    @property
    def scored(self) -> Path:
        """Every candidate pair with its match probability and class (-> cluster, publish)."""
        return self.dir / "scored.parquet"

    @property
    def compared(self) -> Path:
        """Every candidate pair's comparison levels (match -> publish: left for the next run,
        mdm/match/delta.py)."""
        return self.dir / "compared.parquet"

    @property
    def model(self) -> Path:
        """The match model this run scored with (-> publish, copied beside the master)."""
        return self.dir / "model.json"

    @property
    def model_trained(self) -> Path:
        """Present when this run trained the model: the model as trained, before the stewards'
        labels moved it (-> publish stores it in the durable store)."""
        return self.dir / "model.trained"

    @property
    def thresholds(self) -> Path:
        """The match and review thresholds this run classified with: the rules', moved by the
        stewards' labels (-> publish: match_model, review_queue)."""
        return self.dir / "thresholds.json"

    @property
    def learning(self) -> Path:
        """What the stewards' labels changed in the model and the thresholds (-> publish: match_learning)."""
        return self.dir / "match_learning.parquet"

    @property
    def new_labels(self) -> Path:
        """The comparison levels of labels this run saw first (-> publish stores them)."""
        return self.dir / "new_labels.parquet"

    @property
    def giant_blocks(self) -> Path:
        """Blocks too large to pair, per rule (-> publish)."""
        return self.dir / "giant_blocks.parquet"

    # cluster ->
    @property
    def clusters(self) -> Path:
        """The cluster of every record by `rid` (-> golden)."""
        return self.dir / "clusters.parquet"

    @property
    def pair_outcomes(self) -> Path:
        """What clustering did with each scored pair of class match or review: merged, blocked and
        why, in order of left and right rid (-> publish; a non-match's outcome is "non_match")."""
        return self.dir / "pair_outcomes.parquet"

    @property
    def cluster_records(self) -> Path:
        """Each record's component and cluster label, as the next run reads them (-> publish leaves
        it; mdm/cluster/delta.py)."""
        return self.dir / "cluster_records.parquet"

    @property
    def cluster_pairs(self) -> Path:
        """Each must-link, link (with its rank in its component), pair to review and cannot-link with
        its outcome, as the next run reads them (-> publish leaves it; mdm/cluster/delta.py)."""
        return self.dir / "cluster_pairs.parquet"

    @property
    def steward_outcomes(self) -> Path:
        """Each steward "same" link and whether it was applied (-> publish)."""
        return self.dir / "steward_outcomes.parquet"

    @property
    def steward_changed(self) -> Path:
        """Steward decisions held back because their records changed since (-> publish)."""
        return self.dir / "steward_changed.parquet"

    @property
    def steward_applied(self) -> Path:
        """The steward decisions this run applied (-> publish keeps them out of the queue)."""
        return self.dir / "steward_applied.json"

    # golden ->
    @property
    def record_golden_ids(self) -> Path:
        """The golden id of each standardized record, in the standardized file's order."""
        return self.dir / "record_golden_ids.parquet"

    @property
    def records(self) -> RecordFiles:
        """Standardized records with their golden id (-> stale, archive, tags, publish): the
        standardized file beside the golden ids' file, read side by side."""
        return RecordFiles(self.standardized, self.record_golden_ids)

    @property
    def golden(self) -> Path:
        """One golden record per customer (-> stale, tags, publish)."""
        return self.dir / "golden.parquet"

    @property
    def lineage(self) -> Path:
        """Which source record gave each golden value (-> stale, publish)."""
        return self.dir / "lineage.parquet"

    @property
    def lineage_built(self) -> Path:
        """The lineage of the customers an incremental run built, the others' being the last run's
        (golden -> publish, which hashes only these to patch golden_attribute_lineage)."""
        return self.dir / "lineage_built.parquet"

    @property
    def unchanged_customers(self) -> Path:
        """`golden_id` of the customers whose records are all exactly the last run's, under the same
        id (-> stale, which carries their evidence); written by an incremental run only."""
        return self.dir / "unchanged_customers.parquet"

    @property
    def assigned(self) -> Path:
        """`source`, `source_record_id`, `golden_id` of the records whose golden id the registry
        does not hold yet (a new record, or one whose id changed) (-> publish, which saves only
        these: mdm/golden/stage.py)."""
        return self.dir / "assigned.parquet"

    @property
    def ids(self) -> Path:
        """The id events of this run (its new ids among them) and the next free number (-> archive,
        tags, publish; mdm/golden/stage.py, RunIds)."""
        return self.dir / "ids.parquet"

    # stale ->
    @property
    def stale_golden(self) -> Path:
        """Stale flags of each golden customer's chosen values (-> tags, publish)."""
        return self.dir / "stale_golden.parquet"

    @property
    def stale_records(self) -> Path:
        """Stale flags of each record's values (-> tags, publish)."""
        return self.dir / "stale_records.parquet"

    def stale_evidence(self, attribute: ContactAttribute) -> Path:
        """The evidence of each customer's values of a contact attribute (-> publish leaves it for
        the next run, mdm/stale/delta.py)."""
        return self.dir / STALE_EVIDENCE_FILES[attribute]

    @property
    def stale_outcomes(self) -> Path:
        """The contact outcomes that evidence was found from (-> publish leaves it for the next run)."""
        return self.dir / STALE_OUTCOMES_FILE

    # archive ->
    @property
    def archived(self) -> Path:
        """The golden customers archived after this run: golden_id, archived_run, archived_on,
        last_activity_on, last_activity, archive_reason (-> tags, publish)."""
        return self.dir / "archived.parquet"

    @property
    def archive_changes(self) -> Path:
        """Customers this run archives and brings back, as the store saves them (-> publish)."""
        return self.dir / "archive_changes.json"

    # tags ->
    def published_events(self, source: str) -> Path:
        """One event source's rows resolved to golden ids (-> publish: events_<source>)."""
        return self.dir / f"published_events_{source}.parquet"

    def tag_table(self, table: TagTable) -> Path:
        """The tag engine's tables (-> publish)."""
        return self.dir / f"{table}.parquet"

    # publish (its own)
    @property
    def match_pairs(self) -> Path:
        """Scored pairs explained by source record ids (publish's intermediate): a directory of
        slice files, numbered in order, each written before the next is built; read them all
        through `match_pairs_glob`. An incremental run that patches match_pairs writes them only
        when the table is written whole after all."""
        return self.dir / "match_pairs"

    @property
    def match_pairs_glob(self) -> str:
        """Every slice file of match_pairs, in order (polars and DuckDB both read the pattern)."""
        return str(self.match_pairs / "*.parquet")

    @property
    def review_pairs(self) -> Path:
        """The explained pairs the review queue reads: those between golden customers an undecided
        pair joins, and those of the steward decisions requeued (publish's intermediate): a
        directory of slice files."""
        return self.dir / "review_pairs"

    @property
    def match_pairs_hashes(self) -> Path:
        """`left`, `right` and a hash of each pair's row of match_pairs, in its order (publish's: the
        next run patches match_pairs by them, mdm/publish/patch.py `pairs_patch`)."""
        return self.dir / HASH_FILES["match_pairs"]

    @property
    def registry(self) -> Path:
        """The golden id registry as this run leaves it in the store (golden -> publish: left for
        the next run, mdm/incremental/carry.py REGISTRY_FILE)."""
        return self.dir / REGISTRY_FILE

    @property
    def history_hashes(self) -> Path:
        """`golden_id`, `row_hash`, `content` of each published golden record (publish's: the next
        run's history reuses the row hashes, mdm/golden/history.py `_hashed`)."""
        return self.dir / HISTORY_HASHES_FILE

    @property
    def published_golden(self) -> Path:
        """golden_customers as published, sensitive values as tokens (publish's intermediate)."""
        return self.dir / "published_golden.parquet"

    @property
    def published_xref(self) -> Path:
        """customer_xref as published (publish's intermediate)."""
        return self.dir / "published_xref.parquet"

    @property
    def changes(self) -> Path:
        """full or incremental, and each source's new / changed / unchanged / deleted records
        (standardize -> publish: run_log)."""
        return self.dir / "changes.json"

    @property
    def record_hashes(self) -> Path:
        """Each standardized record's source-row hash, by rid (standardize -> publish: the records
        carried over to the next run, mdm/incremental/carry.py)."""
        return self.dir / "record_hashes.parquet"

    @property
    def carried_hashes(self) -> Path:
        """`rid`, `record_hash` of the records carried to the next run, left beside them (publish's,
        mdm/incremental/carry.py RECORD_HASHES_FILE)."""
        return self.dir / "carried_hashes.parquet"

    @property
    def published_records(self) -> Path:
        """records with the sensitive fields' values as tokens: what source_records publishes
        (publish's intermediate; mdm/publish/protect.py)."""
        return self.dir / "published_records.parquet"


@dataclass
class RunContext:
    """One run: what every stage is given."""

    run_id: str
    master_path: Path
    state_dir: Path
    as_of: dt.date
    work_dir: Path
    config: ProjectConfig
    retrain: bool = False
    allow_shrink: frozenset[str] = frozenset()
    """Sources whose rows may fall by more than their max_shrink in this run (`--allow-shrink`)."""
    cipher: FieldCipher | None = None
    """Encrypts the sensitive fields' values the run publishes; None when no source maps one."""
    carry: CarryOver | None = None
    """The last published run's standardized records, when this run is incremental (mdm/incremental/)."""
    bases: StagedBases | None = None
    """Each source's staged records as the last published run left them: what a delta extract is
    applied to (mdm/incremental/bases.py); used whatever the configuration fingerprint."""
    fingerprint: str = ""
    """What the standardized records depend on besides the records (mdm/incremental/carry.py)."""
    partitions: Partitions = field(default_factory=LocalPartitions)
    """Where the standardize batches and the pairs' comparison slices run (mdm/executor.py)."""
    budget: MemoryBudget = field(default_factory=lambda: MemoryBudget.of(None))
    """The memory budget the stages' partitions are sized by (mdm/budget.py)."""

    @property
    def files(self) -> WorkFiles:
        return WorkFiles(self.work_dir)

    def run_column(self) -> pl.Expr:
        """This run's id as a `run_id` column, on every table the master keeps per run."""
        return pl.lit(self.run_id).alias("run_id")

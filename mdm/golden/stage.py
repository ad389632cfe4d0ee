"""The golden stage: stable golden ids for the clusters, one golden record per customer by the
survivorship rules, and the lineage of every golden value."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mdm.budget import MemoryBudget
from mdm.context import RunContext
from mdm.files import RecordFiles, join_parts
from mdm.golden.delta import CarriedGolden, carried_golden_ids, golden_fingerprint, unchanged_customers
from mdm.golden.ids import EVENT_SCHEMA, assign_golden_ids, new_ids
from mdm.golden.survivorship import build_golden, golden_inputs
from mdm.incremental.carry import GOLDEN_FILE, GOLDEN_FINGERPRINT, LINEAGE_FILE, PREVIOUS_RID, REGISTRY_FILE
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
    """What this run does to the golden id registry, saved by publish (work file `ids`): a parquet
    file of the id events, the next free number in its key-value metadata. The new ids are the
    events that hand one out (mdm/golden/ids.py, NEW_ID_EVENT), so they are not written twice (as
    JSON, every id and event came to 238 MB at 5M records)."""

    next_number: int
    events: pl.DataFrame
    """Id events (created, split, merged, retired): EVENT_SCHEMA, the store's id_events without run_id."""

    @property
    def new_ids(self) -> pl.Series:
        return new_ids(self.events)

    def write(self, path: Path) -> None:
        self.events.write_parquet(path, metadata={NEXT_NUMBER_KEY: str(self.next_number)})

    @classmethod
    def read(cls, path: Path) -> RunIds:
        next_number = int(pl.read_parquet_metadata(path)[NEXT_NUMBER_KEY])
        return cls(next_number, pl.read_parquet(path).cast(EVENT_SCHEMA))  # type: ignore[arg-type]


NEXT_NUMBER_KEY = "mdm.next_golden_number"


GOLDEN_BYTES_PER_RECORD = 3_400
"""The golden build's working set per record: the record's columns and the survivorship rules'
candidates, ranks and lineage rows (the stage peaked at 3,386 MiB building 990,235 records in one
partition, bench/RESULTS.md; at 2,500 bytes, 4,948,210 records in four partitions peaked at 7,678)."""


GOLDEN_WORKER_BYTES_PER_RECORD = 7_500
"""The same on a Dask worker, which also holds the partition as it arrived: a worker building 250k
records' golden records reached 1.75 GiB (bench/RESULTS.md)."""


def golden_stage(ctx: RunContext) -> GoldenReport:
    files, fields = ctx.files, ctx.config.published_fields
    keys = pl.read_parquet(files.standardized, columns=["rid", "source", "source_record_id"])
    clusters = pl.read_parquet(files.clusters)
    with StateStore(ctx.state_dir) as store:
        registry, next_number, retired = _registry(ctx, store), store.peek_next_numbers(), store.retired_ids()
    assignment = assign_golden_ids(keys, clusters["cluster"], registry, next_number, retired=retired)
    ids = keys.select("rid").with_columns(assignment.golden_ids.alias("golden_id"))
    # the registry is saved by its changes: on a night of 1% changed records, an upsert of every
    # record's id was 5.7 of the 53 s publish took at 1M records (bench/RESULTS.md)
    assigned = (
        keys.select("source", "source_record_id")
        .with_columns(ids["golden_id"])
        .join(registry, on=["source", "source_record_id", "golden_id"], how="anti", maintain_order="left")
    )
    assigned.write_parquet(files.assigned)
    # the registry as the store will hold it once the run is published (save_assignments upserts these)
    kept = registry.join(assigned, on=["source", "source_record_id"], how="anti")
    pl.concat([kept, assigned.select(kept.columns)]).write_parquet(files.registry)
    del keys, clusters, registry, kept
    rules = ctx.config.survivorship_rules
    rules.check_fields(ctx.config.survivorship_path, fields, {*pl.read_parquet_schema(files.standardized), "golden_id"})
    # the records' golden ids beside the standardized file (mdm/files.py RecordFiles): `ids` has
    # its rows in its order; each partition reads back its own customers' records
    RecordFiles.write_ids(files.standardized, ids["golden_id"], files.records.golden_ids)
    unchanged = _unchanged(ctx, ids)
    if unchanged is not None:  # the stale stage carries these customers' evidence (mdm/stale/delta.py)
        unchanged.to_frame().write_parquet(files.unchanged_customers)
    carried = _carried_golden(ctx, unchanged)
    to_build = ids if carried is None else ids.filter(~pl.col("golden_id").is_in(carried.golden["golden_id"].implode()))
    golden_parts, lineage_parts, built = _build_in_partitions(ctx, to_build)
    if carried is None:  # in golden id order, partition by partition
        join_parts(golden_parts, files.golden)
        join_parts(lineage_parts, files.lineage)
        customers = built
    else:
        log.info("golden (incremental): %d customers built, %d carried over", built, carried.golden.height)
        fresh = pl.concat([pl.scan_parquet(p) for p in golden_parts]).collect()
        pl.concat([carried.golden.select(fresh.columns), fresh]).sort("golden_id").write_parquet(files.golden)
        customers = built + carried.golden.height
        join_parts(lineage_parts, files.lineage_built)
        # the carried lineage read from the last run's file as it is written
        pl.concat([carried.lineage, pl.scan_parquet(files.lineage_built)]).sink_parquet(files.lineage)
        for part in golden_parts:
            part.unlink()
    RunIds(assignment.next_number, assignment.events).write(files.ids)
    new = assignment.new_ids.len()
    log.info("golden: %d customers from %d records, %d new ids", customers, ids.height, new)
    return GoldenReport(customers, ids.height - customers, new, built)


def _build_in_partitions(ctx: RunContext, to_build: pl.DataFrame) -> tuple[list[Path], list[Path], int]:
    """The golden records of the customers of `to_build` (`rid`, `golden_id`), built in as many
    partitions of consecutive golden ids as the memory budget asks (mdm/budget.py), each reading
    its records from the records file and writing its golden records and lineage to files of its
    own; (the golden record files, in golden id order; the lineage files; the customers built). A
    golden record depends on its own records only, so the partitions change nothing. The builds
    go through the run's executor (mdm/executor.py), as many at once as it has workers, each
    partition that much smaller: on Dask, the records of a wave are read here and built there."""
    files, rules, fields = ctx.files, ctx.config.survivorship_rules, ctx.config.published_fields
    golden_ids = to_build["golden_id"].unique().sort()
    columns = golden_inputs(rules, files.records.columns())
    at_once, worker_bytes = ctx.partitions.workers, ctx.partitions.worker_bytes
    count = ctx.budget.partitions(to_build.height, GOLDEN_BYTES_PER_RECORD) * at_once
    if worker_bytes is not None:  # and small enough for a worker's own limit
        count = max(count, MemoryBudget(worker_bytes).partitions(to_build.height, GOLDEN_WORKER_BYTES_PER_RECORD))
    count = min(count, max(golden_ids.len(), 1))
    edges = [round(i * golden_ids.len() / count) for i in range(count + 1)]
    ranges = list(enumerate(itertools.pairwise(edges)))
    golden_parts, lineage_parts, built = [], [], 0
    for first in range(0, count, at_once):
        wave = ranges[first : first + at_once]
        inputs = [
            files.records.scan()
            .select(columns)
            .join(mine.to_frame().lazy(), on="golden_id", how="semi", maintain_order="left")
            .collect()
            for mine in (golden_ids.slice(start, end - start) for _, (start, end) in wave)
        ]
        results = ctx.partitions.map(build_golden, inputs, rules=rules, fields=fields)
        del inputs
        for (number, _), (customers, lineage) in zip(wave, results, strict=True):
            built += customers.height
            golden_parts.append(files.dir / f"golden_{number}.parquet")
            customers.write_parquet(golden_parts[-1])
            lineage_parts.append(files.dir / f"lineage_{number}.parquet")
            lineage.write_parquet(lineage_parts[-1])
        del results
    if count > 1:
        log.info("golden: %d customers built in %d partitions", golden_ids.len(), count)
    return golden_parts, lineage_parts, built


def _registry(ctx: RunContext, store: StateStore) -> pl.DataFrame:
    """The store's golden id registry: read from the copy the last run left (mdm/incremental/carry.py
    REGISTRY_FILE) when the store says that run wrote it last, else from the store."""
    carry = ctx.carry
    if carry is not None and carry.left(REGISTRY_FILE).exists() and store.registry_run() == carry.run_id:
        return pl.read_parquet(carry.left(REGISTRY_FILE))
    return store.registry()


def _unchanged(ctx: RunContext, ids: pl.DataFrame) -> pl.Series | None:
    """The golden ids whose records are all exactly the last run's, under the same id
    (mdm/golden/delta.py), or None in a full run."""
    if ctx.carry is None:
        return None
    previous = pl.read_parquet(ctx.files.record_hashes, columns=["rid", PREVIOUS_RID])
    return unchanged_customers(ids, previous, carried_golden_ids(ctx.carry))


def _carried_golden(ctx: RunContext, unchanged: pl.Series | None) -> CarriedGolden | None:
    """The unchanged customers' golden records from the last run (mdm/golden/delta.py), or None when
    this run builds every golden record."""
    carry, fields = ctx.carry, ctx.config.published_fields
    fingerprint = golden_fingerprint(ctx.config.survivorship_rules, fields)
    if (
        carry is None
        or unchanged is None
        or not carry.usable(GOLDEN_FINGERPRINT, fingerprint, [GOLDEN_FILE, LINEAGE_FILE])
    ):
        return None
    return CarriedGolden.read(carry, unchanged, ctx.config.dictionary.sensitive_fields, ctx.cipher)

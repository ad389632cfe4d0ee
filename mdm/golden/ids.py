"""Stable golden ids: a cluster keeps the id most of its records had after the last run; ids are
never handed to other customers, a customer whose records come back after it was retired gets its
own id back, and every change is an id event (created, split, merged, retired).

The rules for splits, merges and returning records: docs/architecture.md, section "mdm/golden/ids.py".
Everything is columnar (joins and group-bys over the records, the registry and the clusters' votes):
at 5M records a dict or a Counter per record cost gigabytes. Only the clusters that want an id another
cluster wants too are served one at a time, in a Python loop over their few candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mdm.duck import SqlPatch
from mdm.state.store import ID_DIGITS, ID_PREFIX
from mdm.types import GoldenId

ID_EVENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.String,
    "kind": pl.String,
    "old_id": pl.String,
    "new_id": pl.String,
    "reason": pl.String,
}
EVENT_SCHEMA = {k: v for k, v in ID_EVENT_SCHEMA.items() if k != "run_id"}
"""One run's id events, before the run id is added (IdAssignment.events)."""

NEW_ID_EVENT = (pl.col("kind") == "split") | ((pl.col("kind") == "created") & pl.col("old_id").is_null())
"""The events that hand out a new id (a revival is `created` with old_id = new_id): a run's new ids
are the new_id of these, in order, so they are never stored twice."""

REVIVAL_EVENT = (pl.col("kind") == "created") & (pl.col("old_id") == pl.col("new_id"))
"""A customer retired because its records were gone, active again: its records are back."""


@dataclass(frozen=True)
class IdAssignment:
    golden_ids: pl.Series
    """per record, in input order (String)"""
    next_number: int
    events: pl.DataFrame
    """EVENT_SCHEMA: new ids and revivals in the order clusters were served, then merges and
    retirements, each by old id"""

    @property
    def new_ids(self) -> pl.Series:
        """The ids this run hands out, in the order it numbered them."""
        return new_ids(self.events)


def new_ids(events: pl.DataFrame) -> pl.Series:
    """The new ids of a run's id events (NEW_ID_EVENT), in order."""
    return events.filter(NEW_ID_EVENT)["new_id"]


def resolve_retired(golden_id: GoldenId, retired: Mapping[GoldenId, GoldenId | None]) -> GoldenId | None:
    """The active id `golden_id` stands for: itself if active, else the end of its merged_into
    chain; None when the chain ends in an id retired without successor (its records were gone)."""
    seen: list[GoldenId] = []
    current: GoldenId | None = golden_id
    while current is not None and current in retired:
        if current in seen:
            raise ValueError(f"merged_into pointers form a cycle: {' -> '.join([*seen, current])}; repair golden_ids")
        seen.append(current)
        current = retired[current]
    return current


def revivable(golden_id: GoldenId, retired: Mapping[GoldenId, GoldenId | None]) -> GoldenId | None:
    """The id retired without successor that `golden_id`'s merged_into chain ends in, if it does:
    the customer whose records came back (a source left out of one run), who gets it again."""
    if resolve_retired(golden_id, retired) is not None:
        return None
    current = golden_id
    while (into := retired.get(current)) is not None:
        current = into
    return current


def assign_golden_ids(
    records: pl.DataFrame,
    labels: pl.Series | Sequence[int],
    registry: pl.DataFrame,
    next_number: int,
    *,
    retired: Mapping[GoldenId, GoldenId | None],
) -> IdAssignment:
    """records: `source`, `source_record_id` in the order of `labels` (one cluster label each).

    registry: `source`, `source_record_id`, `golden_id`: the id each record had when last seen
    (absent records included; StateStore.registry). retired: each retired id -> the id it was
    merged into, or None. Ids at or above `next_number` must not be in the registry (the store's
    counter is past every id it handed out). A pure function: the store is read before and written
    after (`StateStore.save_assignments`).

    Clusters are served largest first (then by label); each takes the first of its previous ids,
    ranked active before revivable, then by votes (descending), then by id, that no cluster served
    before took; a cluster left without one gets a new id, numbered in serving order.
    """
    label = pl.Series("label", labels).cast(pl.Int64)
    if label.len() != records.height:
        raise ValueError(f"{records.height} records but {label.len()} cluster labels")
    retired_ids = pl.Series("golden_id", list(retired), dtype=pl.String)
    votes = _votes(records, label, registry, retired, retired_ids)
    clusters = (
        votes.group_by("label")
        .len("size")
        .sort(["size", "label"], descending=[True, False])
        .select(pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"), "label")
    )
    candidates = _ranked_candidates(votes, clusters, retired_ids)
    served, splits = _serve(candidates)
    chosen = _number_new_ids(clusters, served, next_number)
    events = pl.concat(
        [
            _cluster_events(chosen, candidates, splits),
            _merged_events(candidates, chosen, retired_ids),
            _retired_events(registry, candidates, retired_ids),
        ]
    )
    golden_ids = votes.select("label").join(chosen, on="label", how="left", maintain_order="left")["golden_id"]
    return IdAssignment(golden_ids, next_number + int(chosen["new"].sum()), events)


def _votes(
    records: pl.DataFrame,
    label: pl.Series,
    registry: pl.DataFrame,
    retired: Mapping[GoldenId, GoldenId | None],
    retired_ids: pl.Series,
) -> pl.DataFrame:
    """`label`, `vote` per record in input order: the active (or revivable) id its previous id
    stands for, null for a record the registry has not seen. The retired chains are followed once
    per distinct retired id the registry holds (retired ids are few)."""
    previous = registry["golden_id"].filter(registry["golden_id"].is_in(retired_ids.implode())).unique()
    resolved = {g: resolve_retired(g, retired) or revivable(g, retired) for g in previous.to_list()}
    # streamed: the eager join held twice the memory (1.1 GiB against 0.45 at 5M records)
    return (
        records.select("source", "source_record_id")
        .with_columns(label)
        .lazy()
        .join(
            registry.lazy().select("source", "source_record_id", pl.col("golden_id").alias("vote")),
            on=["source", "source_record_id"],
            how="left",
            maintain_order="left",
        )
        .select("label", pl.col("vote").replace(resolved) if resolved else pl.col("vote"))
        .collect(engine="streaming")
    )


def _ranked_candidates(votes: pl.DataFrame, clusters: pl.DataFrame, retired_ids: pl.Series) -> pl.DataFrame:
    """One row per cluster and previous id its records vote for: `pos` (serving order), `label`,
    `vote`, `votes`, `revival` (a retired id), `rank` in the cluster (active first, then votes
    descending, then id), `contested` (another cluster wants it too) and `free` (the rank of the
    cluster's first uncontested candidate: nobody else can take that one, so it is never claimed)."""
    return (
        votes.drop_nulls("vote")
        .group_by("label", "vote")
        .len("votes")
        .join(clusters, on="label")
        .with_columns(pl.col("vote").is_in(retired_ids.implode()).alias("revival"))
        .sort(["pos", "revival", "votes", "vote"], descending=[False, False, True, False])
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("pos").alias("rank"),
            (pl.len().over("vote") > 1).alias("contested"),
        )
        .with_columns(pl.col("rank").filter(~pl.col("contested")).min().over("pos").alias("free"))
    )


def _serve(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(`pos`, `golden_id`) of every cluster that keeps a previous id; (`pos`, `old_id`, `reason`)
    of every cluster whose previous ids were all taken by larger clusters (a split).

    A cluster whose first candidate is uncontested takes it. The others are served one at a time
    in serving order: the first of their contested candidates ranked before their first
    uncontested one that no cluster took yet, else that uncontested one."""
    uncontested = candidates.filter(pl.col("free") == 0, pl.col("rank") == 0).select("pos", golden_id="vote")
    free = pl.col("free")
    contested = (
        candidates.filter(free.is_null() | ((free > 0) & (pl.col("rank") <= free)))
        .group_by("pos", maintain_order=True)
        .agg("vote", "votes")
    )
    claimed: set[str] = set()
    kept: list[tuple[int, str]] = []
    splits: list[tuple[int, str, str]] = []
    for pos, wanted, counts in contested.iter_rows():
        choice = next((v for v in wanted if v not in claimed), None)
        if choice is not None:  # a contested id not taken yet, or the cluster's uncontested one
            claimed.add(choice)
            kept.append((pos, choice))
        else:  # every candidate was contested and is taken: the whole list
            also = "".join(f", {n} from {g}" for g, n in zip(wanted[1:], counts[1:], strict=True))
            splits.append((pos, wanted[0], f"{counts[0]} record(s) left golden customer {wanted[0]}{also}"))
    served = pl.concat([uncontested, pl.DataFrame(kept, schema=uncontested.schema, orient="row")])
    split_schema = {"pos": pl.Int64, "old_id": pl.String, "reason": pl.String}
    return served, pl.DataFrame(splits, schema=split_schema, orient="row")


def _number_new_ids(clusters: pl.DataFrame, served: pl.DataFrame, next_number: int) -> pl.DataFrame:
    """`pos`, `label`, `golden_id`, `new` for every cluster: the id it kept, or a new one from the
    counter, numbered in serving order."""
    joined = clusters.join(served, on="pos", how="left", maintain_order="left")
    new = pl.col("golden_id").is_null()
    number = new.cast(pl.Int64).cum_sum() - 1 + next_number
    formatted = pl.lit(ID_PREFIX) + number.cast(pl.String).str.zfill(ID_DIGITS)
    return joined.with_columns(pl.when(new).then(formatted).otherwise("golden_id").alias("golden_id"), new.alias("new"))


def _cluster_events(chosen: pl.DataFrame, candidates: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    """The events of the clusters in serving order: a new id (created, or split when larger
    clusters took the cluster's previous ids) and a revival (a retired id its records brought back)."""
    revived = chosen.filter(~pl.col("new")).join(
        candidates.filter("revival").select("pos", golden_id="vote", votes="votes"), on=["pos", "golden_id"]
    )
    revivals = revived.select(
        "pos",
        kind=pl.lit("created"),
        old_id="golden_id",
        new_id="golden_id",
        reason=pl.format("its records came back ({} of them): the golden customer is active again", "votes"),
    )
    fresh = chosen.filter("new").join(splits, on="pos", how="left")
    created = fresh.select(
        "pos",
        kind=pl.when(pl.col("old_id").is_null()).then(pl.lit("created")).otherwise(pl.lit("split")),
        old_id="old_id",
        new_id="golden_id",
        reason=pl.col("reason").fill_null("new records"),
    )
    return pl.concat([revivals, created]).sort("pos").drop("pos").cast(EVENT_SCHEMA)  # type: ignore[arg-type]


def _merged_events(candidates: pl.DataFrame, chosen: pl.DataFrame, retired_ids: pl.Series) -> pl.DataFrame:
    """A previous id no cluster kept (and not retired before) is merged into the cluster holding
    most of its records (the first such cluster by label on a tie), by old id."""
    lost = candidates.filter(
        ~pl.col("vote").is_in(chosen["golden_id"].implode()), ~pl.col("vote").is_in(retired_ids.implode())
    )
    merged = (
        lost.sort(["vote", "votes", "label"], descending=[False, True, False])
        .unique("vote", keep="first", maintain_order=True)
        .join(chosen.select("label", "golden_id"), on="label", how="left", maintain_order="left")
    )
    return merged.select(
        kind=pl.lit("merged"),
        old_id="vote",
        new_id="golden_id",
        reason=pl.format("{} of its records joined {}, which kept the id of a larger part", "votes", "golden_id"),
    ).cast(EVENT_SCHEMA)  # type: ignore[arg-type]


def _retired_events(registry: pl.DataFrame, candidates: pl.DataFrame, retired_ids: pl.Series) -> pl.DataFrame:
    """An active id none of whose records is in this run (no record votes for it) is retired:
    its records are gone. By old id."""
    gone = (
        registry.filter(~pl.col("golden_id").is_in(retired_ids.implode()))
        .group_by("golden_id")
        .len("records")
        .join(candidates.select(golden_id="vote"), on="golden_id", how="anti")
        .sort("golden_id")
    )
    return gone.select(
        kind=pl.lit("retired"),
        old_id="golden_id",
        new_id=pl.lit(None, dtype=pl.String),
        reason=pl.format("its source records are gone: none of its {} record(s) is in this run", "records"),
    ).cast(EVENT_SCHEMA)  # type: ignore[arg-type]


def id_event_history(earlier: pl.DataFrame, run_id: str, events: pl.DataFrame) -> pl.DataFrame:
    """The master's `id_events`: every earlier run's events (from the store, in run order), then this run's."""
    return pl.concat([earlier.select(list(ID_EVENT_SCHEMA)).cast(ID_EVENT_SCHEMA), _of_run(run_id, events)])  # type: ignore[arg-type]


def id_events_patch(earlier: int, run_id: str, events: pl.DataFrame, path: Path) -> SqlPatch:
    """The master's `id_events` from the last master's (`earlier` rows: the store's events before
    this run): this run's events added, written to `path` for DuckDB to read. A run reads and
    writes its own events only, where the whole table grows with every night published."""
    this_run = _of_run(run_id, events)
    this_run.write_parquet(path)
    insert = "INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)"
    return SqlPatch(((insert, (str(path),), this_run.height),), earlier, earlier + this_run.height)


def _of_run(run_id: str, events: pl.DataFrame) -> pl.DataFrame:
    return events.select(pl.lit(run_id, dtype=pl.String).alias("run_id"), *EVENT_SCHEMA).cast(ID_EVENT_SCHEMA)  # type: ignore[arg-type]

"""Stable golden ids: a cluster keeps the id most of its records had after the last run; ids are
never handed to other customers, a customer whose records come back after it was retired gets its
own id back, and every change is an id event (created, split, merged, retired).

The rules for splits, merges and returning records: docs/architecture.md, section "mdm/golden/ids.py".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from mdm.state.store import StateStore
from mdm.types import GoldenId

ID_EVENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.String,
    "kind": pl.String,
    "old_id": pl.String,
    "new_id": pl.String,
    "reason": pl.String,
}


@dataclass
class IdAssignment:
    golden_ids: list[GoldenId]
    """per record, in input order"""
    new_ids: list[GoldenId]
    next_number: int
    events: list[dict[str, str | None]] = field(default_factory=list)


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
    labels: list[int],
    registry: Mapping[tuple[str, str], GoldenId],
    next_number: int,
    *,
    retired: Mapping[GoldenId, GoldenId | None],
) -> IdAssignment:
    """records: `source`, `source_record_id` in the order of `labels` (one cluster label each).

    registry: (source, source_record_id) -> the id the record had when last seen (absent records
    included); retired: each retired id -> the id it was merged into, or None. A pure function:
    the store is read before and written after (`StateStore.save_assignments`).
    """
    keys = list(zip(records["source"].to_list(), records["source_record_id"].to_list(), strict=True))
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    # what each record votes for: the active id its previous id stands for
    resolved: dict[GoldenId, GoldenId | None] = {}
    for previous_id in set(registry.values()):
        resolved[previous_id] = resolve_retired(previous_id, retired) or revivable(previous_id, retired)
    vote: list[GoldenId | None] = [resolved[registry[k]] if k in registry else None for k in keys]
    order = sorted(members, key=lambda c: (-len(members[c]), c))
    claimed: dict[GoldenId, int] = {}
    chosen: dict[int, GoldenId] = {}
    new_ids: list[GoldenId] = []
    events: list[dict[str, str | None]] = []
    for cluster in order:
        previous: Counter[GoldenId] = Counter(v for i in members[cluster] if (v := vote[i]) is not None)
        # an active id before a revival: a returning customer never takes the id of an active one
        ranked = sorted(previous.items(), key=lambda kv: (kv[0] in retired, -kv[1], kv[0]))
        for candidate, votes in ranked:
            if candidate not in claimed:
                chosen[cluster] = candidate
                if candidate in retired:  # retired without successor, its records back: revived
                    reason = f"its records came back ({votes} of them): the golden customer is active again"
                    events.append({"kind": "created", "old_id": candidate, "new_id": candidate, "reason": reason})
                break
        else:
            chosen[cluster] = StateStore.format_id(next_number)
            next_number += 1
            new_ids.append(chosen[cluster])
            events.append(_new_id_event(chosen[cluster], ranked))
        claimed[chosen[cluster]] = cluster
    # A previous id no cluster kept was merged into the cluster that holds most of its records.
    holders: dict[GoldenId, Counter[int]] = {}
    for cluster, indices in members.items():
        for i in indices:
            if (voted := vote[i]) is not None:
                holders.setdefault(voted, Counter())[cluster] += 1
    for old in sorted(set(holders) - set(claimed) - set(retired)):  # a retired id not revived stays retired
        into_cluster, joined = max(holders[old].items(), key=lambda kv: (kv[1], -kv[0]))
        events.append(
            {
                "kind": "merged",
                "old_id": old,
                "new_id": chosen[into_cluster],
                "reason": f"{joined} of its records joined {chosen[into_cluster]}, which kept the id of a larger part",
            }
        )
    # An active id none of whose records is in this run is retired: its records are gone.
    absent = Counter(g for g in registry.values() if g not in retired)
    for old in sorted(set(absent) - set(holders)):
        events.append(
            {
                "kind": "retired",
                "old_id": old,
                "new_id": None,
                "reason": f"its source records are gone: none of its {absent[old]} record(s) is in this run",
            }
        )
    return IdAssignment([chosen[label] for label in labels], new_ids, next_number, events)


def _new_id_event(new_id: GoldenId, ranked: list[tuple[GoldenId, int]]) -> dict[str, str | None]:
    """The event for a cluster that got a new id: a split when its records had an id another
    (larger) cluster kept, else created (every record is new: a returning record votes for its
    old id, active or revivable)."""
    if ranked:
        (split_from, moved), others = ranked[0], ranked[1:]
        also = "".join(f", {n} from {g}" for g, n in others)
        reason = f"{moved} record(s) left golden customer {split_from}{also}"
        return {"kind": "split", "old_id": split_from, "new_id": new_id, "reason": reason}
    return {"kind": "created", "old_id": None, "new_id": new_id, "reason": "new records"}


def id_event_history(earlier: pl.DataFrame, run_id: str, events: list[dict[str, str | None]]) -> pl.DataFrame:
    """The master's `id_events`: every earlier run's events (from the store, in run order), then this run's."""
    this_run = pl.DataFrame(events, schema={k: v for k, v in ID_EVENT_SCHEMA.items() if k != "run_id"})
    this_run = this_run.select(pl.lit(run_id, dtype=pl.String).alias("run_id"), pl.all())
    return pl.concat([earlier.select(list(ID_EVENT_SCHEMA)).cast(ID_EVENT_SCHEMA), this_run])  # type: ignore[arg-type]

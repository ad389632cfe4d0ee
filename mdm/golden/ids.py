"""Stable golden ids: a cluster keeps the id most of its records had after the last run.

Clusters are served largest first, so when a golden customer splits the largest part keeps
its id and the others get new ones; when two merge, the id of the larger part survives and the
other is retired into it. Ids come from a counter in the durable store and are never reused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from mdm.state.store import StateStore
from mdm.types import GoldenId


@dataclass
class IdAssignment:
    golden_ids: list[GoldenId]
    """per record, in input order"""
    new_ids: list[GoldenId]
    next_number: int
    events: list[dict[str, str | None]] = field(default_factory=list)


def assign_golden_ids(
    records: pl.DataFrame, labels: list[int], registry: dict[tuple[str, str], GoldenId], next_number: int
) -> IdAssignment:
    """records: `source`, `source_record_id` in the order of `labels` (one cluster label each)."""
    keys = list(zip(records["source"].to_list(), records["source_record_id"].to_list(), strict=True))
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    order = sorted(members, key=lambda c: (-len(members[c]), c))
    claimed: dict[GoldenId, int] = {}
    chosen: dict[int, GoldenId] = {}
    new_ids: list[GoldenId] = []
    events: list[dict[str, str | None]] = []
    for cluster in order:
        previous = Counter(registry[keys[i]] for i in members[cluster] if keys[i] in registry)
        for candidate, _ in sorted(previous.items(), key=lambda kv: (-kv[1], kv[0])):
            if candidate not in claimed:
                chosen[cluster] = candidate
                break
        else:
            chosen[cluster] = StateStore.format_id(next_number)
            next_number += 1
            new_ids.append(chosen[cluster])
            split_from = next(iter(sorted(previous)), None)
            events.append(
                {
                    "kind": "split" if split_from else "created",
                    "old_id": split_from,
                    "new_id": chosen[cluster],
                    "reason": "records left golden customer " + split_from if split_from else "new records",
                }
            )
        claimed[chosen[cluster]] = cluster
    # A previous id no cluster kept was merged into the cluster that holds most of its records.
    holders: dict[GoldenId, Counter[int]] = {}
    for cluster, indices in members.items():
        for i in indices:
            if keys[i] in registry:
                holders.setdefault(registry[keys[i]], Counter())[cluster] += 1
    for old in sorted(set(holders) - set(claimed)):
        into = chosen[max(holders[old].items(), key=lambda kv: (kv[1], -kv[0]))[0]]
        events.append(
            {
                "kind": "merged",
                "old_id": old,
                "new_id": into,
                "reason": "its records now match a golden customer with more of them",
            }
        )
    return IdAssignment([chosen[label] for label in labels], new_ids, next_number, events)

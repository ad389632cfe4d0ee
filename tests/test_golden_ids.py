"""assign_golden_ids: which id each cluster keeps, and the events it writes (mdm/golden/ids.py).

Records are named by source record id only (source "s"); G1, G2 ... are previous ids.
`assign_one_cluster_at_a_time` is the first implementation (dicts and Counters per record), kept as
the reference the columnar one must equal on random registries and clusterings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.golden.ids import EVENT_SCHEMA, IdAssignment, assign_golden_ids, resolve_retired, revivable
from mdm.state.store import StateStore
from mdm.types import GoldenId

G = StateStore.format_id


def records(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"source": ["s"] * len(ids), "source_record_id": list(ids)}, schema=RECORD_SCHEMA)


def registry(**ids: int) -> pl.DataFrame:
    return registry_frame({("s", r): G(n) for r, n in ids.items()})


RECORD_SCHEMA = {"source": pl.String, "source_record_id": pl.String}


def registry_frame(mapping: Mapping[tuple[str, str], GoldenId]) -> pl.DataFrame:
    rows = [(s, r, g) for (s, r), g in mapping.items()]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA | {"golden_id": pl.String}, orient="row")


def ids_of(result: IdAssignment) -> list[str]:
    return result.golden_ids.to_list()


def ids_new(result: IdAssignment) -> list[str]:
    return result.new_ids.to_list()


def events_of(result: IdAssignment) -> list[dict[str, Any]]:
    assert result.events.schema == pl.Schema(EVENT_SCHEMA)
    return result.events.to_dicts()


def assign_one_cluster_at_a_time(
    records: pl.DataFrame,
    labels: list[int],
    registry: Mapping[tuple[str, str], GoldenId],
    next_number: int,
    *,
    retired: Mapping[GoldenId, GoldenId | None],
) -> tuple[list[GoldenId], list[GoldenId], int, list[dict[str, str | None]]]:
    """The reference: (ids per record, new ids, next number, events), as the first version of
    assign_golden_ids computed them, record by record and cluster by cluster."""
    keys = list(zip(records["source"].to_list(), records["source_record_id"].to_list(), strict=True))
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
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
        ranked = sorted(previous.items(), key=lambda kv: (kv[0] in retired, -kv[1], kv[0]))
        for candidate, votes in ranked:
            if candidate not in claimed:
                chosen[cluster] = candidate
                if candidate in retired:
                    reason = f"its records came back ({votes} of them): the golden customer is active again"
                    events.append({"kind": "created", "old_id": candidate, "new_id": candidate, "reason": reason})
                break
        else:
            chosen[cluster] = StateStore.format_id(next_number)
            next_number += 1
            new_ids.append(chosen[cluster])
            if ranked:
                (split_from, moved), others = ranked[0], ranked[1:]
                also = "".join(f", {n} from {g}" for g, n in others)
                reason = f"{moved} record(s) left golden customer {split_from}{also}"
                events.append({"kind": "split", "old_id": split_from, "new_id": chosen[cluster], "reason": reason})
            else:
                events.append({"kind": "created", "old_id": None, "new_id": chosen[cluster], "reason": "new records"})
        claimed[chosen[cluster]] = cluster
    holders: dict[GoldenId, Counter[int]] = {}
    for cluster, indices in members.items():
        for i in indices:
            if (voted := vote[i]) is not None:
                holders.setdefault(voted, Counter())[cluster] += 1
    for old in sorted(set(holders) - set(claimed) - set(retired)):
        into_cluster, joined = max(holders[old].items(), key=lambda kv: (kv[1], -kv[0]))
        events.append(
            {
                "kind": "merged",
                "old_id": old,
                "new_id": chosen[into_cluster],
                "reason": f"{joined} of its records joined {chosen[into_cluster]}, which kept the id of a larger part",
            }
        )
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
    return [chosen[label] for label in labels], new_ids, next_number, events


def test_unchanged_clusters_keep_their_ids_and_write_no_event() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [0, 0, 1], registry(a=1, b=1, c=2), 3, retired={})
    assert ids_of(result) == [G(1), G(1), G(2)]
    assert (ids_new(result), result.next_number, events_of(result)) == ([], 3, [])


def test_first_run_creates_an_id_per_cluster_largest_first() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [7, 3, 3], registry(), 1, retired={})
    assert ids_of(result) == [G(2), G(1), G(1)]
    assert [(e["kind"], e["old_id"], e["new_id"]) for e in events_of(result)] == [
        ("created", None, G(1)),
        ("created", None, G(2)),
    ]


def test_merge_keeps_the_larger_id_and_retires_the_other_into_it() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [0, 0, 0], registry(a=2, b=2, c=1), 3, retired={})
    assert ids_of(result) == [G(2)] * 3
    assert events_of(result) == [
        {
            "kind": "merged",
            "old_id": G(1),
            "new_id": G(2),
            "reason": f"1 of its records joined {G(2)}, which kept the id of a larger part",
        }
    ]


def test_split_keeps_the_id_on_the_largest_part_and_names_how_many_moved() -> None:
    result = assign_golden_ids(records("a", "b", "c", "d"), [0, 1, 1, 1], registry(a=1, b=1, c=1, d=1), 5, retired={})
    assert ids_of(result) == [G(5), G(1), G(1), G(1)]
    assert ids_new(result) == [G(5)] and result.next_number == 6
    assert events_of(result) == [
        {"kind": "split", "old_id": G(1), "new_id": G(5), "reason": f"1 record(s) left golden customer {G(1)}"}
    ]


def test_an_id_whose_records_all_vanished_is_retired() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=1, b=2, c=2), 3, retired={})
    assert ids_of(result) == [G(1)]
    assert events_of(result) == [
        {
            "kind": "retired",
            "old_id": G(2),
            "new_id": None,
            "reason": "its source records are gone: none of its 2 record(s) is in this run",
        }
    ]


def test_an_absent_record_of_a_still_active_id_changes_nothing() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=1, b=1), 2, retired={})
    assert (ids_of(result), events_of(result)) == ([G(1)], [])


def test_a_returning_record_gets_its_own_id_back_while_it_is_active() -> None:
    """b was absent last run but G2 stayed active through c."""
    result = assign_golden_ids(records("a", "b", "c"), [0, 1, 1], registry(a=1, b=2, c=2), 3, retired={})
    assert (ids_of(result), events_of(result)) == ([G(1), G(2), G(2)], [])


def test_a_returning_record_follows_the_merged_into_chain_to_the_active_id() -> None:
    """b's id G1 was merged into G2, then G2 into G3: b comes back to G3, never to G1 or G2."""
    retired = {G(1): G(2), G(2): G(3)}
    result = assign_golden_ids(records("b", "c"), [0, 0], registry(b=1, c=3), 4, retired=retired)
    assert (ids_of(result), events_of(result)) == ([G(3), G(3)], [])


def test_a_returning_record_of_a_gone_id_gets_its_id_back() -> None:
    """G1 was retired because its records vanished (a source left out of a run); b is back: G1 is
    active again (issue 15: new ids for returning customers lost them for every downstream system)."""
    result = assign_golden_ids(records("b"), [0], registry(b=1), 2, retired={G(1): None})
    assert (ids_of(result), ids_new(result), result.next_number) == ([G(1)], [], 2)
    assert events_of(result) == [
        {
            "kind": "created",
            "old_id": G(1),
            "new_id": G(1),
            "reason": "its records came back (1 of them): the golden customer is active again",
        }
    ]


def test_an_id_merged_into_one_that_was_retired_comes_back_as_that_id() -> None:
    """G1 was merged into G2, then G2 retired (records gone): a record of G1 back revives G2."""
    result = assign_golden_ids(records("a"), [0], registry(a=1), 3, retired={G(1): G(2), G(2): None})
    assert ids_of(result) == [G(2)] and events_of(result)[0]["kind"] == "created"


def test_a_retired_id_is_not_retired_again_nor_handed_out_when_absent_records_still_map_to_it() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=2, b=1), 3, retired={G(1): G(2)})
    assert (ids_of(result), events_of(result)) == ([G(2)], [])


def test_a_cycle_of_merged_into_pointers_is_an_error_that_names_it() -> None:
    with pytest.raises(ValueError, match="cycle: G000000001 -> G000000002 -> G000000001"):
        resolve_retired(G(1), {G(1): G(2), G(2): G(1)})


@given(
    previous=st.lists(st.integers(1, 6), min_size=1, max_size=12),
    labels=st.lists(st.integers(0, 4), min_size=12, max_size=12),
    present=st.integers(0, 12),
    gone=st.sets(st.integers(1, 6)),
)
def test_a_retired_id_goes_back_only_to_its_own_records_and_new_ids_come_from_the_counter(
    previous: list[int], labels: list[int], present: int, gone: set[int]
) -> None:
    ids = [f"r{i}" for i in range(len(previous))]
    retired: dict[GoldenId, GoldenId | None] = {G(n): None for n in gone}
    result = assign_golden_ids(
        records(*ids[:present]),
        labels[: min(present, len(ids))],
        registry(**dict(zip(ids, previous, strict=True))),
        7,
        retired=retired,
    )
    revived = {e["new_id"] for e in events_of(result) if e["kind"] == "created" and e["old_id"] == e["new_id"]}
    assert set(ids_of(result)) & set(retired) == revived
    # a retired id goes back only to a cluster holding one of its own records
    for golden_id in revived:
        members = [i for i, g in enumerate(ids_of(result)) if g == golden_id]
        assert any(G(previous[i]) == golden_id for i in members)
    assert ids_new(result) == [G(n) for n in range(7, result.next_number)]
    retired_now = {e["old_id"] for e in events_of(result) if e["kind"] in ("merged", "retired")}
    assert not retired_now & set(ids_of(result)) and not retired_now & set(retired)
    assert not revived & retired_now
    # every id active before the run is either still in use or retired by an event of this run
    assert {G(n) for n in previous if n not in gone} <= set(ids_of(result)) | retired_now


def test_an_active_id_wins_over_a_revival_in_one_cluster() -> None:
    """b (G1, retired) is back in one cluster with a (G2, active) holding as many votes: G2 stays."""
    result = assign_golden_ids(records("a", "b"), [0, 0], registry(a=2, b=1), 3, retired={G(1): None})
    assert (ids_of(result), events_of(result)) == ([G(2), G(2)], [])


Night = tuple[pl.DataFrame, list[int], dict[tuple[str, str], GoldenId], dict[GoldenId, GoldenId | None]]


@st.composite
def nights(draw: st.DrawFn) -> Night:
    """A registry left by earlier nights and tonight's clustering: ids retired into others (chains
    of merged_into, acyclic: an id is only merged into a larger number), ids retired because their
    records were gone (revivable, alone or at the end of a chain), records absent tonight, records
    the registry has never seen, and clusters that split and merge previous customers."""
    ids = draw(st.integers(1, 12))
    retired: dict[GoldenId, GoldenId | None] = {}
    for n in range(1, ids + 1):
        fate = draw(st.sampled_from(["active", "active", "merged", "gone"]))
        if fate == "merged" and n < ids:
            retired[G(n)] = G(draw(st.integers(n + 1, ids)))
        elif fate == "gone":
            retired[G(n)] = None
    known = draw(st.integers(0, 30))
    sources = st.sampled_from(["crm", "web", "pos"])
    previous = {(draw(sources), f"r{i}"): G(draw(st.integers(1, ids))) for i in range(known)}
    unseen = [("web", f"new{i}") for i in range(draw(st.integers(0, 8)))]
    present = draw(st.permutations([k for k in previous if draw(st.booleans())] + unseen))
    labels = [draw(st.integers(0, max(len(present) // 2, 1))) for _ in present]
    frame = pl.DataFrame(
        {"source": [s for s, _ in present], "source_record_id": [r for _, r in present]}, schema=RECORD_SCHEMA
    )
    return frame, labels, previous, retired


@settings(max_examples=400)
@given(night=nights())
def test_the_columnar_assignment_equals_the_one_cluster_at_a_time_reference(night: Night) -> None:
    frame, labels, previous, retired = night
    expected = assign_one_cluster_at_a_time(frame, labels, previous, 20, retired=retired)
    result = assign_golden_ids(frame, labels, registry_frame(previous), 20, retired=retired)
    assert (ids_of(result), ids_new(result), result.next_number, events_of(result)) == expected

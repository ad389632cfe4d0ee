"""assign_golden_ids: which id each cluster keeps, and the events it writes (mdm/golden/ids.py).

Records are named by source record id only (source "s"); G1, G2 ... are previous ids.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.golden.ids import assign_golden_ids, resolve_retired
from mdm.state.store import StateStore
from mdm.types import GoldenId

G = StateStore.format_id


def records(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"source": ["s"] * len(ids), "source_record_id": list(ids)})


def registry(**ids: int) -> dict[tuple[str, str], GoldenId]:
    return {("s", r): G(n) for r, n in ids.items()}


def test_unchanged_clusters_keep_their_ids_and_write_no_event() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [0, 0, 1], registry(a=1, b=1, c=2), 3, retired={})
    assert result.golden_ids == [G(1), G(1), G(2)]
    assert (result.new_ids, result.next_number, result.events) == ([], 3, [])


def test_first_run_creates_an_id_per_cluster_largest_first() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [7, 3, 3], {}, 1, retired={})
    assert result.golden_ids == [G(2), G(1), G(1)]
    assert [(e["kind"], e["old_id"], e["new_id"]) for e in result.events] == [
        ("created", None, G(1)),
        ("created", None, G(2)),
    ]


def test_merge_keeps_the_larger_id_and_retires_the_other_into_it() -> None:
    result = assign_golden_ids(records("a", "b", "c"), [0, 0, 0], registry(a=2, b=2, c=1), 3, retired={})
    assert result.golden_ids == [G(2)] * 3
    assert result.events == [
        {
            "kind": "merged",
            "old_id": G(1),
            "new_id": G(2),
            "reason": f"1 of its records joined {G(2)}, which kept the id of a larger part",
        }
    ]


def test_split_keeps_the_id_on_the_largest_part_and_names_how_many_moved() -> None:
    result = assign_golden_ids(records("a", "b", "c", "d"), [0, 1, 1, 1], registry(a=1, b=1, c=1, d=1), 5, retired={})
    assert result.golden_ids == [G(5), G(1), G(1), G(1)]
    assert result.new_ids == [G(5)] and result.next_number == 6
    assert result.events == [
        {"kind": "split", "old_id": G(1), "new_id": G(5), "reason": f"1 record(s) left golden customer {G(1)}"}
    ]


def test_an_id_whose_records_all_vanished_is_retired() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=1, b=2, c=2), 3, retired={})
    assert result.golden_ids == [G(1)]
    assert result.events == [
        {
            "kind": "retired",
            "old_id": G(2),
            "new_id": None,
            "reason": "its source records are gone: none of its 2 record(s) is in this run",
        }
    ]


def test_an_absent_record_of_a_still_active_id_changes_nothing() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=1, b=1), 2, retired={})
    assert (result.golden_ids, result.events) == ([G(1)], [])


def test_a_returning_record_gets_its_own_id_back_while_it_is_active() -> None:
    """b was absent last run but G2 stayed active through c."""
    result = assign_golden_ids(records("a", "b", "c"), [0, 1, 1], registry(a=1, b=2, c=2), 3, retired={})
    assert (result.golden_ids, result.events) == ([G(1), G(2), G(2)], [])


def test_a_returning_record_follows_the_merged_into_chain_to_the_active_id() -> None:
    """b's id G1 was merged into G2, then G2 into G3: b comes back to G3, never to G1 or G2."""
    retired = {G(1): G(2), G(2): G(3)}
    result = assign_golden_ids(records("b", "c"), [0, 0], registry(b=1, c=3), 4, retired=retired)
    assert (result.golden_ids, result.events) == ([G(3), G(3)], [])


def test_a_returning_record_of_a_gone_id_gets_its_id_back() -> None:
    """G1 was retired because its records vanished (a source left out of a run); b is back: G1 is
    active again (issue 15: new ids for returning customers lost them for every downstream system)."""
    result = assign_golden_ids(records("b"), [0], registry(b=1), 2, retired={G(1): None})
    assert (result.golden_ids, result.new_ids, result.next_number) == ([G(1)], [], 2)
    assert result.events == [
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
    assert result.golden_ids == [G(2)] and result.events[0]["kind"] == "created"


def test_a_retired_id_is_not_retired_again_nor_handed_out_when_absent_records_still_map_to_it() -> None:
    result = assign_golden_ids(records("a"), [0], registry(a=2, b=1), 3, retired={G(1): G(2)})
    assert (result.golden_ids, result.events) == ([G(2)], [])


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
    revived = {e["new_id"] for e in result.events if e["kind"] == "created" and e["old_id"] == e["new_id"]}
    assert set(result.golden_ids) & set(retired) == revived
    # a retired id goes back only to a cluster holding one of its own records
    for golden_id in revived:
        members = [i for i, g in enumerate(result.golden_ids) if g == golden_id]
        assert any(G(previous[i]) == golden_id for i in members)
    assert result.new_ids == [G(n) for n in range(7, result.next_number)]
    retired_now = {e["old_id"] for e in result.events if e["kind"] in ("merged", "retired")}
    assert not retired_now & set(result.golden_ids) and not retired_now & set(retired)
    assert not revived & retired_now
    # every id active before the run is either still in use or retired by an event of this run
    assert {G(n) for n in previous if n not in gone} <= set(result.golden_ids) | retired_now


def test_an_active_id_wins_over_a_revival_in_one_cluster() -> None:
    """b (G1, retired) is back in one cluster with a (G2, active) holding as many votes: G2 stays."""
    result = assign_golden_ids(records("a", "b"), [0, 0], registry(a=2, b=1), 3, retired={G(1): None})
    assert (result.golden_ids, result.events) == ([G(2), G(2)], [])

"""The review queue as a queue of decisions: one item per pair of golden customers, ranked by what a
decision changes, and an answer that settles the whole item. The end-to-end tests use
tests/fixtures/queue (its README gives the expected queue and answers)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import polars as pl
import pytest

from mdm.cluster.review import (
    ITEM_COLUMNS,
    REVIEW_REASON,
    bits,
    review_items,
    size_shares,
    source_bits,
    todays_queue,
)
from mdm.config.rules import ReviewSettings
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.users import User, add_user
from tests.conftest import AS_OF, FIXTURES, REPO
from tests.conftest import query as q

ANA = User("ana", "steward")


def pair(
    left: str, right: str, lg: str, rg: str, probability: float, outcome: str, *, weight: float | None = None
) -> dict[str, object]:
    """A match_pairs row (source from the id's first letter)."""
    sources = {"C": "crm", "W": "web", "S": "shop", "B": "billing"}
    return {
        "left_source": sources[left[0]],
        "left_record_id": left,
        "right_source": sources[right[0]],
        "right_record_id": right,
        "left_golden_id": lg,
        "right_golden_id": rg,
        "match_probability": probability,
        "match_weight": weight if weight is not None else math.log2(probability / (1 - probability)),
        "match_class": "match" if probability >= 0.95 else "review" if probability >= 0.5 else "non_match",
        "outcome": outcome,
        "given_name_level": "exact",
        "given_name_weight": 3.0,
    }


def records(*golden: tuple[str, list[str]]) -> pl.DataFrame:
    sources = {"C": "crm", "W": "web", "S": "shop", "B": "billing"}
    rows = [(sources[r[0]], r, g) for g, rs in golden for r in rs]
    return pl.DataFrame(rows, schema=["source", "source_record_id", "golden_id"], orient="row")


RECORDS = records(
    ("GA", ["C1"]),
    ("GB", ["W1", "S1"]),
    ("GC", ["C2"]),
    ("GD", ["W2"]),
    ("GE", ["C3"]),
    ("GF", ["W3"]),
    ("GG", ["C4", "B4"]),
    ("GH", ["C5"]),
    ("GI", ["S6"]),
    ("GJ", ["W6"]),
)


def size(a: int, b: int) -> float:
    """The evidence of two customers' record counts in RECORDS: 8 customers of 1 record, 2 of 2, no
    customer of 3 or more (half a customer)."""
    share = {1: 0.8, 2: 0.2}
    return min(0.0, math.log2(share.get(a + b, 0.05) / (share[a] * share[b])))


def items(rows: list[dict[str, object]], **kwargs: object) -> pl.DataFrame:
    return review_items(
        pl.DataFrame(rows).lazy(),
        RECORDS,
        ReviewSettings(**kwargs),  # type: ignore[arg-type]
        threshold_match_probability=0.95,
        threshold_review_probability=0.5,
    )


def test_an_item_is_a_pair_of_golden_customers_with_every_record_pair_as_evidence() -> None:
    queue = items(
        [
            pair("C1", "W1", "GA", "GB", 0.90, "review"),
            pair("C1", "S1", "GA", "GB", 0.30, "non_match"),
            pair("C1", "W1", "GA", "GA", 0.97, "merged"),  # within one customer: never an item
            pair("C2", "W2", "GC", "GD", 0.80, "review"),
        ]
    )
    assert queue.schema == pl.Schema(ITEM_COLUMNS)
    first = queue.row(0, named=True)
    assert (first["left_golden_id"], first["right_golden_id"], first["left_record_id"]) == ("GA", "GB", "C1")
    assert first["right_record_id"] == "W1" and first["reason"] == REVIEW_REASON  # the strongest pair represents it
    assert first["evidence"] == "given_name: exact"
    assert first["record_pairs"] == 2 and first["best_probability"] == 0.9
    assert first["mean_probability"] == pytest.approx(0.6)
    assert first["reasons"] == "1 × non_match; 1 × review"
    assert (first["left_records"], first["right_records"], first["shared_sources"]) == (1, 2, [])
    assert queue["review_rank"].to_list() == [1, 2]
    assert queue.height == 2


def test_priority_is_the_records_of_both_customers_times_the_closeness_to_the_match_threshold() -> None:
    assert size_shares(RECORDS) == {1: 0.8, 2: 0.2}
    queue = items([pair("C1", "W1", "GA", "GB", 0.98, "review"), pair("C2", "W2", "GC", "GD", 0.94, "review")])
    by_left = {r["left_record_id"]: r["priority"] for r in queue.iter_rows(named=True)}
    # GA and GB hold 1 and 2 records: one person of 3 records is rarer than one of 1 and one of 2
    closeness = 1 / (1 + 2 ** -(bits(0.98) + size(1, 2) - bits(0.95)))
    assert by_left["C1"] == pytest.approx(3 * closeness)
    assert by_left["C2"] == pytest.approx(2 / (1 + 2 ** -(bits(0.94) + size(1, 1) - bits(0.95))))
    assert queue["left_record_id"].to_list() == sorted(by_left, key=lambda k: -by_left[k])


def test_a_conflict_counts_as_conflict_bits_against_so_only_strong_blocked_pairs_enter() -> None:
    rows = [
        pair("C3", "W3", "GE", "GF", 0.999999, "blocked: different birth dates", weight=40.0),
        pair("C2", "W2", "GC", "GD", 0.999, "blocked: different given names, same family name", weight=20.0),
    ]
    queue = items(rows, conflict_bits=28)
    assert queue["left_record_id"].to_list() == ["C3"]
    assert queue["reason"].to_list() == ["blocked: different birth dates"]
    assert queue["priority"][0] == pytest.approx(2 / (1 + 2 ** -(40 - 28 + size(1, 1) - bits(0.95))))
    assert items(rows, conflict_bits=10)["left_record_id"].to_list() == ["C3", "C2"]
    # a steward's "not the same" is never queued again
    settled = [pair("C3", "W3", "GE", "GF", 0.999999, "blocked: steward: not the same", weight=40.0)]
    assert items(settled).height == 0


def test_sources_both_customers_hold_are_evidence_against() -> None:
    """GG holds a crm record; so does GH: one person split between them would have two crm records."""
    per_source = source_bits(RECORDS.select("golden_id", "source"))
    # 5 of the 10 customers hold crm, none twice: log2(((0 + 1) / (5 + 2)) / (5 / 10))
    assert per_source["crm"] == pytest.approx(math.log2((1 / 7) / 0.5))
    assert per_source["billing"] == 0.0  # one customer in ten holds billing: sharing it is no evidence against
    rows = [pair("C4", "C5", "GG", "GH", 0.94, "review"), pair("S6", "W6", "GI", "GJ", 0.94, "review")]
    queue = items(rows)
    assert queue.select("left_record_id", "shared_sources").rows() == [("S6", []), ("C4", ["crm"])]
    evidence = bits(0.94) + per_source["crm"] + size(2, 1)
    assert queue["priority"][1] == pytest.approx(3 / (1 + 2 ** -(evidence - bits(0.95))))
    # weaker evidence and a shared source: below the review threshold, not queued
    assert items([pair("C4", "C5", "GG", "GH", 0.7, "review")]).height == 0


def test_settled_pairs_of_golden_customers_are_left_out() -> None:
    rows = [pair("C1", "W1", "GA", "GB", 0.9, "review"), pair("C2", "W2", "GC", "GD", 0.8, "review")]
    queue = review_items(
        pl.DataFrame(rows).lazy(),
        RECORDS,
        ReviewSettings(),
        threshold_match_probability=0.95,
        threshold_review_probability=0.5,
        settled={("GA", "GB")},
    )
    assert queue["left_record_id"].to_list() == ["C2"]


def test_todays_queue_keeps_requeued_decisions_and_the_best_items_up_to_the_capacity() -> None:
    queue = pl.DataFrame(
        {
            "review_rank": [1, 2, 3, 4],
            "left_record_id": ["X", "A", "B", "C"],
            "changed_since_decision": [True, False, False, False],
        }
    )
    today = todays_queue(queue, 2)
    assert today.rows() == [(1, "X", True), (2, "A", False)]
    assert todays_queue(queue, 10).height == 4


# ---- end to end on tests/fixtures/queue -----------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path) -> StewardDesk:
    shutil.copytree(FIXTURES / "queue", tmp_path / "src")
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tmp_path / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        add_user(store, "ana", "correct horse", "steward", by="test")
    return StewardDesk(master, master.parent / "state")


def rerun(desk: StewardDesk) -> None:
    run_pipeline(desk.master.parent.parent / "src" / "sources.yaml", desk.master, as_of=AS_OF)


def queue_rows(master: Path) -> list[tuple[object, ...]]:
    return q(
        master,
        "SELECT left_record_id || '~' || right_record_id, record_pairs, left_records + right_records"
        " FROM review_queue ORDER BY review_rank",
    )


def groups(master: Path) -> set[frozenset[str]]:
    rows = q(master, "SELECT list(source_record_id) FROM customer_xref GROUP BY golden_id")
    return {frozenset(r[0]) for r in rows}


def test_the_fixture_queue_is_the_readme(desk: StewardDesk) -> None:
    assert queue_rows(desk.master) == [("C2~S2", 2, 3), ("C1~S1", 2, 3), ("C3~W3", 1, 2)]
    assert groups(desk.master) == {
        frozenset({"C1", "W1"}),
        frozenset({"S1"}),
        frozenset({"C2", "W2"}),
        frozenset({"S2"}),
        frozenset({"C3"}),
        frozenset({"W3"}),
    }
    assert [i.key for i in desk.queue()] == ["pair:crm:C2|shop:S2", "pair:crm:C1|shop:S1", "pair:crm:C3|web:W3"]
    assert desk.queue()[0].record_pairs == 2


def test_an_answer_settles_the_whole_item(desk: StewardDesk) -> None:
    desk.decide(ANA, ("crm", "C1"), ("shop", "S1"), "not_same", expected_version=0, reason="father and son")
    desk.decide(ANA, ("crm", "C2"), ("shop", "S2"), "same", expected_version=0, reason="typo in the date")
    # both items leave the queue at once
    assert [i.key for i in desk.queue()] == ["pair:crm:C3|web:W3"]
    rerun(desk)
    # "same" joined the two golden customers; "not the same" kept every record of one apart from the other's
    assert groups(desk.master) == {
        frozenset({"C1", "W1"}),
        frozenset({"S1"}),
        frozenset({"C2", "W2", "S2"}),
        frozenset({"C3"}),
        frozenset({"W3"}),
    }
    # no pair between the Sams is queued again, neither the answered one nor W1~S1
    assert queue_rows(desk.master) == [("C3~W3", 1, 2)]
    sam = q(desk.master, "SELECT left_record_id, outcome FROM match_pairs WHERE right_record_id = 'S1' ORDER BY 1")
    assert sam == [("C1", "blocked: steward: not the same"), ("W1", "blocked: steward: not the same")]
    with desk.store() as store:
        live = store.query(
            "SELECT left_record_id, right_record_id, decision, label FROM steward_decisions"
            " WHERE revoked_at IS NULL ORDER BY decision_id"
        )
    # the answered pair is the label; the links it implies are not
    assert live == [
        ("C1", "S1", "not_same", 1),
        ("W1", "S1", "not_same", 0),
        ("C2", "S2", "same", 1),
        ("C2", "W2", "same", 0),
    ]
    # a later run still honours it
    rerun(desk)
    assert queue_rows(desk.master) == [("C3~W3", 1, 2)]


def test_a_not_same_on_the_representative_pair_alone_settles_the_item(desk: StewardDesk) -> None:
    """A decision on one record pair (an older store's, or written directly) still settles the pair
    of golden customers it stands between: the run leaves the whole item out."""
    with desk.store() as store:
        store.add_decision(("crm", "C1"), ("shop", "S1"), "not_same", decided_by="test")
    rerun(desk)
    assert [r[0] for r in queue_rows(desk.master)] == ["C2~S2", "C3~W3"]
    assert frozenset({"S1"}) in groups(desk.master)


def test_the_daily_capacity_cuts_the_queue_and_the_rest_waits(desk: StewardDesk) -> None:
    src = desk.master.parent.parent / "src"
    (src / "rules").mkdir()
    text = (REPO / "rules" / "match.yaml").read_text()
    (src / "rules" / "match.yaml").write_text(text.replace("daily_capacity: 1000", "daily_capacity: 1"))
    (src / "sources.yaml").write_text((src / "sources.yaml").read_text() + "rules: rules\n")
    summary = run_pipeline(src / "sources.yaml", desk.master, as_of=AS_OF)
    assert queue_rows(desk.master) == [("C2~S2", 2, 3)]
    assert (summary.publish.review.items, summary.publish.review.waiting) == (1, 3)
    assert summary.publish.review.record_pairs == 5
    desk.decide(ANA, ("crm", "C2"), ("shop", "S2"), "same", expected_version=0)
    run_pipeline(src / "sources.yaml", desk.master, as_of=AS_OF)
    assert queue_rows(desk.master) == [("C1~S1", 2, 3)]

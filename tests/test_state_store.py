"""The durable store's golden id registry: retirements, id events, versions, schema upgrade."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from mdm.golden.ids import EVENT_SCHEMA
from mdm.state.archive import archive_events, archived_ids
from mdm.state.store import SCHEMA_VERSION, StateStore, VersionChanges

T0 = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)


def first_run(store: StateStore) -> None:
    """r1: a, b -> G1; c -> G2; d -> G3."""
    store.save_assignments(
        "r1",
        xref([("s", "a", "G000000001"), ("s", "b", "G000000001"), ("s", "c", "G000000002"), ("s", "d", "G000000003")]),
        ["G000000001", "G000000002", "G000000003"],
        4,
        versions=VersionChanges(T0, [("G000000001", "h1"), ("G000000002", "h2"), ("G000000003", "h3")], []),
    )


def second_run_events() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"kind": "merged", "old_id": "G000000002", "new_id": "G000000001", "reason": "1 of its records joined"},
            {"kind": "retired", "old_id": "G000000003", "new_id": None, "reason": "its source records are gone"},
        ],
        schema=EVENT_SCHEMA,
    )


def xref(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """The store takes a run's assignments as a frame: source, source_record_id, golden_id."""
    return pl.DataFrame(
        rows, schema=dict.fromkeys(["source", "source_record_id", "golden_id"], pl.String), orient="row"
    )


def registry(store: StateStore) -> dict[tuple[str, str], str]:
    return {(s, r): g for s, r, g in store.registry().iter_rows()}


def test_merged_and_retired_ids_get_retired_run_and_merged_into(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        first_run(store)
        store.save_assignments(
            "r2",
            xref([("s", "a", "G000000001"), ("s", "b", "G000000001"), ("s", "c", "G000000001")]),
            [],
            4,
            events=second_run_events(),
        )
    with StateStore(tmp_path) as store:
        rows = store._con.execute("SELECT * FROM golden_ids ORDER BY golden_id").fetchall()
        assert rows == [
            ("G000000001", "r1", None, None),
            ("G000000002", "r1", "r2", "G000000001"),
            ("G000000003", "r1", "r2", None),
        ]
        assert store.retired_ids() == {"G000000002": "G000000001", "G000000003": None}
        # d is absent from r2 and keeps its registry row
        assert registry(store)[("s", "d")] == "G000000003"


def test_id_events_are_durable_and_in_run_order(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        first_run(store)
        store.save_assignments("r2", xref([("s", "c", "G000000001")]), [], 4, events=second_run_events())
    with StateStore(tmp_path) as store:
        events = store.id_events()
    assert events.rows() == [
        ("r2", "merged", "G000000002", "G000000001", "1 of its records joined"),
        ("r2", "retired", "G000000003", None, "its source records are gone"),
    ]


def test_retiring_an_id_twice_fails_and_rolls_back_the_whole_run(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        first_run(store)
        store.save_assignments("r2", xref([("s", "c", "G000000001")]), [], 4, events=second_run_events())
        with pytest.raises(ValueError, match="cannot retire golden id 'G000000003': it is unknown or already retired"):
            store.save_assignments(
                "r3", xref([("s", "a", "G000000004")]), ["G000000004"], 5, events=second_run_events()[1:]
            )
        assert registry(store)[("s", "a")] == "G000000001"
        assert store.peek_next_numbers() == 4
        assert store.id_events().height == 2
        assert store.published_runs()["run_id"].to_list() == ["r1", "r2"]


def test_a_record_assigned_a_retired_id_fails_the_run(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        first_run(store)
        store.save_assignments("r2", xref([("s", "c", "G000000001")]), [], 4, events=second_run_events())
        with pytest.raises(ValueError, match="retired golden ids assigned to records of run r3"):
            store.save_assignments("r3", xref([("s", "d", "G000000003")]), [], 4)
        assert registry(store)[("s", "d")] == "G000000003"
        assert store.published_runs()["run_id"].to_list() == ["r1", "r2"]


def test_versions_open_and_close_in_the_same_transaction(tmp_path: Path) -> None:
    t1 = T0 + dt.timedelta(days=1)
    with StateStore(tmp_path) as store:
        first_run(store)
        store.save_assignments(
            "r2",
            xref([("s", "a", "G000000001")]),
            [],
            4,
            events=second_run_events(),
            versions=VersionChanges(
                t1, iter([("G000000001", "h1b")]), iter(["G000000001", "G000000002", "G000000003"])
            ),
        )
        versions = store.golden_versions().sort("golden_id", "valid_from_run")
        runs = store.published_runs()
    assert versions.rows() == [
        ("G000000001", "r1", "r2", "h1"),
        ("G000000001", "r2", None, "h1b"),
        ("G000000002", "r1", "r2", "h2"),
        ("G000000003", "r1", "r2", "h3"),
    ]
    assert runs.rows() == [(1, "r1", "2026-11-01T02:00:00.000000+00:00"), (2, "r2", "2026-11-02T02:00:00.000000+00:00")]


def test_a_schema_1_store_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        store.save_assignments("r1", xref([("s", "a", "G000000001")]), ["G000000001"], 2)
    con = sqlite3.connect(tmp_path / StateStore.FILENAME)
    con.executescript(
        "DROP TABLE id_events; DROP TABLE published_runs; DROP TABLE golden_versions; DROP TABLE quality_metrics;"
        " DROP TABLE archived_ids; DROP TABLE archive_events; DROP TABLE archive_restores;"
        " UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    con.close()
    with StateStore(tmp_path) as store:
        assert store._one("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION) == "8"
        assert registry(store) == {("s", "a"): "G000000001"}
        assert store.id_events().height == 0 and store.golden_versions().height == 0
        assert store.quality_metrics().height == 0
        assert archived_ids(store).height == 0 and archive_events(store).height == 0


def test_a_store_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    StateStore(tmp_path).close()
    con = sqlite3.connect(tmp_path / StateStore.FILENAME)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="store schema 99 is newer than this code"):
        StateStore(tmp_path)

"""The background audit writer (the API's entry per call): every entry handed over is committed by
flush and close, in order, with the time of its call; a locked store delays entries, never drops
them; an entry handed over after close is written at once."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mdm.state import StateStore, audit_writer
from mdm.state.audit_writer import AuditWriter


def entries(state: Path) -> list[tuple[str, str, str, dict[str, int]]]:
    con = sqlite3.connect(state / StateStore.FILENAME)
    try:
        rows = con.execute(
            "SELECT at, actor, item_key, after FROM audit_log WHERE action = 'api_call' ORDER BY audit_id"
        )
        return [(at, actor, item, json.loads(after)) for at, actor, item, after in rows.fetchall()]
    finally:
        con.close()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    with StateStore(tmp_path / "state"):
        pass
    return tmp_path / "state"


def test_flush_commits_every_entry_in_order(state: Path) -> None:
    writer = AuditWriter(state)
    for i in range(250):
        writer.put("token:desk", "api_call", f"POST /api/v1/resolve/{i}", {"status": 200 + i % 2})
    writer.flush()
    got = entries(state)
    assert [item for _, _, item, _ in got] == [f"POST /api/v1/resolve/{i}" for i in range(250)]
    assert {after["status"] for _, _, _, after in got} == {200, 201}
    writer.close()


def test_an_entry_keeps_the_time_of_its_call_not_of_its_commit(state: Path) -> None:
    writer = AuditWriter(state)
    locker = sqlite3.connect(state / StateStore.FILENAME, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a run holding the store's write lock
    writer.put("token:desk", "api_call", "GET /api/v1/customers/G1", {"status": 200})
    handed_over = time.time()
    time.sleep(1.2)
    locker.execute("COMMIT")
    locker.close()
    writer.flush()
    [(at, _, _, _)] = entries(state)
    assert abs(dt.datetime.fromisoformat(at).timestamp() - handed_over) < 0.5  # committed 1.2 s later
    writer.close()


def test_a_store_locked_past_its_timeout_delays_entries_and_loses_none(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_writer, "RETRY_SECONDS", 0.05)
    refusals = []
    original = AuditWriter._commit

    def refused_twice(store: StateStore, batch: list[audit_writer.AuditEntry], closing: bool) -> None:
        if len(refusals) < 2:
            refusals.append(len(batch))
            raise sqlite3.OperationalError("database is locked")
        original(store, batch, closing)

    monkeypatch.setattr(AuditWriter, "_commit", staticmethod(refused_twice))
    writer = AuditWriter(state)
    for i in range(3):
        writer.put("token:desk", "api_call", f"call {i}", {"status": 200})
    writer.flush()
    assert len(refusals) == 2
    assert [item for _, _, item, _ in entries(state)] == ["call 0", "call 1", "call 2"]
    writer.close()


def test_close_commits_what_is_queued_and_later_entries_are_written_at_once(state: Path) -> None:
    writer = AuditWriter(state)
    calls = [
        threading.Thread(target=writer.put, args=("token:a", "api_call", f"c{i}", {"status": 200})) for i in range(8)
    ]
    for t in calls:
        t.start()
    for t in calls:
        t.join()
    writer.close()
    assert sorted(item for _, _, item, _ in entries(state)) == [f"c{i}" for i in range(8)]
    writer.put("token:a", "api_call", "after close", {"status": 401})
    assert entries(state)[-1][2:] == ("after close", {"status": 401})
    writer.close()  # twice: nothing more to do

"""The durable store: one SQLite database in the state directory.

SQLite because stewards write to it while a nightly run reads it: transactions, WAL, and a
single file to back up. Every write is one transaction; a crash leaves the last commit.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mdm.types import Decision, GoldenId

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    code_version TEXT NOT NULL, sources_path TEXT NOT NULL, master_path TEXT NOT NULL,
    as_of TEXT NOT NULL, counts TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS golden_ids (
    golden_id TEXT PRIMARY KEY, created_run TEXT NOT NULL, retired_run TEXT, merged_into TEXT
);
CREATE TABLE IF NOT EXISTS xref_registry (
    source TEXT NOT NULL, source_record_id TEXT NOT NULL, golden_id TEXT NOT NULL REFERENCES golden_ids,
    first_run TEXT NOT NULL, last_run TEXT NOT NULL, PRIMARY KEY (source, source_record_id)
);
CREATE TABLE IF NOT EXISTS steward_decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    left_source TEXT NOT NULL, left_record_id TEXT NOT NULL,
    right_source TEXT NOT NULL, right_record_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('same', 'not_same')),
    reason TEXT, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS match_models (
    run_id TEXT PRIMARY KEY, trained_at TEXT NOT NULL, model TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS manual_tags (
    golden_id TEXT NOT NULL, tag TEXT NOT NULL, value TEXT, set_by TEXT NOT NULL, set_at TEXT NOT NULL,
    PRIMARY KEY (golden_id, tag)
);
"""
ID_PREFIX = "G"
ID_DIGITS = 9


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class StateStore:
    """Open (creating if needed) the store in `directory`."""

    FILENAME = "mdm_state.sqlite"

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / self.FILENAME
        self._con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA foreign_keys=ON")
        self._con.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._con.execute(statement)
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('next_golden_number', '1')")
        found = int(self._one("SELECT value FROM meta WHERE key = 'schema_version'"))
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema {found} is newer than this code ({SCHEMA_VERSION}); upgrade mdm"
            )

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._con.execute(sql, params).fetchone()
        return row[0] if row else None

    # ---- runs ------------------------------------------------------------------------------
    def start_run(self, run_id: str, *, code_version: str, sources_path: str, master_path: str, as_of: str) -> None:
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, code_version, sources_path, master_path, as_of)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (run_id, _now(), code_version, sources_path, master_path, as_of),
            )

    def finish_run(
        self, run_id: str, status: str, counts: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE run_id = ?",
                (_now(), status, json.dumps(counts, sort_keys=True) if counts else None, error, run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        cur = self._con.execute("SELECT * FROM runs ORDER BY rowid")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # ---- golden id registry ----------------------------------------------------------------
    def registry(self) -> dict[tuple[str, str], GoldenId]:
        """(source, source_record_id) -> the golden id the record had after the last published run."""
        rows = self._con.execute("SELECT source, source_record_id, golden_id FROM xref_registry")
        return {(s, r): GoldenId(g) for s, r, g in rows}

    def peek_next_numbers(self) -> int:
        return int(self._one("SELECT value FROM meta WHERE key = 'next_golden_number'"))

    @staticmethod
    def format_id(number: int) -> GoldenId:
        return GoldenId(f"{ID_PREFIX}{number:0{ID_DIGITS}d}")

    def save_assignments(
        self,
        run_id: str,
        assignments: Iterable[tuple[str, str, str]],
        new_ids: list[str],
        next_number: int,
        trained_model: tuple[str, str] | None = None,
    ) -> None:
        """Record this run's golden ids in one transaction: new ids, record -> id, the id counter,
        and the match model this run trained (trained_at, JSON), which later runs reuse."""
        with self.transaction() as con:
            if trained_model is not None:
                con.execute("INSERT INTO match_models VALUES (?, ?, ?)", (run_id, *trained_model))
            con.executemany(
                "INSERT INTO golden_ids (golden_id, created_run) VALUES (?, ?)", [(g, run_id) for g in new_ids]
            )
            con.executemany(
                "INSERT INTO xref_registry (source, source_record_id, golden_id, first_run, last_run)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, source_record_id)"
                " DO UPDATE SET golden_id = excluded.golden_id, last_run = excluded.last_run",
                [(s, r, g, run_id, run_id) for s, r, g in assignments],
            )
            current = int(self._one("SELECT value FROM meta WHERE key = 'next_golden_number'"))
            con.execute("UPDATE meta SET value = ? WHERE key = 'next_golden_number'", (str(max(current, next_number)),))

    def current_model(self) -> str | None:
        """The JSON of the match model the last published run trained, if any."""
        return self._one("SELECT model FROM match_models ORDER BY rowid DESC LIMIT 1")

    # ---- steward decisions -----------------------------------------------------------------
    def add_decision(
        self,
        left: tuple[str, str],
        right: tuple[str, str],
        decision: Decision,
        *,
        decided_by: str,
        reason: str | None = None,
    ) -> int:
        if decision not in ("same", "not_same"):
            raise ValueError(f"decision must be 'same' or 'not_same', not {decision!r}")
        with self.transaction() as con:
            cur = con.execute(
                "INSERT INTO steward_decisions (left_source, left_record_id, right_source, right_record_id, decision,"
                " reason, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*left, *right, decision, reason, decided_by, _now()),
            )
            return int(cur.lastrowid or 0)

    def active_decisions(self) -> list[tuple[tuple[str, str], tuple[str, str], Decision]]:
        rows = self._con.execute(
            "SELECT left_source, left_record_id, right_source, right_record_id, decision FROM steward_decisions"
            " WHERE revoked_at IS NULL ORDER BY decision_id"
        )
        return [((a, b), (c, d), e) for a, b, c, d, e in rows]

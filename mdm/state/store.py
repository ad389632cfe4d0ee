"""The durable store: one SQLite database in the state directory (WAL; every write one transaction).

Why SQLite, and how schemas upgrade in place: docs/architecture.md, section "mdm/state/store.py";
the schema history (`SCHEMA_VERSION`) is in CHANGELOG.md.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.sensitive import KEY_FILE_ENV, DataKeyError
from mdm.state.archive import ArchiveChanges, save_archive_changes
from mdm.state.audit import AUDIT_RETENTION_DAYS, os_actor, write_audit
from mdm.types import Decision, GoldenId

SCHEMA_VERSION = 8
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
    reason TEXT, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, revoked_at TEXT,
    audit_id INTEGER, fingerprint TEXT, revoked_by TEXT
);
CREATE TABLE IF NOT EXISTS match_models (
    run_id TEXT PRIMARY KEY, trained_at TEXT NOT NULL, model TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS id_events (
    event_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL,  -- rowid: rows are never deleted, so it keeps run order
    kind TEXT NOT NULL CHECK (kind IN ('created', 'split', 'merged', 'retired')),
    old_id TEXT, new_id TEXT, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS published_runs (
    run_seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS golden_versions (
    golden_id TEXT NOT NULL, valid_from_run TEXT NOT NULL, valid_to_run TEXT, row_hash TEXT NOT NULL,
    PRIMARY KEY (golden_id, valid_from_run)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quality_metrics (
    run_id TEXT NOT NULL, metric TEXT NOT NULL, source TEXT, field TEXT,
    numerator INTEGER NOT NULL, denominator INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS manual_tags (
    golden_id TEXT NOT NULL, tag TEXT NOT NULL, value TEXT, set_by TEXT NOT NULL, set_at TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'manual' CHECK (origin IN ('manual', 'survey')),
    PRIMARY KEY (golden_id, tag)
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'steward', 'admin')),
    created_at TEXT NOT NULL, created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    item_key TEXT, reason TEXT, before TEXT, after TEXT, undone_by_audit_id INTEGER
);
CREATE INDEX IF NOT EXISTS audit_log_item ON audit_log (item_key);
CREATE TABLE IF NOT EXISTS steward_items (
    item_key TEXT PRIMARY KEY, version INTEGER NOT NULL, last_audit_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS steward_labels (
    decision_id INTEGER PRIMARY KEY, comparisons TEXT NOT NULL, levels TEXT NOT NULL, first_run TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS manual_tag_log (
    log_id INTEGER PRIMARY KEY, golden_id TEXT NOT NULL, tag TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('set', 'removed')), value TEXT, origin TEXT NOT NULL,
    done_by TEXT NOT NULL, done_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE TABLE IF NOT EXISTS web_sessions (
    session_hash TEXT PRIMARY KEY, username TEXT NOT NULL, client TEXT NOT NULL, created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, ended_at TEXT, ended_by TEXT, end_reason TEXT
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username);
CREATE TABLE IF NOT EXISTS sign_in_throttle (
    key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS archived_ids (
    golden_id TEXT PRIMARY KEY REFERENCES golden_ids, archived_run TEXT NOT NULL, archived_at TEXT NOT NULL,
    archived_as_of TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_events (
    event_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, as_of TEXT NOT NULL, golden_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('archived', 'unarchived')), last_activity_on TEXT, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_restores (
    restore_id INTEGER PRIMARY KEY, golden_id TEXT NOT NULL REFERENCES golden_ids, restored_at TEXT NOT NULL,
    restored_by TEXT NOT NULL, reason TEXT NOT NULL, audit_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_restores_golden_id ON archive_restores (golden_id);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, roles TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT
);
CREATE TABLE IF NOT EXISTS steward_claims (
    item_key TEXT PRIMARY KEY, claimed_by TEXT NOT NULL, claimed_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_actor_at ON audit_log (actor, at);
"""
# triggers hold ';' in their bodies: run whole, and made again when a store's differ (so a changed
# rule reaches existing stores). The audit log keeps every entry AUDIT_RETENTION_DAYS whoever deletes,
# and an entry's who / when / what is never rewritten (its `after` and `undone_by_audit_id` are
# filled in by the action that wrote it, and by an undo).
_TRIGGERS = {
    "audit_log_kept": "CREATE TRIGGER audit_log_kept BEFORE DELETE ON audit_log"
    f" WHEN old.at >= strftime('%Y-%m-%dT%H:%M:%f', 'now', '-{AUDIT_RETENTION_DAYS} days')"
    f" BEGIN SELECT RAISE(ABORT, 'audit entries are kept at least {AUDIT_RETENTION_DAYS} days'); END",
    "audit_log_fixed": "CREATE TRIGGER audit_log_fixed BEFORE UPDATE OF at, actor, action, item_key, reason, before"
    " ON audit_log BEGIN SELECT RAISE(ABORT, 'an audit entry is never rewritten'); END",
}
# columns added to tables that older schemas already have: (table, column, declaration)
_ADDED_COLUMNS = [
    ("steward_decisions", "audit_id", "INTEGER"),
    ("steward_decisions", "fingerprint", "TEXT"),
    ("steward_decisions", "revoked_by", "TEXT"),
    ("steward_decisions", "label", "INTEGER"),
    ("manual_tags", "origin", "TEXT NOT NULL DEFAULT 'manual' CHECK (origin IN ('manual', 'survey'))"),
]
ID_PREFIX = "G"
ID_DIGITS = 9
_BATCH_ROWS = 200_000
_EVENT_COLUMNS = ["kind", "old_id", "new_id", "reason"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class VersionChanges:
    """One run's changes to golden_versions (built by mdm/golden/history.py).

    `opened` and `closed` may be one-shot iterators: they are consumed once, inside the
    save_assignments transaction, so a million rows never sit in Python lists."""

    published_at: dt.datetime
    """aware, UTC: the run's publish time, the valid_from of the versions it opens"""
    opened: Iterable[tuple[str, str]]
    """(golden_id, row_hash) of each new version, valid from this run"""
    closed: Iterable[str]
    """golden ids whose current version ends at this run (content changed, or the id was retired)"""


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
        try:
            self._create_or_upgrade()
        except BaseException:
            self._con.close()
            raise

    def _create_or_upgrade(self) -> None:
        with self.transaction():
            self._con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            found = int(self._one("SELECT value FROM meta WHERE key = 'schema_version'"))
            if found > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: store schema {found} is newer than this code ({SCHEMA_VERSION}); upgrade mdm"
                )
            # every table is CREATE ... IF NOT EXISTS: a schema 1 store gains the new tables in place
            for table, column, declaration in _ADDED_COLUMNS:
                have = {row[1] for row in self._con.execute(f"PRAGMA table_info({table})")}
                if have and column not in have:  # an older store's table: add the column in place
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._con.execute(statement)
            for name, trigger in _TRIGGERS.items():
                if self._one("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)) != trigger:
                    self._con.execute(f"DROP TRIGGER IF EXISTS {name}")
                    self._con.execute(trigger)
            self._con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('next_golden_number', '1')")

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

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (the steward service reads its tables through this)."""
        return self._con.execute(sql, tuple(params)).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._con.execute(sql, params).fetchone()
        return row[0] if row else None

    # ---- runs ------------------------------------------------------------------------------
    def start_run(
        self,
        run_id: str,
        *,
        code_version: str,
        sources_path: str,
        master_path: str,
        as_of: str,
        started_by: str | None = None,
    ) -> None:
        """Record a run as running, audited (run_started) as started by `started_by`: `cli:<os user>`,
        an admin's name (the steward page), `schedule:<deployment>`; by default the process's OS user."""
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, code_version, sources_path, master_path, as_of)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (run_id, _now(), code_version, sources_path, master_path, as_of),
            )
            details = {"sources": sources_path, "master": master_path, "as_of": as_of, "code_version": code_version}
            write_audit(con, started_by or os_actor("process"), "run_started", f"run:{run_id}", None, None, details)

    @staticmethod
    def _audit_run_end(con: sqlite3.Connection, run_id: str, status: str, error: str | None) -> None:
        """The audit entry of a run's end (run_published, run_failed), in the name of who started it."""
        row = con.execute(
            "SELECT actor FROM audit_log WHERE action = 'run_started' AND item_key = ?", (f"run:{run_id}",)
        ).fetchone()
        after: dict[str, str] = {"status": status} | ({"error": error[:300]} if error else {})
        write_audit(con, row[0] if row else "unknown", f"run_{status}", f"run:{run_id}", None, None, after)

    def last_published_source_counts(self) -> tuple[str, dict[str, int]] | None:
        """The last published run's id and its accepted rows per source, if it recorded them."""
        row = self._con.execute(
            "SELECT run_id, counts FROM runs WHERE status = 'published' ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        if row is None or row[1] is None:
            return None
        sources = json.loads(row[1]).get("sources")
        return (str(row[0]), {str(k): int(v) for k, v in sources.items()}) if sources else None

    def close_abandoned_runs(self, by_run_id: str) -> list[str]:
        """Mark failed every run still recorded as running: called by a run that holds the run lock,
        so none of them can still be going (a kill -9 or a power cut ended them). Returns their ids."""
        with self.transaction() as con:
            abandoned = [r for (r,) in con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()]
            error = f"abandoned: the run ended without finishing (found by run {by_run_id})"
            con.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running'",
                (_now(), error),
            )
            for run_id in abandoned:
                self._audit_run_end(con, run_id, "failed", error)
        return abandoned

    def finish_run(
        self, run_id: str, status: str, counts: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE run_id = ?",
                (_now(), status, json.dumps(counts, sort_keys=True) if counts else None, error, run_id),
            )
            self._audit_run_end(con, run_id, status, error)

    def runs(self) -> list[dict[str, Any]]:
        cur = self._con.execute("SELECT * FROM runs ORDER BY rowid")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # ---- the data key (mdm/sensitive.py) ---------------------------------------------------
    def data_key_id(self) -> str | None:
        """The id of the data key this store's and its master's sensitive values are encrypted with."""
        found = self._con.execute("SELECT value FROM meta WHERE key = 'data_key_id'").fetchone()
        return str(found[0]) if found else None

    def remember_data_key(self, key_id: str) -> None:
        """Record the data key on first use; a later run with another key is refused (its tokens
        would not match the history's, and the old values could not be read)."""
        with self.transaction() as con:
            known = self.data_key_id()
            if known is None:
                con.execute("INSERT INTO meta VALUES ('data_key_id', ?)", (key_id,))
            elif known != key_id:
                raise DataKeyError(
                    f"this store's sensitive values are encrypted with data key {known}, but the key given is"
                    f" {key_id}: set {KEY_FILE_ENV} to the key the earlier runs used"
                )

    # ---- golden id registry ----------------------------------------------------------------
    def registry(self) -> pl.DataFrame:
        """`source`, `source_record_id`, `golden_id`: the golden id each record had after the last
        published run. A frame read in batches (no dict of tuples: 1.3 GiB at 5M records)."""
        return self._frame(
            "SELECT source, source_record_id, golden_id FROM xref_registry",
            {"source": pl.String, "source_record_id": pl.String, "golden_id": pl.String},
            rechunk=False,  # read once, by a join: one copy of 5M rows fewer
        )

    def registry_run(self) -> str | None:
        """The run whose `save_assignments` last wrote the registry (None in a store older than
        this mark): a copy of the registry that run left is the registry."""
        value = self._one("SELECT value FROM meta WHERE key = 'registry_run'")
        return None if value is None else str(value)

    def peek_next_numbers(self) -> int:
        return int(self._one("SELECT value FROM meta WHERE key = 'next_golden_number'"))

    @staticmethod
    def format_id(number: int) -> GoldenId:
        return GoldenId(f"{ID_PREFIX}{number:0{ID_DIGITS}d}")

    def retired_ids(self) -> dict[GoldenId, GoldenId | None]:
        """Each retired golden id -> the id it was merged into (None: retired because its records were gone)."""
        rows = self._con.execute("SELECT golden_id, merged_into FROM golden_ids WHERE retired_run IS NOT NULL")
        return {GoldenId(g): GoldenId(m) if m is not None else None for g, m in rows}

    def save_assignments(
        self,
        run_id: str,
        assignments: pl.DataFrame,
        new_ids: Iterable[str],
        next_number: int,
        trained_model: tuple[str, str] | None = None,
        *,
        events: pl.DataFrame | None = None,
        versions: VersionChanges | None = None,
        quality: Iterable[tuple[str, str | None, str | None, int, int]] = (),
        labels: Iterable[tuple[int, str, str]] = (),
        archive: ArchiveChanges | None = None,
    ) -> None:
        """Record this run's golden ids in one transaction: new ids, record -> id, the id counter,
        the match model this run trained (trained_at, JSON), which later runs reuse, the id events
        (`kind`, `old_id`, `new_id`, `reason`; a merged or retired id gets retired_run, and
        merged_into for a merge), the run's publish time, its golden versions, its quality metrics
        ((metric, source, field, numerator, denominator) rows), the comparison levels of labels it
        saw first ((decision_id, comparisons signature, levels JSON) rows, mdm/match/learn.py) and
        the customers it archived and brought back (mdm/state/archive.py). Records absent from this
        run keep their registry rows.

        `assignments` need hold only the records whose golden id is new or changed (a run passes
        those, mdm/golden/stage.py): a record given keeps its `first_run` and gets this run as
        `last_run`, the run that last set its id; the others keep theirs.

        `assignments` (`source`, `source_record_id`, `golden_id`) and `events` are frames, read
        a few rows at a time into the inserts: no list of 5M tuples beside them."""
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
                (
                    (s, r, g, run_id, run_id)
                    for s, r, g in assignments.select("source", "source_record_id", "golden_id").iter_rows()
                ),
            )
            con.execute(  # which run's registry this is: the next run may read it from that run's file
                "INSERT INTO meta VALUES ('registry_run', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (run_id,),
            )
            current = int(self._one("SELECT value FROM meta WHERE key = 'next_golden_number'"))
            con.execute("UPDATE meta SET value = ? WHERE key = 'next_golden_number'", (str(max(current, next_number)),))
            events = events if events is not None else pl.DataFrame(schema=dict.fromkeys(_EVENT_COLUMNS, pl.String))
            con.executemany(
                "INSERT INTO id_events (run_id, kind, old_id, new_id, reason) VALUES (?, ?, ?, ?, ?)",
                ((run_id, *row) for row in events.select(_EVENT_COLUMNS).iter_rows()),
            )
            kind = pl.col("kind")
            retirements = events.filter(kind.is_in(["merged", "retired"])).select(
                "old_id", pl.when(kind == "merged").then("new_id")
            )
            self._retire(con, run_id, retirements.iter_rows())
            revivals = events.filter(kind == "created", pl.col("old_id") == pl.col("new_id"))  # REVIVAL_EVENT
            self._revive(con, revivals["new_id"])
            self._check_no_retired_id_assigned(con, run_id)
            published_at = versions.published_at if versions is not None else dt.datetime.now(dt.UTC)
            con.execute(
                "INSERT INTO published_runs (run_id, published_at) VALUES (?, ?)",
                (run_id, published_at.astimezone(dt.UTC).isoformat(timespec="microseconds")),
            )
            if versions is not None:
                con.executemany(
                    "UPDATE golden_versions SET valid_to_run = ? WHERE golden_id = ? AND valid_to_run IS NULL",
                    ((run_id, g) for g in versions.closed),
                )
                con.executemany(
                    "INSERT INTO golden_versions (golden_id, valid_from_run, row_hash) VALUES (?, ?, ?)",
                    ((g, run_id, h) for g, h in versions.opened),
                )
            con.executemany(
                "INSERT INTO quality_metrics (run_id, metric, source, field, numerator, denominator)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ((run_id, *row) for row in quality),
            )
            con.executemany(
                "INSERT INTO steward_labels (decision_id, comparisons, levels, first_run) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (decision_id) DO UPDATE SET comparisons = excluded.comparisons, levels = excluded.levels",
                ((decision_id, signature, levels, run_id) for decision_id, signature, levels in labels),
            )
            if archive is not None:
                save_archive_changes(con, run_id, archive, published_at)

    @staticmethod
    def _retire(con: sqlite3.Connection, run_id: str, retirements: Iterable[tuple[str | None, str | None]]) -> None:
        for old, into in retirements:
            changed = con.execute(
                "UPDATE golden_ids SET retired_run = ?, merged_into = ? WHERE golden_id = ? AND retired_run IS NULL",
                (run_id, into, old),
            ).rowcount
            if changed != 1:
                raise ValueError(f"cannot retire golden id {old!r}: it is unknown or already retired")

    @staticmethod
    def _revive(con: sqlite3.Connection, golden_ids: Iterable[str | None]) -> None:
        """Ids retired without successor whose records came back: active again (id event `created`
        with old_id = new_id)."""
        for golden_id in golden_ids:
            changed = con.execute(
                "UPDATE golden_ids SET retired_run = NULL WHERE golden_id = ? AND retired_run IS NOT NULL"
                " AND merged_into IS NULL",
                (golden_id,),
            ).rowcount
            if changed != 1:
                raise ValueError(f"cannot revive golden id {golden_id!r}: it is not retired without successor")

    @staticmethod
    def _check_no_retired_id_assigned(con: sqlite3.Connection, run_id: str) -> None:
        """A retired id is never handed out again: fail the run (and roll back) if one was."""
        wrong = con.execute(
            "SELECT x.source, x.source_record_id, x.golden_id FROM xref_registry x JOIN golden_ids g USING (golden_id)"
            " WHERE x.last_run = ? AND g.retired_run IS NOT NULL LIMIT 3",
            (run_id,),
        ).fetchall()
        if wrong:
            raise ValueError(f"retired golden ids assigned to records of run {run_id}: {wrong}")

    def id_event_count(self) -> int:
        """How many id events every run together wrote."""
        return int(self._con.execute("SELECT count(*) FROM id_events").fetchone()[0])

    def id_events(self, kind: str | None = None) -> pl.DataFrame:
        """Every run's id events (of that `kind` only, when given), in the order they were written
        (run by run)."""
        where, parameters = ("WHERE kind = ? ", (kind,)) if kind is not None else ("", ())
        return self._frame(
            f"SELECT run_id, kind, old_id, new_id, reason FROM id_events {where}ORDER BY event_id",
            {"run_id": pl.String, "kind": pl.String, "old_id": pl.String, "new_id": pl.String, "reason": pl.String},
            parameters=parameters,
        )

    def published_runs(self) -> pl.DataFrame:
        """Every run whose ids were committed, in order: run_seq, run_id, published_at (ISO text, UTC)."""
        return self._frame(
            "SELECT run_seq, run_id, published_at FROM published_runs ORDER BY run_seq",
            {"run_seq": pl.Int64, "run_id": pl.String, "published_at": pl.String},
        )

    def quality_metrics(self) -> pl.DataFrame:
        """Every published run's quality metrics, run by run (mdm/publish/quality.py)."""
        return self._frame(
            "SELECT run_id, metric, source, field, numerator, denominator FROM quality_metrics ORDER BY rowid",
            {
                "run_id": pl.String,
                "metric": pl.String,
                "source": pl.String,
                "field": pl.String,
                "numerator": pl.Int64,
                "denominator": pl.Int64,
            },
        )

    def golden_versions(self) -> pl.DataFrame:
        """Every version of every golden record: golden_id, valid_from_run, valid_to_run (None: current), row_hash."""
        return self._frame(
            "SELECT golden_id, valid_from_run, valid_to_run, row_hash FROM golden_versions",
            {"golden_id": pl.String, "valid_from_run": pl.String, "valid_to_run": pl.String, "row_hash": pl.String},
        )

    def current_golden_versions(self) -> pl.DataFrame:
        """The current version of every golden record (no `valid_to_run`): golden_id, row_hash."""
        return self._frame(
            "SELECT golden_id, row_hash FROM golden_versions WHERE valid_to_run IS NULL",
            {"golden_id": pl.String, "row_hash": pl.String},
        )

    def golden_version_count(self) -> int:
        """How many versions of golden records the store holds, current and closed."""
        return int(self._one("SELECT count(*) FROM golden_versions") or 0)

    def golden_version_runs(self) -> list[str]:
        """The runs that opened a version the store holds, in order of their ids."""
        found = self._con.execute("SELECT DISTINCT valid_from_run FROM golden_versions ORDER BY 1").fetchall()
        return [str(run) for (run,) in found]

    def _frame(
        self, sql: str, schema: dict[str, Any], *, rechunk: bool = True, parameters: tuple[Any, ...] = ()
    ) -> pl.DataFrame:
        """A query's rows as a frame, fetched in batches so Python holds few rows at a time."""
        cur = self._con.execute(sql, parameters)
        parts = [pl.DataFrame(schema=schema)]
        while batch := cur.fetchmany(_BATCH_ROWS):
            parts.append(pl.DataFrame(batch, schema=schema, orient="row"))
        return pl.concat(parts, rechunk=rechunk)

    def current_model(self) -> str | None:
        """The JSON of the match model the last published run trained, if any."""
        model = self._one("SELECT model FROM match_models ORDER BY rowid DESC LIMIT 1")
        return None if model is None else str(model)

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

    def labels(self) -> list[dict[str, Any]]:
        """The stewards' live answers that are labels (the pair a steward answered, not the links
        the answer implied; decisions older than the `label` column count), oldest first, each with
        the comparison levels a run stored for it (None until a run has seen it)."""
        names = [
            "decision_id",
            "left_source",
            "left_record_id",
            "right_source",
            "right_record_id",
            "decision",
            "comparisons",
            "levels",
            "first_run",
        ]
        rows = self._con.execute(
            "SELECT d.decision_id, d.left_source, d.left_record_id, d.right_source, d.right_record_id, d.decision,"
            " l.comparisons, l.levels, l.first_run FROM steward_decisions d"
            " LEFT JOIN steward_labels l USING (decision_id)"
            " WHERE d.revoked_at IS NULL AND coalesce(d.label, 1) = 1 ORDER BY d.decision_id"
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    # ---- manual and survey tags ----------------------------------------------------------------
    def golden_id_exists(self, golden_id: str) -> bool:
        return self._one("SELECT 1 FROM golden_ids WHERE golden_id = ?", (golden_id,)) is not None

    def set_tag(self, golden_id: str, tag: str, value: str | None, *, origin: str, set_by: str) -> None:
        """Set (or replace) a manual or survey tag of a golden customer; logged."""
        if origin not in ("manual", "survey"):
            raise ValueError(f"a stored tag's origin is manual or survey, not {origin!r}")
        now = _now()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO manual_tags (golden_id, tag, value, set_by, set_at, origin) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (golden_id, tag) DO UPDATE SET value = excluded.value, set_by = excluded.set_by,"
                " set_at = excluded.set_at, origin = excluded.origin",
                (golden_id, tag, value, set_by, now, origin),
            )
            con.execute(
                "INSERT INTO manual_tag_log (golden_id, tag, action, value, origin, done_by, done_at)"
                " VALUES (?, ?, 'set', ?, ?, ?, ?)",
                (golden_id, tag, value, origin, set_by, now),
            )

    def remove_tag(self, golden_id: str, tag: str, *, removed_by: str) -> bool:
        """Remove a stored tag; the removal is logged with the value it had. False if it was not set."""
        with self.transaction() as con:
            row = con.execute(
                "SELECT value, origin FROM manual_tags WHERE golden_id = ? AND tag = ?", (golden_id, tag)
            ).fetchone()
            if row is None:
                return False
            con.execute("DELETE FROM manual_tags WHERE golden_id = ? AND tag = ?", (golden_id, tag))
            con.execute(
                "INSERT INTO manual_tag_log (golden_id, tag, action, value, origin, done_by, done_at)"
                " VALUES (?, ?, 'removed', ?, ?, ?, ?)",
                (golden_id, tag, row[0], row[1], removed_by, _now()),
            )
            return True

    def stored_tags(self) -> pl.DataFrame:
        """Every manual and survey tag as set (golden ids as they were when set)."""
        return self._frame(
            "SELECT golden_id, tag, value, origin, set_by, set_at FROM manual_tags ORDER BY golden_id, tag",
            {n: pl.String for n in ("golden_id", "tag", "value", "origin", "set_by", "set_at")},
        )

    def tag_log(self) -> pl.DataFrame:
        """Every set and removal of a stored tag, in order."""
        return self._frame(
            "SELECT log_id, golden_id, tag, action, value, origin, done_by, done_at"
            " FROM manual_tag_log ORDER BY log_id",
            {"log_id": pl.Int64}
            | {n: pl.String for n in ("golden_id", "tag", "action", "value", "origin", "done_by", "done_at")},
        )

"""The durable side of the archive policy (rules/survivorship.yaml `archive:`): which golden ids
are archived now (`archived_ids`), every archive and unarchive of every run (`archive_events`),
and the explicit restores of stewards and admins (`archive_restores`, each with its audit entry).

The run decides (mdm/archive/) and commits its changes in its save_assignments transaction; a
restore is written by `mdm archive restore` and read by every later run as activity on its day.
Only `archived_ids` (the current state) loses rows; the events and restores are never deleted.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from mdm.errors import MdmError
from mdm.state.audit import write_audit

if TYPE_CHECKING:
    from mdm.state.store import StateStore

ArchiveKind = Literal["archived", "unarchived"]
ARCHIVED_SCHEMA: dict[str, Any] = {
    "golden_id": pl.String,
    "archived_run": pl.String,
    "archived_at": pl.String,
    "archived_as_of": pl.String,
}
RESTORES_SCHEMA: dict[str, Any] = {
    "golden_id": pl.String,
    "restored_at": pl.String,
    "restored_by": pl.String,
    "reason": pl.String,
}
EVENTS_SCHEMA: dict[str, Any] = {
    "run_id": pl.String,
    "as_of": pl.String,
    "golden_id": pl.String,
    "kind": pl.String,
    "last_activity_on": pl.String,
    "reason": pl.String,
}
RESTORE_ACTION = "archive_restore"
"""The audit log's action for an explicit restore (item `golden:<id>`, as the steward page's)."""


class RestoreRefused(MdmError, ValueError):
    """An archived customer cannot be restored as asked; the message says what to do instead."""


@dataclass(frozen=True)
class ArchiveEvent:
    golden_id: str
    kind: ArchiveKind
    last_activity_on: str | None
    """ISO day of the customer's last activity, if it has any"""
    reason: str


@dataclass(frozen=True)
class ArchiveChanges:
    """What one run does to the archive: committed with its golden ids (StateStore.save_assignments)."""

    as_of: str
    """the run's --as-of day, ISO"""
    events: list[ArchiveEvent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchiveChanges:
        return cls(data["as_of"], [ArchiveEvent(**e) for e in data["events"]])


@dataclass(frozen=True)
class Restored:
    golden_id: str
    restored_at: str
    restored_by: str
    audit_id: int


def save_archive_changes(
    con: sqlite3.Connection, run_id: str, changes: ArchiveChanges, published_at: dt.datetime
) -> None:
    """Inside the run's transaction: archive and unarchive ids, and log every change. Raises
    ValueError (rolling the run back) when an id is archived twice or brought back unarchived."""
    at = published_at.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    for event in changes.events:
        if event.kind == "archived":
            try:
                con.execute(
                    "INSERT INTO archived_ids (golden_id, archived_run, archived_at, archived_as_of)"
                    " VALUES (?, ?, ?, ?)",
                    (event.golden_id, run_id, at, changes.as_of),
                )
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"cannot archive golden id {event.golden_id!r}: {exc}") from exc
        elif con.execute("DELETE FROM archived_ids WHERE golden_id = ?", (event.golden_id,)).rowcount != 1:
            raise ValueError(f"cannot bring back golden id {event.golden_id!r}: it is not archived")
    con.executemany(
        "INSERT INTO archive_events (run_id, as_of, golden_id, kind, last_activity_on, reason)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, changes.as_of, e.golden_id, e.kind, e.last_activity_on, e.reason) for e in changes.events],
    )


def archived_ids(store: StateStore) -> pl.DataFrame:
    """The golden ids archived now, with the run that archived them, its publish time and --as-of."""
    rows = store.query("SELECT golden_id, archived_run, archived_at, archived_as_of FROM archived_ids ORDER BY 1")
    return pl.DataFrame(rows, schema=ARCHIVED_SCHEMA, orient="row")


def archive_restores(store: StateStore) -> pl.DataFrame:
    """Every explicit restore, oldest first (a run reads the latest of each id as activity)."""
    rows = store.query("SELECT golden_id, restored_at, restored_by, reason FROM archive_restores ORDER BY restore_id")
    return pl.DataFrame(rows, schema=RESTORES_SCHEMA, orient="row")


def archive_events(store: StateStore) -> pl.DataFrame:
    """Every run's archive and unarchive events, in the order they were written."""
    rows = store.query(
        "SELECT run_id, as_of, golden_id, kind, last_activity_on, reason FROM archive_events ORDER BY event_id"
    )
    return pl.DataFrame(rows, schema=EVENTS_SCHEMA, orient="row")


def restore_archived(
    store: StateStore, golden_id: str, *, by: str, reason: str, at: dt.datetime | None = None
) -> Restored:
    """Record that an archived customer is to come back (the next run publishes it in
    golden_customers, and archives it again only after `inactive_years` without activity from the
    restore's day), with its audit entry, in one transaction. RestoreRefused when the id is unknown,
    retired, not archived, or already restored since it was archived."""
    if not reason.strip():
        raise RestoreRefused("say why the customer is restored (--reason): the audit log keeps it")
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="milliseconds")
    with store.transaction() as con:
        known = con.execute("SELECT retired_run, merged_into FROM golden_ids WHERE golden_id = ?", (golden_id,))
        row = known.fetchone()
        if row is None:
            raise RestoreRefused(
                f"no golden customer {golden_id!r} in {store.directory}; `mdm archive list` shows the archived"
            )
        if row[0] is not None:
            where = (
                f"was merged into {row[1]}; restore {row[1]}" if row[1] else "is retired: its source records are gone"
            )
            raise RestoreRefused(f"{golden_id} {where}")
        archived = con.execute(
            "SELECT archived_run, archived_at, archived_as_of FROM archived_ids WHERE golden_id = ?", (golden_id,)
        ).fetchone()
        if archived is None:
            raise RestoreRefused(f"{golden_id} is not archived: it is in golden_customers")
        pending = con.execute(
            "SELECT restored_at, restored_by FROM archive_restores WHERE golden_id = ? AND restored_at >= ?"
            " ORDER BY restore_id DESC LIMIT 1",
            (golden_id, archived[1]),
        ).fetchone()
        if pending is not None:
            raise RestoreRefused(
                f"{golden_id} was already restored by {pending[1]} at {pending[0]}; the next run brings it back"
            )
        before = {"archived_run": archived[0], "archived_at": archived[1], "archived_as_of": archived[2]}
        audit_id = write_audit(con, by, RESTORE_ACTION, f"golden:{golden_id}", reason, before, {"restored_at": when})
        con.execute(
            "INSERT INTO archive_restores (golden_id, restored_at, restored_by, reason, audit_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (golden_id, when, by, reason, audit_id),
        )
    return Restored(golden_id, when, by, audit_id)

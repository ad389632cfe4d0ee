"""The audit log (table `audit_log` of the durable store): writing entries and reading them.

Every layer writes here (the steward service, users, sign-ins and sessions, `mdm query`,
`mdm rollback`, the store's own run bookkeeping), so it lives in `mdm.state` and imports nothing
above it. An entry is who (`actor`), when (UTC), what (`action`), on what (`item_key`), why
(`reason`), and before / after as JSON. Actors: a steward's user name for what they do on the
page or in `mdm review`; `cli:<os user>` for a command; `web:<address>` / `cli:<os user>` for a
failed sign-in (the name tried is the item, `user:<name>`, never the password); `schedule:<name>`
for the Prefect deployment's runs. Names with a colon are never user names (users.py forbids it).

Entries are kept at least AUDIT_RETENTION_DAYS: the store refuses (a trigger) to delete a younger
one, whoever asks. What is never written: passwords, query results, record values.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdm.errors import MdmError

if TYPE_CHECKING:
    from mdm.state.store import StateStore

AUDIT_RETENTION_DAYS = 183
"""Audit entries younger than this (six months) are never deleted (mdm/state/store.py's trigger)."""
COLUMNS = ["audit_id", "at", "actor", "action", "item_key", "reason", "before", "after", "undone_by_audit_id"]
SQL_CHARS = 200
"""How much of a query's SQL its audit entry keeps (with the SHA-256 of all of it)."""
_SHOWN_CHARS = 100


class AuditUnavailable(MdmError):
    """The audit entry could not be written; what needed it is not done (or not shown)."""


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def iso(epoch_seconds: float) -> str:
    """An instant (seconds since the epoch) as the store writes times: ISO 8601, UTC, milliseconds."""
    return dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).isoformat(timespec="milliseconds")


def printable(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Text from outside (a user name tried at sign-in) as it may be logged: control characters
    replaced by '?', at most `limit` characters (a terminal reading `mdm audit` is never driven)."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def os_actor(prefix: str = "cli") -> str:
    """`cli:<os user>`: who runs a command, as the operating system names them."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a container's bare uid)
        name = f"uid{os.getuid()}"
    return f"{prefix}:{printable(name, 64)}"


def sql_summary(sql: str) -> dict[str, str]:
    """What a query's audit entry keeps of its SQL: the first SQL_CHARS characters and a hash of all."""
    return {"sql": printable(sql.strip(), SQL_CHARS), "sql_sha256": hashlib.sha256(sql.encode()).hexdigest()}


def write_audit(
    con: sqlite3.Connection,
    actor: str,
    action: str,
    item_key: str | None,
    reason: str | None,
    before: Any,
    after: Any,
    *,
    at: str | None = None,
) -> int:
    """Add one entry inside the caller's transaction; returns its audit_id. `at`: when it happened
    (`now_utc()` form), if earlier than now (an entry written in the background)."""
    cur = con.execute(
        "INSERT INTO audit_log (at, actor, action, item_key, reason, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            at or now_utc(),
            actor,
            action,
            item_key,
            reason,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
        ),
    )
    return int(cur.lastrowid or 0)


def record(
    state_dir: Path | str,
    actor: str,
    action: str,
    item_key: str | None = None,
    *,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> int:
    """Write one entry in its own transaction, opening the store in `state_dir` (for commands that
    act outside the store: a query, a rollback). AuditUnavailable when it cannot be written."""
    from mdm.state.store import StateStore  # store.py imports this module

    try:
        with StateStore(state_dir) as store, store.transaction() as con:
            return write_audit(con, actor, action, item_key, reason, before, after)
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        raise AuditUnavailable(f"the audit log in {state_dir} could not be written ({exc})") from exc


def audit_entries(
    store: StateStore,
    *,
    limit: int = 200,
    item_key: str | None = None,
    since: dt.datetime | None = None,
    actions: Collection[str] = (),
    user: str | None = None,
) -> list[dict[str, Any]]:
    """The newest audit entries first: of an item (`item_key`, a substring), at or after `since`
    (naive means UTC), of these `actions`, by or about `user` (their actor name, or `user:<name>`
    as the item: failed sign-ins with that name, lock-outs, role changes)."""
    where: list[str] = []
    params: list[Any] = []
    if item_key:
        where.append("item_key LIKE ?")
        params.append(f"%{item_key}%")
    if since is not None:
        aware = since if since.tzinfo is not None else since.replace(tzinfo=dt.UTC)
        where.append("at >= ?")
        params.append(aware.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
    if actions:
        where.append(f"action IN ({', '.join('?' for _ in actions)})")
        params += list(actions)
    if user:
        where.append("(actor = ? OR item_key = ?)")
        params += [user, f"user:{user}"]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.query(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log {clause} ORDER BY audit_id DESC LIMIT {int(limit)}", params
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def format_entry(entry: dict[str, Any]) -> str:
    """One entry as one line of text (`mdm audit`)."""
    parts = [f"#{entry['audit_id']}", str(entry["at"]), str(entry["actor"]), str(entry["action"])]
    if entry["item_key"]:
        parts.append(str(entry["item_key"]))
    if entry["reason"]:
        parts.append(f"reason={json.dumps(entry['reason'], ensure_ascii=False)}")
    if entry["before"]:
        parts.append(f"before={entry['before']}")
    if entry["after"]:
        parts.append(f"after={entry['after']}")
    if entry["undone_by_audit_id"]:
        parts.append(f"undone by #{entry['undone_by_audit_id']}")
    return printable("  ".join(parts), 100_000)

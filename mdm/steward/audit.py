"""The audit log (table `audit_log` of the durable store): writing an entry and reading entries.

Every steward action (service.py) and every change to a user (users.py) writes one entry in the
same transaction as the change: who, when (UTC), action, item, reason, before and after (JSON).
Both modules import this one; it imports neither. Purging old entries, with its retention rule,
is a steward action and stays in service.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from mdm.state import StateStore

COLUMNS = ["audit_id", "at", "actor", "action", "item_key", "reason", "before", "after", "undone_by_audit_id"]


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def write_audit(
    con: sqlite3.Connection,
    actor: str,
    action: str,
    item_key: str | None,
    reason: str | None,
    before: Any,
    after: Any,
) -> int:
    """Add one entry inside the caller's transaction; returns its audit_id."""
    cur = con.execute(
        "INSERT INTO audit_log (at, actor, action, item_key, reason, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            now_utc(),
            actor,
            action,
            item_key,
            reason,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
        ),
    )
    return int(cur.lastrowid or 0)


def audit_entries(store: StateStore, *, limit: int = 200, item_key: str | None = None) -> list[dict[str, Any]]:
    """The newest audit entries first (optionally of one item)."""
    where, params = ("WHERE item_key LIKE ?", (f"%{item_key}%",)) if item_key else ("", ())
    rows = store.query(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log {where} ORDER BY audit_id DESC LIMIT {int(limit)}", params
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]

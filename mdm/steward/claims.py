"""Claims: a steward holds a review item for CLAIM_MINUTES so that two stewards working the queue
never open the same item. A claim is a lease, not a decision: it expires by itself (a steward who
walks away holds nothing for long), deciding or skipping the item ends it, and claiming again
renews it. Deciding an item another steward holds a live claim on is refused (`Conflict`) in the
decision's own transaction (service.py `decide`).

Times are UTC ISO-8601 text with milliseconds (`now_utc()`), so they compare as strings.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from mdm.errors import MdmError
from mdm.state import StateStore
from mdm.steward.audit import now_utc

CLAIM_MINUTES = 15
"""How long a claim holds an item without being renewed."""


class ClaimHeld(MdmError):
    """Another steward holds a live claim on the item (the desk answers it as a Conflict)."""


@dataclass(frozen=True)
class Claim:
    item_key: str
    claimed_by: str
    expires_at: str


def _later(at: str, minutes: int) -> str:
    return (dt.datetime.fromisoformat(at) + dt.timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


def holder(con: sqlite3.Connection, key: str, now: str) -> Claim | None:
    """The live claim on `key`, if any."""
    row = con.execute(
        "SELECT claimed_by, expires_at FROM steward_claims WHERE item_key = ? AND expires_at > ?", (key, now)
    ).fetchone()
    return Claim(key, row[0], row[1]) if row else None


def claim(store: StateStore, key: str, username: str, *, now: str | None = None) -> Claim:
    """Claim `key` for `username` (or renew their claim); ClaimHeld when another's claim is live."""
    at = now or now_utc()
    with store.transaction() as con:
        held = holder(con, key, at)
        if held is not None and held.claimed_by != username:
            raise ClaimHeld(f"{key} is claimed by {held.claimed_by} until {held.expires_at[:16]} UTC; pick another")
        expires = _later(at, CLAIM_MINUTES)
        con.execute(
            "INSERT INTO steward_claims (item_key, claimed_by, claimed_at, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (item_key) DO UPDATE SET claimed_by = excluded.claimed_by,"
            " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
            (key, username, at, expires),
        )
    return Claim(key, username, expires)


def release(con: sqlite3.Connection, key: str, username: str) -> bool:
    """End `username`'s claim on `key` (inside the caller's transaction); False if they held none."""
    return con.execute("DELETE FROM steward_claims WHERE item_key = ? AND claimed_by = ?", (key, username)).rowcount > 0


def release_item(store: StateStore, key: str, username: str) -> bool:
    with store.transaction() as con:
        return release(con, key, username)


def live_claims(store: StateStore, *, now: str | None = None) -> dict[str, Claim]:
    """Every live claim by item key (expired rows are ignored, and swept now and then by `claim`)."""
    at = now or now_utc()
    rows = store.query("SELECT item_key, claimed_by, expires_at FROM steward_claims WHERE expires_at > ?", (at,))
    return {k: Claim(k, by, until) for k, by, until in rows}


def sweep(store: StateStore, *, now: str | None = None) -> int:
    """Delete expired claims (they are already ignored; this only keeps the table small)."""
    with store.transaction() as con:
        return con.execute("DELETE FROM steward_claims WHERE expires_at <= ?", (now or now_utc(),)).rowcount

"""Server-side sessions of the steward page (table `web_sessions` of the durable store).

The browser's signed cookie (web/security.py) carries a random session token; the store keeps
only its SHA-256, with the user, the client, when the session began and expires (SESSION_HOURS
after sign-in, however busy its user) and when, by whom and why it ended. A request is signed in
only while its token's row is live, so a session ends for good, copied cookies included:

- at sign-out, and when the same browser signs in again;
- when an admin ends the user's sessions (`mdm users sign-out NAME`, the admin page);
- when the user's role or password changes (users.py, in the same transaction);
- SESSION_HOURS after sign-in.

Every end is audited (sign_out, sessions_ended). Times are given by the caller (`now`, seconds
since the epoch) so tests move a clock instead of sleeping. Rows of sessions over for a day are
deleted at the next sign-in; the audit log keeps the sign-ins and sign-outs.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time

from mdm.state import StateStore
from mdm.state.audit import iso, write_audit
from mdm.types import StewardRole

SESSION_HOURS = 12
_KEEP_ENDED_SECONDS = 24 * 3600


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256 (a copy of the store signs nobody in)."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(con: sqlite3.Connection, username: str, token: str, *, client: str, now: float) -> None:
    """Record a new session inside the caller's transaction (signin.py's, with its audit entry)."""
    con.execute("DELETE FROM web_sessions WHERE expires_at < ?", (iso(now - _KEEP_ENDED_SECONDS),))
    con.execute(
        "DELETE FROM web_sessions WHERE ended_at IS NOT NULL AND ended_at < ?", (iso(now - _KEEP_ENDED_SECONDS),)
    )
    con.execute(
        "INSERT INTO web_sessions (session_hash, username, client, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (token_hash(token), username, client, iso(now), iso(now + SESSION_HOURS * 3600)),
    )


def session_user(store: StateStore, token: str, *, now: float) -> tuple[str, StewardRole] | None:
    """(user name, role) of a live session, read with the role as it is now; None when the session
    is unknown, ended or expired, or its user is gone."""
    rows = store.query(
        "SELECT u.username, u.role FROM web_sessions s JOIN users u ON u.username = s.username"
        " WHERE s.session_hash = ? AND s.ended_at IS NULL AND s.expires_at > ?",
        (token_hash(token), iso(now)),
    )
    return (rows[0][0], rows[0][1]) if rows else None


def end_session(
    con: sqlite3.Connection, token: str, *, by: str | None, reason: str, now: float, client: str
) -> str | None:
    """End one session inside the caller's transaction; audited as a sign-out. Returns its user
    (None when it was not live). `by` None: the session's own user."""
    row = con.execute(
        "SELECT username FROM web_sessions WHERE session_hash = ? AND ended_at IS NULL AND expires_at > ?",
        (token_hash(token), iso(now)),
    ).fetchone()
    if row is None:
        return None
    username = str(row[0])
    con.execute(
        "UPDATE web_sessions SET ended_at = ?, ended_by = ?, end_reason = ? WHERE session_hash = ?",
        (iso(now), by or username, reason, token_hash(token)),
    )
    write_audit(con, by or username, "sign_out", f"user:{username}", None, None, {"client": client, "why": reason})
    return username


def sign_out(store: StateStore, token: str, *, now: float, client: str) -> str | None:
    """The session's user signs out: the session ends for good. Returns who (None: nobody was in)."""
    with store.transaction() as con:
        return end_session(con, token, by=None, reason="signed out", now=now, client=client)


def end_user_sessions(
    con: sqlite3.Connection, username: str, *, by: str, reason: str, now: float | None = None, always: bool = False
) -> int:
    """End every live session of `username` inside the caller's transaction; audited
    (sessions_ended) when any ended, or `always` (an admin asked). Returns how many ended."""
    at = iso(time.time() if now is None else now)
    ended = con.execute(
        "UPDATE web_sessions SET ended_at = ?, ended_by = ?, end_reason = ?"
        " WHERE username = ? AND ended_at IS NULL AND expires_at > ?",
        (at, by, reason, username, at),
    ).rowcount
    if ended or always:
        write_audit(con, by, "sessions_ended", f"user:{username}", None, None, {"sessions": ended, "why": reason})
    return int(ended)


def live_sessions(store: StateStore, *, now: float) -> dict[str, int]:
    """User name -> how many sessions of theirs are live."""
    rows = store.query(
        "SELECT username, count(*) FROM web_sessions WHERE ended_at IS NULL AND expires_at > ? GROUP BY username",
        (iso(now),),
    )
    return {str(u): int(n) for u, n in rows}

"""Signing in (the page and `mdm review`): the password check behind a throttle, audited.

Failed sign-ins are counted per user name tried and per client (the page: the client's address;
the terminal: the OS user), in table `sign_in_throttle` of the durable store. After `n` failures
in a row the next attempt on that name or from that client waits `Throttle.wait_after(n)`:
nothing for the first few, then a delay doubling each time, then a lock-out of LOCK_MINUTES at
`lock_after` failures (and again after every further failure). An attempt that comes before its
wait is over is refused without its password being looked at: a right and a wrong password get
the same answer (and take the same time) until the wait ends.

- The delay is enforced, not slept: the server holds no connection open, so parallel attempts
  gain nothing, and tests move an injected clock (`now`).
- The attempt is counted as a failure *before* the password is checked, in one IMMEDIATE
  transaction with the wait check, and forgiven when it succeeds: attempts made at once cannot
  all slip through before the first failure is written. The scrypt check runs outside the write
  lock.
- A success clears the user name's count; the client's count only loses this attempt (signing
  in to one's own account does not reset a client's failures on other names). Counts older than
  FORGET_HOURS are dropped.
- Audited: sign_in (actor: the user), sign_in_failed (actor: the client, item `user:<name
  tried>`, never the password), lockout (item `user:<name>` or `client:<client>`, with until),
  sign_in_refused (at most once per wait: a flood cannot fill the store), unlock.

Every client of a page behind a proxy has the proxy's address unless the proxy says who the client
is (`mdm serve --behind-tls` trusts X-Forwarded-For from 127.0.0.1 only): the client limits are
higher than the user-name limits for that reason.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass

from mdm.state import StateStore
from mdm.state.audit import iso, printable, write_audit
from mdm.steward.sessions import end_session, start_session
from mdm.steward.users import User, authenticate

LOCK_MINUTES = 15
FORGET_HOURS = 24


@dataclass(frozen=True)
class Throttle:
    """How long attempts on one key wait after failures."""

    free_failures: int
    """failures in a row answered at once"""
    first_delay: float
    """seconds the next attempt waits after free_failures failures; doubled after each further one"""
    max_delay: float
    lock_after: int
    """failures in a row that lock the key out for lock_seconds"""
    lock_seconds: float = LOCK_MINUTES * 60

    def wait_after(self, failures: int) -> float:
        """Seconds the next attempt waits after `failures` failures in a row."""
        if failures >= self.lock_after:
            return self.lock_seconds
        if failures < self.free_failures:
            return 0.0
        return float(min(self.first_delay * 2 ** (failures - self.free_failures), self.max_delay))

    def locks(self, failures: int) -> bool:
        return failures >= self.lock_after


USER_THROTTLE = Throttle(free_failures=3, first_delay=1.0, max_delay=60.0, lock_after=10)
"""Per user name: 3 at once, then waits of 1, 2, 4 ... 60 s, locked out 15 minutes at 10 failures."""
CLIENT_THROTTLE = Throttle(free_failures=10, first_delay=1.0, max_delay=60.0, lock_after=50)
"""Per client: higher, since one proxy or one shared desk may stand for many people."""


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    """the user, signed in; None when refused"""
    retry_after: float = 0.0
    """> 0: refused unchecked (throttled or locked out); seconds until an attempt is taken again"""

    @property
    def message(self) -> str:
        if self.user is not None:
            return f"signed in as {self.user.username}"
        if self.retry_after > 0:
            return "too many failed sign-ins for this user name or from here: try again in " + wait_words(
                self.retry_after
            )
        return "wrong user name or password"


def wait_words(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} s" if whole < 120 else f"{math.ceil(whole / 60)} minutes"


def _keys(username: str, client: str) -> dict[str, str]:
    return {"user": f"user:{printable(username)}", "client": f"client:{printable(client)}"}


def _since(con: sqlite3.Connection, key: str) -> tuple[int, float, int] | None:
    row = con.execute(
        "SELECT failures, last_failure_at, refused FROM sign_in_throttle WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), dt.datetime.fromisoformat(row[1]).timestamp(), int(row[2])


def sign_in(
    store: StateStore,
    username: str,
    password: str,
    *,
    client: str,
    now: float,
    via: str = "web",
    session_token: str | None = None,
    previous_token: str | None = None,
    throttles: tuple[Throttle, Throttle] = (USER_THROTTLE, CLIENT_THROTTLE),
) -> SignInResult:
    """Check a sign-in through the throttle (module docstring). On success, with `session_token`,
    the page's new session starts in the same transaction as the audit entry, and the browser's
    previous session (`previous_token`) ends."""
    keys = _keys(username, client)
    limits = dict(zip(keys, throttles, strict=True))
    tried = keys["user"]
    with store.transaction() as con:
        con.execute("DELETE FROM sign_in_throttle WHERE last_failure_at < ?", (iso(now - FORGET_HOURS * 3600),))
        waits = {}
        before = {}
        for kind, key in keys.items():
            found = before[kind] = _since(con, key)
            if found is not None:
                failures, last, refused = found
                until = last + limits[kind].wait_after(failures)
                if now < until:
                    waits[kind] = (until - now, refused)
        if waits:
            retry = max(w for w, _ in waits.values())
            for kind in waits:
                con.execute("UPDATE sign_in_throttle SET refused = refused + 1 WHERE key = ?", (keys[kind],))
            if any(refused == 0 for _, refused in waits.values()):  # the first refusal of this wait
                after = {"client": client, "throttled": sorted(waits), "retry_after_s": math.ceil(retry)}
                write_audit(con, client, "sign_in_refused", tried, None, None, after)
            return SignInResult(None, retry)
        counts = {}
        for kind, key in keys.items():
            con.execute(
                "INSERT INTO sign_in_throttle (key, failures, last_failure_at) VALUES (?, 1, ?) ON CONFLICT (key)"
                " DO UPDATE SET failures = failures + 1, last_failure_at = excluded.last_failure_at, refused = 0",
                (key, iso(now)),
            )
            counts[kind] = int(con.execute("SELECT failures FROM sign_in_throttle WHERE key = ?", (key,)).fetchone()[0])
    user = authenticate(store, username, password)  # scrypt, outside the write lock
    with store.transaction() as con:
        if user is not None:
            con.execute("DELETE FROM sign_in_throttle WHERE key = ?", (keys["user"],))
            # the client's count loses this attempt, and its time goes back (unless another came since)
            previous = before["client"]
            con.execute(
                "UPDATE sign_in_throttle SET failures = failures - 1,"
                " last_failure_at = CASE WHEN last_failure_at = ? THEN ? ELSE last_failure_at END WHERE key = ?",
                (iso(now), iso(previous[1]) if previous else iso(now), keys["client"]),
            )
            con.execute("DELETE FROM sign_in_throttle WHERE key = ? AND failures <= 0", (keys["client"],))
            if previous_token:
                end_session(con, previous_token, by=None, reason="signed in again", now=now, client=client)
            if session_token:
                start_session(con, user.username, session_token, client=client, now=now)
            write_audit(
                con, user.username, "sign_in", f"user:{user.username}", None, None, {"client": client, "via": via}
            )
            return SignInResult(user)
        write_audit(
            con,
            client,
            "sign_in_failed",
            tried,
            None,
            None,
            {"client": client, "via": via, "failures": counts["user"], "client_failures": counts["client"]},
        )
        for kind, key in keys.items():
            if limits[kind].locks(counts[kind]):
                locked_until = iso(now + limits[kind].wait_after(counts[kind]))
                after = {"failures": counts[kind], "until": locked_until}
                write_audit(con, client, "lockout", key, None, None, after)
    return SignInResult(None)


def unlock(store: StateStore, username: str, *, by: str) -> bool:
    """Forget the failed sign-ins of a user name (an admin's word that the owner is who tries);
    audited. False when there were none."""
    key = _keys(username, "")["user"]
    with store.transaction() as con:
        cleared = con.execute("DELETE FROM sign_in_throttle WHERE key = ?", (key,)).rowcount
        write_audit(con, by, "unlock", key, None, None, {"cleared": bool(cleared)})
    return bool(cleared)


def waiting(store: StateStore, *, now: float, throttle: Throttle = USER_THROTTLE) -> dict[str, str]:
    """User name -> until when (ISO, UTC) its sign-ins are held back, for the names held back now."""
    out = {}
    for key, failures, last in store.query("SELECT key, failures, last_failure_at FROM sign_in_throttle"):
        if str(key).startswith("user:"):
            until = dt.datetime.fromisoformat(last).timestamp() + throttle.wait_after(int(failures))
            if until > now:
                out[str(key).removeprefix("user:")] = iso(until)
    return out

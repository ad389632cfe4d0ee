"""The steward's desk: one object over a master and a durable store that the terminal review and
the web page both use. Each call opens the store for its own short transaction, so several
stewards (threads, processes, machines sharing the state directory) work at once safely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mdm.state import StateStore
from mdm.steward import audit, claims, search, service, sessions, signin, users, views
from mdm.steward import queue as work
from mdm.steward import throughput as stats
from mdm.steward.service import ActionResult, Record
from mdm.steward.users import User
from mdm.types import Verdict


def parse_record(text: str) -> Record:
    source, sep, record_id = text.partition(":")
    if not sep or not source or not record_id:
        raise service.StewardError(f"{text!r} is not SOURCE:RECORD_ID, e.g. crm:C000123")
    return source, record_id


class StewardDesk:
    def __init__(self, master: Path | str, state_dir: Path | str):
        self.master = Path(master)
        self.state_dir = Path(state_dir)

    @contextmanager
    def store(self) -> Iterator[StateStore]:
        with StateStore(self.state_dir) as store:
            yield store

    # ---- signing in and sessions (signin.py, sessions.py) --------------------------------------
    def sign_in(
        self,
        username: str,
        password: str,
        *,
        client: str,
        now: float,
        via: str = "web",
        session_token: str | None = None,
        previous_token: str | None = None,
    ) -> signin.SignInResult:
        """Throttled and audited; with `session_token` a page session starts."""
        with self.store() as store:
            return signin.sign_in(
                store,
                username,
                password,
                client=client,
                now=now,
                via=via,
                session_token=session_token,
                previous_token=previous_token,
            )

    def session_user(self, token: str, now: float) -> User | None:
        with self.store() as store:
            found = sessions.session_user(store, token, now=now)
        return User(*found) if found else None

    def sign_out(self, token: str, *, client: str, now: float) -> str | None:
        with self.store() as store:
            return sessions.sign_out(store, token, now=now, client=client)

    def end_sessions(self, by: User, username: str) -> str:
        self._admin(by)
        with self.store() as store:
            ended = users.end_sessions(store, username, by=by.username)
        return f"ended {ended} session(s) of {username}"

    def live_sessions(self, now: float) -> dict[str, int]:
        with self.store() as store:
            return sessions.live_sessions(store, now=now)

    # ---- users -----------------------------------------------------------------------------

    def user(self, username: str) -> User | None:
        with self.store() as store:
            return users.get_user(store, username)

    def users(self) -> list[tuple[str, str, str, str]]:
        with self.store() as store:
            return users.list_users(store)

    def add_user(self, by: User, username: str, password: str, role: str) -> User:
        self._admin(by)
        with self.store() as store:
            return users.add_user(store, username, password, role, by=by.username)

    def set_role(self, by: User, username: str, role: str) -> User:
        self._admin(by)
        if username == by.username and role != "admin":
            raise service.StewardError("an admin cannot take away their own admin role (ask another admin)")
        with self.store() as store:
            return users.set_role(store, username, role, by=by.username)

    @staticmethod
    def _admin(user: User) -> None:
        if not user.can("admin"):
            raise service.Forbidden(f"{user.username} is a {user.role}: managing users needs the admin role")

    # ---- reading ---------------------------------------------------------------------------
    def queue(self, flt: views.QueueFilter | None = None) -> list[views.QueueItem]:
        """The whole queue, filtered and ordered (the terminal review)."""
        with self.store() as store:
            return work.review_queue(self.master, store, flt or views.QueueFilter())

    def queue_page(self, flt: views.QueueFilter, offset: int = 0, limit: int = work.PAGE_SIZE) -> work.QueuePage:
        with self.store() as store:
            return work.queue_page(self.master, store, flt, offset=offset, limit=limit)

    def pair(self, left: Record, right: Record) -> views.PairView:
        with self.store() as store:
            return views.pair_view(self.master, store, left, right)

    def golden(self, golden_id: str) -> views.GoldenView:
        with self.store() as store:
            return views.golden_view(self.master, store, golden_id)

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.store() as store:
            return audit.audit_entries(store, limit=limit)

    def sources(self) -> list[str]:
        return views.sources(self.master)

    def find_customers(self, text: str, offset: int = 0, limit: int = 20) -> search.CustomerHits:
        return search.find_customers(self.master, text, offset=offset, limit=limit)

    def next_item(
        self, user: User, flt: views.QueueFilter, *, after_position: int = 0, exclude: str | None = None
    ) -> views.QueueItem | None:
        """The next item for `user` (past `after_position`, held by no one else), claimed for them
        when they may decide; None when the queue (under `flt`) holds nothing more for them."""
        with self.store() as store:
            for _ in range(3):  # another steward may claim the same item between the read and the claim
                item = work.next_item(
                    self.master, store, flt, user.username, after_position=after_position, exclude=exclude
                )
                if item is None or not user.can("steward"):
                    return item
                try:
                    claims.claim(store, item.key, user.username)
                except claims.ClaimHeld:
                    continue
                return item
        return None

    def my_work(self, user: User, day: dt.date) -> list[dict[str, Any]]:
        with self.store() as store:
            return stats.work_of(store, user.username, day)

    def throughput(self, by: User, since: dt.date, until: dt.date) -> list[stats.Throughput]:
        self._admin(by)
        with self.store() as store:
            return stats.throughput(store, since, until)

    # ---- claims (claims.py) ------------------------------------------------------------------
    def claim(self, user: User, left: Record, right: Record) -> str:
        if not user.can("steward"):
            raise service.Forbidden(f"{user.username} is a {user.role}: claiming items needs the steward role")
        key = service.pair_key(left, right)
        with self.store() as store:
            try:
                held = claims.claim(store, key, user.username)
            except claims.ClaimHeld as exc:
                raise service.Conflict(str(exc)) from None
        return f"{key} is yours until {held.expires_at[11:16]} UTC"

    def release(self, user: User, left: Record, right: Record) -> str:
        key = service.pair_key(left, right)
        with self.store() as store:
            released = claims.release_item(store, key, user.username)
        return f"released {key}" if released else f"you held no claim on {key}"

    def claim_of(self, left: Record, right: Record) -> claims.Claim | None:
        with self.store() as store:
            return claims.live_claims(store).get(service.pair_key(left, right))

    # ---- acting ----------------------------------------------------------------------------
    def decide(
        self,
        user: User,
        left: Record,
        right: Record,
        verdict: Verdict,
        *,
        expected_version: int | None,
        reason: str | None = None,
    ) -> ActionResult:
        item = views.item_members(self.master, left, right) if verdict != "skip" else None
        records = [left, right, *(item[0] if item else ()), *(item[1] if item else ())]
        prints = views.fingerprints(self.master, list(dict.fromkeys(records))) if verdict != "skip" else {}
        with self.store() as store:
            return service.decide(
                store,
                user,
                left,
                right,
                verdict,
                expected_version=expected_version,
                fingerprints=prints,
                reason=reason,
                item=item,
            )

    def merge(
        self, user: User, a: str, b: str, *, expected_versions: dict[str, int | None], reason: str | None = None
    ) -> ActionResult:
        members = views.golden_members(self.master, [a, b])
        reps = [m[0] for m in members.values() if m]
        prints = views.fingerprints(self.master, reps) if len(reps) == 2 else {}
        with self.store() as store:
            return service.merge(
                store, user, (a, b), members, expected_versions=expected_versions, fingerprints=prints, reason=reason
            )

    def split(
        self,
        user: User,
        golden_id: str,
        split_out: list[Record],
        *,
        expected_version: int | None,
        reason: str | None = None,
    ) -> ActionResult:
        members = views.golden_members(self.master, [golden_id])[golden_id]
        if not members:
            raise service.NotFound(f"golden customer {golden_id} is not in the master")
        prints = views.fingerprints(self.master, members)
        with self.store() as store:
            return service.split(
                store,
                user,
                golden_id,
                members,
                split_out,
                expected_version=expected_version,
                fingerprints=prints,
                reason=reason,
            )

    def undo(self, user: User, audit_id: int, reason: str | None = None) -> ActionResult:
        with self.store() as store:
            return service.undo(store, user, audit_id, reason=reason)

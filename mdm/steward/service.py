"""The steward's actions on the durable store: decide a pair, merge two golden customers, split
records out of one, undo; each one transaction with its audit entry. The terminal and the web page
call these and nothing else (one code path).

Rules, and why:

- **All or nothing.** An action is one SQLite transaction begun IMMEDIATE (the write lock is taken
  first): the version check, the decisions, the revocations it implies and its audit entry are
  committed together or not at all.
- **Optimistic versions.** Every review item (a pair `pair:a|b`, a golden customer `golden:G...`)
  has a version, 0 until first acted on; each action passes the version its user saw. If another
  action came first, `Conflict` says who did what and when, and nothing is written. A skip checks
  the version (so the skipper hears of a decision made meanwhile) but does not bump it: a skip
  must never make another steward's decision fail.
- **One live decision per pair.** Deciding a pair again revokes its earlier decisions in the same
  transaction; undo restores exactly what the action revoked.
- **An answer settles its review item.** A review item is a pair of golden customers; deciding
  its pair with the records of both customers (`item`) writes `item_links`: "same" a must-link
  from the pair's first record to every other record of both (they are one person), "not the
  same" a cannot-link for every record pair across them (as for a split, the smallest set that
  keeps them apart whatever order the run takes its links in). The answered pair is the label
  (`label` 1) mdm/match/learn.py learns from; the implied links are not.
- **Merge** of two golden customers is one "same" decision between a representative record of
  each (highest trust, then source and record id): a must-link joins the two clusters whatever
  their data conflicts say.
- **Split** of records S out of a golden customer whose other records are R is a "not the same"
  decision for every pair in S x R. That is the smallest set that guarantees the split whatever
  order the run takes its links in: with any pair (s, r) left out, a strong direct link between
  s and r, taken while both are still alone, would join them, and through them S and R. (Fewer
  links would do with must-links pinning S and R each together, but that would also freeze R's
  records to one another against later evidence, which the steward did not say.) The split-out
  records are not pinned together: they form whatever customers the evidence makes, and a steward
  merges them by hand if they are one person. Splits are capped at MAX_SPLIT_LINKS links.
- **Audit.** Every action (users too) writes audit_log (mdm/steward/audit.py): who, when (UTC),
  action, item, reason, before and after (JSON). Entries are kept at least AUDIT_RETENTION_DAYS; `purge_audit` removes
  older ones only when called, never by default, and refuses a younger cut-off; the store itself
  refuses to delete a younger entry (a trigger on audit_log), whatever clock the caller passes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mdm.errors import MdmError
from mdm.state import StateStore
from mdm.state.fingerprint import Fingerprint, dumps, record_label
from mdm.steward import claims
from mdm.steward.audit import AUDIT_RETENTION_DAYS, now_utc, write_audit
from mdm.steward.users import User
from mdm.types import Verdict

MAX_SPLIT_LINKS = 10_000
UNDOABLE = ("same", "not_same", "merge", "split")

Record = tuple[str, str]
"""(source, source_record_id)"""


class StewardError(MdmError):
    """An action that cannot be done as asked (the message says why and what to do)."""


class Forbidden(StewardError):
    """The user's role does not allow the action."""


class NotFound(StewardError):
    """A record, golden customer or audit entry is not there."""


class Conflict(StewardError):
    """Someone acted on the item first: nothing was written."""


def pair_key(left: Record, right: Record) -> str:
    return "pair:" + "|".join(sorted((record_label(*left), record_label(*right))))


def golden_key(golden_id: str) -> str:
    return f"golden:{golden_id}"


def item_version(store: StateStore, key: str) -> int:
    rows = store.query("SELECT version FROM steward_items WHERE item_key = ?", (key,))
    return int(rows[0][0]) if rows else 0


def _check_version(con: sqlite3.Connection, key: str, expected: int | None) -> int:
    row = con.execute(
        "SELECT i.version, a.actor, a.at, a.action FROM steward_items i"
        " LEFT JOIN audit_log a ON a.audit_id = i.last_audit_id"
        " WHERE i.item_key = ?",
        (key,),
    ).fetchone()
    version = int(row[0]) if row else 0
    if expected is not None and expected != version:
        if row is None or row[1] is None:
            raise Conflict(f"{key}: the page is out of date (version {expected}, now {version}); reload it")
        raise Conflict(
            f"{key} was already decided by {row[1]} at {row[2]} ({_ACTION_WORDS.get(row[3], row[3])});"
            " nothing was written: reload the item and decide again if needed"
        )
    return version


def _bump(con: sqlite3.Connection, key: str, audit_id: int) -> None:
    con.execute(
        "INSERT INTO steward_items (item_key, version, last_audit_id) VALUES (?, 1, ?)"
        " ON CONFLICT (item_key) DO UPDATE SET version = version + 1, last_audit_id = excluded.last_audit_id",
        (key, audit_id),
    )


_ACTION_WORDS = {
    "same": "same person",
    "not_same": "not the same",
    "skip": "skipped",
    "merge": "merged",
    "split": "split",
    "undo": "undone",
}
_DECISION_COLUMNS = [
    "decision_id",
    "left_source",
    "left_record_id",
    "right_source",
    "right_record_id",
    "decision",
    "reason",
    "decided_by",
    "decided_at",
]


_PAIR_DECISIONS = (
    f"SELECT {', '.join(_DECISION_COLUMNS)} FROM steward_decisions WHERE revoked_at IS NULL AND"
    " ((left_source = ? AND left_record_id = ? AND right_source = ? AND right_record_id = ?)"
    " OR (left_source = ? AND left_record_id = ? AND right_source = ? AND right_record_id = ?))"
    " ORDER BY decision_id"
)


def _active_on(con: sqlite3.Connection, pairs: Iterable[tuple[Record, Record]]) -> list[dict[str, Any]]:
    out = []
    for a, b in pairs:
        rows = con.execute(_PAIR_DECISIONS, (*a, *b, *b, *a)).fetchall()
        out += [dict(zip(_DECISION_COLUMNS, r, strict=True)) for r in rows]
    return out


def decisions_on(store: StateStore, left: Record, right: Record) -> list[dict[str, Any]]:
    """The live decisions on one pair (at most one when made through this module)."""
    rows = store.query(_PAIR_DECISIONS, (*left, *right, *right, *left))
    return [dict(zip(_DECISION_COLUMNS, r, strict=True)) for r in rows]


def _insert_decisions(
    con: sqlite3.Connection,
    links: Sequence[tuple[Record, Record]],
    decision: str,
    *,
    by: str,
    reason: str | None,
    audit_id: int,
    fingerprints: dict[str, Fingerprint],
    labels: int = 0,
) -> list[int]:
    """Insert one decision per link; the first `labels` of them are labels (the pair the steward
    answered: mdm/match/learn.py learns from them), the rest links the answer implies."""
    at = now_utc()
    ids = []
    for n, (a, b) in enumerate(links):
        seen = {k: fingerprints[k] for k in (record_label(*a), record_label(*b)) if k in fingerprints}
        cur = con.execute(
            "INSERT INTO steward_decisions (left_source, left_record_id, right_source, right_record_id, decision,"
            " reason, decided_by, decided_at, audit_id, fingerprint, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*a, *b, decision, reason, by, at, audit_id, dumps(seen) if seen else None, int(n < labels)),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def item_links(
    left: Record, right: Record, verdict: str, item: tuple[Sequence[Record], Sequence[Record]] | None
) -> list[tuple[Record, Record]]:
    """The links an answer on a review item writes, the answered pair first. `item` holds the
    records of the two golden customers the pair joins (left's, right's), None when the pair is
    within one customer. "same": the pair, then a must-link from `left` to every other record of
    both customers (they are one person: nothing the data says may split them again). "not the
    same": a cannot-link for every record pair across the two customers (the smallest set that
    keeps them apart whatever order the run takes links in, as for a split)."""
    links = [(left, right)]
    if item is None:
        return links
    ours, theirs = list(dict.fromkeys(item[0])), list(dict.fromkeys(item[1]))
    if set(ours) & set(theirs):
        return links
    if verdict == "same":
        return links + [(left, r) for r in [*ours, *theirs] if r not in (left, right)]
    across = [(a, b) for a in ours for b in theirs if (a, b) != (left, right) and (b, a) != (left, right)]
    if len(across) + 1 > MAX_SPLIT_LINKS:
        raise StewardError(
            f"customers of {len(ours)} and {len(theirs)} records are too large to keep apart"
            f" ({MAX_SPLIT_LINKS} links at most)"
        )
    return links + across


def _revoke(con: sqlite3.Connection, decision_ids: Iterable[int], by: str) -> None:
    at = now_utc()
    con.executemany(
        "UPDATE steward_decisions SET revoked_at = ?, revoked_by = ? WHERE decision_id = ? AND revoked_at IS NULL",
        [(at, by, i) for i in decision_ids],
    )


def _require(user: User, role: str, what: str) -> None:
    if not user.can(role):  # type: ignore[arg-type]
        raise Forbidden(f"{user.username} is a {user.role}: {what} needs the {role} role (ask an admin)")


@dataclass(frozen=True)
class ActionResult:
    audit_id: int
    item_version: int
    message: str


def decide(
    store: StateStore,
    user: User,
    left: Record,
    right: Record,
    verdict: Verdict,
    *,
    expected_version: int | None,
    fingerprints: dict[str, Fingerprint],
    reason: str | None = None,
    item: tuple[Sequence[Record], Sequence[Record]] | None = None,
) -> ActionResult:
    """Record a steward's verdict on a pair. same / not_same replace any earlier decision on it.
    With `item` (the records of the two golden customers the pair stands between, left's then
    right's) the answer settles the whole review item (`item_links`); the answered pair is the label."""
    _require(user, "steward", "deciding")
    if verdict not in ("same", "not_same", "skip"):
        raise StewardError(f"verdict must be same, not_same or skip, not {verdict!r}")
    if left == right:
        raise StewardError("a record cannot be decided against itself")
    key = pair_key(left, right)
    reason = (reason or "").strip() or None
    with store.transaction() as con:
        version = _check_version(con, key, expected_version)
        held = claims.holder(con, key, now_utc())
        if held is not None and held.claimed_by != user.username:
            raise Conflict(
                f"{key} is claimed by {held.claimed_by} until {held.expires_at[:16]} UTC; nothing was written:"
                " pick another item"
            )
        claims.release(con, key, user.username)
        if verdict == "skip":
            audit_id = write_audit(con, user.username, "skip", key, reason, None, None)
            return ActionResult(audit_id, version, f"skipped {key}")
        links = item_links(left, right, verdict, item)
        replaced = _active_on(con, links)
        audit_id = write_audit(con, user.username, verdict, key, reason, {"decisions": replaced}, None)
        revoked = [d["decision_id"] for d in replaced]
        _revoke(con, revoked, user.username)
        new = _insert_decisions(
            con,
            links,
            verdict,
            by=user.username,
            reason=reason,
            audit_id=audit_id,
            fingerprints=fingerprints,
            labels=1,
        )
        after = {
            "decisions": _active_on(con, [(left, right)]),
            "decision_ids": new,
            "revoked_decision_ids": revoked,
            "links": len(links),
        }
        con.execute("UPDATE audit_log SET after = ? WHERE audit_id = ?", (json.dumps(after, sort_keys=True), audit_id))
        _bump(con, key, audit_id)
    return ActionResult(audit_id, version + 1, f"{key}: {_ACTION_WORDS[verdict]}")


def merge(
    store: StateStore,
    user: User,
    golden_ids: tuple[str, str],
    members: dict[str, list[Record]],
    *,
    expected_versions: dict[str, int | None],
    fingerprints: dict[str, Fingerprint],
    reason: str | None = None,
) -> ActionResult:
    """Merge two golden customers: a "same" decision between their representatives (members are
    each customer's records, representative first)."""
    _require(user, "steward", "merging")
    a, b = golden_ids
    if a == b:
        raise StewardError(f"{a} cannot be merged with itself")
    for g in golden_ids:
        if not members.get(g):
            raise NotFound(f"golden customer {g} is not in the master")
    link = (members[a][0], members[b][0])
    keys = [golden_key(a), golden_key(b)]
    with store.transaction() as con:
        versions = [_check_version(con, k, expected_versions.get(g)) for k, g in zip(keys, golden_ids, strict=True)]
        before = {"members": {g: [record_label(*r) for r in members[g]] for g in golden_ids}}
        audit_id = write_audit(con, user.username, "merge", " ".join(keys), reason, before, None)
        revoked = [d["decision_id"] for d in _active_on(con, [link])]
        _revoke(con, revoked, user.username)
        new = _insert_decisions(
            con, [link], "same", by=user.username, reason=reason, audit_id=audit_id, fingerprints=fingerprints, labels=1
        )
        after = {
            "must_link": [record_label(*link[0]), record_label(*link[1])],
            "decision_ids": new,
            "revoked_decision_ids": revoked,
        }
        con.execute("UPDATE audit_log SET after = ? WHERE audit_id = ?", (json.dumps(after, sort_keys=True), audit_id))
        for k in keys:
            _bump(con, k, audit_id)
    return ActionResult(audit_id, max(versions) + 1, f"{a} and {b} will be one customer after the next run")


def split(
    store: StateStore,
    user: User,
    golden_id: str,
    members: list[Record],
    split_out: list[Record],
    *,
    expected_version: int | None,
    fingerprints: dict[str, Fingerprint],
    reason: str | None = None,
) -> ActionResult:
    """Split `split_out` out of the golden customer whose records are `members`: "not the same"
    for every pair of a split-out record and a remaining one (module docstring: why all pairs)."""
    _require(user, "steward", "splitting")
    chosen = list(dict.fromkeys(split_out))
    unknown = [record_label(*r) for r in chosen if r not in members]
    if unknown:
        raise StewardError(f"{', '.join(unknown)} not in {golden_id}; pick records of this golden customer")
    rest = [r for r in members if r not in chosen]
    if not chosen or not rest:
        raise StewardError("pick at least one record to split out, and leave at least one")
    links = [(s, r) for s in chosen for r in rest]
    if len(links) > MAX_SPLIT_LINKS:
        raise StewardError(
            f"a split of {len(chosen)} x {len(rest)} records is too large ({MAX_SPLIT_LINKS} links at most)"
        )
    key = golden_key(golden_id)
    with store.transaction() as con:
        version = _check_version(con, key, expected_version)
        before = {"members": [record_label(*r) for r in members]}
        audit_id = write_audit(con, user.username, "split", key, reason, before, None)
        revoked = [d["decision_id"] for d in _active_on(con, links)]
        _revoke(con, revoked, user.username)
        new = _insert_decisions(
            con, links, "not_same", by=user.username, reason=reason, audit_id=audit_id, fingerprints=fingerprints
        )
        after = {
            "split_out": [record_label(*r) for r in chosen],
            "remaining": [record_label(*r) for r in rest],
            "decision_ids": new,
            "revoked_decision_ids": revoked,
        }
        con.execute("UPDATE audit_log SET after = ? WHERE audit_id = ?", (json.dumps(after, sort_keys=True), audit_id))
        _bump(con, key, audit_id)
    return ActionResult(
        audit_id, version + 1, f"{len(chosen)} record(s) will leave {golden_id} after the next run ({len(links)} links)"
    )


def undo(store: StateStore, user: User, audit_id: int, *, reason: str | None = None) -> ActionResult:
    """Revoke the decisions an action wrote and restore those it revoked; the undo is audited too."""
    _require(user, "steward", "undoing")
    with store.transaction() as con:
        row = con.execute(
            "SELECT action, item_key, after, undone_by_audit_id FROM audit_log WHERE audit_id = ?", (audit_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no audit entry #{audit_id}")
        action, item_key, after_text, undone_by = row
        if action not in UNDOABLE:
            raise StewardError(f"#{audit_id} is a {action}: only decisions, merges and splits can be undone")
        if undone_by is not None:
            who = con.execute("SELECT actor, at FROM audit_log WHERE audit_id = ?", (undone_by,)).fetchone()
            raise Conflict(f"#{audit_id} was already undone by {who[0]} at {who[1]}; nothing was written")
        after = json.loads(after_text or "{}")
        written = [
            i
            for (i,) in con.execute(
                "SELECT decision_id FROM steward_decisions WHERE audit_id = ? AND revoked_at IS NULL", (audit_id,)
            )
        ]
        if not written:
            raise Conflict(f"#{audit_id}'s decisions were replaced by a later decision; undo that one instead")
        _revoke(con, written, user.username)
        restored = after.get("revoked_decision_ids", [])
        con.executemany(
            "UPDATE steward_decisions SET revoked_at = NULL, revoked_by = NULL WHERE decision_id = ?",
            [(i,) for i in restored],
        )
        undo_id = write_audit(
            con,
            user.username,
            "undo",
            item_key,
            reason,
            {"audit_id": audit_id, "action": action, "active_decision_ids": written},
            {"revoked_decision_ids": written, "restored_decision_ids": restored},
        )
        con.execute("UPDATE audit_log SET undone_by_audit_id = ? WHERE audit_id = ?", (undo_id, audit_id))
        for key in (item_key or "").split():
            _bump(con, key, undo_id)
    return ActionResult(undo_id, 0, f"undid #{audit_id} ({_ACTION_WORDS.get(action, action)} on {item_key})")


def purge_audit(store: StateStore, older_than_days: int, *, now: dt.datetime | None = None) -> int:
    """Delete audit entries older than `older_than_days` (never called by the product itself). A
    `now` ahead of the store's clock cannot reach younger entries: the store refuses, nothing is deleted."""
    if older_than_days < AUDIT_RETENTION_DAYS:
        raise StewardError(
            f"audit entries are kept at least {AUDIT_RETENTION_DAYS} days;"
            f" a cut-off of {older_than_days} days is too short"
        )
    cutoff = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
    try:
        with store.transaction() as con:
            return con.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,)).rowcount
    except sqlite3.IntegrityError as exc:  # the store's trigger: an entry younger than the retention
        raise StewardError(f"nothing purged: {exc} (is the clock given ahead of the store's?)") from None

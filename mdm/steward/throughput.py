"""What stewards did, read from the audit log: one steward's day (the "my work" page, with undo)
and the team's throughput per steward and day (the admin page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mdm.state import StateStore
from mdm.steward.audit import audit_entries

WORK_ACTIONS = ("same", "not_same", "skip", "merge", "split", "undo")
"""The actions that are a steward's work on the queue and on golden customers."""


@dataclass(frozen=True)
class Throughput:
    steward: str
    day: str
    """UTC date, YYYY-MM-DD"""
    decided: int
    """same and not_same"""
    skipped: int
    merged: int
    split: int
    undid: int
    undone: int
    """of this day's actions, how many were undone since (by anyone)"""


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def work_of(store: StateStore, username: str, day: dt.date) -> list[dict[str, Any]]:
    """`username`'s actions on `day` (UTC), newest first."""
    entries = audit_entries(store, since=day_start(day), actions=WORK_ACTIONS, user=username, limit=5000)
    end = day_start(day + dt.timedelta(days=1)).isoformat(timespec="milliseconds")
    return [e for e in entries if e["actor"] == username and e["at"] < end]


def throughput(store: StateStore, since: dt.date, until: dt.date) -> list[Throughput]:
    """Per steward and UTC day from `since` to `until` (inclusive): what each did, busiest first."""
    rows = store.query(
        "SELECT actor, substr(at, 1, 10) AS day,"
        " sum(action IN ('same', 'not_same')), sum(action = 'skip'), sum(action = 'merge'), sum(action = 'split'),"
        " sum(action = 'undo'), sum(undone_by_audit_id IS NOT NULL)"
        " FROM audit_log WHERE at >= ? AND at < ? AND action IN ('same', 'not_same', 'skip', 'merge', 'split', 'undo')"
        " GROUP BY actor, day ORDER BY day DESC, 3 DESC, actor",
        (
            day_start(since).isoformat(timespec="milliseconds"),
            day_start(until + dt.timedelta(days=1)).isoformat(timespec="milliseconds"),
        ),
    )
    return [Throughput(a, d, *(int(x or 0) for x in rest)) for a, d, *rest in rows]

"""What stewards did, read from the audit log: one steward's day (the "my work" page, with undo)
and the team's throughput per steward and day (the admin page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mdm.state import StateStore
from mdm.steward.audit import COLUMNS

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
    """Every one of `username`'s actions on `day` (UTC), newest first."""
    marks = ", ".join("?" * len(WORK_ACTIONS))
    rows = store.query(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE actor = ? AND at >= ? AND at < ? AND action IN ({marks})"
        " ORDER BY audit_id DESC",
        (
            username,
            day_start(day).isoformat(timespec="milliseconds"),
            day_start(day + dt.timedelta(days=1)).isoformat(timespec="milliseconds"),
            *WORK_ACTIONS,
        ),
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


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

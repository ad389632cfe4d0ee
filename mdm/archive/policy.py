"""The archive decision (rules/survivorship.yaml `archive:`) as pure functions of the customers'
activity (records' update times, events, stored restores), the run's --as-of and the policy: an
incremental run and a full run that see the same records, events and restores decide alike.

Why these inputs and not others (first seen, member_since, customers without dates):
docs/architecture.md, section "mdm/archive/policy.py".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from mdm.config.survivorship import ArchiveRules
from mdm.golden.ids import resolve_retired
from mdm.state.archive import ArchiveEvent
from mdm.types import GoldenId

ACTIVITY_SCHEMA: dict[str, Any] = {"golden_id": pl.String, "activity_on": pl.Date, "activity": pl.String}
DECIDED_SCHEMA: dict[str, Any] = {
    "golden_id": pl.String,
    "last_activity_on": pl.Date,
    "last_activity": pl.String,
    "archived": pl.Boolean,
}
RESTORED_BY = "restored by "


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier; 29 February falls on 28 February in other years."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def inactive_since(as_of: dt.date, rules: ArchiveRules) -> dt.date | None:
    """The first day that still counts as recent: a customer whose last activity is before it is
    inactive. None when the policy never archives."""
    return None if rules.inactive_years is None else years_before(as_of, rules.inactive_years)


def record_activity(records: pl.DataFrame) -> pl.DataFrame:
    """records: golden_id, source, source_record_id, source_updated_at -> one activity per dated record."""
    return records.filter(pl.col("source_updated_at").is_not_null()).select(
        "golden_id",
        pl.col("source_updated_at").cast(pl.Date).alias("activity_on"),
        pl.format("{} {} updated", "source", "source_record_id").alias("activity"),
    )


def event_activity(events: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """events: source, event_id, person_source, person_record_id, event_time (a DATE or TIMESTAMP),
    reaching their golden customer through the person record they name."""
    keys = records.select(
        pl.col("source").alias("person_source"), pl.col("source_record_id").alias("person_record_id"), "golden_id"
    )
    return (
        events.filter(pl.col("event_time").is_not_null())
        .join(keys, on=["person_source", "person_record_id"], how="inner")
        .select(
            "golden_id",
            pl.col("event_time").cast(pl.Date).alias("activity_on"),
            pl.format("{} event {}", "source", "event_id").alias("activity"),
        )
    )


def restore_activity(restores: pl.DataFrame, retired: Mapping[GoldenId, GoldenId | None]) -> pl.DataFrame:
    """restores: golden_id, restored_at (ISO UTC), restored_by. A restore is activity on its (UTC)
    day, for the id it was made on or, once that id was merged, the id it was merged into."""
    rows = []
    for golden_id, restored_at, restored_by in restores.select("golden_id", "restored_at", "restored_by").iter_rows():
        target = resolve_retired(GoldenId(golden_id), retired)
        if target is not None:
            day = dt.datetime.fromisoformat(restored_at).astimezone(dt.UTC).date()
            rows.append((target, day, f"{RESTORED_BY}{restored_by} at {restored_at}"))
    return pl.DataFrame(rows, schema=ACTIVITY_SCHEMA, orient="row")


def decide(golden_ids: pl.Series, activity: pl.DataFrame, as_of: dt.date, rules: ArchiveRules) -> pl.DataFrame:
    """One row per golden id (DECIDED_SCHEMA): its last activity (the latest day; on one day the
    first description in sort order, so the answer never depends on row order) and whether it is
    archived: the policy is on and the last activity is before `inactive_since`. A customer with
    no activity at all is never archived."""
    last = (
        activity.select(list(ACTIVITY_SCHEMA))
        .sort(["golden_id", "activity_on", "activity"], descending=[False, True, False])
        .unique("golden_id", keep="first", maintain_order=True)
        .rename({"activity_on": "last_activity_on", "activity": "last_activity"})
    )
    since = inactive_since(as_of, rules)
    archived = pl.lit(False) if since is None else (pl.col("last_activity_on") < since).fill_null(False)
    return (
        pl.DataFrame({"golden_id": golden_ids.unique().sort()}, schema={"golden_id": pl.String})
        .join(last, on="golden_id", how="left")
        .with_columns(archived.alias("archived"))
        .select(list(DECIDED_SCHEMA))
    )


def _inactive_text(as_of: dt.date, rules: ArchiveRules) -> str:
    since = inactive_since(as_of, rules)
    return f"no record updated and no event since {since} ({rules.inactive_years} years before {as_of})"


def archive_reason(last_on: dt.date | None, last: str | None, as_of: dt.date, rules: ArchiveRules) -> str:
    """Why a customer is archived, in words."""
    return f"{_inactive_text(as_of, rules)}; last activity {last_on}: {last}"


def archive_reason_column(as_of: dt.date, rules: ArchiveRules) -> pl.Expr:
    """archive_reason over columns last_activity_on and last_activity, as an expression."""
    return pl.format(
        "{}; last activity {}: {}", pl.lit(_inactive_text(as_of, rules)), "last_activity_on", "last_activity"
    ).alias("archive_reason")


def archive_changes(
    decided: pl.DataFrame,
    previously_archived: set[str],
    retired: Mapping[GoldenId, GoldenId | None],
    as_of: dt.date,
    rules: ArchiveRules,
) -> list[ArchiveEvent]:
    """This run's events: each customer archived now that was not, and each archived before that
    is not now (new activity, a restore, a changed policy, or its id merged into another or retired),
    in golden id order."""
    now = {g: (on, what) for g, on, what, archived in decided.iter_rows() if archived}
    seen = {g: (on, what) for g, on, what, _ in decided.iter_rows()}
    events: list[ArchiveEvent] = []
    for golden_id in sorted(set(now) | previously_archived):
        if golden_id in now and golden_id not in previously_archived:
            on, what = now[golden_id]
            events.append(ArchiveEvent(golden_id, "archived", _iso(on), archive_reason(on, what, as_of, rules)))
        elif golden_id in previously_archived and golden_id not in now:
            on, what = seen.get(golden_id, (None, None))
            events.append(
                ArchiveEvent(
                    golden_id, "unarchived", _iso(on), _back_reason(golden_id, on, what, retired, as_of, rules)
                )
            )
    return events


def _back_reason(
    golden_id: str,
    on: dt.date | None,
    what: str | None,
    retired: Mapping[GoldenId, GoldenId | None],
    as_of: dt.date,
    rules: ArchiveRules,
) -> str:
    """Why an archived customer is not archived any more, in words."""
    if GoldenId(golden_id) in retired:
        into = retired[GoldenId(golden_id)]
        return f"its golden id was merged into {into}" if into else "its golden id was retired: its records are gone"
    if rules.inactive_years is None:
        return "archiving is off (archive.inactive_years: null)"
    if on is None or what is None:
        return "none of its records or events has a date any more (a customer without dates is never archived)"
    if what.startswith(RESTORED_BY):
        return what
    return f"active again: {what} on {on}, within {rules.inactive_years} years before {as_of}"


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()

"""Manual and survey tags from the durable store, placed on this run's golden customers.

A stored tag keeps the golden id it was set on; the store row is never rewritten by a run.
At each run:

- merge: an id retired into another (`golden_ids.merged_into`, this run's merges included)
  hands its tags to the surviving id, following the chain to an active id. When both carried
  the tag, the one set last wins; if their values differ, a `tag_reviews` row says so.
- split: the id that kept the name keeps the tag; each split event (old_id -> new_id) of an id
  carrying a tag set *before* the split adds a `tag_reviews` row: does the tag belong to the
  split-off customer too? Setting the tag again (`mdm tags set`) after the split answers it, and
  the row goes away.
- a tag on an id retired because its records are gone, on an archived customer, or of a tag
  tags.yaml no longer defines, stays in the store and is reported, not published (define the tag
  again, bring the records back, or the customer back from the archive, and it reappears).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.config.tags import TagDef
from mdm.golden.ids import resolve_retired
from mdm.tags.engine import CUSTOMER_TAGS_SCHEMA
from mdm.types import GoldenId

TAG_REVIEWS_SCHEMA: dict[str, Any] = {
    "golden_id": pl.String,
    "tag": pl.String,
    "value": pl.String,
    "other_golden_id": pl.String,
    "reason": pl.String,
    "set_by": pl.String,
    "set_at": pl.String,
}


@dataclass(frozen=True)
class Split:
    old_id: str
    new_id: str
    run_id: str
    at: str | None
    """ISO UTC time the split was published; None for this run's (not published yet)"""


@dataclass
class PlacedTags:
    tags: pl.DataFrame
    """customer_tags rows (CUSTOMER_TAGS_SCHEMA)"""
    reviews: pl.DataFrame
    """tag_reviews rows (TAG_REVIEWS_SCHEMA)"""
    not_published: dict[str, int] = field(default_factory=dict)
    """reason -> stored tags it keeps out of this master"""


def place_stored_tags(
    stored: pl.DataFrame,
    definitions: Mapping[str, TagDef],
    active_ids: set[str],
    retired: Mapping[GoldenId, GoldenId | None],
    splits: list[Split],
    archived: frozenset[str] = frozenset(),
) -> PlacedTags:
    """stored: golden_id, tag, value, origin, set_by, set_at (StateStore.stored_tags); archived:
    the golden ids archived by this run (not in active_ids)."""
    placed: dict[tuple[GoldenId, str], list[dict[str, Any]]] = {}
    skipped: dict[str, int] = {}
    for row in stored.iter_rows(named=True):
        definition = definitions.get(row["tag"])
        if definition is None:
            reason = f"tag {row['tag']!r} is not defined in tags.yaml (define it again to publish them)"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        resolved = resolve_retired(GoldenId(row["golden_id"]), retired)
        if resolved is not None and resolved in archived:
            reason = "set on an archived customer (published again when the customer comes back)"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if resolved is None or resolved not in active_ids:
            reason = "set on a golden customer whose records are gone"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        placed.setdefault((resolved, row["tag"]), []).append(row | {"category": definition.category})
    tags: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    for (target, tag), rows in sorted(placed.items()):  # target: an active id (str)
        rows.sort(key=lambda r: r["set_at"], reverse=True)
        kept = rows[0]
        inherited = f", on {kept['golden_id']} (merged into {target})" if kept["golden_id"] != target else ""
        tags.append(
            {
                "golden_id": target,
                "tag": tag,
                "value": kept["value"],
                "category": kept["category"],
                "origin": kept["origin"],
                "valid_from": _day(kept["set_at"]),
                "valid_to": None,
                "evidence": f"set by {kept['set_by']} at {kept['set_at']}{inherited}",
            }
        )
        others = [r for r in rows[1:] if r["value"] != kept["value"]]
        for other in others:
            reviews.append(
                _review(
                    kept,
                    target,
                    other["golden_id"],
                    f"merged customers had different values: {kept['value']!r} (kept, set last) and"
                    f" {other['value']!r} on {other['golden_id']}",
                )
            )
        carriers = {r["golden_id"] for r in rows} | {target}
        for split in splits:
            if split.old_id in carriers and (split.at is None or _time(kept["set_at"]) < _time(split.at)):
                when = "in this run" if split.at is None else f"in run {split.run_id}"
                reviews.append(
                    _review(
                        kept,
                        target,
                        split.new_id,
                        f"{split.old_id} split {when}: records moved to {split.new_id}; does the tag belong to"
                        f" {split.new_id} too? (set it there, or set it again on {target} to confirm)",
                    )
                )
    return PlacedTags(
        pl.DataFrame(tags, schema=CUSTOMER_TAGS_SCHEMA),
        pl.DataFrame(reviews, schema=TAG_REVIEWS_SCHEMA),
        skipped,
    )


def _day(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).date()


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _review(kept: dict[str, Any], target: str, other: str, reason: str) -> dict[str, Any]:
    return {
        "golden_id": target,
        "tag": kept["tag"],
        "value": kept["value"],
        "other_golden_id": other,
        "reason": reason,
        "set_by": kept["set_by"],
        "set_at": kept["set_at"],
    }

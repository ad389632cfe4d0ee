"""The review queue as pages: filtered, searched, ordered and cut by DuckDB over the published
master, so no request reads the whole queue into Python (seconds per page at 1,000 to 200,000
items: bench/RESULTS.md).

What the durable store adds since the master's run started (decided pairs gone, undone decisions
back, skips, claims) is small and goes into DuckDB as registered frames; the queue's rows never
pass through Python but for the page shown. Which items, in which order, and why: views.py's
module docstring.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from mdm.state import StateStore
from mdm.steward.claims import live_claims
from mdm.steward.search import search_condition
from mdm.steward.service import Record, pair_key
from mdm.steward.views import (
    QueueFilter,
    QueueItem,
    _columns,
    _rows,
    _undone_rows,
    connect,
    run_started_at,
    thresholds,
)

PAGE_SIZE = 50
"""Items on one page of the queue."""
MAX_PAGE_SIZE = 500

_KEY = "'pair:' || least({l}, {r}) || '|' || greatest({l}, {r})"
_UNDONE_SCHEMA = {
    "review_rank": pl.Int64,
    "record_pairs": pl.Int64,
    "reasons": pl.String,
    "left_source": pl.String,
    "left_record_id": pl.String,
    "left_golden_id": pl.String,
    "right_source": pl.String,
    "right_record_id": pl.String,
    "right_golden_id": pl.String,
    "match_probability": pl.Float64,
    "reason": pl.String,
    "evidence": pl.String,
    "changed_since_decision": pl.Boolean,
}


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    """items matching the filter, on every page"""
    offset: int
    limit: int
    reasons: list[str]
    """the reasons found in the whole queue (the reason filter's choices)"""

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit))


@dataclass
class _StoreSide:
    cutoff: str
    decided: pl.DataFrame
    undone: list[tuple[Record, Record, str]]
    skips: pl.DataFrame
    claims: pl.DataFrame


def _store_side(store: StateStore, cutoff: str) -> _StoreSide:
    decisions = store.query(
        "SELECT d.left_source, d.left_record_id, d.right_source, d.right_record_id, d.decided_at, d.revoked_at,"
        " d.revoked_by, a.action FROM steward_decisions d LEFT JOIN audit_log a USING (audit_id)"
        " WHERE d.decided_at >= ? OR d.revoked_at >= ?",
        (cutoff, cutoff),
    )
    decided = {pair_key((a, b), (c, d)) for a, b, c, d, at, revoked, _, _ in decisions if revoked is None}
    undone: dict[str, tuple[Record, Record, str]] = {}
    candidates = [
        (a, b, c, d, revoked, by)
        for a, b, c, d, at, revoked, by, action in decisions
        if revoked is not None and at < cutoff and action in ("same", "not_same")
    ]
    if candidates:  # an older decision undone since: back in the queue unless a live decision stands
        live = {
            pair_key((a, b), (c, d))
            for a, b, c, d in store.query(
                "SELECT left_source, left_record_id, right_source, right_record_id FROM steward_decisions"
                " WHERE revoked_at IS NULL AND decided_at < ?",
                (cutoff,),
            )
        }
        for a, b, c, d, revoked, by in candidates:
            key = pair_key((a, b), (c, d))
            if key not in live and key not in decided:
                undone[key] = ((a, b), (c, d), f"decision undone by {by} at {revoked}")
    skips: dict[str, str] = {}
    for key, actor in store.query(
        "SELECT item_key, actor FROM audit_log WHERE action = 'skip' AND at >= ? ORDER BY audit_id", (cutoff,)
    ):
        skips[key] = actor
    held = live_claims(store)
    return _StoreSide(
        cutoff,
        pl.DataFrame({"item_key": sorted(decided)}, schema={"item_key": pl.String}),
        list(undone.values()),
        pl.DataFrame(
            {"item_key": list(skips), "skipped_by": list(skips.values())},
            schema={"item_key": pl.String, "skipped_by": pl.String},
        ),
        pl.DataFrame(
            {
                "item_key": list(held),
                "claimed_by": [c.claimed_by for c in held.values()],
                "claim_expires": [c.expires_at for c in held.values()],
            },
            schema={"item_key": pl.String, "claimed_by": pl.String, "claim_expires": pl.String},
        ),
    )


def _ordered_sql(
    con: duckdb.DuckDBPyConnection, side: _StoreSide, flt: QueueFilter, today: dt.date, match_t: float
) -> tuple[str, str, list[Any]]:
    """The filtered queue with every column a QueueItem needs, its ORDER BY, and the parameters.
    Pages are cut by ORDER BY ... LIMIT (a top-N, not a sort of the whole queue)."""
    have = _columns(con, "review_queue")
    changed = "q.changed_since_decision" if "changed_since_decision" in have else "false"
    item = "q.record_pairs, q.reasons" if {"record_pairs", "reasons"} <= have else "1 AS record_pairs, '' AS reasons"
    undone_pairs = [u for u in side.undone if not _queued(con, u[0], u[1])]
    found = _undone_rows(con, undone_pairs) if undone_pairs else []
    undone = pl.DataFrame(
        [{c: r.get(c) for c in _UNDONE_SCHEMA} | {"review_rank": None, "record_pairs": 1} for r in found],
        schema=_UNDONE_SCHEMA,
        orient="row",
    )
    con.register("_undone", undone)
    con.register("_decided", side.decided)
    con.register("_skips", side.skips)
    con.register("_claims", side.claims)
    where: list[str] = ["i.item_key NOT IN (SELECT item_key FROM _decided)"]
    params: list[Any] = []
    if flt.source:
        where.append("(i.left_source = ? OR i.right_source = ?)")
        params += [flt.source, flt.source]
    if flt.min_probability is not None:
        where.append("i.match_probability >= ?")
        params.append(flt.min_probability)
    if flt.max_probability is not None:
        where.append("i.match_probability <= ?")
        params.append(flt.max_probability)
    if flt.min_age_days is not None:
        where.append("i.age_days >= ?")
        params.append(flt.min_age_days)
    if flt.max_age_days is not None:
        where.append("i.age_days <= ?")
        params.append(flt.max_age_days)
    if flt.reason:
        where.append("i.reason = ?")
        params.append(flt.reason)
    if flt.changed_only:
        where.append("i.changed_since_decision")
    search_params: list[Any] = []
    if flt.search and flt.search.strip():
        cond, search_params = search_condition(con, flt.search)
        where.append(
            f"(i.left_golden_id IN (SELECT golden_id FROM source_records WHERE {cond})"
            f" OR i.right_golden_id IN (SELECT golden_id FROM source_records WHERE {cond}))"
        )
        params += search_params + search_params
    logit = "ln(greatest(least(i.match_probability, 1 - 1e-12), 1e-12) / (1 - greatest(least(i.match_probability,"
    logit += " 1 - 1e-12), 1e-12)))"
    primary = {
        "rank": "i.review_rank",
        "threshold": f"abs({logit} - {math.log(match_t / (1 - match_t)) if 0 < match_t < 1 else 0.0})",
        "cluster": "-i.cluster_effect",
        "value": "-i.value",
        "score_high": "-i.match_probability",
        "score_low": "i.match_probability",
        "oldest": "-i.age_days",
    }[flt.order]
    lk = "q.left_source || ':' || q.left_record_id"
    rk = "q.right_source || ':' || q.right_record_id"
    # only what the filter and the order need is joined to every item; names, sizes and ages of
    # the items shown are read for the page alone (`_decorate`)
    extra, joins, lead = "", "", []
    if flt.order in ("cluster", "value"):
        extra += f", {_CLUSTER_EFFECT} AS cluster_effect, {_VALUE} AS value"
        joins += " LEFT JOIN g lg ON lg.golden_id = q.left_golden_id LEFT JOIN g rg ON rg.golden_id = q.right_golden_id"
    if flt.min_age_days is not None or flt.max_age_days is not None or flt.order == "oldest":
        extra += f", {_AGE} AS age_days"
        joins += (
            " LEFT JOIN u la ON la.source = q.left_source AND la.source_record_id = q.left_record_id"
            " LEFT JOIN u ra ON ra.source = q.right_source AND ra.source_record_id = q.right_record_id"
        )
        lead.append(today)
    sql = f"""WITH g AS (SELECT golden_id, record_count::INT AS n, len(sources)::INT AS s FROM golden_customers),
        u AS (SELECT source, source_record_id, source_updated_at FROM source_records),
        q AS (
            SELECT q.review_rank, {item}, q.left_source, q.left_record_id, q.left_golden_id, q.right_source,
                   q.right_record_id, q.right_golden_id, q.match_probability, q.reason, q.evidence,
                   {changed} AS changed_since_decision
            FROM review_queue q
            UNION ALL BY NAME SELECT * FROM _undone
        ), i AS (
            SELECT q.*, {_KEY.format(l=lk, r=rk)} AS item_key{extra} FROM q{joins}
        )
        SELECT i.*, s.skipped_by, c.claimed_by, c.claim_expires
        FROM i LEFT JOIN _skips s USING (item_key) LEFT JOIN _claims c USING (item_key)
        WHERE {" AND ".join(where)}"""
    order = (
        f"changed_since_decision DESC, skipped_by IS NOT NULL, {primary.replace('i.', '')} NULLS LAST,"
        " review_rank NULLS LAST, item_key"
    )
    return sql, order, [*lead, *params]


_CLUSTER_EFFECT = "coalesce(lg.n, 0) + CASE WHEN q.left_golden_id = q.right_golden_id THEN 0 ELSE coalesce(rg.n, 0) END"
_VALUE = (
    "coalesce(lg.n, 0) + coalesce(lg.s, 0) + CASE WHEN q.left_golden_id = q.right_golden_id THEN 0"
    " ELSE coalesce(rg.n, 0) + coalesce(rg.s, 0) END"
)
_AGE = "date_diff('day', CAST(greatest(la.source_updated_at, ra.source_updated_at) AS DATE), ?::DATE)"


def _decorate(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], today: dt.date) -> None:
    """Add to the page's rows what is shown but neither filtered nor ordered on: the two records'
    names, the items' cluster effect and value, the records' age."""
    if not rows:
        return
    page = pl.DataFrame(
        [{c: r[c] for c in _PAGE_KEYS} for r in rows],
        schema=dict.fromkeys(_PAGE_KEYS, pl.String),
        orient="row",
    )
    con.register("_page", page)
    found = _rows(
        con,
        f"""SELECT q.item_key, {_CLUSTER_EFFECT} AS cluster_effect, {_VALUE} AS value, {_AGE} AS age_days,
                   concat_ws(' ', la.given_name, la.family_name) AS left_name,
                   concat_ws(' ', ra.given_name, ra.family_name) AS right_name
            FROM _page q
            LEFT JOIN (SELECT golden_id, record_count::INT AS n, len(sources)::INT AS s FROM golden_customers) lg
              ON lg.golden_id = q.left_golden_id
            LEFT JOIN (SELECT golden_id, record_count::INT AS n, len(sources)::INT AS s FROM golden_customers) rg
              ON rg.golden_id = q.right_golden_id
            LEFT JOIN source_records la ON la.source = q.left_source AND la.source_record_id = q.left_record_id
            LEFT JOIN source_records ra ON ra.source = q.right_source AND ra.source_record_id = q.right_record_id""",
        [today],
    )
    shown = {r.pop("item_key"): r for r in found}
    for r in rows:
        r.update(shown.get(r["item_key"], {}))


_PAGE_KEYS = [
    "item_key",
    "left_source",
    "left_record_id",
    "left_golden_id",
    "right_source",
    "right_record_id",
    "right_golden_id",
]


def _queued(con: duckdb.DuckDBPyConnection, left: Record, right: Record) -> bool:
    """Whether the master's queue holds the pair already (either way round)."""
    found = con.sql(
        "SELECT 1 FROM review_queue WHERE (left_source, left_record_id, right_source, right_record_id)"
        " IN ((?, ?, ?, ?), (?, ?, ?, ?)) LIMIT 1",
        params=[*left, *right, *right, *left],
    ).fetchall()
    return bool(found)


def _item(r: dict[str, Any], versions: dict[str, int], position: int) -> QueueItem:
    left, right = (r["left_source"], r["left_record_id"]), (r["right_source"], r["right_record_id"])
    return QueueItem(
        left,
        right,
        r["left_golden_id"],
        r["right_golden_id"],
        r["match_probability"],
        r["reason"] or "",
        r["evidence"] or "",
        bool(r["changed_since_decision"]),
        cluster_effect=int(r["cluster_effect"]),
        value=int(r["value"]),
        age_days=r["age_days"],
        version=int(versions.get(r["item_key"], 0)),
        skipped_by=r["skipped_by"],
        left_name=r["left_name"] or "",
        right_name=r["right_name"] or "",
        rank=r["review_rank"],
        record_pairs=int(r["record_pairs"] or 1),
        reasons=r["reasons"] or "",
        claimed_by=r["claimed_by"],
        claim_expires=r["claim_expires"],
        position=position,
    )


def _versions(store: StateStore, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    marks = ", ".join("?" * len(keys))
    return dict(store.query(f"SELECT item_key, version FROM steward_items WHERE item_key IN ({marks})", keys))


def queue_page(
    master: Path,
    store: StateStore,
    flt: QueueFilter | None = None,
    *,
    offset: int = 0,
    limit: int | None = PAGE_SIZE,
    today: dt.date | None = None,
) -> QueuePage:
    """One page of the queue (`limit` None: all of it), and how many items match in all."""
    flt = flt or QueueFilter()
    offset = max(offset, 0)
    con = connect(master)
    try:
        side = _store_side(store, run_started_at(con))
        match_t, _ = thresholds(con)
        sql, order, params = _ordered_sql(con, side, flt, today or dt.date.today(), match_t)
        cut = " LIMIT ? OFFSET ?" if limit is not None else " OFFSET ?"
        rows = _rows(
            con,
            f"SELECT * FROM ({sql}) ORDER BY {order}{cut}",
            [*params, *([limit] if limit is not None else []), offset],
        )
        _decorate(con, rows, today or dt.date.today())
        if limit is None or (offset == 0 and len(rows) < limit):
            total = offset + len(rows)
        else:
            total = int(con.sql(f"SELECT count(*) FROM ({sql})", params=params).fetchall()[0][0])
        reasons = [r[0] for r in con.sql("SELECT DISTINCT reason FROM review_queue ORDER BY 1").fetchall() if r[0]]
    finally:
        con.close()
    versions = _versions(store, [r["item_key"] for r in rows])
    items = [_item(r, versions, offset + n + 1) for n, r in enumerate(rows)]
    return QueuePage(items, total, offset, limit or max(total, 1), reasons)


def review_queue(
    master: Path, store: StateStore, flt: QueueFilter | None = None, today: dt.date | None = None
) -> list[QueueItem]:
    """Every item of the queue, filtered and ordered (the terminal review walks it whole)."""
    return queue_page(master, store, flt, limit=None, today=today).items


def next_item(
    master: Path,
    store: StateStore,
    flt: QueueFilter,
    username: str,
    *,
    after_position: int = 0,
    exclude: str | None = None,
    today: dt.date | None = None,
) -> QueueItem | None:
    """The first item past `after_position` in the queue's order that no other steward holds a live
    claim on (wrapping round to the start), other than `exclude`; None when there is none.

    Reads a few items at a time (one more than the live claims, and `exclude`): among that many
    in a row at least one is free unless the queue ends there."""
    con = connect(master)
    try:
        side = _store_side(store, run_started_at(con))
        match_t, _ = thresholds(con)
        sql, order, params = _ordered_sql(con, side, flt, today or dt.date.today(), match_t)
        window = side.claims.height + 2
        for start in dict.fromkeys((max(after_position, 0), 0)):
            rows = _rows(con, f"SELECT * FROM ({sql}) ORDER BY {order} LIMIT ? OFFSET ?", [*params, window, start])
            for n, r in enumerate(rows):
                if r["item_key"] != exclude and r["claimed_by"] in (None, username):
                    _decorate(con, [r], today or dt.date.today())
                    return _item(r, _versions(store, [r["item_key"]]), start + n + 1)
    finally:
        con.close()
    return None

"""What a steward reads: the review queue, a pair side by side, a golden customer — from the
published master (read-only; the nightly run replaces it atomically) and the durable store.

The queue is the master's review_queue (pairs between the thresholds, pairs a hard conflict
stopped, decisions held back because their records changed) corrected by what stewards did
since that run started: pairs decided since are gone at once; pairs whose decision was undone
since come back ("decision undone"); skipped pairs sink to the end.

Each row is an item: a pair of golden customers, shown by its representative record pair (its
strongest); an answer on it settles the item (mdm/steward/service.py `item_links`).

Ordering (QueueFilter.order):
- `rank` (the default): the master's review_rank, what a decision changes (mdm/cluster/review.py);
- `threshold`: closest to the merge threshold first, by |logit(p) - logit(threshold)|;
- `cluster`: largest cluster effect first (records of both golden customers the decision joins
  or keeps apart);
- `value`: most valuable customers first (for now: record count plus number of sources, summed
  over both golden customers);
- `score_high` / `score_low`: by match probability; `oldest`: the longest untouched records first.
Pairs whose decision is held back ("changed since decision") always come first, skipped ones
last. The queue is filtered, ordered and paged in DuckDB (mdm/steward/queue.py).

Age (QueueFilter min/max_age_days): days since the newer of the two records was last updated
at its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from mdm.errors import MdmError
from mdm.match.explain import SHOWN_FIELDS, ExplainError, PairScore, RecordRef, pair_text, score_pair
from mdm.state import StateStore
from mdm.state.fingerprint import FINGERPRINT_COLUMNS, Fingerprint, fingerprint_of, record_label
from mdm.steward.audit import audit_entries
from mdm.steward.service import Record, golden_key, item_version, pair_key

Order = Literal["rank", "threshold", "cluster", "value", "score_high", "score_low", "oldest"]
ORDERS: tuple[Order, ...] = ("rank", "threshold", "cluster", "value", "score_high", "score_low", "oldest")


class MasterMissing(MdmError, LookupError):
    """No published master yet."""


@dataclass(frozen=True)
class QueueFilter:
    source: str | None = None
    min_probability: float | None = None
    max_probability: float | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    order: Order = "rank"
    reason: str | None = None
    """only items queued for this reason (exactly as the queue says it)"""
    changed_only: bool = False
    """only items whose records changed since a steward decided them"""
    search: str | None = None
    """a name, e-mail, phone (any common format), record id (`crm:C1` or `C1`) or golden id:
    items with a record of a matching customer on either side (mdm/steward/search.py)"""


@dataclass
class QueueItem:
    left: Record
    right: Record
    left_golden_id: str | None
    right_golden_id: str | None
    match_probability: float | None
    reason: str
    evidence: str
    changed_since_decision: bool
    cluster_effect: int
    value: int
    age_days: int | None
    version: int = 0
    skipped_by: str | None = None
    left_name: str = ""
    right_name: str = ""
    rank: int | None = None
    """The master's review_rank (None for a pair back since the run: an undone decision)."""
    record_pairs: int = 1
    """Record pairs between the two golden customers: the item's evidence."""
    reasons: str = ""
    """What the run did with them (`2 × blocked: different birth dates; 1 × non_match`)."""
    claimed_by: str | None = None
    claim_expires: str | None = None
    position: int = 0
    """its place in the filtered queue's order, from 1"""

    @property
    def key(self) -> str:
        return pair_key(self.left, self.right)


@dataclass
class PairView:
    left: Record
    right: Record
    version: int
    fields: list[tuple[str, str, str]]
    evidence: list[tuple[str, str, float | None]]
    match_probability: float | None
    outcome: str | None
    explanation: str
    goldens: dict[str, list[dict[str, Any]]]
    decisions: list[dict[str, Any]]
    history: list[dict[str, Any]]
    score: PairScore | None = None
    """scored afresh with the published model (None: no model, the reason is in `explanation`)"""

    @property
    def key(self) -> str:
        return pair_key(self.left, self.right)


@dataclass
class GoldenValue:
    """One golden value with where it came from and, for a contact value, how fresh it is."""

    name: str
    value: str
    source: str = ""
    """`source:record_id` of the record the value came from (empty: no lineage for it)"""
    trust: int | None = None
    updated: str = ""
    rule: str = ""
    agreeing: str = ""
    """`2 of 3`: records carrying this value of those carrying any"""
    freshness: float | None = None
    stale: bool = False
    stale_reason: str = ""


@dataclass
class GoldenView:
    golden_id: str
    version: int
    values: list[GoldenValue]
    members: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)
    id_events: list[dict[str, Any]] = field(default_factory=list)
    """the id's own history in the master: created, split, merged, retired, by run"""


def _text(v: object) -> str:
    return "" if v is None else str(v)


def connect(master: Path) -> duckdb.DuckDBPyConnection:
    if not master.exists():
        raise MasterMissing(f"no master at {master}; run `mdm run` first")
    return duckdb.connect(str(master), read_only=True)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rel = con.sql(sql, params=params or [])
    names = rel.columns
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.sql(f"DESCRIBE {table}").fetchall()}


def run_started_at(con: duckdb.DuckDBPyConnection) -> str:
    """When the run that published the master started (decisions before it are in the master)."""
    rows = con.sql(
        "SELECT started_at FROM run_log"
        " WHERE run_id = (SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT 1)"
    ).fetchall()
    return str(rows[0][0]) if rows else ""


def thresholds(con: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    rows = con.sql(
        "SELECT first(threshold_match_probability), first(threshold_review_probability) FROM match_model"
    ).fetchall()
    return (float(rows[0][0]), float(rows[0][1])) if rows and rows[0][0] is not None else (0.95, 0.5)


_GOLDEN_SIZES = """
WITH g AS (SELECT golden_id, record_count::INT AS n, len(sources)::INT AS s FROM golden_customers),
a AS (SELECT source, source_record_id, source_updated_at, concat_ws(' ', given_name, family_name) AS name
      FROM source_records)
"""


def _undone_rows(con: duckdb.DuckDBPyConnection, pairs: list[tuple[Record, Record, str]]) -> list[dict[str, Any]]:
    out = []
    for (ls, lr), (rs, rr), why in pairs:
        found = _rows(
            con,
            _GOLDEN_SIZES
            + """, r AS (SELECT source, source_record_id, golden_id, source_updated_at,
                 concat_ws(' ', given_name, family_name) AS name FROM source_records
                 WHERE (source = ? AND source_record_id = ?) OR (source = ? AND source_record_id = ?))
            SELECT l.source AS left_source, l.source_record_id AS left_record_id, l.golden_id AS left_golden_id,
                   x.source AS right_source, x.source_record_id AS right_record_id, x.golden_id AS right_golden_id,
                   (SELECT max(match_probability) FROM match_pairs p WHERE (p.left_source = l.source AND
                     p.left_record_id = l.source_record_id AND p.right_source = x.source AND
                     p.right_record_id = x.source_record_id) OR (p.left_source = x.source AND
                     p.left_record_id = x.source_record_id AND p.right_source = l.source AND
                     p.right_record_id = l.source_record_id)) AS match_probability,
                   ? AS reason, '' AS evidence, false AS changed_since_decision,
                   coalesce(lg.n, 0) AS ln, coalesce(lg.s, 0) AS ls, coalesce(rg.n, 0) AS rn, coalesce(rg.s, 0) AS rs,
                   greatest(l.source_updated_at, x.source_updated_at) AS updated, l.name AS left_name,
                   x.name AS right_name
            FROM r l JOIN r x ON l.source = ? AND l.source_record_id = ? AND x.source = ? AND x.source_record_id = ?
            LEFT JOIN g lg ON lg.golden_id = l.golden_id LEFT JOIN g rg ON rg.golden_id = x.golden_id""",
            [ls, lr, rs, rr, why, ls, lr, rs, rr],
        )
        out += found
    return out


def sources(master: Path) -> list[str]:
    con = connect(master)
    try:
        return [r[0] for r in con.sql("SELECT DISTINCT source FROM source_records ORDER BY 1").fetchall()]
    finally:
        con.close()


def _record_rows(con: duckdb.DuckDBPyConnection, records: list[Record]) -> dict[Record, dict[str, Any]]:
    if not records:
        return {}
    have = _columns(con, "source_records")
    wanted = [
        c
        for c in dict.fromkeys(
            [
                "source",
                "source_record_id",
                "golden_id",
                "trust",
                "source_updated_at",
                *SHOWN_FIELDS,
                "city",
                *FINGERPRINT_COLUMNS,
            ]
        )
        if c in have
    ]
    cond = " OR ".join(["(source = ? AND source_record_id = ?)"] * len(records))
    params = [x for r in records for x in r]
    rows = _rows(con, f"SELECT {', '.join(wanted)} FROM source_records WHERE {cond}", params)
    return {(r["source"], r["source_record_id"]): r for r in rows}


def fingerprints(master: Path, records: list[Record]) -> dict[str, Fingerprint]:
    """Each record's fingerprint as the master holds it (what the steward saw)."""
    con = connect(master)
    try:
        found = _record_rows(con, records)
    finally:
        con.close()
    missing = [record_label(*r) for r in records if r not in found]
    if missing:
        from mdm.steward.service import NotFound

        raise NotFound(f"{', '.join(missing)} not in the master (quarantined or gone since the last run)")
    return {record_label(*k): fingerprint_of(v) for k, v in found.items()}


def _members(con: duckdb.DuckDBPyConnection, golden_id: str) -> list[dict[str, Any]]:
    have = _columns(con, "source_records")
    shown = [c for c in ("source", "source_record_id", "trust", "source_updated_at", *SHOWN_FIELDS) if c in have]
    return _rows(
        con,
        f"SELECT {', '.join(shown)} FROM source_records WHERE golden_id = ?"
        " ORDER BY trust DESC NULLS LAST, source, source_record_id",
        [golden_id],
    )


def golden_members(master: Path, golden_ids: list[str]) -> dict[str, list[Record]]:
    """Each golden customer's records, representative (highest trust, then source, id) first."""
    con = connect(master)
    try:
        return {g: [(m["source"], m["source_record_id"]) for m in _members(con, g)] for g in golden_ids}
    finally:
        con.close()


def item_members(master: Path, left: Record, right: Record) -> tuple[list[Record], list[Record]] | None:
    """The records of the two golden customers a pair stands between (left's, right's), as the
    master holds them: what an answer on the pair settles. None when both are one customer's."""
    con = connect(master)
    try:
        found = _record_rows(con, [left, right])
        if left not in found or right not in found:
            return None
        a, b = found[left]["golden_id"], found[right]["golden_id"]
        if a is None or b is None or a == b:
            return None
        ours, theirs = _members(con, a), _members(con, b)
    finally:
        con.close()
    return [(m["source"], m["source_record_id"]) for m in ours], [(m["source"], m["source_record_id"]) for m in theirs]


def pair_view(master: Path, store: StateStore, left: Record, right: Record) -> PairView:
    from mdm.steward.service import NotFound, decisions_on

    con = connect(master)
    try:
        found = _record_rows(con, [left, right])
        for r in (left, right):
            if r not in found:
                raise NotFound(f"record {record_label(*r)} is not in the master")
        a, b = found[left], found[right]
        fields = [(n, _text(a.get(n)), _text(b.get(n))) for n in ("golden_id", *SHOWN_FIELDS, "city") if n in a]
        pairs = _rows(
            con,
            "SELECT * FROM match_pairs WHERE (left_source, left_record_id, right_source, right_record_id)"
            " IN ((?, ?, ?, ?), (?, ?, ?, ?))",
            [*left, *right, *right, *left],
        )
        goldens = {g: _members(con, g) for g in dict.fromkeys([a["golden_id"], b["golden_id"]]) if g}
    finally:
        con.close()
    evidence: list[tuple[str, str, float | None]] = []
    probability = outcome = None
    if pairs:
        row = pairs[0]
        probability, outcome = row["match_probability"], row["outcome"]
        evidence = [
            (c.removesuffix("_level"), _text(row[c]), row.get(c.removesuffix("_level") + "_weight"))
            for c in row
            if c.endswith("_level")
        ]
    score: PairScore | None = None
    try:
        score = score_pair(master, RecordRef(*left), RecordRef(*right))
        explanation = pair_text(score, RecordRef(*left), RecordRef(*right))
    except ExplainError as exc:
        explanation = f"(no explanation: {exc})"
    key = pair_key(left, right)
    decisions = decisions_on(store, left, right)
    return PairView(
        left,
        right,
        item_version(store, key),
        fields,
        evidence,
        probability,
        outcome,
        explanation,
        goldens,
        decisions,
        audit_entries(store, item_key=key, limit=50),
        score,
    )


_CONTACT_OF = {
    "email": "email",
    "phone": "phone",
    "address_line1": "address",
    "city": "address",
    "region": "address",
    "postal_code": "address",
}
_GOLDEN_SHOWN = ["given_name", "middle_name", "family_name", "birth_date", "gender", "email", "phone"]
_GOLDEN_AFTER = ["address_line1", "city", "region", "postal_code"]


def golden_view(master: Path, store: StateStore, golden_id: str) -> GoldenView:
    """A golden customer: each value with its source, trust, update time and rule, the contact
    values' freshness and staleness, its records, the id's events and the steward actions on it."""
    from mdm.steward.service import NotFound

    con = connect(master)
    try:
        rows = _rows(con, "SELECT * FROM golden_customers WHERE golden_id = ?", [golden_id])
        if not rows:
            raise NotFound(f"golden customer {golden_id} is not in the master")
        members = _members(con, golden_id)
        lineage = {
            r["attribute"]: r
            for r in _rows(
                con,
                "SELECT l.attribute, l.source, l.source_record_id, l.rule, l.source_updated_at, l.candidates,"
                " l.agreeing, r.trust FROM golden_attribute_lineage l LEFT JOIN source_records r"
                " ON r.source = l.source AND r.source_record_id = l.source_record_id WHERE l.golden_id = ?",
                [golden_id],
            )
        }
        events = _rows(
            con,
            "SELECT e.run_id, p.published_at, e.kind, e.old_id, e.new_id, e.reason FROM id_events e"
            " LEFT JOIN published_runs p USING (run_id) WHERE e.old_id = ? OR e.new_id = ? ORDER BY p.published_at,"
            " e.run_id",
            [golden_id, golden_id],
        )
    finally:
        con.close()
    row = rows[0]
    shown = [
        *_GOLDEN_SHOWN,
        *[c for c in row if c.endswith("_masked")],  # sensitive fields: masked, never decrypted here
        *_GOLDEN_AFTER,
    ]
    values = []
    for name in (n for n in shown if n in row):
        source = lineage.get(name.removesuffix("_masked")) or (
            lineage.get("address") if _CONTACT_OF.get(name) == "address" else None
        )
        contact = _CONTACT_OF.get(name)
        value = GoldenValue(name, _text(row[name]))
        if source is not None and row[name] is not None:
            value.source = f"{source['source']}:{source['source_record_id']}"
            value.trust = source["trust"]
            value.updated = _text(source["source_updated_at"])
            value.rule = _text(source["rule"])
            value.agreeing = f"{source['agreeing']} of {source['candidates']}" if source["candidates"] else ""
        if contact is not None and row[name] is not None:
            value.freshness = row.get(f"{contact}_freshness")
            value.stale = bool(row.get(f"{contact}_is_stale"))
            value.stale_reason = _text(row.get(f"{contact}_stale_reason"))
        values.append(value)
    values += [
        GoldenValue("record_count", _text(row.get("record_count"))),
        GoldenValue("sources", ", ".join(row.get("sources") or [])),
    ]
    key = golden_key(golden_id)
    return GoldenView(
        golden_id, item_version(store, key), values, members, audit_entries(store, item_key=key, limit=50), events
    )

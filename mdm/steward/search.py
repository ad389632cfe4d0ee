"""Finding a customer in one box: a name, an e-mail, a phone in any common format, a source record
id or a golden id, matched against every source record of the published master (so a customer is
found by any of its records' values, not only the surviving ones).

- A phone is standardized with the project's own phone standardizer (`parse_phone`, the run's
  code) for each country the records carry, then matched on the E.164 value; `(415) 867-2671`,
  `415.867.2671` and `+1 415 867 2671` find the same customer.
- A name matches when every word of the query is part of the record's full name (case folded):
  `ann lee`, `Lee`, `o'brien`.
- An e-mail matches on a part of it (case folded); a record id exactly (`C3` or `crm:C3`); a golden
  id exactly (`G000000012`, any case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from mdm.standardize.phone import parse_phone
from mdm.steward.views import _columns, _rows, connect

_PHONE_TEXT = re.compile(r"^[\d\s+().\-/]+$")
_GOLDEN_ID = re.compile(r"^G\d+$", re.IGNORECASE)
MAX_QUERY_CHARS = 200
MAX_REGIONS = 20


@dataclass
class CustomerHits:
    customers: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def phone_candidates(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """E.164 numbers the query may stand for: parsed as the run parses a source's phone, with each
    country the records carry as the default region (and US)."""
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or not _PHONE_TEXT.match(text):
        return []
    regions = ["US"]
    if "country" in _columns(con, "source_records"):
        regions += [
            str(r[0])
            for r in con.sql(
                f"SELECT DISTINCT country FROM source_records WHERE country IS NOT NULL LIMIT {MAX_REGIONS}"
            ).fetchall()
            if isinstance(r[0], str) and len(r[0]) == 2
        ]
    found = []
    for region in dict.fromkeys(regions):
        e164, _, _, valid, _ = parse_phone(text, region)
        if valid and e164:
            found.append(e164)
    return list(dict.fromkeys(found))


def search_condition(con: duckdb.DuckDBPyConnection, text: str) -> tuple[str, list[Any]]:
    """A WHERE condition over `source_records` (no alias) for the query, and its parameters."""
    query = " ".join(text.split())[:MAX_QUERY_CHARS]
    if not query:
        return "false", []
    have = _columns(con, "source_records")
    parts: list[str] = ["source_record_id = ?", "source || ':' || source_record_id = ?"]
    params: list[Any] = [query, query]
    if _GOLDEN_ID.match(query):
        parts.append("golden_id = ?")
        params.append(query.upper())
    phones = phone_candidates(con, query)
    if phones and "phone" in have:
        parts.append(f"phone IN ({', '.join('?' * len(phones))})")
        params += phones
    if "@" in query and "email" in have:
        parts.append("contains(lower(email), ?)")
        params.append(query.lower())
    names = [c for c in ("given_name", "middle_name", "family_name") if c in have]
    words = query.lower().split()
    if names and any(ch.isalpha() for ch in query) and "@" not in query:
        full = f"lower(concat_ws(' ', {', '.join(names)}))"
        parts.append("(" + " AND ".join([f"contains({full}, ?)"] * len(words)) + ")")
        params += words
    return "(" + " OR ".join(parts) + ")", params


def find_customers(master: Path, text: str, *, offset: int = 0, limit: int = 20) -> CustomerHits:
    """Golden customers with a record matching the query, by name, a page at a time."""
    con = connect(master)
    try:
        cond, params = search_condition(con, text)
        have = _columns(con, "golden_customers")
        shown = [
            c for c in ("given_name", "family_name", "email", "phone", "city", "record_count", "sources") if c in have
        ]
        rows = _rows(
            con,
            f"SELECT golden_id, {', '.join(shown)}, count(*) OVER () AS _total FROM golden_customers"
            f" WHERE golden_id IN (SELECT golden_id FROM source_records WHERE {cond})"
            " ORDER BY family_name NULLS LAST, given_name NULLS LAST, golden_id LIMIT ? OFFSET ?",
            [*params, limit, max(offset, 0)],
        )
    finally:
        con.close()
    total = int(rows[0]["_total"]) if rows else 0
    return CustomerHits(rows, total, max(offset, 0), limit)

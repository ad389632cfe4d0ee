"""A golden customer as the API shows it: the golden record, its source records, the lineage of
its values and its id events; a retired id names the live id it was merged into. Sensitive
values are shown masked, never in clear."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from mdm.sensitive import FieldCipher, is_token, mask
from mdm.state import StateStore


@dataclass(frozen=True)
class Retired:
    golden_id: str
    merged_into: str | None
    """The live id its records are under now (following merges of merges); None: its records are gone."""


def _shown(value: Any, cipher: FieldCipher | None) -> Any:
    if is_token(value):
        return mask(cipher.decrypt(value)) if cipher is not None else "(encrypted)"
    if isinstance(value, list):
        return [_shown(v, cipher) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, golden_id: str, cipher: FieldCipher | None) -> list[dict[str, Any]]:
    rel = con.sql(sql, params=[golden_id])
    names = rel.columns
    return [{n: _shown(v, cipher) for n, v in zip(names, row, strict=True)} for row in rel.fetchall()]


def golden_customer(
    master: Path, state_dir: Path, golden_id: str, sensitive: list[str], cipher: FieldCipher | None
) -> dict[str, Any] | Retired | None:
    """The customer, or Retired, or None when the id was never handed out."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        golden = _rows(con, "SELECT * FROM golden_customers WHERE golden_id = ?", golden_id, cipher)
        if golden:
            record = golden[0]
            for field in sensitive:  # the token's place takes the masked value the master keeps beside it
                if f"{field}_masked" in record:
                    record[field] = record.pop(f"{field}_masked")
            records = _rows(
                con,
                "SELECT * EXCLUDE (golden_id) FROM source_records WHERE golden_id = ?"
                " ORDER BY source, source_record_id",
                golden_id,
                cipher,
            )
            lineage = _rows(
                con,
                "SELECT attribute, value, source, source_record_id, rule, runner_up FROM golden_attribute_lineage"
                " WHERE golden_id = ? ORDER BY attribute",
                golden_id,
                cipher,
            )
            events = _rows(
                con,
                "SELECT run_id, kind, old_id, new_id, reason FROM id_events WHERE ? IN (old_id, new_id)",
                golden_id,
                cipher,
            )
            return {"golden": record, "source_records": records, "lineage": lineage, "id_events": events}
    finally:
        con.close()
    with StateStore(state_dir) as store:
        retired = store.retired_ids()
        if golden_id not in retired:
            return None
    chain: dict[str, str | None] = {str(k): v for k, v in retired.items()}
    into, seen = chain[golden_id], {golden_id}
    while into is not None and into in chain and into not in seen:  # merged, then merged again
        seen.add(into)
        into = chain[into]
    return Retired(golden_id, into)

"""The domain vocabulary of the customer master, in one place."""

from __future__ import annotations

from typing import Literal, NewType

SourceName = NewType("SourceName", str)
"""A source system's name as declared in sources.yaml; becomes customer_xref.source."""

RecordId = NewType("RecordId", str)
"""A record's id inside its source system (always handled as text)."""

GoldenId = NewType("GoldenId", str)
"""The master's id of one person; stable across runs, never reused."""

RunId = NewType("RunId", str)

SourceKind = Literal["csv", "parquet", "jsonl", "sqlite", "postgres"]
FieldType = Literal["string", "date"]
FieldKind = Literal[
    "person_name",
    "full_name",
    "date",
    "coded",
    "email",
    "phone",
    "address_line",
    "city",
    "region",
    "postal_code",
    "country",
    "identifier",
    "text",
]
BadValuePolicy = Literal["set_null", "keep"]
"""What a standardizer does with a value it cannot make clean: null it or keep it; it flags it either way."""

Decision = Literal["same", "not_same"]
"""A steward's decision about two source records."""

Verdict = Literal["same", "not_same", "skip"]
"""What a steward answers for a review item: a decision, or skip (not now; recorded, nothing applied)."""

StewardRole = Literal["viewer", "steward", "admin"]
"""viewer reads; steward also decides, merges, splits and undoes; admin also manages users and rolls back."""

ApiRole = Literal["resolve", "read"]
"""What an API token may call: `resolve` POST /api/v1/standardize and /api/v1/resolve (a record in,
standardized values or candidate ids out); `read` GET /api/v1/customers/{id} (a golden customer's
values, records and lineage). A token holds one or both."""

RunStatus = Literal["running", "published", "failed"]

PairClass = Literal["match", "review", "non_match"]
"""What scoring makes of a candidate pair: auto-merge, steward review queue, or nothing."""

ContactAttribute = Literal["address", "phone", "email"]
"""A contact attribute whose staleness is tracked (mdm/stale/flags.py)."""

IdEventKind = Literal["created", "split", "merged", "retired"]
"""What happened to a golden id in a run (table id_events; see mdm/golden/ids.py)."""

FULL_NAME_FORMATS = ("family, given middle", "given middle family", "family given middle", "family middle given")
"""The orders a `full_name` column's format may name (sources.yaml; mdm/standardize/name.py splits by them)."""

ALL_VALUES_RULE = "all distinct valid values"
"""The lineage `rule` of a list-valued golden field (every distinct valid value kept), which
survivorship writes and `mdm explain` reads."""

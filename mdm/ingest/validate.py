"""Row validation generated from the data dictionary (pandera), and duplicate record ids.

A row that cannot be used at all goes to quarantine with every reason; a value that is
merely bad stays in the row and is flagged by the standardize stage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import pandera.polars as pa
import polars as pl

from mdm.config.dictionary import Dictionary

RECORD_ID = "source_record_id"
NO_RECORD_ID = "no record id"
NO_IDENTITY = "every identity field is empty ({fields})"


def _blank(name: str) -> pl.Expr:
    return pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")


def staged_schema(dictionary: Dictionary, mapped_fields: list[str]) -> pa.DataFrameSchema:
    """The schema a staged row of one source must satisfy to be accepted."""
    identity = [f for f in dictionary.identity_fields if f in mapped_fields]

    def has_identity(data: pa.PolarsData) -> pl.LazyFrame:
        if not identity:
            return data.lazyframe.select(pl.lit(True))
        return data.lazyframe.select(~pl.all_horizontal([_blank(f) for f in identity]))

    columns = {
        RECORD_ID: pa.Column(
            str,
            nullable=True,
            checks=pa.Check(lambda d: d.lazyframe.select(~_blank(d.key)), name="record_id_present", error=NO_RECORD_ID),
        )
    }
    columns.update({f: pa.Column(str, nullable=True) for f in mapped_fields})
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(
                has_identity, name="has_identity", error=NO_IDENTITY.format(fields=", ".join(identity) or "none mapped")
            )
        ],
    )


MAX_VALUE_CHARS = 10_000
"""A mapped value longer than this is no name, address or contact: its row is quarantined."""


def value_failures(staged: pl.DataFrame, columns: list[str]) -> dict[int, list[str]]:
    """Rows with a value holding a NUL character or longer than MAX_VALUE_CHARS (record id included)."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for name in columns:
        values = staged[name]
        lengths = values.str.len_chars()
        for i in (lengths > MAX_VALUE_CHARS).arg_true().to_list():
            reasons[i].append(f"{name} holds {lengths[i]} characters, more than {MAX_VALUE_CHARS}")
        for i in values.str.contains("\x00", literal=True).arg_true().to_list():
            reasons[i].append(f"{name} holds a NUL character")
    return reasons


def row_failures(staged: pl.DataFrame, dictionary: Dictionary, mapped_fields: list[str]) -> dict[int, list[str]]:
    """Positional row index -> reasons, for rows the dictionary schema rejects."""
    reasons: dict[int, list[str]] = value_failures(staged, [RECORD_ID, *mapped_fields])
    try:
        staged_schema(dictionary, mapped_fields).validate(staged.select([RECORD_ID, *mapped_fields]), lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        for index, check in cases.select("index", "check").unique(maintain_order=True).iter_rows():
            reasons[int(index)].append(str(check))
    return reasons


UNICODE_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
"""What polars' `str.strip_chars()` strips (Unicode White_Space); Python's `str.strip()` strips
U+001C-U+001F too."""


def record_failures(values: Mapping[str, str | None], dictionary: Dictionary, mapped_fields: list[str]) -> list[str]:
    """The reasons `row_failures` gives one row of text `values` (absent: null), in its words and
    order, checked in plain Python: a one-row pandera validation costs ~10 ms, which the real-time
    API would pay per call (tests/test_ingest.py holds the two together)."""
    columns = [RECORD_ID, *mapped_fields]
    reasons = []
    for name in columns:
        value = values.get(name)
        if value is not None and len(value) > MAX_VALUE_CHARS:
            reasons.append(f"{name} holds {len(value)} characters, more than {MAX_VALUE_CHARS}")
        if value is not None and "\x00" in value:
            reasons.append(f"{name} holds a NUL character")

    def blank(name: str) -> bool:
        value = values.get(name)
        return value is None or value.strip(UNICODE_WHITESPACE) == ""

    if blank(RECORD_ID):
        reasons.append(NO_RECORD_ID)
    identity = [f for f in dictionary.identity_fields if f in mapped_fields]
    if identity and all(blank(f) for f in identity):
        reasons.append(NO_IDENTITY.format(fields=", ".join(identity)))
    return reasons


def duplicate_failures(ids: pl.Series, raw: pl.DataFrame, row: str = "_row") -> dict[int, list[str]]:
    """Rows sharing a record id. An exact repeat of an earlier row is quarantined and the first
    kept; ids whose rows differ are all quarantined, since nothing says which one is right.

    `ids` are the rows' record ids, `raw` the rows as read (with their row numbers in `row`).
    """
    reasons: dict[int, list[str]] = defaultdict(list)
    content = [c for c in raw.columns if c != row]
    keyed = raw.with_columns(ids.alias("_id"), pl.int_range(pl.len()).alias("_i"))
    dup = keyed.filter(pl.col("_id").is_not_null() & (pl.col("_id") != "") & (pl.len().over("_id") > 1))
    for _, group in dup.group_by("_id", maintain_order=True):
        record_id = group["_id"][0]
        rows = group[row].to_list()
        positions = group["_i"].to_list()
        if group.select(content).unique().height == 1:
            for i in positions[1:]:
                reasons[i].append(f"exact duplicate of row {rows[0]} (record id {record_id!r})")
        else:
            listed = ", ".join(str(r) for r in rows)
            for i in positions:
                reasons[i].append(
                    f"record id {record_id!r} appears {len(rows)} times with different content (rows {listed})"
                )
    return reasons

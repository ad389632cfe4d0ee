"""The tag engine: each computed tag of tags.yaml evaluated on its own by DuckDB.

The SQL sees `golden_customers`, `customer_xref`, one `events_<name>` table per event source
(with `golden_id` resolved through the event's person record) and the macro `as_of_date()`,
the run's `--as-of` day, so a rerun with the same as-of gives the same tags. File access is
switched off before any tag runs (`enable_external_access = false`): a tag reads the master's
tables and nothing else.

Per tag, the result is one row per customer: a `query` returning a customer more than once
keeps its row with the latest valid_from (then the smallest value). A state tag's window is
[valid_from, valid_to): rows whose window does not contain the as-of day are dropped, so a
query may return every window and let the engine keep the current one.

A tag whose SQL fails (DuckDB's parser, binder or a run-time error) becomes a `tag_errors` row
with the file, the tag's line, DuckDB's message and a fix; every other tag is still computed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from mdm.config.tags import TagDef, TagsConfig

TAG_COLUMNS = ("golden_id", "value", "valid_from", "valid_to", "evidence")
CUSTOMER_TAGS_SCHEMA = pl.Schema(
    {
        "golden_id": pl.String,
        "tag": pl.String,
        "value": pl.String,
        "category": pl.String,
        "origin": pl.String,
        "valid_from": pl.Date,
        "valid_to": pl.Date,
        "evidence": pl.String,
    }
)
TAG_ERRORS_SCHEMA: dict[str, Any] = {
    "tag": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "problem": pl.String,
    "fix": pl.String,
}
_CASTS = {"golden_id": "VARCHAR", "value": "VARCHAR", "valid_from": "DATE", "valid_to": "DATE", "evidence": "VARCHAR"}


@dataclass
class TagOutcome:
    tag: str
    status: str
    """ok, error, skipped: ..., stored (manual/survey values only)"""
    seconds: float = 0.0


@dataclass
class TagResults:
    tags: pl.DataFrame
    """customer_tags rows of the computed tags"""
    errors: pl.DataFrame
    outcomes: dict[str, TagOutcome] = field(default_factory=dict)


def tag_sql(tag: TagDef, con: duckdb.DuckDBPyConnection) -> str:
    """A SELECT of exactly TAG_COLUMNS for a computed tag (raises duckdb.Error or ValueError)."""
    if tag.where is not None:
        value = f"({tag.value})" if tag.value else "NULL"
        evidence = f"({tag.evidence})" if tag.evidence else "NULL"
        return (
            f"SELECT g.golden_id, CAST({value} AS VARCHAR) AS value, NULL::DATE AS valid_from,"
            f" NULL::DATE AS valid_to, CAST({evidence} AS VARCHAR) AS evidence"
            f" FROM golden_customers g WHERE ({tag.where})"
        )
    assert tag.query is not None
    query = tag.query.strip().rstrip(";")
    columns = con.sql(query).columns  # binds the query: names and types, nothing run
    unknown = [c for c in columns if c not in TAG_COLUMNS]
    if "golden_id" not in columns or unknown or len(set(columns)) != len(columns):
        raise ValueError(
            f"a tag query returns golden_id and optionally value, valid_from, valid_to, evidence; this one returns"
            f" {', '.join(columns)}"
        )
    select = ", ".join(
        f"CAST(q.{c} AS {_CASTS[c]}) AS {c}" if c in columns else f"NULL::{_CASTS[c]} AS {c}" for c in TAG_COLUMNS
    )
    return f"SELECT {select} FROM ({query}) AS q"


def _current(sql: str) -> str:
    """One row per customer, valid as of as_of_date(), for a customer of the master."""
    return f"""
SELECT * FROM ({sql}) AS t
WHERE t.golden_id IN (SELECT golden_id FROM golden_customers)
  AND (t.valid_from IS NULL OR t.valid_from <= as_of_date())
  AND (t.valid_to IS NULL OR t.valid_to > as_of_date())
QUALIFY row_number() OVER (PARTITION BY t.golden_id ORDER BY t.valid_from DESC NULLS LAST, t.value NULLS LAST) = 1
"""


def fix_for(message: str, tables: list[str]) -> str:
    """A suggestion for a DuckDB error message of a tag's SQL."""
    events = ", ".join(t for t in tables if t.startswith("events_")) or "none in this run"
    if "Table with name" in message or "does not exist" in message and "Table" in message:
        return (
            "read golden_customers, customer_xref or an event table events_<name> (here: "
            f"{events}) and list the event sources under `events:`"
        )
    if "not found in FROM clause" in message or "Referenced column" in message or "have a column named" in message:
        return (
            "use a column of the table you read (DESCRIBE golden_customers or DESCRIBE events_<name> in the"
            " master); the run's day is as_of_date()"
        )
    if "Parser Error" in message or "syntax error" in message:
        return "fix the SQL syntax at the position DuckDB names; try the SQL in `duckdb <master>`"
    if "a tag query returns" in message:
        return "SELECT golden_id, <value> AS value, <date> AS valid_from, <date> AS valid_to, <text> AS evidence"
    if "Conversion Error" in message or "Could not convert" in message:
        return "cast explicitly, e.g. TRY_CAST(answer AS DOUBLE), which gives NULL instead of failing"
    return "run the tag's SQL in `duckdb <master>` (with as_of_date() replaced by a date) to see the problem"


def prepare_connection(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """The macro tags use for the run's day; file access off (tables are loaded by then)."""
    con.sql(f"CREATE OR REPLACE TEMP MACRO as_of_date() AS DATE '{as_of.isoformat()}'")
    con.sql("SET enable_external_access = false")


TagRows = Callable[[TagDef, duckdb.DuckDBPyRelation], None]
"""What evaluate_each does with a tag's current rows (TAG_COLUMNS, ordered by golden_id): keep them
in memory (evaluate_tags) or stream them to files (mdm/tags/compute.py). A DuckDB error it raises
while the rows are read makes the tag an error like any other."""


def evaluate_tags(con: duckdb.DuckDBPyConnection, config: TagsConfig, *, event_sources: set[str]) -> TagResults:
    """Evaluate every computed tag of `config` on `con` (prepared with prepare_connection), the
    rows of all of them in one frame (a master's check, the tests; the run streams them instead)."""
    frames: list[pl.DataFrame] = []

    def keep(tag: TagDef, rows: duckdb.DuckDBPyRelation) -> None:
        frames.append(tag_rows(tag, rows.pl()))

    errors, outcomes = evaluate_each(con, config, event_sources=event_sources, rows=keep)
    tags = pl.concat([pl.DataFrame(schema=CUSTOMER_TAGS_SCHEMA), *frames])
    return TagResults(tags, errors, outcomes)


def tag_rows(tag: TagDef, rows: pl.DataFrame) -> pl.DataFrame:
    """customer_tags rows (CUSTOMER_TAGS_SCHEMA) of a tag's current rows (TAG_COLUMNS)."""
    return (
        rows.with_columns(
            pl.lit(tag.name).alias("tag"),
            pl.lit(tag.category).alias("category"),
            pl.lit(tag.origin).alias("origin"),
        )
        .select(list(CUSTOMER_TAGS_SCHEMA))
        .cast(CUSTOMER_TAGS_SCHEMA)
    )


def evaluate_each(
    con: duckdb.DuckDBPyConnection, config: TagsConfig, *, event_sources: set[str], rows: TagRows
) -> tuple[pl.DataFrame, dict[str, TagOutcome]]:
    """Evaluate every computed tag of `config` on `con` (prepared with prepare_connection), handing
    each tag's current rows to `rows`; (tag_errors rows, each tag's outcome).

    Config problems of tags.yaml become error rows too, so the run report and `tag_errors` show
    every problem in one place."""
    tables = sorted(
        r[0]
        for r in con.sql(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    )
    errors: list[dict[str, Any]] = [
        {"tag": p["tag"], "file": str(config.path), "line": p["line"], "problem": p["problem"], "fix": p["fix"]}
        for p in config.problems
    ]
    outcomes: dict[str, TagOutcome] = {}
    for tag in config.tags:
        if not tag.computed:
            outcomes[tag.name] = TagOutcome(tag.name, "stored")
            continue
        missing = [e for e in tag.events if e not in event_sources]
        if missing:
            outcomes[tag.name] = TagOutcome(tag.name, f"skipped: no event source {', '.join(missing)} in sources.yaml")
            continue
        started = time.perf_counter()
        try:
            # one row per customer: ordered by golden_id, a tag's rows need no sort in Python
            rows(tag, con.sql(f"SELECT * FROM ({_current(tag_sql(tag, con))}) AS c ORDER BY c.golden_id"))
        except (duckdb.Error, ValueError) as exc:
            message = str(exc).strip()
            errors.append(
                {
                    "tag": tag.name,
                    "file": str(config.path),
                    "line": config.lines.get(tag.name),
                    "problem": message,
                    "fix": fix_for(message, tables),
                }
            )
            outcomes[tag.name] = TagOutcome(tag.name, "error", round(time.perf_counter() - started, 3))
            continue
        outcomes[tag.name] = TagOutcome(tag.name, "ok", round(time.perf_counter() - started, 3))
    return pl.DataFrame(errors, schema=TAG_ERRORS_SCHEMA), outcomes

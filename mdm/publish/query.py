"""`mdm query`: read-only SQL on the published master, printed as a table, CSV or JSON.

Two locks: the master is opened with `read_only=True` (DuckDB refuses any write), and a statement
that is not a query is refused before it runs, with a message saying what to do instead. The
master is rebuilt by every run from the sources and the durable store, so a change made in it
would be lost anyway. `run_query` also says how many rows the result had (for the audit entry
`mdm query` writes; the table format counts them with a second pass over the result).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from mdm.errors import MdmError
from mdm.publish.export import neutral_text
from mdm.sensitive import FieldCipher, reveal_frame

OutputFormat = Literal["table", "csv", "json"]
QUERY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(MdmError, RuntimeError):
    """The statement is not a query, or DuckDB could not run it (its message is kept)."""


def check_is_query(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one SQL statement, not {len(statements)}")
    kind = statements[0].type
    if kind not in QUERY_STATEMENTS:
        raise QueryError(
            f"mdm query is read-only: {kind.name} statements are refused (queries only: SELECT, WITH, FROM,"
            " DESCRIBE, SHOW, SUMMARIZE, EXPLAIN). The master is rebuilt by every run: change the sources,"
            " the rules or a steward decision instead."
        )


@dataclass(frozen=True)
class QueryResult:
    text: str
    rows: int
    """rows in the result (the table format shows at most max_rows of them)"""


def query_master(master: Path, sql: str, output: OutputFormat = "table", max_rows: int = 100) -> str:
    """Run one query on the master, read-only; return its result as text (`max_rows` limits the table format)."""
    return run_query(master, sql, output, max_rows).text


def run_query(
    master: Path, sql: str, output: OutputFormat = "table", max_rows: int = 100, reveal: FieldCipher | None = None
) -> QueryResult:
    """`query_master`, with the result's row count; with `reveal`, sensitive values decrypted."""
    if not master.exists():
        raise QueryError(f"no master at {master}; publish one with `mdm run`")
    con = duckdb.connect(str(master), read_only=True)
    revealed: duckdb.DuckDBPyConnection | None = None
    try:
        check_is_query(con, sql)
        try:
            relation = con.sql(sql)
            if reveal is not None and relation.columns:  # the result decrypted, shown as DuckDB shows a result
                frame = reveal_frame(relation.pl(), reveal)
                revealed = duckdb.connect()
                relation = revealed.from_arrow(frame.to_arrow())
            if output == "table":
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    relation.show(max_rows=max_rows, max_width=100_000)
                return QueryResult(buffer.getvalue().rstrip("\n"), len(relation))
            columns, rows = relation.columns, relation.fetchall()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from None
    finally:
        con.close()
        if revealed is not None:
            revealed.close()
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else neutral_text(v) for v in row] for row in rows)
        return QueryResult(buffer.getvalue().rstrip("\n"), len(rows))
    objects = [json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) for row in rows]
    return QueryResult("[\n" + ",\n".join(objects) + "\n]" if objects else "[]", len(rows))

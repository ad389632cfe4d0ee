"""One way to create a DuckDB table from what a stage holds, shared by the stages that load
DuckDB (publish, tags): a polars frame, a parquet file, or a SELECT DuckDB runs itself (over
`read_parquet(...)`, for tables too big to hold as a frame)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

Table = pl.DataFrame | Path | str | Callable[[], pl.DataFrame | str]
"""A frame, a parquet file, the SELECT making the table, or what reads the frame or makes the
SELECT's files (called only when the table is written: a table patched instead is never read
whole)."""


@dataclass(frozen=True)
class SqlPatch:
    """How an incremental run turns the last master's table into today's when the table is a
    history (rows are added, a few closed, none rewritten): statements run on the last master's
    copy, `{table}` in them standing for the table, each with its parameters and the rows it must
    change (None: any number); `before` and `after`: the table's rows in the last master and
    today. Applied by mdm/publish/patch.py `apply_patch`, which writes the table whole when a
    count is not what the patch says."""

    steps: tuple[tuple[str, tuple[object, ...], int | None], ...]
    before: int
    after: int


def create_table(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """CREATE TABLE `name` from `table` in `con`."""
    if callable(table):
        table = table()
    if isinstance(table, Path):
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet(?)', [str(table)])
    elif isinstance(table, str):
        con.sql(f'CREATE TABLE "{name}" AS {table}')
    else:
        con.register("_frame", table)
        con.sql(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
        con.unregister("_frame")

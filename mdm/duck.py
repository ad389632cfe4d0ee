"""One way to create a DuckDB table from what a stage holds, shared by the stages that load
DuckDB (publish, tags): a polars frame, a parquet file, or a SELECT DuckDB runs itself (over
`read_parquet(...)`, for tables too big to hold as a frame)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

Table = pl.DataFrame | Path | str
"""A frame, a parquet file, or the SELECT making the table."""


def create_table(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """CREATE TABLE `name` from `table` in `con`."""
    if isinstance(table, Path):
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet(?)', [str(table)])
    elif isinstance(table, str):
        con.sql(f'CREATE TABLE "{name}" AS {table}')
    else:
        con.register("_frame", table)
        con.sql(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
        con.unregister("_frame")

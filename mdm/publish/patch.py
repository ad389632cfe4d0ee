"""Publishing an incremental run by patching the last master's biggest stable tables.

Most rows of `source_records` and `golden_attribute_lineage` are the same from night to night (a
record unchanged under the same golden id; a customer whose records did not change). An
incremental run (`RunContext.carry`: same configuration and code as the last published run)
therefore starts the new master from a copy of the last one, when it is the store's last published
master, and replaces only the rows of those tables that differ; every other table is dropped and
written again as in a full run. The rows that differ are found by content: the last run left a hash
of each group of rows (a record's row; a customer's lineage rows) beside its carried records, and
the groups whose hash is new or gone are deleted from the copy and today's rows of them inserted.
So the patched table holds exactly the rows a full run writes (the row order aside: SQL tables have
none), which tests/test_incremental.py checks, and a count check before and after the patch falls
back to writing the table whole if the copy was not what the hashes say.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

log = logging.getLogger(__name__)

PATCHED_TABLES: dict[str, tuple[str, ...]] = {
    "source_records": ("source", "source_record_id"),
    "golden_attribute_lineage": ("golden_id",),
}
"""The tables an incremental run patches, each with the columns that make its groups of rows."""
_SEED = 20261206


def group_hashes(rows: Path, keys: Sequence[str], exclude: Sequence[str] = ()) -> pl.DataFrame:
    """Per group of `rows` (the `keys` columns): a hash of its rows' content (every column but
    `exclude`, in any order of the rows) and its row count `n`."""
    scan = pl.scan_parquet(rows)
    columns = [c for c in scan.collect_schema().names() if c not in exclude]
    return (
        scan.select(*keys, pl.struct(columns).hash(_SEED).alias("_row"))
        .group_by(*keys)
        .agg(pl.col("_row").sort().implode().hash(_SEED).alias("hash"), pl.len().alias("n"))
        .collect()
    )


@dataclass(frozen=True)
class TablePatch:
    """How to turn the last master's table into today's: delete the groups `removed` (their keys),
    insert `added` (today's rows of the new and changed groups); `before` and `after`: the table's
    rows in the last master and today."""

    keys: tuple[str, ...]
    removed: Path
    added: Path
    before: int
    after: int


def table_patch(
    name: str, rows: Path, exclude: Sequence[str], previous: Path | None, work_dir: Path
) -> tuple[TablePatch | None, pl.DataFrame]:
    """Today's group hashes of table `name` (made of `rows`, less `exclude`), and the patch from
    the last run's (`previous`: the hashes it left; None: no patch, the table is written whole)."""
    keys = PATCHED_TABLES[name]
    today = group_hashes(rows, keys, exclude)
    if previous is None or not previous.exists():
        return None, today
    before = pl.read_parquet(previous)
    compared = today.join(before.rename({"hash": "_before", "n": "_n"}), on=keys, how="left")
    changed = compared.filter(pl.col("_before").is_null() | (pl.col("_before") != pl.col("hash"))).select(keys)
    gone = before.join(today, on=keys, how="anti").select(keys)
    removed, added = work_dir / f"patch_{name}_removed.parquet", work_dir / f"patch_{name}_added.parquet"
    pl.concat([changed, gone]).write_parquet(removed)
    (
        pl.scan_parquet(rows)
        .join(changed.lazy(), on=list(keys), how="semi")
        .select(pl.all().exclude(*exclude) if exclude else pl.all())
        .sink_parquet(added)
    )
    log.info("publish: %s patched: %d groups of rows replaced, %d gone", name, changed.height, gone.height)
    return TablePatch(keys, removed, added, int(before["n"].sum()), int(today["n"].sum())), today


def apply_patch(con: duckdb.DuckDBPyConnection, name: str, patch: TablePatch) -> bool:
    """Patch table `name` of `con` (a copy of the last master); False, and the table dropped, when
    its rows are not what the last run left (then it is written whole)."""
    table = f'"{name}"'
    try:
        before = _count(con, table)
    except duckdb.CatalogException:
        before = -1
    if before != patch.before:
        log.warning("publish: %s in the last master is not as the last run left it; written whole", name)
        con.sql(f"DROP TABLE IF EXISTS {table}")
        return False
    match = " AND ".join(f't."{k}" = r."{k}"' for k in patch.keys)
    con.execute(f"DELETE FROM {table} AS t USING read_parquet(?) AS r WHERE {match}", [str(patch.removed)])
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [str(patch.added)])
    if _count(con, table) != patch.after:
        log.warning("publish: %s patched does not hold today's rows; written whole", name)
        con.sql(f"DROP TABLE {table}")
        return False
    return True


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def master_run(master: Path) -> str | None:
    """The run that published `master` (the run id its per-run tables carry), or None when it
    cannot be read."""
    try:
        con = duckdb.connect(str(master), read_only=True)
    except duckdb.Error:
        return None
    try:
        found = con.sql("SELECT DISTINCT run_id FROM field_profile").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return str(found[0][0]) if len(found) == 1 else None


def clear_master(con: duckdb.DuckDBPyConnection, keep: Sequence[str]) -> None:
    """Drop every view, table macro and table of `con` but the tables `keep`, and checkpoint, so
    their blocks are free for the tables written next."""
    for (view,) in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        con.sql(f'DROP VIEW "{view}"')
    macros = con.sql(
        "SELECT DISTINCT function_name, function_type FROM duckdb_functions()"
        " WHERE function_type IN ('macro', 'table_macro') AND NOT internal"
    ).fetchall()
    for macro, kind in macros:
        con.sql(f'DROP MACRO {"TABLE " if kind == "table_macro" else ""}"{macro}"')
    for (table,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall():
        if table not in keep:
            con.sql(f'DROP TABLE "{table}"')
    con.sql("CHECKPOINT")

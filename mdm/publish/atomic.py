"""Atomic publication of the master.

The new master is written to a temporary file in the target's directory, checkpointed,
fsynced and renamed over the target (rename is atomic on one file system). A reader holding
the old file open keeps reading the old master; a crash at any point leaves the previous
master as it was, plus at most a stray temporary file that the next run removes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

from mdm.duck import SqlPatch, Table, create_table
from mdm.files import fsync_path
from mdm.publish.patch import TablePatch, apply_patch, clear_master

MEMORY_LIMIT = "1GB"
"""DuckDB's buffer while it writes the master unless told (a run passes its budget's share,
mdm/budget.py); beyond it, it spills to a temporary directory beside the master. Without a limit it
takes up to 80% of RAM and, at 1M records, lifts the run's peak by 2.7 GiB (bench/RESULTS.md)."""


def temporary_path(master: Path, run_id: str) -> Path:
    return master.with_name(f".{master.name}.{run_id}.tmp")


def publish_master(
    master: Path,
    run_id: str,
    tables: Mapping[str, Table],
    *,
    views: dict[str, str] | None = None,
    macros: dict[str, str] | None = None,
    before_swap: Callable[[], None] | None = None,
    memory_limit: str = MEMORY_LIMIT,
    base: Path | None = None,
    patches: Mapping[str, TablePatch | SqlPatch] | None = None,
) -> dict[str, int]:
    """Write `tables` (and SQL `views`, and table `macros`: "name(params)" -> SELECT) into a new
    DuckDB file and swap it in for `master`; return the rows of each table.

    A table is a polars frame, a parquet file, or a SELECT (over `read_parquet(...)`) that DuckDB
    runs itself, for tables too big to hold as a frame (mdm/duck.py). `before_swap` runs after the
    new file is complete and before the rename: the place to commit the durable store, so a
    published master never refers to ids the store lacks.

    With `base` (the last published master) the new file starts as a copy of it: the tables of
    `patches` are patched in place (mdm/publish/patch.py), everything else in it is dropped and
    `tables` written as without one; a table whose patch does not apply is written whole from
    `tables`.
    """
    master.parent.mkdir(parents=True, exist_ok=True)
    for pattern in (f".{master.name}.*.tmp", f".{master.name}.*.tmp.wal"):  # a killed run's file and its log
        for stray in master.parent.glob(pattern):
            stray.unlink()
    for stray in master.parent.glob(f".{master.name}.*.tmp.spill"):
        shutil.rmtree(stray, ignore_errors=True)
    tmp = temporary_path(master, run_id)
    spill = tmp.with_name(tmp.name + ".spill")
    patches = patches if base is not None and patches else {}
    try:
        if patches and base is not None:
            shutil.copyfile(base, tmp)
        con = duckdb.connect(str(tmp), config={"memory_limit": memory_limit, "temp_directory": str(spill)})
        try:
            if patches:
                clear_master(con, keep=list(patches))
            counts: dict[str, int] = {}
            for name, frame in tables.items():
                if not (name in patches and apply_patch(con, name, patches[name])):
                    create_table(con, name, frame)
                counts[name] = int(con.sql(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
            for signature, sql in (macros or {}).items():  # before the views: a view may read a macro
                con.sql(f"CREATE MACRO {signature} AS TABLE {sql}")
            for name, sql in (views or {}).items():
                con.sql(f'CREATE VIEW "{name}" AS {sql}')
            con.sql("CHECKPOINT")
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)
        fsync_path(tmp)
        if before_swap is not None:
            before_swap()
        os.replace(tmp, master)
        fsync_path(master.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return counts

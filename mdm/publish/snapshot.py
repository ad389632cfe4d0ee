"""A Parquet snapshot of the master's main tables beside it, for readers without DuckDB 2.x.

A DuckDB 2 file cannot be opened by 1.x drivers nor the BI connectors built on them; Parquet can
be read by all of them. The snapshot directory `<master>.parquet/` holds one file per table of
SNAPSHOT_TABLES and is replaced as a whole after each publish (a reader sees the old snapshot or
the new one); its files carry the run id in `_run.json`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from mdm.files import fsync_path, place_copy

SNAPSHOT_TABLES = ("golden_customers", "customer_xref", "customer_tags")


def snapshot_dir(master: Path) -> Path:
    return master.with_name(f"{master.name}.parquet")


def write_snapshot(master: Path, run_id: str, tables: Mapping[str, pl.DataFrame | Path]) -> Path:
    """Write the tables into a new directory and swap it in for the previous snapshot. A table is
    a frame, or the parquet file it was published from (placed as a second name of that file, or a
    copy of it: streaming it into a new file took 1.1 s at 1M records, bench/RESULTS.md)."""
    target = snapshot_dir(master)
    fresh = target.with_name(f".{target.name}.{run_id}")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for name in SNAPSHOT_TABLES:
        table = tables[name]
        if isinstance(table, Path):
            place_copy(table, fresh / f"{name}.parquet")
        else:
            table.write_parquet(fresh / f"{name}.parquet")
            fsync_path(fresh / f"{name}.parquet")
    (fresh / "_run.json").write_text(json.dumps({"run_id": run_id, "tables": list(SNAPSHOT_TABLES)}))
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)
    return target

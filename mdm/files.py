"""File-system helpers that every layer may use."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

PRIVATE_UMASK = 0o077
"""Files the product creates are its owner's only (0600 files, 0700 directories): masters, their
versions, the durable store and work files all hold personal data."""


@contextmanager
def private_files() -> Iterator[None]:
    """Create files inside with PRIVATE_UMASK (the process's umask, restored on exit)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') writes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place_copy(source: Path, target: Path) -> None:
    """`target` holding `source`'s bytes, on disk: a second name of the same file when both are on
    one file system (a work file is never written again once done, so nothing changes it under
    the store), else a copy."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    fsync_path(target)


@dataclass(frozen=True)
class RecordFiles:
    """The run's records with their golden ids as two parquet files of the same rows in the same
    order, read side by side as one table: `values` (the standardized records, numbered by `rid`)
    and `golden_ids` (one column, `golden_id`). The golden stage writes only the ids: writing the
    records' 126 columns again beside them took 3.3 s at 990k records, reading the two files side
    by side costs what reading one does (bench/RESULTS.md)."""

    values: Path
    golden_ids: Path

    def scan(self) -> pl.LazyFrame:
        """The records, `golden_id` last."""
        return pl.concat([pl.scan_parquet(self.values), pl.scan_parquet(self.golden_ids)], how="horizontal")

    def columns(self) -> list[str]:
        return [*pl.read_parquet_schema(self.values), *pl.read_parquet_schema(self.golden_ids)]

    def sql(self, exclude: Sequence[str] = (), row_number: bool = False) -> str:
        """The records as a SELECT of DuckDB (less the columns `exclude`), in their order; with
        `row_number`, each row's number among them as `file_row_number`."""
        values, ids = (str(p).replace("'", "''") for p in (self.values, self.golden_ids))
        numbered = ", file_row_number = true" if row_number else ""
        columns = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
        joined = f"read_parquet('{values}'{numbered}) AS v POSITIONAL JOIN read_parquet('{ids}') AS g"
        return f"SELECT {columns} FROM {joined}"

    @staticmethod
    def write_ids(values: Path, golden_ids: pl.Series, out: Path) -> None:
        """`golden_ids` (one per row of the file `values`, in its order) written to `out`."""
        total = int(pl.scan_parquet(values).select(pl.len()).collect().item())
        if golden_ids.len() != total:
            raise ValueError(f"{golden_ids.len()} golden ids for the {total} records of {values}")
        golden_ids.alias("golden_id").to_frame().write_parquet(out)


def scan_rows(rows: Path | RecordFiles | pl.LazyFrame) -> pl.LazyFrame:
    """A table's rows: a parquet file, the records' two files, or a query."""
    if isinstance(rows, pl.LazyFrame):
        return rows
    return rows.scan() if isinstance(rows, RecordFiles) else pl.scan_parquet(rows)


def join_parts(parts: Sequence[Path], target: Path, compression: Literal["lz4", "zstd"] = "zstd") -> None:
    """The parquet files `parts` (each written with `compression`) as the one file `target`, their
    rows in order, the parts removed: one part is renamed into place (read and written again, the
    one slice of 6.3M scored pairs took 1.3 s), several are streamed into it."""
    if len(parts) == 1:
        os.replace(parts[0], target)
        return
    pl.concat([pl.scan_parquet(part) for part in parts]).sink_parquet(target, compression=compression)
    for part in parts:
        part.unlink()

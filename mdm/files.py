"""File-system helpers that every layer may use."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

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


def write_in_slices(
    source: Path, out: Path, rows: int, each: Callable[[pl.DataFrame, int], pl.DataFrame] = lambda piece, _: piece
) -> None:
    """`each(slice, its first row)` of the slices of at most `rows` rows of the parquet file
    `source`, in order, appended to the parquet file `out`: only one slice is ever in memory,
    whatever the file's length (a slice reads only the row groups it spans). The file has the same
    rows, columns and types as one written by polars whole."""
    total = int(pl.scan_parquet(source).select(pl.len()).collect().item())
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, total, rows) if total else range(1):
            table = each(pl.scan_parquet(source).slice(start, rows).collect(), start).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table)
            del table
    finally:
        if writer is not None:
            writer.close()

"""File-system helpers that every layer may use."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


def with_column_in_slices(source: Path, out: Path, rows: int, column: pl.Series) -> None:
    """The parquet file `source` with `column` (a value per row, in the file's order) added as its
    last column, written to the parquet file `out`: streamed a slice of at most `rows` rows at a
    time, each slice of the file beside the same slice of the column, so only a few slices are in
    memory whatever the file's length. The file has the same rows, columns and types as one
    written by polars whole. (At 990k records of 126 columns: 3.3 s and 744 MiB at the peak, where
    appending each slice with pyarrow's writer took 7.1 s and 565 MiB, bench/RESULTS.md.)"""
    total = int(pl.scan_parquet(source).select(pl.len()).collect().item())
    if column.len() != total:
        raise ValueError(f"{column.name}: {column.len()} values for the {total} rows of {source}")
    parts = [
        pl.concat(
            [pl.scan_parquet(source).slice(start, rows), column.slice(start, rows).to_frame().lazy()],
            how="horizontal",
        )
        for start in (range(0, total, rows) if total else range(1))
    ]
    pl.concat(parts).sink_parquet(out)


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

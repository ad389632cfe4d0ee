"""The run's memory budget (`mdm run --memory-limit 6GiB`): how many partitions a stage splits its
work into, how much DuckDB may buffer before it spills to disk, how much each Dask worker may hold.

A stage that works in partitions asks `partitions(rows, bytes_per_row)`: the partitions needed for
one partition's working set (rows x the stage's measured bytes per row) to fit in PARTITION_SHARE
of the budget, the rest being what the stage holds besides (its inputs' columns, its results) and
the interpreter. The bytes per row are measured at 1M generated records (bench/RESULTS.md, "Scale");
they are estimates, so the budget is a target the run steers by, not a hard cap. Without a limit
the budget is DEFAULT_SHARE of the machine's memory, under which a 1M-record run needs one
partition per stage, as before partitions existed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from mdm.errors import MdmError

DEFAULT_SHARE = 1 / 3
"""The budget without --memory-limit: a third of the machine's memory (8 GiB on 24 GiB)."""
PARTITION_SHARE = 0.4
"""The share of the budget one partition's working set may take."""
DUCKDB_SHARE = 1 / 8
"""The share of the budget DuckDB buffers before it spills to a temporary directory."""
MIN_DUCKDB_BYTES = 256 * 2**20
MIN_BUDGET_BYTES = 512 * 2**20
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20}
_UNITS |= {"g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


class MemoryLimitError(MdmError):
    """--memory-limit is not a size, or too small to run in."""


def parse_size(text: str) -> int:
    """Bytes of "6GiB", "6g", "512MB", "1.5 GiB" (binary units either way)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise MemoryLimitError(f"--memory-limit {text!r}: give a size such as 6GiB, 6000MiB or 0.5TiB")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < MIN_BUDGET_BYTES:
        raise MemoryLimitError(f"--memory-limit {text!r}: at least {MIN_BUDGET_BYTES // 2**20} MiB")
    return size


def machine_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@dataclass(frozen=True)
class MemoryBudget:
    limit_bytes: int

    @classmethod
    def of(cls, limit_bytes: int | None) -> MemoryBudget:
        """The budget of --memory-limit, or DEFAULT_SHARE of the machine without one."""
        return cls(limit_bytes if limit_bytes is not None else int(machine_memory() * DEFAULT_SHARE))

    def partitions(self, rows: int, bytes_per_row: int) -> int:
        """Partitions for `rows` whose working set is `bytes_per_row` each (at least 1)."""
        return max(1, math.ceil(rows * bytes_per_row / (self.limit_bytes * PARTITION_SHARE)))

    def rows_per_partition(self, bytes_per_row: int) -> int:
        """Rows one partition may hold (for streaming a table of unknown length in batches)."""
        return max(100, int(self.limit_bytes * PARTITION_SHARE / bytes_per_row))

    @property
    def duckdb_limit(self) -> str:
        """DuckDB's `memory_limit` setting: DUCKDB_SHARE of the budget, at least 256 MiB, at most 1 GiB
        (beyond it DuckDB only keeps more of what it would read back from its spill)."""
        limit = min(max(int(self.limit_bytes * DUCKDB_SHARE), MIN_DUCKDB_BYTES), 2**30)
        return f"{limit // 2**20}MiB"

    def worker_limit(self, workers: int) -> int:
        """Bytes each of `workers` Dask workers may hold: half the budget shared among them (the
        run's own process holds the rest)."""
        return max(self.limit_bytes // (2 * max(workers, 1)), MIN_BUDGET_BYTES)

    def describe(self) -> str:
        return f"{self.limit_bytes / 2**30:.1f} GiB"

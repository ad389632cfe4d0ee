"""The carried records of one source (mdm/incremental/carry.py `CarryOver.source_records`): read
as the slice of rows the source holds, with each record's row as `previous_rid` and its hash from
the file beside the records; the same frame as numbering the whole file and joining the hashes
by rid, whatever the order of the sources' rows or of the hashes file."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from mdm.incremental.carry import HASH_COLUMN, PREVIOUS_RID, RECORD_HASHES_FILE, CarryOver


def reference(path: Path, source: str) -> pl.DataFrame:
    """The plain reading: every row numbered, the source's kept, the hashes joined by rid."""
    records = (
        pl.scan_parquet(path)
        .with_row_index(PREVIOUS_RID)
        .with_columns(pl.col(PREVIOUS_RID).cast(pl.Int64))
        .filter(pl.col("source") == source)
        .collect()
    )
    hashes = pl.read_parquet(path.parent / RECORD_HASHES_FILE)
    return records.join(hashes, on="rid", how="left", maintain_order="left").drop("rid")


@pytest.mark.parametrize("seed", range(6))
def test_a_source_s_carried_records_are_those_of_numbering_the_file_and_joining_the_hashes(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    counts = {"crm": rng.randint(0, 40), "web": rng.randint(1, 40), "billing": rng.randint(0, 5)}
    sources = [name for name, n in counts.items() for _ in range(n)]
    if seed % 3 == 1:
        rng.shuffle(sources)  # not in runs of rows: read by filtering
    n = len(sources)
    records = pl.DataFrame(
        {
            "rid": pl.Series(range(n), dtype=pl.Int64),
            "source": sources,
            "source_record_id": [f"R{i}" for i in range(n)],
            "email": [rng.choice([None, "a@x.com", "b@y.org"]) for _ in range(n)],
        }
    )
    path = tmp_path / "standardized.parquet"
    records.write_parquet(path, row_group_size=7)
    hashes = pl.DataFrame(
        {"rid": pl.Series(range(n), dtype=pl.Int64), HASH_COLUMN: [rng.getrandbits(63) for _ in range(n)]}
    )
    if seed % 3 == 2:
        hashes = hashes.sample(fraction=1.0, shuffle=True, seed=seed).head(max(n - 3, 0))  # out of order, some missing
    hashes = hashes.with_columns(pl.col(HASH_COLUMN).cast(pl.UInt64))
    hashes.write_parquet(tmp_path / RECORD_HASHES_FILE)
    carry = CarryOver(path, "run", {name: {} for name in counts}, [])
    for name in counts:
        got = carry.source_records(name, {}, None)
        assert got is not None
        assert got.equals(reference(path, name)), name

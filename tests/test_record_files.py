"""The records with their golden ids as two files read side by side (mdm/files.py RecordFiles)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from mdm.files import RecordFiles, scan_rows


def _files(tmp_path: Path, rows: int, row_group_size: int) -> tuple[RecordFiles, pl.DataFrame]:
    values = pl.DataFrame(
        {
            "rid": pl.int_range(rows, dtype=pl.Int64, eager=True),
            "source": [("crm", "web", "billing")[i % 3] for i in range(rows)],
            "name": [f"n{i}" if i % 4 else None for i in range(rows)],
            "flags": [[f"f{i % 5}"] if i % 2 else [] for i in range(rows)],
        }
    )
    golden_ids = pl.Series("ignored", [f"G{i * 7 % 11:09d}" for i in range(rows)])
    files = RecordFiles(tmp_path / "values.parquet", tmp_path / "ids.parquet")
    values.write_parquet(files.values, row_group_size=row_group_size)
    RecordFiles.write_ids(files.values, golden_ids, files.golden_ids)
    return files, values.with_columns(golden_ids.alias("golden_id"))


@pytest.mark.parametrize(("rows", "row_group_size"), [(0, 10), (1, 10), (250, 7), (1000, 1000)])
def test_the_two_files_read_as_the_records_with_their_golden_ids(
    tmp_path: Path, rows: int, row_group_size: int
) -> None:
    """Whatever the row groups of the values' file (the ids' file has its own), each record sits
    beside its own golden id, read whole, by columns, in slices, filtered, or by DuckDB."""
    files, whole = _files(tmp_path, rows, row_group_size)
    assert files.scan().collect().equals(whole)
    assert scan_rows(files).collect().equals(whole)
    assert files.columns() == whole.columns
    assert files.scan().select("golden_id", "rid").collect().equals(whole.select("golden_id", "rid"))
    assert files.scan().slice(rows // 3, 50).collect().equals(whole.slice(rows // 3, 50))
    wanted = pl.col("golden_id").is_in(["G000000003", "G000000007"])
    assert files.scan().filter(wanted).collect().equals(whole.filter(wanted))
    with duckdb.connect() as con:
        read = con.sql(files.sql(exclude=["flags"], row_number=True) + " ORDER BY file_row_number").pl()
        assert read.drop("file_row_number").equals(whole.drop("flags"))
        assert read["file_row_number"].to_list() == list(range(rows))
        assert con.sql(files.sql()).pl().columns == whole.columns


def test_golden_ids_not_one_per_record_are_refused(tmp_path: Path) -> None:
    files, _ = _files(tmp_path, 25, 10)
    with pytest.raises(ValueError, match="24 golden ids for the 25 records"):
        RecordFiles.write_ids(files.values, pl.Series([f"G{i}" for i in range(24)]), files.golden_ids)

"""`mdm export` and `mdm query --format csv` are safe to open in a spreadsheet (issue 16
"Exports"): `mdm query --format csv` wrote `=cmd|' /C calc'!A0` as is, and phones like
`+16468268373` turned into numbers in Excel."""

from __future__ import annotations

import datetime as dt
import html
import re
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from mdm.cli import main

ATTACK = "=cmd|' /C calc'!A0"


@pytest.fixture
def master(tmp_path: Path) -> Path:
    """A master with one table of awkward values: a formula, a phone, a postcode, a list, a date."""
    path = tmp_path / "master.duckdb"
    frame = pl.DataFrame(
        {
            "golden_id": ["G000000001", "G000000002"],
            "given_name": [ATTACK, "@SUM(1+1)"],
            "phone": ["+16468268373", "-5"],
            "postal_code": ["02134", "\tx"],
            "sources": [["crm", "web"], ["clinic"]],
            "birth_date": [dt.date(1980, 3, 4), None],
            "records": [2, 1],
        }
    )
    con = duckdb.connect(str(path))
    con.register("f", frame)
    con.sql("CREATE TABLE golden_customers AS SELECT * FROM f")
    con.close()
    return path


def test_csv_export_neutralises_formulas(master: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        main, ["export", "--master", str(master), "--table", "golden_customers", "--output", str(out)]
    )
    assert result.exit_code == 0 and "exported 2 rows of golden_customers" in result.output
    rows = pl.read_csv(out, infer_schema=False).to_dicts()
    assert rows[0]["given_name"] == "'" + ATTACK and rows[1]["given_name"] == "'@SUM(1+1)"
    assert (rows[0]["phone"], rows[1]["phone"], rows[0]["postal_code"]) == ("'+16468268373", "'-5", "02134")
    assert rows[1]["postal_code"] == "'\tx" and rows[0]["sources"] == '["crm", "web"]'


def test_xlsx_export_writes_text_cells_and_no_formula(master: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(
        main,
        ["export", "--master", str(master), "--table", "golden_customers", "--format", "xlsx", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet  # no formula cell
    texts = [html.unescape(t) for t in re.findall(r"<t[^>]*>([^<]*)</t>", strings)]
    assert "'" + ATTACK in texts
    assert {"'+16468268373", "02134", "1980-03-04"} <= set(texts)  # phone, postcode and date as text
    assert re.search(r'<c r="G2"[^>]*><v>2</v>', sheet)  # a number stays a number


def test_export_names_the_table_it_cannot_find(master: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["export", "--master", str(master), "--table", "golden_customer", "--output", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 1 and "did you mean golden_customers?" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_parquet_export_keeps_values_and_types(master: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    args = ["export", "--master", str(master), "--table", "golden_customers", "--format", "parquet"]
    assert CliRunner().invoke(main, [*args, "--output", str(out)]).exit_code == 0
    frame = pl.read_parquet(out)
    assert frame["given_name"][0] == ATTACK and frame["birth_date"][0] == dt.date(1980, 3, 4)
    assert frame["sources"][0].to_list() == ["crm", "web"]


def test_query_csv_neutralises_formulas(master: Path) -> None:
    result = CliRunner().invoke(
        main, ["query", "SELECT given_name, phone FROM golden_customers", "--master", str(master), "--format", "csv"]
    )
    assert result.exit_code == 0
    assert result.output.splitlines()[1:] == ["'=cmd|' /C calc'!A0,'+16468268373", "'@SUM(1+1),'-5"]


def test_each_publish_leaves_a_parquet_snapshot_of_the_main_tables(tiny: Path, tmp_path: Path) -> None:
    """The master opens only in DuckDB 2.x; older drivers and BI connectors read the snapshot."""
    import json

    from mdm.pipeline import run_pipeline
    from tests.conftest import AS_OF, query

    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    second = run_pipeline(tiny, master, as_of=AS_OF)
    snapshot = tmp_path / "master.duckdb.parquet"
    assert json.loads((snapshot / "_run.json").read_text())["run_id"] == second.run_id
    for table in ("golden_customers", "customer_xref", "customer_tags"):
        frame = pl.read_parquet(snapshot / f"{table}.parquet")
        assert frame.height == query(master, f"SELECT count(*) FROM {table}")[0][0] > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".master.duckdb.parquet")) == []

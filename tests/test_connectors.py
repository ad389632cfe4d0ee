"""Connectors: every kind, encodings, delimiters, broken structure, real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import uuid
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.config.sources import SourceConfig
from mdm.ingest.connectors import (
    SourceReadError,
    detect_encoding,
    read_csv,
    read_jsonl,
    read_parquet,
    read_postgres,
    read_sqlite,
)
from mdm.pipeline import PipelineError, run_pipeline
from tests.conftest import AS_OF

HEADER = "id;name;city\n"


@pytest.mark.parametrize(
    ("description", "encoding", "declared"),
    [
        ("UTF-8 with BOM, detected", "utf-8-sig", None),
        ("UTF-8, detected", "utf-8", None),
        ("Latin-1, declared", "latin-1", "latin-1"),
        ("GB18030, declared", "gb18030", "gb18030"),
        ("GB18030, detected", "gb18030", None),
        ("UTF-16 with BOM, detected", "utf-16", None),
    ],
)
def test_csv_encodings(tmp_path: Path, description: str, encoding: str, declared: str | None) -> None:
    names = ["José Müller", "王小明", "Zoë"] if encoding not in ("latin-1",) else ["José Müller", "Zoë", "Ångström"]
    rows = "".join(f"{i};{n};Köln\n" for i, n in enumerate(names, 1))
    if encoding == "gb18030" and declared is None:  # detection needs enough text to be sure
        rows = "".join(f"{i};王小明{i};北京市朝阳区建国路{i}号\n" for i in range(1, 40))
        names = [f"王小明{i}" for i in range(1, 40)]
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + rows).encode(encoding))
    read = read_csv(path, encoding=declared)
    assert read.frame["name"].to_list() == names, description
    assert read.rejects == []


def test_detect_encoding_prefers_utf8_then_bom() -> None:
    assert detect_encoding(b"abc") == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfabc") == "utf-8-sig"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(delimiter.join(["id", "name", "note"]) + "\n" + delimiter.join(["1", "Ann", '"a, b; c"']) + "\n")
    read = read_csv(path)
    assert read.frame.select("id", "name", "note").rows() == [("1", "Ann", "a, b; c")]


def test_csv_quoting_with_newlines_and_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,name,note\n1,Ann,"two\nlines"\n2,Bob\n\n3,Cy,ok,extra\n4,Di,""\n')
    read = read_csv(path)
    assert read.frame.select("_row", "id", "note").rows() == [(1, "1", "two\nlines"), (4, "4", "")]
    assert [(r.row_number, r.reasons) for r in read.rejects] == [
        (2, ["row has 2 fields, the header has 3"]),
        (3, ["row has 4 fields, the header has 3"]),
    ]
    assert read.rows_read == 4


def test_csv_bytes_invalid_in_declared_encoding_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,name\n1,Ann\n2,Bj\xf6rn\n")
    read = read_csv(path, encoding="utf-8")
    assert read.frame["name"].to_list() == ["Ann"]
    assert read.rejects[0].row_number == 2
    assert read.rejects[0].reasons == ["bytes not valid in encoding utf-8"]


@pytest.mark.parametrize(
    ("description", "content", "message"),
    [
        ("empty file", b"", "empty"),
        ("repeated header", b"id,id\n1,2\n", "repeats column"),
    ],
)
def test_csv_unreadable_files_fail_clearly(tmp_path: Path, description: str, content: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(SourceReadError, match=message):
        read_csv(path)


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": 1, "name": "Ann", "tags": ["a"], "vip": True}),
        "{broken",
        "",
        json.dumps("text"),
        json.dumps({"id": 2, "email": "b@x.org"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    read = read_jsonl(path)
    assert read.frame.columns == ["_row", "id", "name", "tags", "vip", "email"]
    assert read.frame.select("id", "tags", "vip", "email").rows() == [
        ("1", '["a"]', "true", None),
        ("2", None, None, "b@x.org"),
    ]
    assert [(r.row_number, r.reasons[0].split(":")[0]) for r in read.rejects] == [
        (2, "not valid JSON"),
        (3, "a JSON str where an object was expected"),
    ]


def test_parquet_keeps_typed_dates_as_iso(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"id": [1, 2], "dob": [dt.date(1980, 3, 4), None], "score": [1.5, None]}).write_parquet(path)
    read = read_parquet(path)
    assert read.frame.rows() == [(1, "1", "1980-03-04", "1.5"), (2, "2", None, None)]
    assert read.temporal_columns == {"dob": "%Y-%m-%d"}


def test_a_column_named_like_the_row_numbers_is_refused_by_every_kind(tmp_path: Path) -> None:
    """A source column `_row` would replace each row's number (quarantine and lineage point at
    rows by it): every connector refuses the source, naming it."""
    (tmp_path / "in.csv").write_text("_row,name\nx,Ann\n")
    (tmp_path / "in.jsonl").write_text('{"name": "Ann"}\n{"_row": "x", "name": "Bo"}\n')
    pl.DataFrame({"_row": ["x"], "name": ["Ann"]}).write_parquet(tmp_path / "in.parquet")
    con = sqlite3.connect(tmp_path / "in.sqlite")
    con.execute("CREATE TABLE people (_row TEXT, name TEXT)")
    con.commit()
    con.close()
    reads = {
        "in.csv": lambda: read_csv(tmp_path / "in.csv"),
        "in.jsonl": lambda: read_jsonl(tmp_path / "in.jsonl"),
        "in.parquet": lambda: read_parquet(tmp_path / "in.parquet"),
        "in.sqlite": lambda: read_sqlite(tmp_path / "in.sqlite", table="people"),
    }
    for name, read in reads.items():
        with pytest.raises(SourceReadError, match="a column is named '_row'") as raised:
            read()
        assert name in str(raised.value)


def test_sqlite_table_and_query(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE accounts (account_id INTEGER, full_name TEXT, balance REAL)")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?)", [(1, "Smith, Ann", 10.5), (2, None, None)])
    con.commit()
    con.close()
    assert read_sqlite(path, table="accounts").frame.rows() == [(1, "1", "Smith, Ann", "10.5"), (2, "2", None, None)]
    assert read_sqlite(path, query="SELECT account_id FROM accounts WHERE balance > 1").frame.rows() == [(1, "1")]
    with pytest.raises(SourceReadError, match="no such table"):
        read_sqlite(path, table="missing")


POSTGRES_DSN = os.environ.get("MDM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_table() -> str:
    """A fresh table in the real PostgreSQL server; skips, saying why, when none answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        con = psycopg.connect(POSTGRES_DSN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"no PostgreSQL server at {POSTGRES_DSN} ({str(exc).strip().splitlines()[0]}); "
            "set MDM_TEST_POSTGRES_DSN to run the postgres connector tests"
        )
    table = f"mdm_test_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE TABLE {table} (customer_id int, name text, dob date, updated timestamptz, balance numeric)")
    con.execute(
        f"INSERT INTO {table} VALUES (1, 'Zoë Müller', '1980-03-04', '2026-01-02 03:04:05+00', 12.50),"
        f" (2, '王小明', NULL, NULL, NULL)"
    )
    yield table
    con.execute(f"DROP TABLE {table}")
    con.close()


@pytest.mark.postgres
def test_postgres_reads_a_real_table(postgres_table: str) -> None:
    source = SourceConfig(
        name="billing",
        kind="postgres",
        dsn_env="X",
        table=postgres_table,
        record_id="customer_id",
        fields={"full_name": {"column": "name"}},
    )  # type: ignore[dict-item]
    read = read_postgres(POSTGRES_DSN, source)
    assert read.frame.select("customer_id", "name", "dob", "balance").rows() == [
        ("1", "Zoë Müller", "1980-03-04", "12.50"),
        ("2", "王小明", None, None),
    ]
    assert read.temporal_columns == {"dob": "%Y-%m-%d", "updated": "%Y-%m-%dT%H:%M:%S"}


@pytest.mark.postgres
def test_postgres_bad_query_is_a_clear_error(postgres_table: str) -> None:
    source = SourceConfig(
        name="billing",
        kind="postgres",
        dsn_env="X",
        query="SELECT nope FROM nowhere",
        record_id="id",
        fields={"email": {"column": "email"}},
    )  # type: ignore[dict-item]
    with pytest.raises(SourceReadError, match="source 'billing' \\(postgres\\).*nowhere"):
        read_postgres(POSTGRES_DSN, source)


# Issue 15 item 2: a GBK / GB18030 CSV without `encoding:` was published garbled with exit 0.
GBK_ROWS = "id,name,city\n1,Robert Smith,Boston\n2,王芳,北京\n"


@pytest.mark.parametrize(
    ("description", "text", "encoding", "country", "expected"),
    [
        ("GBK, few Chinese values, source in China: read right", GBK_ROWS, "gbk", "CN", "gb18030"),
        (
            "GB18030, many Chinese values: read right anywhere",
            "id,name\n" + "".join(f"{i},王小明{i},北京市朝阳区建国路{i}号\n" for i in range(30)),
            "gb18030",
            "US",
            "gb18030",
        ),
        (
            "Latin-1, source in the US: Windows Western reads it alike",
            "id;name\n1;José Müller\n2;Ångström\n",
            "latin-1",
            "US",
            "cp1252",
        ),
        ("Shift_JIS, source in Japan", "id,name\n1,山田太郎\n2,佐藤花子\n", "shift_jis", "JP", "cp932"),
        ("Big5", "id,name,city\n1,王小明,台北市\n2,陳大文,香港\n", "big5", None, "big5"),
    ],
)
def test_undeclared_encodings_are_read_right(
    description: str, text: str, encoding: str, country: str | None, expected: str
) -> None:
    data = text.encode(encoding)
    found = detect_encoding(data, country)
    assert (found, data.decode(found)) == (expected, text), description


@pytest.mark.parametrize(
    ("description", "data", "country", "message"),
    [
        (
            "GBK, few Chinese values, source in the US: several encodings read it differently",
            GBK_ROWS.encode("gbk"),
            "US",
            r"reads differently in several encodings \(line 3 reads '2,",
        ),
        (
            "Latin-1 with no country to break the tie",
            "id;name\n1;José Müller\n2;Ångström\n".encode("latin-1"),
            None,
            "reads differently in several encodings",
        ),
        (
            "UTF-8 with one Latin-1 row: mojibake",
            "id,name\n1,José\n".encode() + "2,Zoë\n".encode("latin-1"),
            "US",
            r"read as cp1252 it shows mojibake \(line 2 reads '1,JosÃ©'",
        ),
    ],
)
def test_unclear_encodings_are_refused_naming_a_line(
    tmp_path: Path, description: str, data: bytes, country: str | None, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(SourceReadError, match=message + r".*declare it for this source in sources.yaml, e.g. encoding"):
        read_csv(path, country=country)


def test_a_gbk_source_without_encoding_is_refused_by_check_and_run(tiny: Path, tmp_path: Path) -> None:
    crm = tiny.parent / "crm.csv"
    crm.write_bytes(crm.read_text(encoding="utf-8-sig").replace("Robert", "王芳", 1).encode("gbk"))
    result = CliRunner().invoke(main, ["check", "--sources", str(tiny)])
    assert result.exit_code == 1
    assert "source 'crm': cannot tell the encoding" in result.output and "encoding: gb18030" in result.output
    with pytest.raises(PipelineError, match="failed in stage ingest: .*crm.csv: cannot tell its encoding"):
        run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)
    assert not (tmp_path / "master.duckdb").exists()

"""The CSV reader's line path (polars splits the lines without a quote character) reads every text
exactly as the csv module's record-by-record path: the same rows, row numbers and rejects."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.ingest.connectors import (
    SourceReadError,
    _by_lines,
    _Dialect,
    _records_by_lines,
    _records_by_reader,
)

PIECES = ["a", "bc", " ", "é", "\n", "\n\n", '"', '""', "'", ",", ";", "a,b", 'x,"y\nz",w', "1,2,3\n"]


def _reader(text: str, dialect: _Dialect) -> Any:
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quotechar, strict=False
    )
    next(reader)
    return reader


@settings(max_examples=400, deadline=None)
@given(
    body=st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    width=st.integers(1, 4),
    delimiter=st.sampled_from([",", ";"]),
    quotechar=st.sampled_from(['"', "'"]),
)
def test_the_line_path_reads_as_the_csv_module_does(body: str, width: int, delimiter: str, quotechar: str) -> None:
    header = [f"c{i}" for i in range(width)]
    text = delimiter.join(header) + "\n" + body
    dialect = _Dialect(delimiter, quotechar, width, "utf-8", "in.csv")
    assert _by_lines(text)
    try:
        expected = _records_by_reader(_reader(text, dialect), header, dialect)
    except SourceReadError:
        assert _records_by_lines(text, 1, header, dialect) is None
        return
    read = _records_by_lines(text, 1, header, dialect)
    assert read is not None
    frame, rejects = read
    assert frame.equals(expected[0]), (frame, expected[0])
    assert frame.schema == expected[0].schema
    assert rejects == expected[1]


def test_multi_line_values_runaway_quotes_and_ragged_rows_by_lines() -> None:
    text = 'id,name,city\n1,"Ann\nLee",Oslo\n\n2,Bo,Rome,extra\n3,"Cy,Rome\n4,Di,Oslo\n5,Ed,Bonn\n'
    header, dialect = ["id", "name", "city"], _Dialect(",", '"', 3, "utf-8", "in.csv")
    read = _records_by_lines(text, 1, header, dialect)
    assert read is not None
    frame, rejects = read
    assert frame.to_dicts() == [{"_row": 1, "id": "1", "name": "Ann\nLee", "city": "Oslo"}]
    assert [(r.row_number, r.reasons[0]) for r in rejects] == [
        (2, "row has 4 fields, the header has 3"),
        (3, "row has 2 fields, the header has 3"),
    ]
    assert "runs over file lines 6-8" in rejects[1].reasons[1]


def test_texts_the_line_path_cannot_read_exactly_go_by_the_reader() -> None:
    assert not _by_lines("a,b\r\n1,2\r\n")
    assert not _by_lines("a,b\n1,\x002\n")
    assert not _by_lines("a,b\n1,\udcff\n")

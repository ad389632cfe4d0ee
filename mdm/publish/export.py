"""`mdm export`: any table or view of the master to CSV, Parquet or Excel, safe to open in a
spreadsheet.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and CR too, in
some), so a customer named `=cmd|' /C calc'!A0` is an attack on whoever opens the export. In CSV
such a value is written with a leading apostrophe (the OWASP advice: the spreadsheet shows the text);
in Excel every text is a text cell (no formulas, no numbers guessed from text, so a phone
`+16468268373` or a postcode `02134` stays as written) and is neutralised the same way. Parquet
keeps values as they are: it is typed and no spreadsheet evaluates it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from mdm.errors import MdmError
from mdm.files import private_files
from mdm.sensitive import FieldCipher, reveal_frame

ExportFormat = Literal["csv", "parquet", "xlsx"]
FORMULA_START = r"^[=+\-@\t\r]"
"""A text starting with one of these is a formula to a spreadsheet."""


class ExportError(MdmError):
    """An unknown table, a missing master or an output that cannot be written."""


def neutral_text(value: object) -> object:
    """One value as neutralise() writes it (for writers that go row by row)."""
    return f"'{value}" if isinstance(value, str) and re.match(FORMULA_START, value) else value


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text that a spreadsheet would run as a formula, prefixed with an apostrophe; list and
    struct values as JSON text (a spreadsheet cell holds one value)."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype.is_nested():
            column = column.map_elements(
                lambda v: json.dumps(v.to_list() if isinstance(v, pl.Series) else v, default=str, ensure_ascii=False),
                return_dtype=pl.String,
            )
            dtype = pl.String()
        if dtype == pl.String:
            column = pl.when(column.str.contains(FORMULA_START)).then(pl.lit("'") + column).otherwise(column)
        columns.append(column.alias(name))
    return frame.select(columns)


def _relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


def read_relation(master: Path, table: str) -> pl.DataFrame:
    """A table or view of the master, read-only."""
    if not master.exists():
        raise ExportError(f"no master at {master}; publish one with `mdm run`")
    con = duckdb.connect(str(master), read_only=True)
    try:
        names = _relations(con)
        if table not in names:
            close = difflib.get_close_matches(table, names, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"the master has: {', '.join(names)}"
            raise ExportError(f"no table or view {table!r} in {master}; {hint}")
        frame: pl.DataFrame = con.sql(f'SELECT * FROM "{table}"').pl()
        return frame
    finally:
        con.close()


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        worksheet.write_row(0, 0, frame.columns, bold)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, value in enumerate(row):
                worksheet.write(r, c, _cell(value))
        worksheet.freeze_panes(1, 0)
    finally:
        workbook.close()


def _cell(value: Any) -> Any:
    """Numbers and booleans as themselves; dates, times and everything else as ISO / plain text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def export_table(master: Path, table: str, fmt: ExportFormat, output: Path, reveal: FieldCipher | None = None) -> int:
    """Write one table or view of the master to `output` (replaced atomically); returns its rows.
    With `reveal`, sensitive values are written decrypted (else as their tokens)."""
    frame = read_relation(master, table)
    if reveal is not None:
        frame = reveal_frame(frame, reveal)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    with private_files():
        try:
            if fmt == "parquet":
                frame.write_parquet(tmp)
            elif fmt == "csv":
                neutralise(frame).write_csv(tmp)
            else:
                _write_xlsx(neutralise(frame), tmp, table)
            os.replace(tmp, output)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ExportError(f"cannot write {output}: {exc.strerror}") from None
    return frame.height

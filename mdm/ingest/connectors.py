"""Connectors: read one source system into raw text columns, one kind per function.

Every connector returns a RawRead: a frame of the rows it could read (all values as text,
`_row` = 1-based position in the source) and a Reject for each row whose structure it could
not read (a CSV row with the wrong number of fields, a JSON line that is not an object, bytes
not valid in the encoding). rows_read = frame.height + len(rejects), always.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import json
import re
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.sources import SourceLocation, SourcesConfig
from mdm.errors import MdmError

ROW = "_row"
ISO_DATE = "%Y-%m-%d"
ISO_DATETIME = "%Y-%m-%dT%H:%M:%S"
_BAD_BYTES = re.compile("[\udc80-\udcff]")
_SNIFF_DELIMITERS = ",;\t|"


class SourceReadError(MdmError, RuntimeError):
    """A source that cannot be read at all (missing file, unknown encoding, bad header)."""


@dataclass
class Reject:
    row_number: int
    raw: str
    reasons: list[str]
    record_id: str | None = None


@dataclass
class RawRead:
    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    temporal_columns: dict[str, str] = field(default_factory=dict)
    """typed date/time columns -> the format their text is in (whatever sources.yaml declares)"""
    encoding: str | None = None
    nested_columns: dict[str, str] = field(default_factory=dict)
    """list / struct columns (parquet) -> their type: no dictionary field can be mapped from them"""

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.rejects)


def read_source(config: SourcesConfig, source: SourceLocation) -> RawRead:
    """Read one declared source with the connector of its kind."""
    if source.kind == "postgres":
        return read_postgres(config.dsn(source), source)
    path = config.resolve(source)
    if not path.exists():
        raise SourceReadError(f"source {source.name!r}: file not found: {path}")
    if source.kind == "csv":
        country = getattr(source, "country", None)  # person sources have one; its usual encoding breaks ties
        return read_csv(
            path, encoding=source.encoding, delimiter=source.delimiter, quotechar=source.quotechar, country=country
        )
    if source.kind == "jsonl":
        return read_jsonl(path)
    if source.kind == "parquet":
        return read_parquet(path)
    return read_sqlite(path, table=source.table, query=source.query)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        naive: dt.datetime = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        return naive.strftime(ISO_DATETIME)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return str(value)


def _frame(columns: Sequence[str], rows: list[list[str | None]], row_numbers: list[int]) -> pl.DataFrame:
    return _columns_frame({name: [r[i] for r in rows] for i, name in enumerate(columns)}, row_numbers)


def _columns_frame(values: dict[str, list[str | None]], row_numbers: list[int]) -> pl.DataFrame:
    """The rows' frame from each column's values (text or None), numbered."""
    data: dict[str, list[Any]] = {ROW: row_numbers} | values
    schema = {ROW: pl.Int64, **{name: pl.String for name in values}}
    return pl.DataFrame(data, schema=schema)


def missing_columns_message(what: str, missing: list[str], present: list[str]) -> str:
    """Which declared columns a source lacks, each with the closest column it has ("did you mean");
    never the header itself, which for a wrong file is content, not column names."""
    named = []
    for column in missing:
        close = difflib.get_close_matches(column, present, n=1, cutoff=0.75)
        named.append(f"{column} (did you mean {close[0]!r}?)" if close else column)
    return (
        f"{what}: column(s) {', '.join(named)} declared in sources.yaml are not in the source"
        f" (its header has {len(present)} column(s)); correct the names in sources.yaml or the export"
    )


def _check_header(header: Sequence[str], where: str) -> list[str]:
    names = [h.strip() for h in header]
    if not names or all(not n for n in names):
        raise SourceReadError(f"{where}: no header row")
    _check_reserved(names, where)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SourceReadError(f"{where}: header repeats column(s) {', '.join(dupes)}; rename them in the source")
    return names


def _check_reserved(names: Collection[str], where: str) -> None:
    """A source's column may not take the name of the rows' numbers (it would replace them)."""
    if ROW in names:
        raise SourceReadError(
            f"{where}: a column is named {ROW!r}, the name ingest gives each row's number; rename it in the source"
        )


# ---- csv -------------------------------------------------------------------------------------


_WESTERN = "US CA GB IE AU NZ DE AT CH FR BE NL LU ES PT IT SE NO DK FI IS"
PREFERRED_ENCODING = {"CN": "gb18030", "SG": "gb18030", "TW": "big5", "HK": "big5", "JP": "cp932", "KR": "cp949"} | {
    country: "cp1252" for country in _WESTERN.split()
}
"""Where several encodings read a file equally well, the one usual in the source's country wins."""
_MOJIBAKE = re.compile(r"[ÃÂ][\x80-\xbf]|â€|\ufffd|锟斤拷")
"""Text that was decoded with the wrong encoding (UTF-8 read as Latin-1, a GBK replacement run)."""
_SCAN_BYTES = 1 << 20
_CJK_ENCODINGS = ("gb18030", "big5", "cp932", "cp949")
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _clean_cjk_readings(sample: bytes) -> dict[str, str]:
    """The East Asian multi-byte encodings that read every non-ASCII byte as CJK characters. In
    Western text, accented letters stand between ASCII letters and do not pair up that way, so
    such a reading is strong evidence against a single-byte one (a GBK file with a few Chinese
    names otherwise looks like Windows-1252 to charset-normalizer)."""
    readings = {}
    for name in _CJK_ENCODINGS:
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        wide = [c for c in text if ord(c) > 127]
        if wide and all(_CJK.match(c) for c in wide):
            readings[name] = text
    return readings


def detect_encoding(data: bytes, country: str | None = None) -> str:
    """BOM first, then strict UTF-8, then charset-normalizer, refusing a guess it cannot make.

    Every encoding charset-normalizer finds about as plausible as its best (chaos within 0.05) is
    tried: when they read the file alike, the best is taken; when they read it differently, the
    one usual in the source's `country` (PREFERRED_ENCODING) is taken if it is among them, else
    the file is refused (EncodingUnclear: declare `encoding:`). A reading with mojibake patterns
    is refused too. Declare `encoding:` in sources.yaml whenever it is known.
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return name
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    sample = data if len(data) <= _SCAN_BYTES else data[: data.rfind(b"\n", 0, _SCAN_BYTES) + 1] or data[:_SCAN_BYTES]
    matches = list(from_bytes(sample))
    if not matches:
        raise EncodingUnclear("no encoding reads it", {})
    best = min(m.chaos for m in matches)
    readings: dict[str, str] = {}
    for match in matches:
        if match.chaos <= best + 0.05:
            try:
                readings.setdefault(match.encoding, sample.decode(match.encoding))
            except UnicodeDecodeError:  # the scan cut a multi-byte character
                readings.setdefault(match.encoding, sample.decode(match.encoding, errors="replace"))
    cjk = _clean_cjk_readings(sample)
    if cjk:
        same = {codecs.lookup(name).name for name in cjk}
        readings = {n: t for n, t in readings.items() if codecs.lookup(n).name in same} or cjk
    chosen = next(iter(readings))
    if len(set(readings.values())) > 1:
        preferred = PREFERRED_ENCODING.get((country or "").upper())
        plausible = {codecs.lookup(name).name: name for name in readings}
        if preferred is None or codecs.lookup(preferred).name not in plausible:
            raise EncodingUnclear("it reads differently in several encodings", readings)
        chosen = plausible[codecs.lookup(preferred).name]
    if _MOJIBAKE.search(readings[chosen]):
        raise EncodingUnclear(f"read as {chosen} it shows mojibake", {chosen: readings[chosen]})
    return chosen


class EncodingUnclear(SourceReadError):
    """A file whose encoding cannot be told from its bytes: declare `encoding:` for its source."""

    def __init__(self, why: str, readings: dict[str, str]):
        self.why, self.readings = why, readings
        super().__init__(why)


def _differing_line(readings: dict[str, str]) -> str:
    """The first line the readings disagree on (or that holds mojibake), in up to three of its readings."""
    names = list(readings)
    for number, variants in enumerate(zip(*(readings[n].splitlines() for n in names), strict=False), 1):
        if len(set(variants)) > 1 or _MOJIBAKE.search(variants[0]):
            distinct: dict[str, str] = {}
            for name, line in zip(names, variants, strict=True):
                distinct.setdefault(line, name)
            return f"line {number} reads " + " or ".join(
                f"{line[:60]!r} as {n}" for line, n in list(distinct.items())[:3]
            )
    return "no line differs in the first megabyte"


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(_SNIFF_DELIMITERS, key=first.count)


def csv_encoding(config: SourcesConfig, source: SourceLocation) -> tuple[str, str]:
    """A csv source's encoding and how it was known ("declared" or "detected"); SourceReadError when
    the file is missing or its encoding cannot be told (what `mdm check` reports)."""
    if source.encoding is not None:
        return source.encoding, "declared"
    path = config.resolve(source)
    if not path.exists():
        raise SourceReadError(f"source {source.name!r}: file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceReadError(f"source {source.name!r}: cannot read {path}: {exc.strerror}") from None
    try:
        return detect_encoding(data, getattr(source, "country", None)), "detected"
    except EncodingUnclear as exc:
        raise SourceReadError(
            f"source {source.name!r}: cannot tell the encoding of {path}: {exc.why} ({_differing_line(exc.readings)});"
            " declare it in sources.yaml, e.g. encoding: gb18030 (or utf-8, big5, cp1252, latin-1)"
        ) from None


def _holds_rows(record: list[str], delimiter: str, width: int) -> bool:
    """A quoted value spanning lines that holds whole rows of the file (a line with a delimiter
    between every column): the mark of a quote left open, not of a multi-line address."""
    return width > 1 and any(line.count(delimiter) >= width - 1 for value in record for line in value.splitlines()[1:])


def read_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    quotechar: str = '"',
    country: str | None = None,
) -> RawRead:
    data = path.read_bytes()
    if encoding is None:
        try:
            encoding = detect_encoding(data, country)
        except EncodingUnclear as exc:
            raise SourceReadError(
                f"{path}: cannot tell its encoding: {exc.why} ({_differing_line(exc.readings)}); declare it for"
                f" this source in sources.yaml, e.g. encoding: gb18030 (or utf-8, big5, cp1252, latin-1)"
            ) from None
    elif encoding.replace("_", "-").lower() in ("utf-8", "utf8") and data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding, errors="surrogateescape")
    except LookupError:
        raise SourceReadError(
            f"{path}: unknown encoding {encoding!r} (e.g. encoding: utf-8, latin-1, gb18030)"
        ) from None
    except UnicodeDecodeError as exc:  # utf-16 cannot surrogate-escape odd lengths
        raise SourceReadError(f"{path}: not valid {encoding}: {exc}") from None
    text = text.lstrip("\ufeff")
    if delimiter is None:
        delimiter = _sniff_delimiter(text[:65536])
    # no field is too long to read: an oversized value quarantines its row (ingest/validate.py)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False)
    try:
        header = _check_header(next(reader), str(path))
    except StopIteration:
        raise SourceReadError(f"{path}: the file is empty (no header row)") from None
    dialect = _Dialect(delimiter, quotechar, len(header), encoding, str(path))
    read = _records_by_lines(text, reader.line_num, header, dialect) if _by_lines(text) else None
    frame, rejects = read if read is not None else _records_by_reader(reader, header, dialect)
    return RawRead(frame, rejects, encoding=encoding)


@dataclass(frozen=True)
class _Dialect:
    delimiter: str
    quotechar: str
    width: int
    """the header's columns"""
    encoding: str
    where: str


def _reasons(record: list[str], first_line: int, last_line: int, dialect: _Dialect) -> list[str]:
    """Why a record read from file lines `first_line`-`last_line` is quarantined (none: it is a row)."""
    reasons = []
    width, delimiter = dialect.width, dialect.delimiter
    if len(record) != width:
        reasons.append(f"row has {len(record)} fields, the header has {width}")
    if last_line > first_line and (len(record) != width or _holds_rows(record, delimiter, width)):
        reasons.append(
            f"it runs over file lines {first_line}-{last_line}: an unclosed quote took in"
            f" {last_line - first_line} more line(s)"
        )
    return reasons


def _records_by_reader(reader: Any, header: list[str], dialect: _Dialect) -> tuple[pl.DataFrame, list[Reject]]:
    """The rows and rejects after the header, read record by record by the csv module's `reader`."""
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    number = 0
    last_line = reader.line_num
    try:
        for record in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if not record:  # a blank line is no record
                continue
            number += 1
            raw_line = dialect.delimiter.join(record)
            reasons = _reasons(record, first_line, last_line, dialect)
            if _BAD_BYTES.search(raw_line):
                reasons.append(f"bytes not valid in encoding {dialect.encoding}")
                raw_line = raw_line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if reasons:
                rejects.append(Reject(number, raw_line, reasons))
                continue
            rows.append(list(record))
            numbers.append(number)
    except csv.Error as exc:
        raise SourceReadError(f"{dialect.where}: CSV structure broken after data row {number}: {exc}") from None
    return _frame(header, rows, numbers), rejects


def _by_lines(text: str) -> bool:
    """True when `_records_by_lines` reads `text` as the csv module does: lines end at a newline
    alone (no carriage return), no NUL, no undecodable byte."""
    return "\r" not in text and "\x00" not in text and not _BAD_BYTES.search(text)


def _records_by_lines(
    text: str, skip: int, header: list[str], dialect: _Dialect
) -> tuple[pl.DataFrame, list[Reject]] | None:
    """What `_records_by_reader` reads of `text` after its first `skip` lines (the header), for a
    text `_by_lines` accepts, without a Python step per line: a line without the quote character
    is a record of its own, its values split at the delimiter by polars; only the records that
    start on a line with a quote character are read by the csv module, each with the lines it
    takes in. None when the csv module finds the structure broken (the reader then says where).
    (crm's 299k rows at 1M records: 0.86 s, where the reader took 2.9 s, bench/RESULTS.md.)"""
    lines = text.split("\n")[skip:]
    width, delimiter = dialect.width, dialect.delimiter
    series = pl.Series("line", lines, dtype=pl.String)
    has_quote = series.str.contains(dialect.quotechar, literal=True)
    quoted: list[tuple[int, list[str], int]] = []  # (first line, record, lines it took)
    taken_in: list[int] = []  # lines a quoted record took in after its first
    next_line = 0
    for at in has_quote.arg_true().to_list():
        if at < next_line:  # inside the record before
            continue
        reader = csv.reader(_terminated(lines, at), delimiter=delimiter, quotechar=dialect.quotechar, strict=False)
        try:
            record = next(reader)
        except csv.Error:
            return None
        next_line = at + reader.line_num
        taken_in.extend(range(at + 1, next_line))
        if record:
            quoted.append((at, record, reader.line_num))
    quoted_at = pl.Series([q[0] for q in quoted], dtype=pl.Int64)
    single = (
        pl.DataFrame([series, has_quote.alias("has_quote")])
        .with_row_index("at")
        .with_columns(pl.col("at").cast(pl.Int64))
        .filter(
            (pl.col("line") != "")
            & ~pl.col("has_quote")
            & ~pl.col("at").is_in(pl.Series(taken_in, dtype=pl.Int64).implode())
        )
    )
    # a record's number is its place among all records, one-line and quoted, in the file's order
    starts = pl.concat([single["at"], quoted_at]).sort()
    single = single.with_columns(
        (starts.search_sorted(single["at"]) + 1).cast(pl.Int64).alias(ROW),
        (pl.col("line").str.count_matches(delimiter, literal=True) + 1).alias("_fields"),
    )
    whole = single.filter(pl.col("_fields") == width)
    values = whole["line"].str.split_exact(delimiter, width - 1).struct.unnest()
    rows = pl.concat(
        [whole.select(ROW), values.rename(dict(zip(values.columns, header, strict=True)))], how="horizontal"
    )
    rejects = [
        Reject(number, line, [f"row has {fields} fields, the header has {width}"])
        for number, line, fields in single.filter(pl.col("_fields") != width).select(ROW, "line", "_fields").iter_rows()
    ]
    first = skip + 1  # the file line of lines[0]
    kept: list[list[str | None]] = []
    numbers: list[int] = []
    for (at, record, took), number in zip(quoted, (starts.search_sorted(quoted_at) + 1).to_list(), strict=True):
        reasons = _reasons(record, first + at, first + at + took - 1, dialect)
        if reasons:
            rejects.append(Reject(number, delimiter.join(record), reasons))
        else:
            kept.append(list(record))
            numbers.append(number)
    frame = pl.concat([rows, _frame(header, kept, numbers)]).sort(ROW)
    return frame, sorted(rejects, key=lambda r: r.row_number)


def _terminated(lines: list[str], start: int) -> Iterator[str]:
    """`lines` from `start` as reading the text yields them: each with its newline, the last
    (the text after the last newline) without, and none when it is empty."""
    last = len(lines) - 1
    for at in range(start, last):
        yield lines[at] + "\n"
    if lines[last]:
        yield lines[last]


# ---- jsonl -------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> RawRead:
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    columns: dict[str, None] = {}
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        if _BAD_BYTES.search(line):
            safe = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            rejects.append(Reject(number, safe, ["bytes not valid in encoding utf-8"]))
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(number, line, [f"not valid JSON: {exc.msg} at column {exc.colno}"]))
            continue
        if not isinstance(value, dict):
            rejects.append(Reject(number, line, [f"a JSON {type(value).__name__} where an object was expected"]))
            continue
        for key in value:
            columns.setdefault(key, None)
        objects.append(value)
        numbers.append(number)
    _check_reserved(columns.keys(), str(path))
    values: dict[str, list[str | None]] = {}
    for name in columns:  # by column: most hold only text and nulls, taken as they are
        found = [obj.get(name) for obj in objects]
        values[name] = found if all(v is None or type(v) is str for v in found) else [_text(v) for v in found]
    return RawRead(_columns_frame(values, numbers), rejects, encoding="utf-8")


# ---- parquet -----------------------------------------------------------------------------------


def read_parquet(path: Path) -> RawRead:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a corrupt file
        raise SourceReadError(f"{path}: not a readable parquet file: {exc}") from None
    _check_reserved(frame.columns, str(path))
    temporal: dict[str, str] = {}
    nested: dict[str, str] = {}
    cast = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype.is_nested():
            nested[name] = str(dtype)
            cast.append(column.map_elements(_nested_text, return_dtype=pl.String))
        elif dtype.is_float():  # 1.0 is the id or phone 1: a float column is how pandas writes ints with gaps
            whole = column.is_finite() & (column == column.round(0)) & (column.abs() < 2**53)
            cast.append(pl.when(whole).then(column.cast(pl.Int64).cast(pl.String)).otherwise(column.cast(pl.String)))
        elif dtype == pl.Date:
            temporal[name] = ISO_DATE
            cast.append(column.dt.strftime(ISO_DATE))
        elif isinstance(dtype, pl.Datetime):
            temporal[name] = ISO_DATETIME
            utc = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else column
            cast.append(utc.dt.strftime(ISO_DATETIME))
        elif dtype.is_numeric() or dtype in (pl.String, pl.Boolean, pl.Time, pl.Duration):
            cast.append(column.cast(pl.String))
        else:
            cast.append(column.map_elements(_text, return_dtype=pl.String))
    out = frame.select(cast).with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawRead(out, temporal_columns=temporal, nested_columns=nested)


def _nested_text(value: Any) -> str:
    """A list or struct value as JSON (kept in the raw copy; never mapped to a field)."""
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, default=str, ensure_ascii=False)


# ---- databases ---------------------------------------------------------------------------------


def _rows_from_cursor(cursor: Any, where: str, batch: int = 50_000) -> RawRead:
    columns = _check_header([d[0] for d in cursor.description], where)
    rows: list[list[str | None]] = []
    temporal: dict[str, str] = {}
    while chunk := cursor.fetchmany(batch):
        for record in chunk:
            for i, value in enumerate(record):
                if isinstance(value, dt.datetime):
                    temporal[columns[i]] = ISO_DATETIME
                elif isinstance(value, dt.date):
                    temporal.setdefault(columns[i], ISO_DATE)
            rows.append([_text(v) for v in record])
    return RawRead(_frame(columns, rows, list(range(1, len(rows) + 1))), temporal_columns=temporal)


def _select(table: str | None, query: str | None) -> str:
    if query is not None:
        return query
    assert table is not None
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))
    return f"SELECT * FROM {quoted}"


def read_sqlite(path: Path, *, table: str | None = None, query: str | None = None) -> RawRead:
    uri = f"file:{path.resolve()}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SourceReadError(f"{path}: cannot open SQLite database: {exc}") from None
    try:
        cursor = con.execute(_select(table, query))
        return _rows_from_cursor(cursor, str(path))
    except sqlite3.Error as exc:
        raise SourceReadError(f"{path}: {exc}") from None
    finally:
        con.close()


def read_postgres(dsn: str, source: SourceLocation) -> RawRead:
    import psycopg

    where = f"source {source.name!r} (postgres)"
    try:
        with psycopg.connect(dsn, connect_timeout=10) as con, con.cursor(name=f"mdm_{source.name}") as cursor:
            cursor.itersize = 50_000
            cursor.execute(_select(source.table, source.query))
            return _rows_from_cursor(cursor, where)
    except psycopg.Error as exc:
        raise SourceReadError(f"{where}: {str(exc).strip()}") from None

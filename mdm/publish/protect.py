"""The sensitive fields' values as the master keeps them: tokens, never clear text (mdm/sensitive.py).

The run works on clear values in its work files; these functions turn the tables built from them
into what is published: golden_customers (and so its history, snapshot and exports), source_records,
golden_attribute_lineage and the quarantined rows' raw text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from mdm.files import RecordFiles
from mdm.sensitive import RECORD_SUFFIXES, FieldCipher, mask_series


def _cipher(cipher: FieldCipher | None, values: pl.Series) -> FieldCipher | None:
    if cipher is None and values.null_count() < values.len():
        raise _no_key(values.name)
    return cipher


def _no_key(name: str) -> RuntimeError:
    # run_cipher requires a key whenever a source maps a sensitive field: values without one are a bug
    return RuntimeError(f"values of the sensitive field {name!r} and no data key to encrypt them")


def _encrypted(cipher: FieldCipher | None, values: pl.Series) -> pl.Series:
    found = _cipher(cipher, values)
    return values if found is None else found.encrypt_series(values).alias(values.name)


def protect_golden(customers: pl.DataFrame, fields: list[str], cipher: FieldCipher | None) -> pl.DataFrame:
    """Each sensitive field as its token, with `<field>_masked` (last 4 characters) right after it."""
    out = customers
    for name in fields:
        values = out[name]
        out = out.with_columns(_encrypted(cipher, values))
        out.insert_column(out.get_column_index(name) + 1, mask_series(values).alias(f"{name}_masked"))
    return out


def protected_golden(customers: pl.LazyFrame, fields: list[str], cipher: FieldCipher | None) -> pl.LazyFrame:
    """`protect_golden` as a query, batch by batch: the same tokens and masks (each value's token
    depends on the value only), for golden records streamed from file to file."""
    schema = customers.collect_schema()
    columns: list[pl.Expr] = []
    for name, dtype in schema.items():
        if name not in fields:
            columns.append(pl.col(name))
            continue
        columns.append(_streamed(pl.col(name), lambda values: _encrypted(cipher, values), cipher, dtype).alias(name))
        columns.append(_streamed(pl.col(name), mask_series, None, pl.String()).alias(f"{name}_masked"))
    return customers.select(columns)


def protect_columns(frame: pl.DataFrame, fields: list[str], cipher: FieldCipher | None) -> pl.DataFrame:
    """Each sensitive field of `frame` as its token (what a run leaves for the next one)."""
    return frame.with_columns(_encrypted(cipher, frame[name]) for name in fields if name in frame.columns)


def protect_file(source: Path, out: Path, fields: list[str], cipher: FieldCipher | None) -> Path:
    """`protect_columns` from file to file, batch by batch (the work files of a whole run, too
    big to hold at once); `out`. Without a `cipher` there is nothing to encrypt: `source` itself,
    once its sensitive fields are checked to hold no value (as `protect_columns` checks; writing
    the golden records again only to check cost 0.8 s of a 1M-record night)."""
    schema = pl.read_parquet_schema(source)
    found = [name for name in fields if name in schema]
    if cipher is None:
        held = pl.scan_parquet(source).select(pl.col(found).is_not_null().any()).collect().row(0) if found else ()
        for name, any_value in zip(found, held, strict=True):
            if any_value:
                raise _no_key(name)
        return source
    (
        pl.scan_parquet(source)
        .with_columns(
            _streamed(pl.col(name), lambda values: _encrypted(cipher, values), cipher, schema[name]).alias(name)
            for name in found
        )
        .sink_parquet(out)
    )
    return out


def _streamed(
    column: pl.Expr, protect: Callable[[pl.Series], pl.Series], cipher: FieldCipher | None, dtype: pl.DataType
) -> pl.Expr:
    """`protect` (of a whole column, value by value) applied to each batch of `column` as the query
    streams: elementwise, so no batch waits for the rest of the column. Its values come back as
    String, or as they were (`dtype`) when there is no `cipher`: then `protect` only checks that
    there is nothing to encrypt, as `protect_golden` and `protect_columns` do."""
    return column.map_batches(protect, return_dtype=pl.String() if cipher else dtype, is_elementwise=True)


def protect_records(records: RecordFiles, out: Path, fields: list[str], cipher: FieldCipher | None) -> RecordFiles:
    """source_records' files: `records` themselves when no sensitive value is in them, else with a
    copy of their values at `out` with each sensitive field's clean value, raw value and key as
    tokens (the golden ids' file as it is)."""
    if cipher is None:
        return records
    present = set(pl.read_parquet_schema(records.values))
    columns = [f"{name}{suffix}" for name in fields for suffix in RECORD_SUFFIXES if f"{name}{suffix}" in present]
    (
        pl.scan_parquet(records.values)
        .with_columns(
            pl.col(c).cast(pl.String).map_batches(cipher.encrypt_series, return_dtype=pl.String, is_elementwise=True)
            for c in columns
        )
        .sink_parquet(out)
    )
    return RecordFiles(out, records.golden_ids)


def protect_lineage_file(lineage: Path, out: Path, fields: list[str], cipher: FieldCipher | None) -> Path:
    """golden_attribute_lineage's file: `lineage` itself when no sensitive value is in it, else a
    copy at `out` (written in streamed batches) with the chosen value and the runner-up of each
    sensitive attribute as tokens."""
    if cipher is None:
        return lineage
    found = cipher

    def protected(column: str) -> pl.Expr:
        def encrypt(batch: pl.Series) -> pl.Series:
            frame = batch.struct.unnest()
            sensitive = frame["attribute"].is_in(fields)
            only = frame.select(pl.when(sensitive).then(pl.col(column))).to_series()
            encrypted = found.encrypt_series(only)
            return frame.select(pl.when(sensitive).then(encrypted).otherwise(pl.col(column))).to_series()

        return (
            pl.struct("attribute", column)
            .map_batches(encrypt, return_dtype=pl.String, is_elementwise=True)
            .alias(column)
        )

    pl.scan_parquet(lineage).with_columns(protected("value"), protected("runner_up")).sink_parquet(out)
    return out


def protect_quarantine(
    quarantine: pl.DataFrame, sensitive_columns: Mapping[str, list[str]], cipher: FieldCipher | None
) -> pl.DataFrame:
    """A quarantined row of a source that maps a sensitive field: that column's value in its raw
    JSON as a token; a raw line that could not be split into columns, as one token whole."""
    if not sensitive_columns or quarantine.is_empty():
        return quarantine
    if cipher is None:
        raise RuntimeError("sources map sensitive fields and there is no data key to encrypt them")
    found = cipher

    def protect(source: str, raw: str | None) -> str | None:
        columns = sensitive_columns.get(source)
        if raw is None or not columns:
            return raw
        try:
            row = json.loads(raw)
        except ValueError:
            row = None
        if not isinstance(row, dict):
            return found.encrypt(raw)
        for column in columns:
            if isinstance(row.get(column), str | int | float) and not isinstance(row[column], bool):
                row[column] = found.encrypt(str(row[column]))
        return json.dumps(row, ensure_ascii=False)

    raw = [protect(s, r) for s, r in zip(quarantine["source"], quarantine["raw"], strict=True)]
    return quarantine.with_columns(pl.Series("raw", raw, dtype=pl.String))

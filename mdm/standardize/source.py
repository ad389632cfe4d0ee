"""Standardize one source: every staged row to comparable, clean values.

Per dictionary field f the standardized table holds `f_raw` (as read), `f` (clean, typed),
`f_key` (matching key) and `f_flags` (why a value is not clean), plus the field kind's extras
(`f_<part>`: phonetic codes, address parts...). `address_key` joins number, street, unit and
postcode into one key per address. Rows are never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandera.polars as pa
import polars as pl

from mdm.config.dictionary import Dictionary, FieldDef
from mdm.config.sources import SourceConfig
from mdm.ingest import IngestResult
from mdm.standardize.address import (
    address_match_key,
    standardize_address_line,
    standardize_city,
    standardize_country,
    standardize_postal_code,
    standardize_region,
)
from mdm.standardize.base import FLAGS, FieldContext, Standardized, flags_from, merge_flags
from mdm.standardize.coded import standardize_coded
from mdm.standardize.date import moved_by_as_of, parse_dates, standardize_date
from mdm.standardize.email import standardize_email
from mdm.standardize.identifier import standardize_identifier
from mdm.standardize.name import ParsedFullNames, parse_full_name, standardize_person_name
from mdm.standardize.phone import standardize_phone
from mdm.standardize.text import standardize_text

Standardizer = Callable[[pl.Series, FieldContext], Standardized]
BY_KIND: dict[str, Standardizer] = {
    "person_name": standardize_person_name,
    "date": standardize_date,
    "coded": standardize_coded,
    "email": standardize_email,
    "city": standardize_city,
    "identifier": standardize_identifier,
    "text": standardize_text,
}
NEEDS_COUNTRY = {
    "phone": standardize_phone,
    "region": standardize_region,
    "postal_code": standardize_postal_code,
    "address_line": standardize_address_line,
}
HIDDEN = "(hidden: a sensitive field)"
"""What a flag of a sensitive field says where others quote the value."""
RECORD_COLUMNS = ["source", "source_record_id", "row_number", "trust", "source_updated_at", "updated_at_flags"]


def standardize_source(
    ingested: IngestResult, source: SourceConfig, dictionary: Dictionary, as_of: dt.date
) -> pl.DataFrame:
    staged = ingested.staged
    n = staged.height

    def raw(name: str) -> pl.Series:
        return staged[name] if name in staged.columns else pl.Series(name, [None] * n, dtype=pl.String)

    parts: dict[str, pl.Series] = {}
    parsed: ParsedFullNames | None = None
    if "full_name" in staged.columns:
        parsed = parse_full_name(staged["full_name"], source.fields["full_name"].format)
        pieces = {"given_name": parsed.given, "middle_name": parsed.middle, "family_name": parsed.family}
        for field, part in pieces.items():
            parts[field] = part if field not in staged.columns else raw(field).fill_null(part)

    def context(field: str) -> FieldContext:
        spec = source.fields.get(field)
        max_age = spec.max_age_years if spec is not None else None
        return FieldContext(
            dictionary.field(field), dictionary, source.country, ingested.formats.get(field), as_of, max_age
        )

    columns: list[pl.Series] = [
        pl.Series("source", [source.name] * n, dtype=pl.String),
        staged["source_record_id"],
        staged["row_number"],
        pl.Series("trust", [source.trust] * n, dtype=pl.Int64),
    ]
    updated, updated_flags = parse_dates(raw("updated_at"), ingested.formats.get("updated_at"), pl.Datetime)
    columns += [updated.alias("source_updated_at"), updated_flags.alias("updated_at_flags")]
    columns.append(raw("full_name").alias("full_name_raw"))

    country = standardize_country(raw("country"), context("country")).with_policy(raw("country"), "set_null")
    for definition in dictionary.published_fields:
        value = parts.get(definition.name, raw(definition.name)).alias(definition.name)
        ctx = context(definition.name)
        if definition.kind == "country":
            result = country
        elif definition.kind in NEEDS_COUNTRY:
            result = NEEDS_COUNTRY[definition.kind](value, ctx, country.clean)
        else:
            result = BY_KIND[definition.kind](value, ctx)
        result = result.with_policy(value, ctx.policy)
        if parsed is not None:  # what parsing the whole name found goes with the parts it concerns
            if definition.name == "given_name":
                result.extra["honorific"] = result.extra["honorific"].fill_null(parsed.honorific)
            if definition.name == "family_name":
                result.extra["suffix"] = result.extra["suffix"].fill_null(parsed.suffix)
                result.flags = merge_flags(result.flags, flags_from(parsed.flag))
        columns += _field_columns(definition, value, result)
    frame = pl.DataFrame(columns)
    if {"address_line1_key", "postal_code_key"} <= set(frame.columns):
        line2 = frame["address_line2_key"] if "address_line2_key" in frame.columns else None
        frame = frame.with_columns(
            address_match_key(frame["address_line1_key"], frame["postal_code_key"], line2).alias("address_key")
        )
    return frame


def _field_columns(definition: FieldDef, value: pl.Series, result: Standardized) -> list[pl.Series]:
    """The columns one field adds to the standardized table (module docstring)."""
    flags = result.flags
    if definition.sensitive:  # a flag quotes the value it is about: not this one (mdm/sensitive.py)
        flags = flags.cast(FLAGS).list.eval(pl.element().str.replace_all(r"'[^']*'", HIDDEN))
    return [
        value.alias(f"{definition.name}_raw"),
        result.clean.alias(definition.name),
        result.key.cast(pl.String).alias(f"{definition.name}_key"),
        flags.cast(FLAGS).alias(f"{definition.name}_flags"),
        *[column.alias(f"{definition.name}_{suffix}") for suffix, column in result.extra.items()],
    ]


def as_of_fields(dictionary: Dictionary) -> list[str]:
    """The fields whose standardized form depends on the run's as-of day (dates: too far in the
    future or past); every other field's depends on its raw value and the source only."""
    return [f.name for f in dictionary.published_fields if f.kind == "date"]


def restandardize_as_of(
    frame: pl.DataFrame, source: SourceConfig, dictionary: Dictionary, formats: dict[str, str | None], as_of: dt.date
) -> pl.DataFrame:
    """Records standardized on an earlier day, as of `as_of`: each as-of field recomputed from its
    raw value exactly as standardize_source would (mdm/incremental/), for the records where the
    day may change it (date.moved_by_as_of: a date near a limit the day sets); the others are as
    they were (recomputing every carried record's dates was 1.1 s of a 1M-record night)."""
    contexts = {}
    moved = pl.repeat(False, frame.height, eager=True)
    for name in as_of_fields(dictionary):
        definition = dictionary.field(name)
        spec = source.fields.get(name)
        contexts[name] = ctx = FieldContext(
            definition, dictionary, source.country, formats.get(name), as_of, spec.max_age_years if spec else None
        )
        moved = moved | moved_by_as_of(frame[name], frame[f"{name}_flags"], as_of, ctx.age_limit_years)
    if not moved.any():
        return frame
    # rechunked: polars 2.1 panicked in standardize_date on a filter of carried records of several chunks
    again = frame.filter(moved).rechunk()
    columns: list[pl.Series] = []
    for name, ctx in contexts.items():
        value = again[f"{name}_raw"].alias(name)
        result = BY_KIND[ctx.field.kind](value, ctx).with_policy(value, ctx.policy)
        columns += _field_columns(ctx.field, value, result)
    # each row's columns from `frame`, or from `columns` where it was standardized again
    rows = pl.int_range(frame.height, eager=True, dtype=pl.Int64).scatter(
        moved.arg_true(), pl.int_range(frame.height, frame.height + again.height, eager=True, dtype=pl.Int64)
    )
    return frame.with_columns(pl.concat([frame[c.name], c.cast(frame.schema[c.name])]).gather(rows) for c in columns)


def standardized_schema(dictionary: Dictionary) -> pa.DataFrameSchema:
    """The contract of the standardized table, generated from the dictionary."""
    columns: dict[str, pa.Column] = {
        "source": pa.Column(str),
        "source_record_id": pa.Column(str, unique=False),
        "row_number": pa.Column(pl.Int64),
        "trust": pa.Column(pl.Int64),
    }
    for field in dictionary.published_fields:
        dtype = pl.Date if field.type == "date" else pl.String
        checks = []
        if field.kind == "coded":
            checks.append(pa.Check.isin([v.code for v in field.values or []]))
        if field.kind == "phone" and field.on_invalid == "set_null":
            checks.append(pa.Check.str_matches(r"^\+[1-9]\d{6,14}$"))
        if field.kind == "country" and field.on_invalid == "set_null":
            checks.append(pa.Check.str_matches(r"^[A-Z]{2}$"))
        columns[field.name] = pa.Column(dtype, nullable=True, checks=checks)
        columns[f"{field.name}_flags"] = pa.Column(FLAGS)
    return pa.DataFrameSchema(columns, strict=False)

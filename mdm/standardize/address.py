"""Addresses: street lines, city, region, postal code and country.

What a line field's clean value, key and extras are: docs/architecture.md, section "mdm/standardize/address.py".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import polars as pl

from mdm.config.dictionary import fold
from mdm.standardize.addresses.line import parse_address_line
from mdm.standardize.addresses.tables import table_paths, tables_from_paths
from mdm.standardize.base import (
    FieldContext,
    Standardized,
    flags_from,
    fold_series,
    map_distinct,
    no_flags,
    tidy,
    vectorized_distinct,
)
from mdm.standardize.name import _display

POSTAL_PATTERNS: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = {
    "US": (re.compile(r"^(\d{5})(?:-?(\d{4}))?$"), lambda m: m.group(1)),
    # Canada Post: no D, F, I, O, Q or U anywhere, no W or Z first
    "CA": (
        re.compile(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)$"),
        lambda m: f"{m.group(1)} {m.group(2)}",
    ),
    "GB": (re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})$"), lambda m: f"{m.group(1)} {m.group(2)}"),
    "AU": (re.compile(r"^(\d{4})$"), lambda m: m.group(1)),
    "DE": (re.compile(r"^(\d{5})$"), lambda m: m.group(1)),
    "FR": (re.compile(r"^(\d{5})$"), lambda m: m.group(1)),
    "CN": (re.compile(r"^(\d{6})$"), lambda m: m.group(1)),
}


LINE_PARTS = ("number", "pre_directional", "street", "street_type", "post_directional", "unit", "po_box")
_CITY_KEY_WORDS = (
    (r"(?i)\bst\b\.?", "saint"),
    (r"(?i)\bste\b\.?", "sainte"),
    (r"(?i)\bmt\b\.?", "mount"),
    (r"(?i)\bft\b\.?", "fort"),
)


def _countries(ctx: FieldContext, country: pl.Series | None, n: int) -> pl.Series:
    """The record's country, or the source's where the record has none."""
    if country is None:
        return pl.Series("country", [ctx.source_country] * n, dtype=pl.String)
    return country.cast(pl.String).fill_null(ctx.source_country)


def parse_line_with_tables(value: str, country: str, paths: tuple[str, ...]) -> tuple[str | None, ...]:
    """`parse_address_line` with the tables in these files: a module-level function of plain
    arguments, so large batches can run in worker processes (see `map_distinct`)."""
    return parse_address_line(value, country, tables_from_paths(paths))


def standardize_address_line(raw: pl.Series, ctx: FieldContext, country: pl.Series | None = None) -> Standardized:
    """address_line1 or address_line2 -> clean, key `number|street|unit`, flags and the LINE_PARTS extras.

    `country` (ISO alpha-2 per row, e.g. the standardized country column) chooses the rules;
    without it every line is read with the source's country."""
    parse = functools.partial(parse_line_with_tables, paths=table_paths(ctx.dictionary))
    columns = map_distinct(tidy(raw), parse, [pl.String] * 10, extra=_countries(ctx, country, len(raw)))
    clean, key, *parts, flag = columns
    extra = dict(zip(LINE_PARTS, parts, strict=True))
    return Standardized(clean.alias(raw.name), key.alias(raw.name), flags_from(flag), extra)


def address_match_key(line1_key: pl.Series, postal_key: pl.Series, line2_key: pl.Series | None = None) -> pl.Series:
    """`number|street|unit|postcode` from the line keys and the postal code key; null when the
    line has neither number nor street (only a unit, or nothing).

    The unit comes from line 1; where line 1 has none it is taken from line 2's key (the key of
    a line2 "Apt 4B" is `||4b`), so "12 Oak St" + "Apt 4" matches "12 Oak St Apt 4". A line 2
    that is not a unit (a c/o or building name) adds nothing."""
    parts = line1_key.cast(pl.String).str.splitn("|", 3).struct.rename_fields(["number", "street", "unit"])
    frame = pl.DataFrame({"p": parts, "postal": postal_key.cast(pl.String)})
    unit = pl.col("p").struct.field("unit")
    if line2_key is not None:
        second = line2_key.cast(pl.String).str.splitn("|", 3).struct[2]
        frame = frame.with_columns(second=second)
        unit = pl.when(unit == "").then(pl.col("second").fill_null("")).otherwise(unit)
    number, street = pl.col("p").struct.field("number"), pl.col("p").struct.field("street")
    key = pl.concat_str([number, street, unit, pl.col("postal").fill_null("")], separator="|")
    has_address = (number != "") | (street != "")
    return frame.select(pl.when(has_address).then(key).alias("address_key")).to_series()


def standardize_city(raw: pl.Series, ctx: FieldContext) -> Standardized:
    """Proper case for display; the key folds St./Ste./Mt./Ft. to Saint/Sainte/Mount/Fort
    (St. Louis and Saint Louis share a key)."""

    def clean_and_key(text: pl.Series) -> list[pl.Series]:
        clean = _display(tidy(text))
        spelled = clean
        for pattern, word in _CITY_KEY_WORDS:
            spelled = spelled.str.replace_all(pattern, word)
        return [clean, fold_series(spelled)]

    clean, key = vectorized_distinct(raw, clean_and_key)
    return Standardized(clean.alias(raw.name), key, no_flags(len(clean)))


def _region_table(ctx: FieldContext) -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {}
    for country, name in (("US", "us_states"), ("CA", "ca_provinces")):
        for row in ctx.dictionary.reference_rows(name):
            for spelling in [row["code"], row["name"], *row.get("synonyms", "").split("|")]:
                if spelling:
                    table.setdefault((country, fold(spelling)), row["code"])
    return table


def standardize_region(raw: pl.Series, ctx: FieldContext, country: pl.Series) -> Standardized:
    table = _region_table(ctx)

    def one(value: str, country_code: str | None) -> tuple[str | None, str | None]:
        code = country_code or ctx.source_country
        if code not in ("US", "CA"):
            upper = value.upper()  # a code by its length upper-cased ('ß' is 'SS'): upper-casing again keeps it
            return upper if len(upper) <= 3 else _display(pl.Series([value]))[0], None
        found = table.get((code, fold(value)))
        return (found, None) if found else (None, f"unknown {code} region '{value}'")

    clean, flag = map_distinct(tidy(raw), one, [pl.String, pl.String], extra=country)
    return Standardized(clean.alias(raw.name), clean, flags_from(flag))


def normalize_postal_code(value: str, country: str | None) -> tuple[str | None, str | None]:
    code = (country or "US").upper()
    compact = re.sub(r"\s+", " ", value.strip().upper())
    if code == "US" and re.fullmatch(r"\d{4}", compact):
        return None, f"US ZIP '{value}' has 4 digits (a lost leading zero?)"
    rule = POSTAL_PATTERNS.get(code)
    if rule is None:
        return compact, None
    pattern, render = rule
    match = pattern.match(compact.replace(" ", "") if code in ("CA", "GB") else compact)
    if match is None and code in ("CA", "GB"):
        match = pattern.match(compact)
    if match is None:
        return None, f"not a {code} postal code '{value}'"
    return render(match), None


_ZIP4 = r"^\d{5}-?(\d{4})$"


def standardize_postal_code(raw: pl.Series, ctx: FieldContext, country: pl.Series) -> Standardized:
    """Clean postal code per country (US: ZIP5); extra `zip4`: the US ZIP+4 add-on, when given."""
    text = tidy(raw)
    clean, flag = map_distinct(text, normalize_postal_code, [pl.String, pl.String], extra=country)
    is_us = country.cast(pl.String).fill_null("US") == "US"
    zip4 = pl.select(
        pl.when(is_us & clean.is_not_null()).then(text.str.strip_chars().str.extract(_ZIP4, 1))
    ).to_series()
    return Standardized(
        clean.alias(raw.name), clean.str.replace_all(" ", ""), flags_from(flag), {"zip4": zip4.alias("zip4")}
    )


def standardize_country(raw: pl.Series, ctx: FieldContext) -> Standardized:
    """Country spellings to ISO alpha-2; absent values take the source's declared country."""
    countries = ctx.dictionary.countries

    def one(value: str) -> tuple[str | None, str | None]:
        found = countries.get(fold(value))
        return (found, None) if found else (None, f"unknown country '{value}'")

    text = tidy(raw)
    clean, flag = map_distinct(text, one, [pl.String, pl.String])
    clean = clean.fill_null(pl.select(pl.when(text.is_null()).then(pl.lit(ctx.source_country))).to_series())
    return Standardized(clean.alias(raw.name), clean, flags_from(flag))

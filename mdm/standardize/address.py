"""Addresses: street lines, city, region, postal code and country."""

from __future__ import annotations

import re

import polars as pl

from mdm.config.dictionary import fold
from mdm.standardize.base import (
    FieldContext,
    Standardized,
    flags_from,
    fold_series,
    map_distinct,
    no_flags,
    tidy,
)
from mdm.standardize.name import _display

POSTAL_PATTERNS = {
    "US": (re.compile(r"^(\d{5})(?:-?(\d{4}))?$"), lambda m: m.group(1)),
    "CA": (re.compile(r"^([A-Z]\d[A-Z]) ?(\d[A-Z]\d)$"), lambda m: f"{m.group(1)} {m.group(2)}"),
    "GB": (re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})$"), lambda m: f"{m.group(1)} {m.group(2)}"),
    "AU": (re.compile(r"^(\d{4})$"), lambda m: m.group(1)),
    "DE": (re.compile(r"^(\d{5})$"), lambda m: m.group(1)),
    "FR": (re.compile(r"^(\d{5})$"), lambda m: m.group(1)),
    "CN": (re.compile(r"^(\d{6})$"), lambda m: m.group(1)),
}


def standardize_address_line(raw: pl.Series, ctx: FieldContext) -> Standardized:
    clean = tidy(raw)
    clean = _display(clean)
    return Standardized(clean.alias(raw.name), fold_series(clean), no_flags(len(clean)))


def standardize_city(raw: pl.Series, ctx: FieldContext) -> Standardized:
    clean = _display(tidy(raw))
    return Standardized(clean.alias(raw.name), fold_series(clean), no_flags(len(clean)))


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
            return value.upper() if len(value) <= 3 else _display(pl.Series([value]))[0], None
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


def standardize_postal_code(raw: pl.Series, ctx: FieldContext, country: pl.Series) -> Standardized:
    clean, flag = map_distinct(tidy(raw), normalize_postal_code, [pl.String, pl.String], extra=country)
    return Standardized(clean.alias(raw.name), clean.str.replace_all(" ", ""), flags_from(flag))


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

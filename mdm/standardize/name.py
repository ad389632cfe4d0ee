"""Person names: display form, matching key, and parsing a whole name in a declared order."""

from __future__ import annotations

import re

import polars as pl

from mdm.standardize.base import (
    FieldContext,
    Standardized,
    flag_when,
    fold_series,
    map_distinct,
    tidy,
)

HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "herr", "frau"}
SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq", "dds", "jnr", "snr"}
FULL_NAME_FORMATS = ("family, given middle", "given middle family")
_TOKEN_CLEAN = re.compile(r"[.,]")


def _display(values: pl.Series) -> pl.Series:
    """Proper case for names written all upper or all lower; mixed case is kept as written."""
    shouting = (values == values.str.to_uppercase()) | (values == values.str.to_lowercase())
    return pl.select(pl.when(shouting).then(values.str.to_titlecase()).otherwise(values)).to_series()


def standardize_person_name(raw: pl.Series, ctx: FieldContext) -> Standardized:
    clean = tidy(raw)
    key = fold_series(clean)
    no_letters = clean.is_not_null() & key.is_null()
    clean = pl.select(pl.when(no_letters).then(None).otherwise(_display(clean))).to_series()
    return Standardized(clean.alias(raw.name), key, flag_when(no_letters, "no letters in name"))


def _plain(token: str) -> str:
    return _TOKEN_CLEAN.sub("", token).lower()


def split_full_name(value: str, order: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(given, middle, family, flag) from one whole name written in the declared order."""
    text = " ".join(value.split())
    flag = None
    if order == "family, given middle" and "," in text:
        family, _, rest = text.partition(",")
        rest_tokens = [t for t in rest.split() if _plain(t) not in HONORIFICS | SUFFIXES]
        family_tokens = [t for t in family.split() if _plain(t) not in SUFFIXES | HONORIFICS]
        if len(rest_tokens) >= 1 and "," in rest:  # "Smith, Jr., John": a suffix between commas
            rest_tokens = [t.strip(",") for t in rest_tokens if t.strip(",")]
        given = rest_tokens[0] if rest_tokens else None
        middle = " ".join(rest_tokens[1:]) or None
        return given, middle, " ".join(family_tokens) or None, None
    if order == "family, given middle":
        flag = "no comma in a 'family, given' name; read as given-first"
    tokens = [t.strip(",") for t in text.split() if _plain(t) not in HONORIFICS | SUFFIXES and t.strip(",")]
    if not tokens:
        return None, None, None, "no name left after titles and suffixes"
    if len(tokens) == 1:
        return None, None, tokens[0], flag or "single-word name read as family name"
    return tokens[0], " ".join(tokens[1:-1]) or None, tokens[-1], flag


def parse_full_name(raw: pl.Series, order: str | None) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """Split whole names into given, middle, family raw parts plus one flag column."""
    if order not in FULL_NAME_FORMATS:
        raise ValueError(f"full_name format {order!r} is not one of {FULL_NAME_FORMATS} "
                         f'(e.g. full_name: {{column: name, format: "given middle family"}})')
    given, middle, family, flag = map_distinct(
        tidy(raw), lambda v: split_full_name(v, order), [pl.String] * 4
    )
    return given, middle, family, flag

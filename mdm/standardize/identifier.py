"""Identifiers a person carries across systems (national id, social security or health
insurance number): compared as written, without separators.

Clean form: upper case, letters and digits only ("123-45-6789" -> "123456789"). Placeholders
(one character repeated: 000000000, XXXXXXXX; the run 123456789) and values under 4
characters are flagged and nulled, because equal placeholders would join strangers.
"""

from __future__ import annotations

import polars as pl

from mdm.standardize.base import FieldContext, Standardized, flag_when, tidy

MIN_CHARS = 4
_RUNS = ("0123456789", "1234567890", "9876543210", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def standardize_identifier(raw: pl.Series, ctx: FieldContext) -> Standardized:
    text = tidy(raw)
    compact = text.str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    repeated = pl.select(
        (pl.lit(compact).str.len_chars() > 1) & (pl.lit(compact).str.strip_chars(pl.lit(compact).str.slice(0, 1)) == "")
    ).to_series()
    run = pl.select(
        pl.any_horizontal(pl.lit(r).str.contains(pl.lit(compact), literal=True) for r in _RUNS)
        & (pl.lit(compact).str.len_chars() >= 6)
    ).to_series()
    placeholder = repeated | run
    short = compact.str.len_chars() < MIN_CHARS
    name = ctx.field.name
    message = pl.select(
        pl.when(placeholder)
        .then(pl.format("placeholder {} '{}'", pl.lit(name), pl.lit(text)))
        .otherwise(pl.format("{} '{}' is shorter than {} characters", pl.lit(name), pl.lit(text), pl.lit(MIN_CHARS)))
    ).to_series()
    bad = pl.select((placeholder | short).fill_null(False)).to_series()
    clean = pl.select(pl.when(~bad & (compact != "")).then(compact)).to_series().alias(raw.name)
    return Standardized(clean, clean, flag_when(bad & text.is_not_null(), message))

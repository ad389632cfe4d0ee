"""Coded values (gender and the like): mapped through the dictionary's synonyms."""

from __future__ import annotations

import polars as pl

from mdm.standardize.base import FieldContext, Standardized, flag_when, tidy


def standardize_coded(raw: pl.Series, ctx: FieldContext) -> Standardized:
    synonyms = ctx.dictionary.synonyms(ctx.field.name)
    text = tidy(raw)
    folded = pl.select(pl.lit(text).str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()).to_series()
    clean = folded.replace_strict(synonyms, default=None, return_dtype=pl.String)
    unknown = text.is_not_null() & clean.is_null()
    message = pl.select(pl.format("unknown {} value '{}'", pl.lit(ctx.field.name), pl.lit(text))).to_series()
    return Standardized(clean.alias(raw.name), clean, flag_when(unknown, message))

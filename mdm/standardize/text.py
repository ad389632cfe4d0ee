"""Free text attributes taken as written (occupation): white space tidied for display, and a
key of lower-case letters and digits without diacritics, so "Civil  Engineer" and
"civil engineer" compare equal. Nothing is judged invalid, so nothing is flagged."""

from __future__ import annotations

import polars as pl

from mdm.standardize.base import FieldContext, Standardized, fold_series, no_flags, tidy


def standardize_text(raw: pl.Series, ctx: FieldContext) -> Standardized:
    clean = tidy(raw)
    return Standardized(clean.alias(raw.name), fold_series(clean), no_flags(len(clean)))

"""E-mail addresses: trimmed, lower-cased, syntax checked offline (no DNS)."""

from __future__ import annotations

import polars as pl
from email_validator import EmailNotValidError, validate_email

from mdm.standardize.base import FieldContext, Standardized, flags_from, map_distinct, tidy


def parse_email(value: str) -> tuple[str | None, str | None]:
    """(normalized address, flag)."""
    candidate = value.strip().strip("<>").lower()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"invalid e-mail '{value}': {exc}"
    return result.normalized.lower(), None


def standardize_email(raw: pl.Series, ctx: FieldContext) -> Standardized:
    text = tidy(raw)
    clean, flag = map_distinct(text, parse_email, [pl.String, pl.String])
    flags = flags_from(flag)
    return Standardized(clean.alias(raw.name), clean, flags)

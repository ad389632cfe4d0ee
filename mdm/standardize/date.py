"""Dates: parsed only with the source's declared format, never guessed; placeholders flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from mdm.standardize.base import FieldContext, Standardized, flag_when, merge_flags, tidy

PLACEHOLDER_DATES = (
    dt.date(1900, 1, 1),
    dt.date(1901, 1, 1),
    dt.date(1899, 12, 31),
    dt.date(1970, 1, 1),
    dt.date(9999, 12, 31),
)


def parse_dates(raw: pl.Series, value_format: str | None, dtype: Any = pl.Date) -> tuple[pl.Series, pl.Series]:
    """(parsed, flags). A value that does not fit the declared format is null and flagged."""
    text = tidy(raw)
    fmt = value_format or "%Y-%m-%d"
    parsed = text.str.strptime(dtype, fmt, strict=False)
    if dtype == pl.Datetime and "%H" not in fmt:
        parsed = text.str.strptime(pl.Date, fmt, strict=False).cast(pl.Datetime("us"))
    bad = text.is_not_null() & parsed.is_null()
    zero = text.str.contains(r"^[0\s./:-]+$").fill_null(False)  # 0000-00-00, 00/00/0000: a system's "no date"
    message = pl.select(
        pl.when(pl.lit(zero))
        .then(pl.lit("placeholder date"))
        .otherwise(pl.format("not a date in format {}: '{}'", pl.lit(fmt), pl.lit(text)))
    ).to_series()
    return parsed, flag_when(bad, message)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year - years, day=28)


def standardize_date(raw: pl.Series, ctx: FieldContext) -> Standardized:
    parsed, flags = parse_dates(raw, ctx.value_format)
    placeholder = parsed.is_in(list(PLACEHOLDER_DATES))
    future = parsed > ctx.as_of
    max_age = ctx.age_limit_years
    if max_age is not None and max_age < ctx.as_of.year:
        too_old = parsed < _years_before(ctx.as_of, max_age)
    else:
        too_old = pl.repeat(False, len(parsed), eager=True)
    flags = merge_flags(
        flags,
        flag_when(placeholder, "placeholder date"),
        flag_when(future & ~placeholder, f"after the as-of date {ctx.as_of.isoformat()}"),
        flag_when(too_old & ~placeholder, f"more than {max_age} years before {ctx.as_of.isoformat()}"),
    )
    clean = pl.select(pl.when(placeholder | future | too_old).then(None).otherwise(parsed)).to_series()
    key = clean.dt.strftime("%Y%m%d")
    return Standardized(clean.alias(raw.name), key, flags)

"""Dates: parsed with the source's declared format, or as ISO 8601 when none is declared; never
guessed; placeholders flagged."""

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


ISO_8601 = "ISO 8601"
"""What a date field or `updated_at` declared without a format accepts: 2025-08-12, and timestamps
2025-08-12T16:03, 2025-08-12 16:03:00.123, with `Z` or an offset (+01:00, +0100). A timestamp with
an offset is converted to UTC; one without is taken as UTC. A date field keeps the date as written."""

_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"


def _iso(text: pl.Series, dtype: Any) -> pl.Series:
    """Every ISO 8601 form of ISO_8601, as UTC (naive) datetimes or as the dates written."""
    norm = (
        text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"T(\d{2}):(\d{2})(Z|[+-].*)?$", "T${1}:${2}:00${3}")  # seconds are optional
        .str.replace(r"Z$", "+00:00")
    )
    date_only = norm.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if dtype == pl.Date:
        stamped = norm.str.contains(r"^\d{4}-\d{2}-\d{2}T").fill_null(False)
        written = norm.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        valid = _iso(text, pl.Datetime).is_not_null()  # the whole timestamp must parse, not just its date
        return pl.select(
            pl.coalesce(pl.lit(date_only), pl.when(pl.lit(stamped & valid)).then(pl.lit(written)))
        ).to_series()
    offset = norm.str.contains(_OFFSET).fill_null(False)
    aware = (
        pl.select(pl.when(pl.lit(offset)).then(pl.lit(norm)))
        .to_series()
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC")
        .dt.replace_time_zone(None)
    )
    naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_zone=None)
    return (
        pl.select(pl.coalesce(pl.lit(aware), pl.lit(naive), pl.lit(date_only.cast(pl.Datetime("us")))))
        .to_series()
        .cast(pl.Datetime("us"))
    )


def _declared(text: pl.Series, fmt: str, dtype: Any) -> pl.Series:
    """Values in a declared strptime format; with %z they are converted to UTC (naive)."""
    if "%z" in fmt or "%:z" in fmt:
        stamps = text.str.replace(r"Z$", "+00:00").str.to_datetime(fmt, strict=False, time_zone="UTC")
        utc = stamps.dt.replace_time_zone(None).cast(pl.Datetime("us"))
        return utc.dt.date() if dtype == pl.Date else utc
    if dtype == pl.Datetime and "%H" not in fmt:
        return text.str.strptime(pl.Date, fmt, strict=False).cast(pl.Datetime("us"))
    return text.str.strptime(dtype, fmt, strict=False)


def parse_dates(raw: pl.Series, value_format: str | None, dtype: Any = pl.Date) -> tuple[pl.Series, pl.Series]:
    """(parsed, flags). A value that does not fit the declared format (ISO 8601 when none is
    declared) is null and flagged `not a date in format ...`."""
    text = tidy(raw)
    fmt = value_format or ISO_8601
    parsed = _iso(text, dtype) if value_format is None else _declared(text, value_format, dtype)
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


AFTER_AS_OF = "after the as-of date "
"""How a date after the run's as-of day is flagged (the day follows)."""
BEFORE_AGE_LIMIT = r"^more than \d+ years before "
"""How a date beyond the field's age limit is flagged (the day follows)."""


def moved_by_as_of(clean: pl.Series, flags: pl.Series, as_of: dt.date, max_age: int | None) -> pl.Series:
    """Per value standardized on another day (its `clean` date and `flags`): whether standardizing
    it as of `as_of` may give another result. Only the checks against the day read it: a value
    flagged by one (its message names the day), or a clean date that one would flag today."""
    flagged = flags.list.eval(
        pl.element().str.starts_with(AFTER_AS_OF) | pl.element().str.contains(BEFORE_AGE_LIMIT)
    ).list.any()
    if clean.dtype != pl.Date:  # a value kept as read (on_invalid: keep): not a date to compare
        return pl.repeat(True, len(clean), eager=True)
    outside = clean > as_of
    if max_age is not None and max_age < as_of.year:
        outside = outside | (clean < _years_before(as_of, max_age))
    return (flagged.fill_null(False) | outside.fill_null(False)).alias("moved")


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
        flag_when(future & ~placeholder, f"{AFTER_AS_OF}{ctx.as_of.isoformat()}"),
        flag_when(too_old & ~placeholder, f"more than {max_age} years before {ctx.as_of.isoformat()}"),
    )
    clean = pl.select(pl.when(placeholder | future | too_old).then(None).otherwise(parsed)).to_series()
    key = clean.dt.strftime("%Y%m%d")
    return Standardized(clean.alias(raw.name), key, flags)

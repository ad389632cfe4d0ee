"""Phones: E.164 with the record's country as default region; placeholders and invalid flagged.

phonenumbers is slow per call, so each distinct (value, country) is parsed once.
"""

from __future__ import annotations

import re

import phonenumbers
import polars as pl

from mdm.standardize.base import FieldContext, Standardized, flags_from, map_distinct, tidy

_FICTIONAL = re.compile(r"^\+1\d{3}55501\d{2}$")  # 555-0100..0199: reserved for fiction
_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
    phonenumbers.PhoneNumberType.VOIP: "voip",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal",
    phonenumbers.PhoneNumberType.PAGER: "pager",
    phonenumbers.PhoneNumberType.UAN: "uan",
}


def parse_phone(value: str, region: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(e164, extension, type, flag) for one raw value."""
    digits = re.sub(r"\D", "", value)
    if not digits:
        return None, None, None, f"no digits in phone '{value}'"
    if len(set(digits)) == 1 or digits.strip("0") == "":
        return None, None, None, f"placeholder phone '{value}'"
    try:
        number = phonenumbers.parse(value, region or "US")
    except phonenumbers.NumberParseException as exc:
        return None, None, None, f"not a phone number '{value}': {exc}"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    extension = number.extension or None
    if _FICTIONAL.match(e164):
        return None, extension, None, f"fictional 555-01xx phone '{value}'"
    if not phonenumbers.is_valid_number(number):
        return None, extension, None, f"invalid phone for {region or 'US'} '{value}'"
    kind = _TYPES.get(phonenumbers.number_type(number), "unknown")
    return e164, extension, kind, None


def standardize_phone(raw: pl.Series, ctx: FieldContext, country: pl.Series | None = None) -> Standardized:
    text = tidy(raw)
    region = country if country is not None else pl.Series([ctx.source_country] * len(text), dtype=pl.String)
    e164, _ext, _kind, flag = map_distinct(text, parse_phone, [pl.String] * 4, extra=region)
    flags = flags_from(flag)
    return Standardized(e164.alias(raw.name), e164.str.replace(r"^\+", ""), flags)

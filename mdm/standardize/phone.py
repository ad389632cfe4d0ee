"""Phones: E.164 with the record's country as default region; extension, type and validity apart.

The columns produced and the decisions (invalid numbers, fakes, prefixes): docs/architecture.md,
section "mdm/standardize/phone.py".
"""

from __future__ import annotations

import re

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

from mdm.standardize.base import FieldContext, Standardized, flags_from, map_distinct, tidy

ParsedPhone = tuple[str | None, str | None, str | None, bool, str | None]
"""(e164, extension, type, is_valid, flag) of one raw value."""

_TYPES: dict[int, str] = {  # PhoneNumberType's values are ints
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
_WHY_NOT_POSSIBLE = {
    ValidationResult.IS_POSSIBLE: "no such number range",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "no number of this length",
}

# Ranges regulators reserve for films and books, which libphonenumber calls valid. Kept short:
# NANPA 555-0100..0199; Ofcom's drama numbers for London, the large UK cities and Tyneside;
# ACMA's (0x) 5550 xxxx and 7010 xxxx. (UK 07700 900xxx and 01632 960xxx are already invalid.)
_FICTIONAL = re.compile(
    r"^\+(?:1\d{3}55501\d{2}"
    r"|442079460\d{3}|441(?:1[3-8]|[2-6]1)4960\d{3}|441914980\d{3}"
    r"|61[2378](?:5550|7010)\d{4})$"
)
_FICTIONAL_WHERE = {"+1": "NANPA 555-01xx", "+44": "Ofcom drama range", "+61": "ACMA drama range"}
_ASCENDING = "01234567890"  # no wrap past 0: +81 90-1234-5678 is a real (much-abused) number
_DESCENDING = "9876543210"
_NON_DIGITS = re.compile(r"\D")
_LETTER = re.compile(r"[^\W\d_]")
# extension words libphonenumber does not know; it knows ext, ext., extn, extension, x, #, ;ext=
_EXTENSION_WORDS = re.compile(r"\s*\b(?:poste|durchwahl)\b\.?\s*", re.IGNORECASE)
# labels written beside the number, which libphonenumber would read as vanity letters
# ("415-867-2671 (mobile)" -> too long); a vanity number (1-800-FLOWERS) keeps its letters
_LABELS = re.compile(
    r"\(?\b(?:mobile|mobil|mob|cell|home|work|office|tel|phone|handy|privat|portable|domicile|bureau)\b\.?\)?:?",
    re.IGNORECASE,
)
_INTERNATIONAL_PREFIX = re.compile(r"^\s*(?:00|011)\s*")
_TOO_LONG = (ValidationResult.TOO_LONG, ValidationResult.INVALID_LENGTH)


def _is_digit_run(digits: str) -> bool:
    return len(digits) >= 7 and (digits in _ASCENDING or digits in _DESCENDING)


def _rejected(flag: str) -> ParsedPhone:
    return None, None, None, False, flag


def _typed(text: str, region: str) -> tuple[PhoneNumber, int] | None:
    """The number and its type, or None when text is no number for region."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number, phonenumbers.number_type(number)


def _as_international(
    text: str, value: str, region: str, first: tuple[PhoneNumber, int] | None
) -> tuple[tuple[PhoneNumber, int] | None, str | None]:
    """Second reading of a value that is no valid number for its region: 00 / 011 as the
    international prefix, or digits too long for the region read as if a '+' were written."""
    if _INTERNATIONAL_PREFIX.match(text):
        return _typed(_INTERNATIONAL_PREFIX.sub("+", text, count=1), region), None
    if "+" in text:
        return None, None
    if first is not None and phonenumbers.is_possible_number_with_reason(first[0]) not in _TOO_LONG:
        return None, None  # (493) 090-1820 is a mistyped US number, not Berlin's +49 30 901820
    flag = f"phone '{value}' read as international: too long for {region} and no '+' written"
    return _typed("+" + text.lstrip(), region), flag


def _why_invalid(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return str(exc)
    where = phonenumbers.region_code_for_country_code(number.country_code or 0)
    reason = _WHY_NOT_POSSIBLE.get(phonenumbers.is_possible_number_with_reason(number), "not valid")
    return f"{reason} for {where if where != 'ZZ' else '+' + str(number.country_code)}"


def parse_phone(value: str, region: str | None) -> ParsedPhone:
    """(e164, extension, type, is_valid, flag) for one raw value; region is the default country
    (alpha-2) for numbers written without an international prefix. Never raises."""
    region = (region or "US").upper()
    digits = _NON_DIGITS.sub("", value)
    if not digits:
        return _rejected(f"no digits in phone '{value}'")
    if len(set(digits)) == 1 or _is_digit_run(digits):
        return _rejected(f"placeholder phone '{value}'")
    text = _EXTENSION_WORDS.sub(" ext. ", _LABELS.sub(" ", value)) if _LETTER.search(value) else value
    flag = None
    found = _typed(text, region)
    if found is None or found[1] == PhoneNumberType.UNKNOWN:
        found, flag = _as_international(text, value, region, found)
        if found is None or found[1] == PhoneNumberType.UNKNOWN:
            return _rejected(f"invalid phone '{value}': {_why_invalid(text, region)}")
    number, kind = found
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > 16:  # libphonenumber accepts some German ranges past the 15 digits E.164 allows
        return _rejected(f"invalid phone '{value}': more than the 15 digits E.164 allows")
    if len(e164) < 8:  # and some short German pager ranges: +49 1640 is no customer's phone
        return _rejected(f"invalid phone '{value}': fewer than the 7 digits of a whole international number")
    if _is_digit_run(str(number.national_number)):
        return _rejected(f"placeholder phone '{value}'")
    if _FICTIONAL.match(e164):
        where = next((w for cc, w in _FICTIONAL_WHERE.items() if e164.startswith(cc)), "drama range")
        return _rejected(f"fictional phone '{value}' ({where})")
    return e164, number.extension or None, _TYPES.get(kind, "unknown"), True, flag


def standardize_phone(raw: pl.Series, ctx: FieldContext, country: pl.Series | None = None) -> Standardized:
    """Phone column -> E.164, key, flags and the extras `extension`, `type`, `is_valid`.

    country: the records' standardized countries (default regions); where null, the source's.
    """
    text = tidy(raw)
    if country is None:
        region = pl.Series("region", [ctx.source_country] * len(text), dtype=pl.String)
    else:
        region = country.cast(pl.String).fill_null(ctx.source_country)
    e164, extension, kind, is_valid, flag = map_distinct(
        text, parse_phone, [pl.String, pl.String, pl.String, pl.Boolean, pl.String], extra=region
    )
    return Standardized(
        e164.alias(raw.name),
        e164.str.strip_prefix("+"),
        flags_from(flag),
        {"extension": extension, "type": kind, "is_valid": is_valid},
    )

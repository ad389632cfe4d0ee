"""Phones and e-mails: table-driven cases from several countries, properties (never raise, idempotent)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from email_validator import EmailNotValidError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mdm.config.dictionary import load_dictionary
from mdm.standardize.base import FieldContext
from mdm.standardize.email import _FAST, _is_fast_clean, _validated, email_rules, parse_email, standardize_email
from mdm.standardize.phone import parse_phone, standardize_phone

DICTIONARY = load_dictionary()
RULES = email_rules(DICTIONARY)
AS_OF = dt.date(2026, 11, 1)
E164 = r"^\+[1-9]\d{6,14}$"


def ctx(field: str, country: str = "US") -> FieldContext:
    return FieldContext(DICTIONARY.field(field), DICTIONARY, country, None, AS_OF)


# -- phones --

VALID = [
    # description, raw, default region, E.164, extension, type
    ("US national format", "(415) 867-2671", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("US with ext.", "415.867.2671 ext. 12", "US", "+14158672671", "12", "fixed_line_or_mobile"),
    ("US with x", "415.867.2671 x12", "US", "+14158672671", "12", "fixed_line_or_mobile"),
    ("US with #", "415-867-2671 #12", "US", "+14158672671", "12", "fixed_line_or_mobile"),
    ("US with ext glued", "4158672671ext12", "US", "+14158672671", "12", "fixed_line_or_mobile"),
    ("US with ;ext=", "+1 415 867 2671;ext=12", "US", "+14158672671", "12", "fixed_line_or_mobile"),
    ("US trunk 1", "1-415-867-2671", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("US toll free", "1 (800) 642-7676", "US", "+18006427676", None, "toll_free"),
    ("Canadian number in a US source", "(613) 992-4211", "US", "+16139924211", None, "fixed_line_or_mobile"),
    ("Canada, French extension word", "514 872-2237 poste 12", "CA", "+15148722237", "12", "fixed_line_or_mobile"),
    ("international format wins over the region", "+44 20 7219 3000", "US", "+442072193000", None, "fixed_line"),
    ("UK with (0) after the country code", "+44 (0)20 7219 3000", "US", "+442072193000", None, "fixed_line"),
    ("UK national with trunk 0", "020 7219 3000", "GB", "+442072193000", None, "fixed_line"),
    ("UK mobile", "07911 123456", "GB", "+447911123456", None, "mobile"),
    ("UK from a US source with 011", "011 44 20 7219 3000", "US", "+442072193000", None, "fixed_line"),
    ("UK from a US source with 00", "00 44 20 7219 3000 ext 5", "US", "+442072193000", "5", "fixed_line"),
    ("German national", "030 901820", "DE", "+4930901820", None, "fixed_line"),
    ("German with 00 in a German source", "0049 30 901820", "DE", "+4930901820", None, "fixed_line"),
    ("German with (0)", "+49 (0)30 901820", "DE", "+4930901820", None, "fixed_line"),
    ("German mobile", "0151 23456789", "DE", "+4915123456789", None, "mobile"),
    ("German with Durchwahl", "030 901820 Durchwahl 7", "DE", "+4930901820", "7", "fixed_line"),
    ("French national", "01 42 68 53 00", "FR", "+33142685300", None, "fixed_line"),
    ("French mobile, dotted", "06.12.45.78.91", "FR", "+33612457891", None, "mobile"),
    ("China +86 mobile", "+86 138 0013 8000", "US", "+8613800138000", None, "mobile"),
    ("China mobile, no trunk prefix", "13800138000", "CN", "+8613800138000", None, "mobile"),
    ("China Beijing landline with trunk 0", "(010) 6552 9988", "CN", "+861065529988", None, "fixed_line"),
    ("China 0086 in a Chinese source", "0086 138 0013 8000", "CN", "+8613800138000", None, "mobile"),
    ("Australia landline", "(02) 9374 4000", "AU", "+61293744000", None, "fixed_line"),
    ("Australia mobile", "0412 345 678", "AU", "+61412345678", None, "mobile"),
    ("Australia 0011 is its own prefix", "0011 44 20 7219 3000", "AU", "+442072193000", None, "fixed_line"),
    ("Japan Tokyo landline", "03-3224-5000", "JP", "+81332245000", None, "fixed_line"),
    ("Japan mobile (the much-abused example number is real)", "090-1234-5678", "JP", "+819012345678", None, "mobile"),
    ("Japan from abroad", "+81 3-3224-5000", "DE", "+81332245000", None, "fixed_line"),
    ("full-width digits", "（４１５）８６７－２６７１", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("tel: URI", "tel:+1-415-867-2671", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("label in brackets", "415-867-2671 (mobile)", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("label before", "Cell: 415 867 2671", "US", "+14158672671", None, "fixed_line_or_mobile"),
    ("German label", "Handy 0151 23456789", "DE", "+4915123456789", None, "mobile"),
    ("vanity letters are digits", "1-800-FLOWERS", "US", "+18003569377", None, "toll_free"),
]


@pytest.mark.parametrize(("description", "raw", "region", "e164", "extension", "kind"), VALID)
def test_valid_phones(description: str, raw: str, region: str, e164: str, extension: str | None, kind: str) -> None:
    assert parse_phone(raw, region) == (e164, extension, kind, True, None), description


REJECTED = [
    # description, raw, default region, flag starts with
    ("all one digit", "000-000-0000", "US", "placeholder phone"),
    ("all nines", "999-999-9999", "US", "placeholder phone"),
    ("ascending run", "123-456-7890", "US", "placeholder phone"),
    ("ascending run from 0", "0123456789", "US", "placeholder phone"),
    ("descending run", "987-654-3210", "US", "placeholder phone"),
    ("French 01 23 45 67 89", "01 23 45 67 89", "FR", "placeholder phone"),
    ("UK 01234 567890 run", "+44 1234 567890", "GB", "placeholder phone"),
    ("fictional 555-01xx", "(212) 555-0142", "US", "fictional phone '(212) 555-0142' (NANPA 555-01xx)"),
    ("Ofcom drama number, London", "020 7946 0958", "GB", "fictional phone '020 7946 0958' (Ofcom drama range)"),
    ("Ofcom drama number, Leeds", "0113 496 0123", "GB", "fictional phone"),
    ("Ofcom drama mobile is invalid", "07700 900123", "GB", "invalid phone '07700 900123': no such number range"),
    ("ACMA drama number", "(02) 5550 1234", "AU", "fictional phone '(02) 5550 1234' (ACMA drama range)"),
    ("too short", "12345", "US", "invalid phone '12345': too short for US"),
    ("seven digits: no area code", "867-2671", "US", "invalid phone '867-2671': a local number without its area code"),
    ("possible length, no such range", "(493) 090-1820", "US", "invalid phone '(493) 090-1820': no such number range"),
    ("German mobile missing a digit", "0151 2345678", "DE", "invalid phone '0151 2345678': no such number range"),
    ("too long", "+1 415 867 2671 2", "US", "invalid phone '+1 415 867 2671 2': too long"),
    ("unknown country code", "+999 1234 5678", "US", "invalid phone"),
    ("valid for libphonenumber, too long for E.164", "20100000000000", "DE", "invalid phone '20100000000000': more"),
    ("no digits", "n/a", "US", "no digits in phone 'n/a'"),
    ("words", "call me", "US", "no digits"),
    ("two numbers in one field", "415-867-2671 / 415-867-2672", "US", "invalid phone"),
]


@pytest.mark.parametrize(("description", "raw", "region", "flag_start"), REJECTED)
def test_rejected_phones(description: str, raw: str, region: str, flag_start: str) -> None:
    e164, extension, kind, is_valid, flag = parse_phone(raw, region)
    assert (e164, extension, kind, is_valid) == (None, None, None, False), description
    assert flag is not None and flag.startswith(flag_start), f"{description}: {flag}"


def test_digits_too_long_for_the_region_are_read_as_international_and_flagged() -> None:
    e164, _ext, kind, is_valid, flag = parse_phone("8613800138000", "US")
    assert (e164, kind, is_valid) == ("+8613800138000", "mobile", True)
    assert flag == "phone '8613800138000' read as international: too long for US and no '+' written"


def test_standardize_phone_columns_and_default_region() -> None:
    raw = pl.Series("phone", ["(415) 867-2671 x7", "030 901820", "000-000-0000", None, "030 901820"])
    country = pl.Series("country", ["US", "DE", "US", "US", None])  # unknown country: the source's (DE)
    result = standardize_phone(raw, ctx("phone", "DE"), country)
    assert result.clean.to_list() == ["+14158672671", "+4930901820", None, None, "+4930901820"]
    assert result.key.to_list() == ["14158672671", "4930901820", None, None, "4930901820"]
    assert set(result.extra) == {"extension", "type", "is_valid"}
    assert result.extra["extension"].to_list() == ["7", None, None, None, None]
    assert result.extra["type"].to_list() == ["fixed_line_or_mobile", "fixed_line", None, None, "fixed_line"]
    assert result.extra["is_valid"].to_list() == [True, True, False, None, True]
    assert result.flags.to_list() == [[], [], ["placeholder phone '000-000-0000'"], [], []]
    kept = result.with_policy(raw, "keep")  # the dictionary's on_invalid: keep puts the raw back
    assert kept.clean.to_list() == ["+14158672671", "+4930901820", "000-000-0000", None, "+4930901820"]


phone_like = st.one_of(
    st.text(alphabet="0123456789 +-().x#/extpoETX", max_size=24), st.from_regex(r"\A(\+|00|011)?\d{1,17}\Z")
)
regions = st.sampled_from(["US", "CA", "GB", "DE", "FR", "CN", "AU", "JP", "XX"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), phone_like), regions)
@example("1\u0a6c40", "DE")  # libphonenumber calls +49 1640 a valid pager number: 6 digits, no phone
def test_phone_parser_never_raises_and_is_idempotent(value: str, region: str) -> None:
    e164, _ext, _kind, is_valid, flag = parse_phone(value, region)
    assert is_valid == (e164 is not None)
    assert e164 is not None or flag is not None, "a rejected value carries its reason"
    if e164 is not None:
        assert pl.Series([e164]).str.contains(E164).all()
        again = parse_phone(e164, region)
        assert again[:4] == (e164, None, _kind, True) and again[4] is None


# -- e-mails --

EMAILS = [
    # description, raw, clean, key, domain, flag (None: no flag; for rejects, how it starts)
    ("trim and lower", "  John.Smith@Gmail.COM ", "john.smith@gmail.com", "johnsmith@gmail.com", "gmail.com", None),
    ("all upper", "ANN.LEE@OUTLOOK.COM", "ann.lee@outlook.com", "ann.lee@outlook.com", "outlook.com", None),
    ("angle brackets", "<ann@example.org>", "ann@example.org", "ann@example.org", "example.org", None),
    ("display name", "Ann Lee <Ann@Example.org>", "ann@example.org", "ann@example.org", "example.org", None),
    ("mailto", "mailto:Ann@Example.org?subject=Hi", "ann@example.org", "ann@example.org", "example.org", None),
    ("mailto in brackets", "<MAILTO:ann@example.org>", "ann@example.org", "ann@example.org", "example.org", None),
    ("spaces around @", "ann @ example.org", "ann@example.org", "ann@example.org", "example.org", None),
    (
        "gmail dots and tag",
        "John.Smith+news@gmail.com",
        "john.smith+news@gmail.com",
        "johnsmith@gmail.com",
        "gmail.com",
        None,
    ),
    (
        "googlemail is gmail",
        "John.Smith+news@googlemail.com",
        "john.smith+news@googlemail.com",
        "johnsmith@gmail.com",
        "googlemail.com",
        None,
    ),
    (
        "hotmail keeps dots, drops tag",
        "j.smith+shop@hotmail.co.uk",
        "j.smith+shop@hotmail.co.uk",
        "j.smith@hotmail.co.uk",
        "hotmail.co.uk",
        None,
    ),
    ("yahoo tags with -", "jsmith-promo@yahoo.com", "jsmith-promo@yahoo.com", "jsmith@yahoo.com", "yahoo.com", None),
    (
        "proton canonical domain",
        "J.Smith@protonmail.ch",
        "j.smith@protonmail.ch",
        "jsmith@proton.me",
        "protonmail.ch",
        None,
    ),
    ("tag only is kept", "+news@gmail.com", "+news@gmail.com", "+news@gmail.com", "gmail.com", None),
    (
        "company domain keeps dots and tags",
        "j.smith+x@acmecorp.com",
        "j.smith+x@acmecorp.com",
        "j.smith+x@acmecorp.com",
        "acmecorp.com",
        None,
    ),
    (
        "domain typo corrected",
        "bob@gmial.com",
        "bob@gmail.com",
        "bob@gmail.com",
        "gmail.com",
        "domain typo 'gmial.com' corrected to 'gmail.com'",
    ),
    (
        "typo on a UK domain",
        "Bob@Hotmial.co.uk",
        "bob@hotmail.co.uk",
        "bob@hotmail.co.uk",
        "hotmail.co.uk",
        "domain typo 'hotmial.co.uk' corrected to 'hotmail.co.uk'",
    ),
    ("German umlaut domain", "Jörg@Bücher.DE", "jörg@bücher.de", "jörg@bücher.de", "bücher.de", None),
    (
        "punycode domain shown in Unicode",
        "user@xn--bcher-kva.de",
        "user@bücher.de",
        "user@bücher.de",
        "bücher.de",
        None,
    ),
    (
        "French accented local part",
        "Hélène.Dupont@Orange.fr",
        "hélène.dupont@orange.fr",
        "hélène.dupont@orange.fr",
        "orange.fr",
        None,
    ),
    ("Chinese local part and domain", "用户@例子.广告", "用户@例子.广告", "用户@例子.广告", "例子.广告", None),
    ("Chinese local part at qq", "张伟@QQ.com", "张伟@qq.com", "张伟@qq.com", "qq.com", None),
    ("Japanese local part", "やまだ@example.jp", "やまだ@example.jp", "やまだ@example.jp", "example.jp", None),
    ("no at sign", "ann.example.org", None, None, None, "invalid e-mail 'ann.example.org'"),
    ("at spelt out", "ann at example.org", None, None, None, "invalid e-mail"),
    ("no domain dot", "ann@example", None, None, None, "invalid e-mail"),
    ("double dot", "ann..lee@example.org", None, None, None, "invalid e-mail"),
    ("space inside", "ann lee@example.org", None, None, None, "invalid e-mail"),
    ("special-use domain", "ann@printer.local", None, None, None, "invalid e-mail"),
    ("two addresses", "ann@example.org; bob@example.org", None, None, None, "invalid e-mail"),
    ("noreply", "NoReply@acmecorp.com", None, None, None, "placeholder e-mail 'NoReply@acmecorp.com'"),
    ("do-not-reply", "do-not-reply@lakesidebank.com", None, None, None, "placeholder e-mail"),
    ("none@none.com", "none@none.com", None, None, None, "placeholder e-mail"),
    ("test@test.com", "TEST@TEST.COM", None, None, None, "placeholder e-mail"),
    ("no@email.com", "no@email.com", None, None, None, "placeholder e-mail"),
    ("na@na.com", "na@na.com", None, None, None, "placeholder e-mail"),
    ("placeholder after typo correction", "none@none.con", None, None, None, "placeholder e-mail"),
    ("a real person at mail.com is kept", "ann@mail.com", "ann@mail.com", "ann@mail.com", "mail.com", None),
    ("role address is kept", "info@acmecorp.com", "info@acmecorp.com", "info@acmecorp.com", "acmecorp.com", None),
]


@pytest.mark.parametrize(("description", "raw", "clean", "key", "domain", "flag"), EMAILS)
def test_emails(
    description: str, raw: str, clean: str | None, key: str | None, domain: str | None, flag: str | None
) -> None:
    got_clean, got_key, got_domain, got_flag = parse_email(raw, RULES)
    assert (got_clean, got_key, got_domain) == (clean, key, domain), description
    if clean is not None:
        assert got_flag == flag, description
    else:
        assert got_flag is not None and flag is not None and got_flag.startswith(flag), f"{description}: {got_flag}"


@pytest.mark.parametrize(("description", "raw", "clean", "key", "domain", "flag"), EMAILS)
def test_the_fast_path_changes_nothing(
    description: str, raw: str, clean: str | None, key: str | None, domain: str | None, flag: str | None
) -> None:
    assert parse_email(raw, RULES) == parse_email(raw, RULES, fast=False), description


def test_standardize_email_key_and_domain() -> None:
    raw = pl.Series("email", ["John.Smith+news@googlemail.com", " johnsmith@gmail.com", "bob@gmial.com", "n/a", None])
    result = standardize_email(raw, ctx("email"))
    assert result.clean.to_list() == [
        "john.smith+news@googlemail.com",
        "johnsmith@gmail.com",
        "bob@gmail.com",
        None,
        None,
    ]
    assert result.key.to_list() == ["johnsmith@gmail.com", "johnsmith@gmail.com", "bob@gmail.com", None, None]
    assert result.extra["domain"].to_list() == ["googlemail.com", "gmail.com", "gmail.com", None, None]
    # the key's mailbox, for blocking the same mailbox at a misspelt or changed domain
    assert result.extra["local"].to_list() == ["johnsmith", "johnsmith", "bob", None, None]
    assert result.flags[2].to_list() == ["domain typo 'gmial.com' corrected to 'gmail.com'"]
    assert result.flags[3].len() == 1 and result.flags[4].len() == 0


def test_email_rules_are_read_once_per_dictionary() -> None:
    assert email_rules(DICTIONARY) is RULES
    assert email_rules(load_dictionary()) is RULES
    assert RULES.typos["gmial.com"] == "gmail.com"
    assert RULES.providers["googlemail.com"].canonical_domain == "gmail.com"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.emails().map(lambda e: f" {e.upper()} ")))
def test_email_parser_never_raises_and_is_idempotent(value: str) -> None:
    clean, key, domain, flag = parse_email(value, RULES)
    assert clean is not None or flag is not None, "a rejected value carries its reason"
    if clean is not None:
        assert parse_email(clean, RULES) == (clean, key, domain, None)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_FAST, fullmatch=True))
def test_email_validator_accepts_unchanged_what_the_fast_path_accepts(address: str) -> None:
    if not _is_fast_clean(address):
        return  # too long, "--" or a special-use name: email-validator decides
    try:
        assert _validated(address) == address
    except EmailNotValidError as exc:
        pytest.fail(f"the fast path accepts {address!r}, email-validator does not: {exc}")

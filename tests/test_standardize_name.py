"""Person names: parsing whole names, display form, keys, nicknames, phonetic codes, scripts.

Moved here from test_standardize.py: the person-name and split-full-name cases (the particle
case now attaches "van" to the family name, and the Chinese key is pinyin).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.config.dictionary import load_dictionary
from mdm.standardize.base import FieldContext, Standardized
from mdm.standardize.name import NameParts, parse_full_name, split_full_name, standardize_person_name

DICTIONARY = load_dictionary()
AS_OF = dt.date(2026, 11, 1)
GIVEN_FIRST = "given middle family"
FAMILY_COMMA = "family, given middle"


def run(field: str, *values: str | None) -> Standardized:
    ctx = FieldContext(DICTIONARY.field(field), DICTIONARY, "US", None, AS_OF)
    return standardize_person_name(pl.Series(field, list(values), dtype=pl.String), ctx)


def one(field: str, value: str | None) -> dict[str, object]:
    result = run(field, value)
    row: dict[str, object] = {"clean": result.clean[0], "key": result.key[0], "flags": result.flags[0].to_list()}
    row |= {name: column[0] for name, column in result.extra.items()}
    return row


@pytest.mark.parametrize(
    ("description", "field", "raw", "clean", "key"),
    [
        ("all caps to proper case", "family_name", "SMITH", "Smith", "smith"),
        ("lower to proper case", "family_name", "o'brien", "O'Brien", "obrien"),
        ("Irish D'", "family_name", "D'ANGELO", "D'Angelo", "dangelo"),
        ("Scottish Mc always", "family_name", "MCDONALD", "McDonald", "mcdonald"),
        ("Scottish Mac before a known stem", "family_name", "macarthur", "MacArthur", "macarthur"),
        ("Mack is not Mac-K", "family_name", "MACK", "Mack", "mack"),
        ("Machado is not Mac-Hado", "family_name", "MACHADO", "Machado", "machado"),
        ("mixed case kept as written", "family_name", "McDonald", "McDonald", "mcdonald"),
        ("spaces collapsed", "family_name", "  van  der Berg ", "van der Berg", "vanderberg"),
        ("Dutch particles lower-case", "family_name", "VAN DER BERG", "van der Berg", "vanderberg"),
        ("German von", "family_name", "von goethe", "von Goethe", "vongoethe"),
        ("Spanish compound with particle", "family_name", "DE LA CRUZ", "de la Cruz", "delacruz"),
        ("hyphenated Spanish", "family_name", "GARCÍA-LÓPEZ", "García-López", "garcialopez"),
        ("Arabic al- prefix", "family_name", "AL-HASSAN", "al-Hassan", "alhassan"),
        ("hyphenated given", "given_name", "JEAN-LUC", "Jean-Luc", "jeanluc"),
        ("diacritics folded in the key only", "given_name", "Zoë", "Zoë", "zoe"),
        ("German sharp s in the key", "family_name", "Strauß", "Strauß", "strauss"),
        ("Vietnamese diacritics", "family_name", "Nguyễn", "Nguyễn", "nguyen"),
        ("Chinese family name: pinyin key", "family_name", "王", "王", "wang"),
        ("Chinese given name: pinyin key", "given_name", "小明", "小明", "xiaoming"),
        ("polyphonic surname read as a surname", "family_name", "单", "单", "shan"),
        ("compound surname", "family_name", "尉迟", "尉迟", "yuchi"),
        ("Korean surname customary spelling", "family_name", "김", "김", "kim"),
        ("Cyrillic romanised", "given_name", "Иван", "Иван", "ivan"),
        ("honorific off a given name", "given_name", "Dr. Jane", "Jane", "jane"),
        ("suffix off a family name", "family_name", "Smith Jr", "Smith", "smith"),
        ("blank is null", "given_name", "   ", None, None),
    ],
)
def test_person_name(description: str, field: str, raw: str, clean: str | None, key: str | None) -> None:
    row = one(field, raw)
    assert (row["clean"], row["key"]) == (clean, key), description


@pytest.mark.parametrize(
    ("description", "field", "raw", "extra", "value"),
    [
        ("honorific exposed", "given_name", "Dr. Jane", "honorific", "Dr"),
        ("German honorific", "given_name", "Herr Hans", "honorific", "Herr"),
        ("French honorific", "given_name", "MME Claire", "honorific", "Mme"),
        ("suffix exposed", "family_name", "Smith Jr.", "suffix", "Jr"),
        ("roman numeral suffix", "family_name", "Ford III", "suffix", "III"),
        ("pinyin of a Chinese given name", "given_name", "小明", "pinyin", "Xiaoming"),
        ("no pinyin for a Latin name", "given_name", "John", "pinyin", None),
        ("romanised hangul", "given_name", "민수", "romanised", "Minsu"),
        ("nickname to canonical", "given_name", "Bob", "canonical", "robert"),
        ("robbie to robert", "given_name", "ROBBIE", "canonical", "robert"),
        ("peggy to margaret", "given_name", "peggy", "canonical", "margaret"),
        ("bill prefers william", "given_name", "Bill", "canonical", "william"),
        ("bill's other canonical names", "given_name", "Bill", "canonicals", "robert|william|willis"),
        ("canonical name is its own", "given_name", "Robert", "canonical", "robert"),
        ("unknown name is its own", "given_name", "Xiomara", "canonical", "xiomara"),
        ("metaphone", "family_name", "Smith", "phonetic", "SM0"),
    ],
)
def test_extras(description: str, field: str, raw: str, extra: str, value: str | None) -> None:
    assert one(field, raw)[extra] == value, description


@pytest.mark.parametrize(
    ("description", "field", "a", "b", "extra"),
    [
        ("Smith and Smyth sound alike", "family_name", "Smith", "Smyth", "phonetic"),
        ("Catherine and Katherine sound alike", "given_name", "Catherine", "Katherine", "phonetic"),
        ("Stephen and Steven sound alike", "given_name", "Stephen", "Steven", "phonetic"),
        ("Bob and Robert share a canonical name", "given_name", "Bob", "Robert", "canonical"),
        ("Chinese and romanised given names share a key", "given_name", "小明", "Xiaoming", "key"),
        ("Chinese and romanised family names share a key", "family_name", "曾", "Zeng", "key"),
        ("hangul and customary spelling share a key", "family_name", "박", "Park", "key"),
    ],
)
def test_same_key(description: str, field: str, a: str, b: str, extra: str) -> None:
    assert one(field, a)[extra] == one(field, b)[extra] is not None, description


@pytest.mark.parametrize(
    ("description", "raw", "flag"),
    [
        ("no letters", "123", "no letters in name"),
        ("digits kept, flagged", "J0hn", "digits in name"),
        ("only a title", "Mrs.", "only a title, no name"),
        ("no romanisation", "\U00012000", "no romanisation for cuneiform"),
    ],
)
def test_flags(description: str, raw: str, flag: str) -> None:
    assert flag in one("given_name", raw)["flags"], description  # type: ignore[operator]


@pytest.mark.parametrize(
    ("description", "raw", "order", "expected"),
    [
        ("family first", "Smith, John Paul", FAMILY_COMMA, NameParts("John", "Paul", "Smith")),
        ("family first with suffix", "Smith Jr., John", FAMILY_COMMA, NameParts("John", None, "Smith", suffix="Jr")),
        ("suffix between commas", "Smith, John, Jr.", FAMILY_COMMA, NameParts("John", None, "Smith", suffix="Jr")),
        ("given first with title", "Dr. Jane Q. Smith", GIVEN_FIRST, NameParts("Jane", "Q.", "Smith", "Dr")),
        (
            "German double title",
            "Prof. Dr. Hans-Peter Müller",
            GIVEN_FIRST,
            NameParts("Hans-Peter", None, "Müller", "Prof Dr"),
        ),
        (
            "Dutch particles join the family name",
            "Anna van der Berg",
            GIVEN_FIRST,
            NameParts("Anna", None, "van der Berg"),
        ),
        ("Dutch sorted form", "Berg, Anna van der", FAMILY_COMMA, NameParts("Anna", None, "van der Berg")),
        ("German von", "Johann Wolfgang von Goethe", GIVEN_FIRST, NameParts("Johann", "Wolfgang", "von Goethe")),
        ("Irish O'", "Seán O'Brien", GIVEN_FIRST, NameParts("Seán", None, "O'Brien")),
        ("Scottish Mac", "Angus MacArthur", GIVEN_FIRST, NameParts("Angus", None, "MacArthur")),
        ("Spanish hyphenated", "María García-López", GIVEN_FIRST, NameParts("María", None, "García-López")),
        ("Spanish de la", "Juan de la Cruz", GIVEN_FIRST, NameParts("Juan", None, "de la Cruz")),
        ("Arabic bin", "Mohammed bin Salman", GIVEN_FIRST, NameParts("Mohammed", None, "bin Salman")),
        ("Arabic al-", "Omar al-Rashid", GIVEN_FIRST, NameParts("Omar", None, "al-Rashid")),
        ("Chinese without spaces", "王小明", GIVEN_FIRST, NameParts("小明", None, "王")),
        ("Chinese compound surname", "欧阳修", GIVEN_FIRST, NameParts("修", None, "欧阳")),
        ("Korean without spaces", "김민수", GIVEN_FIRST, NameParts("민수", None, "김")),
        ("Vietnamese family middle given", "Nguyen Van An", "family middle given", NameParts("An", "Van", "Nguyen")),
        ("Hungarian family first", "Nagy János", "family given middle", NameParts("János", None, "Nagy")),
        (
            "no comma where one was declared",
            "John Smith",
            FAMILY_COMMA,
            NameParts("John", None, "Smith", flag="no comma in a 'family, given' name; read as given-first"),
        ),
        (
            "given-first with its suffix after a comma",
            "John Smith, Jr.",
            GIVEN_FIRST,
            NameParts("John", None, "Smith", suffix="Jr"),
        ),
        (
            "single word",
            "Cher",
            GIVEN_FIRST,
            NameParts(None, None, "Cher", flag="single-word name read as family name"),
        ),
        ("only titles", "Dr.", GIVEN_FIRST, NameParts(None, None, "Dr.", flag="single-word name read as family name")),
    ],
)
def test_split_full_name(description: str, raw: str, order: str, expected: NameParts) -> None:
    assert split_full_name(raw, order) == expected, description


def test_parse_full_name_columns() -> None:
    parsed = parse_full_name(pl.Series("full_name", ["Dr. Jane Q. Smith", None, "Smith Jr., John"]), GIVEN_FIRST)
    assert parsed.given.to_list() == ["Jane", None, "John"]
    assert parsed.family.to_list() == ["Smith", None, "Smith"]
    assert parsed.honorific.to_list() == ["Dr", None, None]
    assert parsed.suffix.to_list() == [None, None, "Jr"]
    assert parsed.flag.to_list() == [None, None, "comma in a given-first name; read as 'family, given'"]


def test_unknown_order_says_how_to_fix() -> None:
    with pytest.raises(ValueError, match="given middle family"):
        parse_full_name(pl.Series("full_name", ["x"]), "given family")


def test_nulls_have_empty_flags() -> None:
    result = run("given_name", None, "Ann")
    assert result.flags.to_list() == [[], []]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["given_name", "middle_name", "family_name"]))
def test_never_raises_and_idempotent(text: str, field: str) -> None:
    first = run(field, text)
    clean = first.clean[0]
    if clean is None:
        return
    again = run(field, clean)
    assert (again.clean[0], again.key[0]) == (clean, first.key[0])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["family, given middle", "given middle family", "family middle given"]))
def test_full_name_never_raises(text: str, order: str) -> None:
    parts = split_full_name(text, order)
    assert isinstance(parts, NameParts)

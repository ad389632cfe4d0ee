"""Comparison levels, table-driven: (description, comparison, left values, right values, expected label)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from rapidfuzz.distance import JaroWinkler

from mdm.config.rules import Comparison, load_match_rules
from mdm.match.comparisons import compare_pairs, usable_comparisons
from mdm.match.similarity import pairwise

COMPARISONS = {c.name: c for c in load_match_rules().comparisons}

G, F = "given_name_key", "family_name_key"
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    # given name
    ("given name missing on one side", "given_name", {G: None}, {G: "ann"}, "missing"),
    ("same given name", "given_name", {G: "robert"}, {G: "robert"}, "exact"),
    (
        "bob and robert share a canonical name",
        "given_name",
        {G: "bob", "given_name_canonical": "robert", "given_name_canonicals": "robert"},
        {G: "robert", "given_name_canonical": "robert", "given_name_canonicals": "robert"},
        "nickname",
    ),
    (
        "bill (william|robert) and robert overlap",
        "given_name",
        {G: "bill", "given_name_canonical": "william", "given_name_canonicals": "william|robert"},
        {G: "robert", "given_name_canonical": "robert", "given_name_canonicals": "robert"},
        "nickname",
    ),
    ("one transposed letter: JW 0.96", "given_name", {G: "martha"}, {G: "marhta"}, "jaro_winkler_0.92"),
    ("jon / john: JW 0.93", "given_name", {G: "jon"}, {G: "john"}, "jaro_winkler_0.92"),
    (
        "dwayne / duane: JW 0.84, same metaphone",
        "given_name",
        {G: "dwayne", "given_name_phonetic": "TWN"},
        {G: "duane", "given_name_phonetic": "TWN"},
        "phonetic",
    ),
    ("stephen / steven: JW 0.894", "given_name", {G: "stephen"}, {G: "steven"}, "jaro_winkler_0.88"),
    ("jeffrey / geoffrey: JW 0.869, below both", "given_name", {G: "jeffrey"}, {G: "geoffrey"}, "else"),
    ("initial J and james", "given_name", {G: "j"}, {G: "james"}, "initial"),
    ("james and initial J (other side)", "given_name", {G: "james"}, {G: "j"}, "initial"),
    ("initial K and james", "given_name", {G: "k"}, {G: "james"}, "else"),
    ("given and family swapped", "given_name", {G: "lee", F: "ann"}, {G: "ann", F: "lee"}, "transposed"),
    ("different given names", "given_name", {G: "ann", F: "lee"}, {G: "zoe", F: "lee"}, "else"),
    (
        "one name alone is the other's family name",
        "given_name",
        {G: "stephens", F: None},
        {G: "henry", F: "stephens"},
        "lone_name_is_family",
    ),
    (
        "the same, other side",
        "given_name",
        {G: "henry", F: "stephens"},
        {G: "stephens", F: None},
        "lone_name_is_family",
    ),
    (
        "both names present: not a lone name",
        "given_name",
        {G: "stephens", F: "ross"},
        {G: "henry", F: "stephens"},
        "else",
    ),
    ("lone name that is not the family name", "given_name", {G: "ross", F: None}, {G: "henry", F: "stephens"}, "else"),
    # family name
    ("same family name", "family_name", {F: "smith"}, {F: "smith"}, "exact"),
    ("family names swapped with given", "family_name", {G: "lee", F: "ann"}, {G: "ann", F: "lee"}, "transposed"),
    ("family name typo", "family_name", {F: "johnson"}, {F: "jonhson"}, "jaro_winkler_0.92"),
    ("family name missing", "family_name", {F: None}, {F: None}, "missing"),
    # birth date (YYYYMMDD keys)
    ("same birth date", "birth_date", {"birth_date_key": "19800304"}, {"birth_date_key": "19800304"}, "exact"),
    (
        "day and month swapped",
        "birth_date",
        {"birth_date_key": "19800304"},
        {"birth_date_key": "19800403"},
        "day_month_swapped",
    ),
    (
        "one digit typo in the day",
        "birth_date",
        {"birth_date_key": "19800304"},
        {"birth_date_key": "19800305"},
        "one_digit_typo",
    ),
    (
        "year off by one, same day",
        "birth_date",
        {"birth_date_key": "19800304"},
        {"birth_date_key": "19810304"},
        "one_digit_typo",
    ),  # 1980 -> 1981 is also one digit: the earlier level wins
    (
        "year off by one across a decade",
        "birth_date",
        {"birth_date_key": "19790304"},
        {"birth_date_key": "19800304"},
        "year_off_by_one",
    ),
    (
        "a month apart (fake_1000's shifted dates)",
        "birth_date",
        {"birth_date_key": "19850521"},
        {"birth_date_key": "19850619"},
        "within_a_month",
    ),
    (
        "eleven months apart",
        "birth_date",
        {"birth_date_key": "19881125"},
        {"birth_date_key": "19871220"},
        "within_a_year",
    ),
    (
        "29 February against 1 March of the next year: 366 days",
        "birth_date",
        {"birth_date_key": "19880229"},
        {"birth_date_key": "19890301"},
        "within_a_year",
    ),
    (
        "unparseable key is no date",
        "birth_date",
        {"birth_date_key": "19881399"},
        {"birth_date_key": "19881201"},
        "else",
    ),
    ("different birth dates", "birth_date", {"birth_date_key": "19790304"}, {"birth_date_key": "19851111"}, "else"),
    ("birth date missing", "birth_date", {"birth_date_key": None}, {"birth_date_key": "19851111"}, "missing"),
    # phone (E.164 digits)
    ("same phone", "phone", {"phone_key": "12125550123"}, {"phone_key": "12125550123"}, "exact"),
    (
        "same last 7 digits, other area code",
        "phone",
        {"phone_key": "12125550123"},
        {"phone_key": "13475550123"},
        "last_7_digits",
    ),
    ("different phone", "phone", {"phone_key": "12125550123"}, {"phone_key": "12125559999"}, "else"),
    # e-mail
    ("same e-mail", "email", {"email_key": "ann@x.com"}, {"email_key": "ann@x.com"}, "exact"),
    (
        "same local part, other domain",
        "email",
        {"email_key": "ann.lee@x.com"},
        {"email_key": "ann.lee@y.org"},
        "same_local_part",
    ),
    ("different e-mail", "email", {"email_key": "ann@x.com"}, {"email_key": "bob@x.com"}, "else"),
    # address (address_key: number + street + unit + postcode)
    (
        "same address",
        "address",
        {"address_key": "12mainst60601", "postal_code_key": "60601"},
        {"address_key": "12mainst60601", "postal_code_key": "60601"},
        "exact",
    ),
    (
        "other address, same postcode",
        "address",
        {"address_key": "12mainst60601", "postal_code_key": "60601"},
        {"address_key": "9elmave60601", "postal_code_key": "60601"},
        "postcode",
    ),
    (
        "other postcode",
        "address",
        {"address_key": "12mainst60601", "postal_code_key": "60601"},
        {"address_key": "9elmave10001", "postal_code_key": "10001"},
        "else",
    ),
    (
        "no street on one side, same postcode",
        "address",
        {"address_key": None, "postal_code_key": "60601"},
        {"address_key": "9elmave60601", "postal_code_key": "60601"},
        "postcode",
    ),
    (
        "neither street nor postcode on one side",
        "address",
        {"address_key": None, "postal_code_key": None},
        {"address_key": "9elmave60601", "postal_code_key": "60601"},
        "missing",
    ),
    (
        "street with a typo, postcode moved",
        "address",
        {"address_key": "12|mainst||60601", "address_line1_key": "12|mainst|", "postal_code_key": "60601"},
        {"address_key": "12|mianst||60606", "address_line1_key": "12|mianst|", "postal_code_key": "60606"},
        "street_similar",
    ),
    ("same city", "city", {"city_key": "chicago"}, {"city_key": "chicago"}, "exact"),
    ("city typo", "city", {"city_key": "chicago"}, {"city_key": "chicgao"}, "jaro_winkler_0.9"),
    ("other city", "city", {"city_key": "chicago"}, {"city_key": "boston"}, "else"),
]


def _records(comparison: Comparison, left: dict[str, Any], right: dict[str, Any]) -> pl.DataFrame:
    columns = comparison.required_columns
    rows = [{c: side.get(c) for c in columns} for side in (left, right)]
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String)).with_row_index("rid").cast({"rid": pl.Int64})


@pytest.mark.parametrize(("description", "name", "left", "right", "expected"), CASES, ids=[c[0] for c in CASES])
def test_level(description: str, name: str, left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    comparison = COMPARISONS[name]
    records = _records(comparison, left, right)
    levels = compare_pairs(records, pl.DataFrame({"left": [0], "right": [1]}), [comparison])
    assert comparison.levels[levels[name][0]].label == expected


def test_levels_are_symmetric() -> None:
    for _, name, left, right, expected in CASES:
        comparison = COMPARISONS[name]
        levels = compare_pairs(
            _records(comparison, left, right), pl.DataFrame({"left": [1], "right": [0]}), [comparison]
        )
        assert comparison.levels[levels[name][0]].label == expected, name


def test_many_pairs_at_once_keep_their_order() -> None:
    comparison = COMPARISONS["phone"]
    records = pl.DataFrame({"rid": [0, 1, 2, 3], "phone_key": ["12125550123", "13475550123", "12125550123", None]})
    pairs = pl.DataFrame({"left": [0, 0, 0, 1, 2], "right": [1, 2, 3, 2, 3], "rule": list("abcde")})
    out = compare_pairs(records, pairs, [comparison], keep=["rule"])
    assert out.rows() == [(0, 1, "a", 2), (0, 2, "b", 1), (0, 3, "c", 0), (1, 2, "d", 2), (2, 3, "e", 0)]


def test_duckdb_jaro_winkler_agrees_with_rapidfuzz() -> None:
    a = ["martha", "dixon", "jon", "", "abc", "wang xiao ming"]
    b = ["marhta", "dicksonx", "john", "x", "abc", "wang xiaoming"]
    ours = pairwise("jaro_winkler", pl.Series(a), pl.Series(b)).to_list()
    for value, x, y in zip(ours, a, b, strict=True):
        assert value == pytest.approx(JaroWinkler.normalized_similarity(x, y), abs=1e-6), (x, y)
    assert pairwise("levenshtein", pl.Series(["19800304", None]), pl.Series(["19800305", "x"])).to_list() == [1, None]


def test_comparison_on_an_absent_column_is_skipped_with_a_warning() -> None:
    with pytest.warns(
        UserWarning, match="comparison 'address' skipped: column\\(s\\) \\['address_key', 'address_line1_key'\\] absent"
    ):
        usable = usable_comparisons(["postal_code_key", "email_key"], [COMPARISONS["address"], COMPARISONS["email"]])
    assert [c.name for c in usable] == ["email"]


def test_pairs_compared_in_slices_give_the_same_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    from mdm.match import comparisons as module

    comparison = COMPARISONS["phone"]
    records = pl.DataFrame({"rid": [0, 1, 2, 3], "phone_key": ["12125550123", "13475550123", "12125550123", None]})
    pairs = pl.DataFrame({"left": [0, 0, 0, 1, 2], "right": [1, 2, 3, 2, 3], "rule": list("abcde")})
    whole = compare_pairs(records, pairs, [comparison], keep=["rule"])
    monkeypatch.setattr(module, "PAIRS_PER_SLICE", 2)
    assert compare_pairs(records, pairs, [comparison], keep=["rule"]).equals(whole)
    assert compare_pairs(records, pairs.clear(), [comparison], keep=["rule"]).height == 0

"""Comparison levels, table-driven: (description, comparison, left values, right values, expected label)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import JaroWinkler

from mdm.config.rules import Comparison, load_match_rules
from mdm.match.comparisons import (
    LEVEL_METRICS,
    compare_pairs,
    level_index,
    levels_of,
    pair_frame,
    similarity_column,
    usable_comparisons,
)
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
    # issue 14, class 4: a typo level never fires on other digits, nor between two mailboxes
    # made of a name and a number (strangers with one name make them near-equal)
    (
        "a misspelt domain",
        "email",
        {"email_key": "iprice@car.com"},
        {"email_key": "iprice@carr.com"},
        "one_or_two_typos",
    ),
    (
        "a letter typo, no digits",
        "email",
        {"email_key": "ann.lee@x.com"},
        {"email_key": "ann.lea@x.com"},
        "one_or_two_typos",
    ),
    (
        "a misspelt domain, the same name-and-number mailbox",
        "email",
        {"email_key": "annlee84@car.com"},
        {"email_key": "annlee84@carr.com"},
        "one_or_two_typos",
    ),
    ("4: other digits", "email", {"email_key": "annlee4@x.com"}, {"email_key": "annlee8@x.com"}, "else"),
    ("4: a digit added", "email", {"email_key": "ann.lee@x.com"}, {"email_key": "ann.lee1@x.com"}, "else"),
    (
        "4: two mailboxes made from one name",
        "email",
        {"email_key": "ganlee4@x.com"},
        {"email_key": "annlee4@x.com"},
        "else",
    ),
    # national id (upper case, no separators)
    ("same national id", "national_id", {"national_id_key": "3559862"}, {"national_id_key": "3559862"}, "exact"),
    (
        "national id, two neighbours swapped: one typo",
        "national_id",
        {"national_id_key": "3559862"},
        {"national_id_key": "3559682"},
        "one_typo",
    ),
    (
        "national id, one digit changed",
        "national_id",
        {"national_id_key": "3559862"},
        {"national_id_key": "3559872"},
        "one_typo",
    ),
    ("other national id", "national_id", {"national_id_key": "3559862"}, {"national_id_key": "7721398"}, "else"),
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


# ---- the fast path (levels_of: level by level, similarities only where they matter, codes) ----
# must give what the plain statement gives (level_index over every similarity of every pair)


def _plain_levels(records: pl.DataFrame, pairs: pl.DataFrame, comparisons: list[Comparison]) -> pl.DataFrame:
    columns = list(dict.fromkeys(c for comparison in comparisons for c in comparison.required_columns))
    frame = pair_frame(records, pairs, columns)
    for comparison in comparisons:
        for level in comparison.levels:
            if level.kind in LEVEL_METRICS:
                metric, column = LEVEL_METRICS[level.kind], level.columns_or(comparison.column)[0]
                values = pairwise(metric, frame[f"{column}_l"], frame[f"{column}_r"])
                frame = frame.with_columns(values.alias(similarity_column(metric, column)))
    return frame.select("left", "right", *[level_index(c) for c in comparisons])


# values chosen to sit on every edge: null, empty, equal, unicode (accents, CJK, an emoji, a
# combining mark), edit distances at and one past the bounds, lengths apart by the bound,
# e-mails without an @, dates that do not parse, canonical sets that overlap or not
TRICKY = {
    "given_name_key": [None, "", "ann", "anne", "ánn", "j", "james", "王小明", "王明", "e\u0301", "lee"],
    "given_name_canonical": [None, "", "ann", "ann", "ann", "james", "james", "wang", None, "e", "e"],
    "given_name_canonicals": [None, "", "ann|anna", "ann", "anna", "james", "james|jim", "wang", None, "", "e"],
    "given_name_phonetic": [None, "", "AN", "AN", "AN", "J", "JMS", "WNG", "WM", "E", "E"],
    # the last record is one name alone ("lee"), the family name of three others
    "family_name_key": [None, "", "lee", "lee", "ann", "smith", "smyth", "王", "王", "lee", None],
    "family_name_phonetic": [None, "", "L", "L", "AN", "SM0", "SM0", "W", "W", "L", None],
    "birth_date_key": [
        None,
        "",
        "19800304",
        "19800403",
        "19800305",
        "19810304",
        "19790304",
        "1980034",
        "19801399",
        "19800304",
        "198003041",
    ],
    "email_key": [
        None,
        "",
        "ann@x.com",
        "ann@x.co",
        "anne@xx.com",
        "ann1@x.com",
        "noat",
        "annlee4@x.com",
        "ånn@x.com",
        "ganlee4@x.co",
        "annlee8@x.com",
    ],
    "phone_key": [
        None,
        "",
        "12125550123",
        "13475550123",
        "5550123",
        "555012",
        "12125550123",
        "1",
        "x",
        None,
        "13475550124",
    ],
    "national_id_key": [
        None,
        "",
        "123456789",
        "123456780",
        "12345678",
        "1234567890",
        "123456789",
        "123457689",
        "é",
        "e",
        "ee",
    ],
    "address_key": [
        None,
        "",
        "12|mainst||60601",
        "12|mainst||60606",
        "12|mianst||60601",
        None,
        "9|elm||1",
        "9|elm||1",
        "",
        "x",
        "12|mainst||60601",
    ],
    "address_line1_key": [
        None,
        "",
        "12|mainst|",
        "12|mainst|",
        "12|mianst|",
        "12|mainst|",
        "9|elm|",
        None,
        "",
        "x",
        "12|mainst|",
    ],
    "postal_code_key": [None, "", "60601", "60606", "60601", "60601", "1", "1", None, "x", "60601"],
    "city_key": [None, "", "chicago", "chicgao", "chicago", "boston", "bostn", "東京", "東京都", "x", "chicago"],
    "birth_place_key": [None, "", "sheffield", "shefield", "sheffield", "angus", None, "東京", "x", "x", "sheffield"],
    "occupation_key": [None, "", "painter", "painter", "writer", None, "painter", "é", "e", "", "writer"],
}


def test_fast_levels_agree_with_the_plain_statement_on_tricky_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from mdm.match import comparisons as module

    comparisons = list(COMPARISONS.values())
    records = pl.DataFrame(TRICKY, schema=dict.fromkeys(TRICKY, pl.String)).with_row_index("rid")
    records = records.with_columns(pl.col("rid").cast(pl.Int64))
    n = records.height
    pairs = pl.DataFrame(
        {"left": [a for a in range(n) for b in range(n)], "right": [b for a in range(n) for b in range(n)]}
    )
    plain = _plain_levels(records, pairs, comparisons)
    for per_record in (1, 10**9):  # level by level on codes (blocked pairs), and all at once
        monkeypatch.setattr(module, "CODED_PAIRS_PER_RECORD", per_record)
        monkeypatch.setattr(module, "PAIRS_PER_SLICE", 37)  # slices of odd sizes too
        assert compare_pairs(records, pairs, comparisons).equals(plain)
    # level by level on strings too
    frame = pair_frame(records, pairs, list(TRICKY))
    for comparison in comparisons:
        assert levels_of(frame, comparison).equals(plain[comparison.name]), comparison.name


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.text(alphabet="ab|@é王 1", max_size=6)) for _ in TRICKY]),
        min_size=2,
        max_size=12,
    )
)
def test_fast_levels_agree_with_the_plain_statement_on_random_text(rows: list[tuple[str | None, ...]]) -> None:
    comparisons = list(COMPARISONS.values())
    records = pl.DataFrame(rows, schema=dict.fromkeys(TRICKY, pl.String), orient="row").with_row_index("rid")
    records = records.with_columns(pl.col("rid").cast(pl.Int64))
    n = records.height
    pairs = pl.DataFrame(
        {"left": [a for a in range(n) for b in range(n)], "right": [b for a in range(n) for b in range(n)]}
    )
    assert compare_pairs(records, pairs, comparisons).equals(_plain_levels(records, pairs, comparisons))

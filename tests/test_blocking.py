"""Blocking: candidate pairs by joins on blocking keys, deduplicated across rules, giant blocks capped."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mdm.config.errors import ConfigError
from mdm.config.rules import BlockingRule, load_match_rules
from mdm.match import blocking
from mdm.match.blocking import Keyed, block_pairs

# Six records, answer by eye:
#   email rule          -> (0, 1) share ann@x.com; (3, 4) share bo@y.com
#   family + birth year -> (0, 1) and (0, 2) and (1, 2) are lee/1980; (3, 4) are kim/1975
#   record 5 shares nothing with anyone (its e-mail is missing, its family name unique)
TINY = pl.DataFrame(
    {
        "rid": [0, 1, 2, 3, 4, 5],
        "email_key": ["ann@x.com", "ann@x.com", None, "bo@y.com", "bo@y.com", None],
        "family_name_key": ["lee", "lee", "lee", "kim", "kim", "ng"],
        "birth_date_key": ["19800101", "19801231", "19800505", "19750101", "19750101", "19800101"],
        "phone_key": ["15550000000"] * 4 + ["15551234567", None],
    }
)
EMAIL = BlockingRule.model_validate({"name": "email", "key": ["email_key"]})
FAMILY_YEAR = BlockingRule.model_validate(
    {"name": "family_year", "key": ["family_name_key", {"column": "birth_date_key", "prefix_chars": 4}]}
)
PHONE = BlockingRule.model_validate({"name": "phone", "key": ["phone_key"]})


def test_pairs_by_eye() -> None:
    blocked = block_pairs(TINY, [EMAIL, FAMILY_YEAR], max_block_size=50)
    assert blocked.pairs.rows() == [
        (0, 1, "email", 0b11),
        (0, 2, "family_year", 0b10),
        (1, 2, "family_year", 0b10),
        (3, 4, "email", 0b11),
    ]
    by_rule = {entry["rule"]: (entry["pairs"], entry["new_pairs"]) for entry in blocked.rules}
    assert by_rule == {"email": (2, 2), "family_year": (4, 2)}
    assert blocked.giant_blocks.height == 0


@pytest.mark.parametrize(
    ("description", "rids"),
    [
        ("rids that fit one 64-bit pair key", [0, 1, 2, 3, 4, 5]),
        ("rids of 2**32 and over", [2**32 + i for i in (0, 1, 2, 3, 4, 5)]),
        ("negative rids", [-6, -5, -4, -3, -2, -1]),
    ],
)
def test_pairs_are_the_same_whatever_the_rids(description: str, rids: list[int]) -> None:
    """Pairs of small rids are grouped as one integer key; other rids by the two columns."""
    blocked = block_pairs(TINY.with_columns(pl.Series("rid", rids)), [EMAIL, FAMILY_YEAR], max_block_size=50)
    by_position = {rid: i for i, rid in enumerate(rids)}
    assert [(by_position[a], by_position[b], rule, mask) for a, b, rule, mask in blocked.pairs.rows()] == [
        (0, 1, "email", 0b11),
        (0, 2, "family_year", 0b10),
        (1, 2, "family_year", 0b10),
        (3, 4, "email", 0b11),
    ], description


def test_giant_block_is_skipped_and_reported() -> None:
    # four records share the placeholder phone 15550000000: above max_block_size 3
    blocked = block_pairs(TINY, [PHONE, EMAIL], max_block_size=3)
    assert blocked.giant_blocks.rows() == [("phone", "phone_key", "15550000000", 4)]
    assert blocked.rules[0]["pairs"] == 0 and blocked.rules[0]["skipped_blocks"] == 1
    assert blocked.rules[0]["skipped_records"] == 4
    assert blocked.pairs.select("left", "right").rows() == [(0, 1), (3, 4)]  # the e-mail rule still works
    # a rule's own cap overrides the file's
    generous = PHONE.model_copy(update={"max_block_size": 4})
    assert block_pairs(TINY, [generous], max_block_size=3).pairs.height == 6


def test_rule_on_an_absent_column_is_skipped_with_a_warning() -> None:
    address = BlockingRule.model_validate({"name": "address", "key": ["address_key"]})
    with pytest.warns(UserWarning, match="'address' skipped: column\\(s\\) \\['address_key'\\] absent"):
        blocked = block_pairs(TINY, [address, EMAIL], max_block_size=50)
    assert blocked.rules[0]["skipped"] == "column(s) ['address_key'] absent"
    assert blocked.pairs.height == 2


def test_no_rule_gives_an_empty_frame_with_the_schema() -> None:
    blocked = block_pairs(TINY, [], max_block_size=50)
    assert blocked.pairs.columns == ["left", "right", "rule", "rule_mask"] and blocked.pairs.height == 0


def test_default_rules_have_blocking_and_comparisons() -> None:
    rules = load_match_rules()
    assert {"email", "phone", "family_phonetic_birth_year"} <= {b.name for b in rules.blocking}
    assert [c.name for c in rules.comparisons][:3] == ["given_name", "family_name", "birth_date"]
    assert rules.threshold_review_probability < rules.threshold_match_probability


def test_every_problem_reported_at_once_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "match.yaml"
    path.write_text(
        "version: 2\n"
        "max_block_size: 50\n"
        "blocking:\n"
        "  - name: b\n"
        "    on: [email_key]\n"  # line 5: YAML reads `on` as true
        "comparisons:\n"
        "  - name: c\n"
        "    column: given_name_key\n"
        "    levels:\n"
        "      - {label: exact, kind: exact}\n"
        "      - {label: jw, kind: jaro_winkler}\n"  # line 11: no min_similarity
        "      - {label: else, kind: else}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_match_rules(path)
    text = "\n".join(caught.value.problems)
    assert "line 4: blocking[0]: YAML reads a bare `on` as true; name the list `key`, e.g. key: [email_key]" in text
    assert "line 11: comparisons[0].levels[1]: a jaro_winkler level needs `min_similarity`, e.g." in text
    assert len(caught.value.problems) == 2


def test_a_rule_with_other_key_pairs_names_written_in_the_other_order() -> None:
    records = pl.DataFrame(
        {
            "rid": [0, 1, 2, 3],
            "given_name_key": ["wei", "wang", "wei", "ann"],
            "family_name_key": ["wang", "wei", "wang", "lee"],
        }
    )
    rule = BlockingRule(
        name="transposed", key=["given_name_key", "family_name_key"], other_key=["family_name_key", "given_name_key"]
    )
    blocked = block_pairs(records, [rule], max_block_size=50)
    assert blocked.pairs.select("left", "right").rows() == [(0, 1), (1, 2)]  # 0 and 2 agree as written: not this rule's


def test_other_key_needs_as_many_parts_as_key() -> None:
    with pytest.raises(ValueError, match="other_key needs as many parts as key"):
        BlockingRule(name="x", key=["given_name_key", "family_name_key"], other_key=["family_name_key"])


@pytest.mark.parametrize("touching", [[0], [2, 5], [3], [0, 1, 2, 3, 4, 5], []])
def test_pairs_touching_some_records_are_the_full_pairs_with_one_of_them(touching: list[int]) -> None:
    """An incremental run blocks only its new and changed records (mdm/match/delta.py): the pairs,
    rules and masks are exactly the full blocking's pairs that have one of them, under every kind
    of rule (plain, prefix, other_key), and the giant blocks are those of all records."""
    swapped = TINY.with_columns(given_name_key=pl.Series(["kim", None, "lee", "lee", None, "ng"]))
    crossed = BlockingRule.model_validate(
        {"name": "crossed", "key": ["given_name_key"], "other_key": ["family_name_key"]}
    )
    rules = [EMAIL, FAMILY_YEAR, crossed, PHONE]
    full = block_pairs(swapped, rules, max_block_size=3)
    some = block_pairs(swapped, rules, max_block_size=3, touching=pl.Series(touching, dtype=pl.Int64))
    expected = full.pairs.filter(pl.col("left").is_in(touching) | pl.col("right").is_in(touching))
    assert some.pairs.rows() == expected.rows()
    assert some.giant_blocks.rows() == full.giant_blocks.rows() and full.giant_blocks.height == 1
    assert full.pairs.height > expected.height or len(touching) == 6


@pytest.mark.parametrize("collide", [False, True])
@pytest.mark.parametrize("touching", [[0], [2, 5], [3, 4], [0, 1, 2, 3, 4, 5]])
def test_incremental_blocking_by_hashed_keys_is_the_full_blocking(
    touching: list[int], collide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incremental night's blocking (the last run's giant blocks known, the keys cached for a
    second call) looks blocks up by a hash of their keys: its pairs, giant blocks and report are
    the full blocking's with one of the touching records, also when every key hashes alike (the
    records found by a hash are then matched on the keys themselves)."""
    if collide:
        monkeypatch.setattr(blocking, "_key_hash", lambda names: pl.lit(7, pl.UInt64).alias(blocking.KEY_HASH))
    swapped = TINY.with_columns(given_name_key=pl.Series(["lee", None, "lee", "lee", None, "ng"]))
    crossed = BlockingRule.model_validate(
        {"name": "crossed", "key": ["given_name_key"], "other_key": ["family_name_key"]}
    )
    # given name "lee" is a giant block of this one: family name "lee" (records 0-2) must not join it
    crossed_small = BlockingRule.model_validate(
        {"name": "crossed_small", "key": ["given_name_key"], "other_key": ["family_name_key"], "max_block_size": 2}
    )
    rules = [EMAIL, FAMILY_YEAR, crossed, PHONE, crossed_small]
    full = block_pairs(swapped, rules, max_block_size=3)
    keyed: Keyed = {}
    rids = pl.Series(touching, dtype=pl.Int64)
    some = block_pairs(swapped, rules, 3, touching=rids, keyed_by=keyed, giant_before=full.giant_blocks)
    again = block_pairs(swapped, rules, 3, touching=rids.head(1), keyed_by=keyed)  # the keys cached
    giants = [("phone", "phone_key", "15550000000", 4), ("crossed_small", "given_name_key", "lee", 3)]
    for found, among in ((some, touching), (again, touching[:1])):
        expected = full.pairs.filter(pl.col("left").is_in(among) | pl.col("right").is_in(among))
        assert found.pairs.rows() == expected.rows()
        assert found.giant_blocks.rows() == full.giant_blocks.rows() == giants
    assert [r["skipped_blocks"] for r in some.rules] == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("cuts", [[3], [1, 2, 4], [1, 2, 3, 4, 5], [0, 6]])
def test_pairs_in_ranges_of_left_rids_add_up_to_the_full_pairs(cuts: list[int]) -> None:
    """The match stage blocks in partitions of left rids (mdm/match/partitions.py): the ranges'
    pairs, one range after the other, are the full blocking's, row for row, under every kind of
    rule (plain, prefix, other_key, giant blocks counted over all records), alone or with `touching`."""
    swapped = TINY.with_columns(given_name_key=pl.Series(["kim", None, "lee", "lee", None, "ng"]))
    crossed = BlockingRule.model_validate(
        {"name": "crossed", "key": ["given_name_key"], "other_key": ["family_name_key"]}
    )
    rules = [EMAIL, FAMILY_YEAR, crossed, PHONE]
    bounds = [0, *cuts, 6] if cuts[0] else cuts
    ranges = list(zip(bounds, bounds[1:], strict=False))
    full = block_pairs(swapped, rules, max_block_size=3)
    parts = [block_pairs(swapped, rules, max_block_size=3, left_in=r) for r in ranges]
    assert pl.concat([p.pairs for p in parts]).rows() == full.pairs.rows()
    assert all(p.giant_blocks.rows() == full.giant_blocks.rows() for p in parts)
    touching = pl.Series([2, 5], dtype=pl.Int64)
    some = block_pairs(swapped, rules, max_block_size=3, touching=touching)
    some_parts = [block_pairs(swapped, rules, max_block_size=3, touching=touching, left_in=r) for r in ranges]
    assert pl.concat([p.pairs for p in some_parts]).rows() == some.pairs.rows()

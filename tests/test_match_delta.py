"""Incremental matching (mdm/match/delta.py): the pairs and levels of a night are the full
blocking's and comparison's, with the unchanged records' pairs carried over, also when a block
crosses max_block_size either way and when a source exports its rows in another order."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mdm.config.rules import MatchRules
from mdm.incremental.carry import PREVIOUS_RID, CarryOver
from mdm.match.blocking import _candidate_blocks, block_pairs
from mdm.match.delta import _renumbered, compare_delta, left_pairs
from mdm.match.score import compare_for_scoring

RULES = MatchRules.model_validate(
    {
        "max_block_size": 3,
        "blocking": [
            {"name": "family", "key": ["family_name_key"]},
            {"name": "email", "key": ["email_key"]},
            {"name": "crossed", "key": ["given_name_key"], "other_key": ["family_name_key"]},
        ],
        "comparisons": [
            {
                "name": "given_name",
                "column": "given_name_key",
                "levels": [
                    {"label": "missing", "kind": "missing"},
                    {"label": "exact", "kind": "exact", "term_frequency_adjusted": True},
                    {"label": "close", "kind": "jaro_winkler", "min_similarity": 0.85},
                    {"label": "else", "kind": "else"},
                ],
            },
            {
                "name": "email",
                "column": "email_key",
                "levels": [
                    {"label": "missing", "kind": "missing"},
                    {"label": "exact", "kind": "exact"},
                    {"label": "else", "kind": "else"},
                ],
            },
        ],
    }
)
COMPARISONS = RULES.comparisons

# (id, given, family, email). Last night: the "lee" block holds 3 records (not giant at 3), the
# "kim" block 4 (giant). Tonight: a fourth lee makes lee giant, a kim leaves (kim is no longer).
LAST = [
    ("a", "ann", "lee", "ann@x.com"),
    ("b", "anne", "lee", None),
    ("c", "bo", "lee", "bo@y.com"),
    ("d", "kai", "kim", "k@z.com"),
    ("e", "kay", "kim", "k@z.com"),
    ("f", "lee", "kim", None),
    ("g", "kim", "kim", "g@z.com"),
    ("h", "ng", "ong", "ann@x.com"),
    ("i", "ong", "ng", None),
    ("j", "jo", "ma", "jo@m.com"),
    *[(f"w{i}", f"w{i}", "wu", None) for i in range(4)],  # giant both nights, none of it changed
]
TONIGHT = [
    ("j", "jo", "ma", "jo@m.com"),  # the source sends its rows in another order
    ("h", "ng", "ong", "ann@x.com"),
    ("a", "ann", "lee", "ann@x.com"),
    ("b", "anne", "lee", None),
    ("c", "bo", "lee", "bo@y.com"),
    ("n", "lea", "lee", "k@z.com"),  # new: lee is now a giant block
    ("d", "kai", "kim", "k@z.com"),
    ("e", "kay", "kim", "k@z.com"),
    ("f", "lee", "kim", "f@z.com"),  # changed
    ("i", "ong", "ng", None),
    *[(f"w{i}", f"w{i}", "wu", None) for i in range(4)],
]  # g deleted: kim is back to 3 records


def _records(rows: list[tuple[str, str, str, str | None]]) -> pl.DataFrame:
    ids, given, family, email = zip(*rows, strict=True)
    return pl.DataFrame(
        {
            "rid": list(range(len(rows))),
            "source_record_id": list(ids),
            "given_name_key": list(given),
            "family_name_key": list(family),
            "email_key": list(email),
        },
        schema_overrides={"rid": pl.Int64},
    )


def _compared_in_full(records: pl.DataFrame) -> pl.DataFrame:
    blocked = block_pairs(records, RULES.blocking, RULES.max_block_size)
    return compare_for_scoring(records, blocked.pairs, COMPARISONS, left_values=False)


def test_a_night_compares_only_what_changed_and_ends_with_the_full_pairs(tmp_path: Path) -> None:
    last, tonight = _records(LAST), _records(TONIGHT)
    (tmp_path / "standardized.parquet").touch()
    left_pairs(_compared_in_full(last), COMPARISONS).write_parquet(tmp_path / "pairs.parquet")
    block_pairs(last, RULES.blocking, RULES.max_block_size).giant_blocks.write_parquet(
        tmp_path / "giant_blocks.parquet"
    )
    carry = CarryOver(tmp_path / "standardized.parquet", "run", {}, [])
    changed = {"n", "f"}
    previous = tonight.join(
        last.select("source_record_id", pl.col("rid").alias(PREVIOUS_RID)), on="source_record_id", how="left"
    ).select("rid", pl.when(~pl.col("source_record_id").is_in(changed)).then(pl.col(PREVIOUS_RID)).alias(PREVIOUS_RID))

    delta = compare_delta(tonight, previous, RULES, COMPARISONS, carry)

    full = _compared_in_full(tonight)
    assert delta.compared.columns == full.columns
    assert delta.compared.rows() == full.rows()
    assert delta.blocked.pairs.rows() == block_pairs(tonight, RULES.blocking, RULES.max_block_size).pairs.rows()
    full_report = block_pairs(tonight, RULES.blocking, RULES.max_block_size).rules
    assert [{k: v for k, v in r.items() if k != "largest_skipped"} for r in delta.blocked.rules] == [
        {k: v for k, v in r.items() if k != "largest_skipped"} for r in full_report
    ]
    # only the changed records' blocks and last night's giant ones were counted, yet the giant
    # blocks are the full count's: lee (new), wu (unchanged, no changed record in it), not kim
    full_giants = block_pairs(tonight, RULES.blocking, RULES.max_block_size).giant_blocks
    assert delta.blocked.giant_blocks.sort(pl.all()).rows() == full_giants.sort(pl.all()).rows()
    assert {("family", "lee"), ("family", "wu")} <= set(full_giants.select("rule", "value").rows())
    # the two blocks that crossed the limit (lee in, kim out) made their records count as changed,
    # yet the pair of h and i (unchanged, renumbered, in another order) was only re-compared,
    # and j's pairs none at all: j has none
    assert delta.carried > 0
    assert delta.recompared + delta.carried == full.height
    assert delta.recompared < full.height


def test_the_last_runs_pairs_are_renumbered_to_todays_rids_by_position() -> None:
    """Each pair whose records both carried over gets today's rids (in any order of the rids:
    a record deleted before it, a source reordered); a pair with a record not carried is dropped.
    The same pairs as joining the rids, as a run did before."""
    pairs = pl.DataFrame({"left": [0, 0, 1, 2, 3, 5], "right": [1, 4, 2, 5, 4, 6], "rule": list("abcdef")})
    rids = pl.Series("rid", [7, 3, 0, 1, 2], dtype=pl.UInt32)  # today's rids of the carried records
    previous = pl.Series(PREVIOUS_RID, [0, 1, 2, 4, 6], dtype=pl.UInt32)  # their rids in the last run
    renumbered = _renumbered(pairs, rids, previous)
    clean = pl.DataFrame({"rid": rids.cast(pl.Int64), PREVIOUS_RID: previous.cast(pl.Int64)})
    joined = (
        pairs.join(clean.rename({PREVIOUS_RID: "left", "rid": "_left"}), on="left")
        .join(clean.rename({PREVIOUS_RID: "right", "rid": "_right"}), on="right")
        .select(pl.col("_left").alias("left"), pl.col("_right").alias("right"), "rule")
    )
    assert renumbered.sort("rule").equals(joined.sort("rule"))
    assert renumbered.rows() == [(7, 3, "a"), (7, 1, "b"), (3, 0, "c")]
    assert _renumbered(pairs.head(0), rids.head(0), previous.head(0)).height == 0


def test_the_blocks_counted_on_a_night_are_the_changed_records_and_last_nights_giant_ones() -> None:
    """`_candidate_blocks`: a giant block's value is split back into its key parts; one whose parts
    cannot be told apart (a part holding the separator) makes every block counted (None)."""
    keyed = pl.DataFrame({"rid": [0, 1, 2], "a": ["x", "y", "z"], "b": ["1", "2", "3"]})
    before = pl.DataFrame(
        {"rule": ["r", "r", "other"], "key": ["a + b"] * 3, "value": ["z|3", "q|9", "x|1"], "size": [5, 6, 7]}
    )
    found = _candidate_blocks(keyed, ["a", "b"], "r", pl.Series([1]), before)
    assert found is not None and sorted(found.rows()) == [("q", "9"), ("y", "2"), ("z", "3")]
    assert _candidate_blocks(keyed, ["a", "b"], "r", None, before) is None
    odd = before.with_columns(pl.lit("z|3|x").alias("value"))
    assert _candidate_blocks(keyed, ["a", "b"], "r", pl.Series([1]), odd) is None

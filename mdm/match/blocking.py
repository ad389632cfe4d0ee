"""Blocking: candidate pairs from joins on the blocking keys of rules/match.yaml.

Only candidate pairs are compared and scored, so blocking bounds both the work and the recall:
a true pair that shares no blocking key is never seen. Rules are unioned; a pair found by
several rules is kept once, under the first rule (in file order) that found it, with a bit
mask of every rule that found it (training uses it to learn from each rule's pairs apart).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from mdm.config.rules import BlockingRule, KeyPart
from mdm.incremental.carry import row_hash

PAIRS_SCHEMA: dict[str, Any] = {"left": pl.Int64, "right": pl.Int64, "rule": pl.String, "rule_mask": pl.UInt64}
GIANT_BLOCKS_SCHEMA: dict[str, Any] = {"rule": pl.String, "key": pl.String, "value": pl.String, "size": pl.Int64}
KEY_SEPARATOR = "|"


@dataclass
class Blocked:
    """Candidate pairs and what the run report says about them.

    pairs: left < right (rids), `rule` = first rule that found the pair, `rule_mask` bit i set
    when `blocking[i]` found it. rules: one entry per rule (pairs it found, pairs no earlier
    rule found, blocks skipped, or why the rule was skipped). giant_blocks: one row per skipped
    key value (rule, key columns, value, records sharing it).
    """

    pairs: pl.DataFrame
    blocking: list[BlockingRule] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    giant_blocks: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GIANT_BLOCKS_SCHEMA))


def key_part(part: KeyPart) -> pl.Expr:
    """The expression of one key part; empty strings count as missing."""
    value = pl.col(part.column).cast(pl.String)
    if part.prefix_chars is not None:
        value = value.str.slice(0, part.prefix_chars)
    return pl.when(value.str.len_chars() > 0).then(value).alias(f"_k{part.column}_{part.prefix_chars or 0}")


def missing_columns(rule: BlockingRule, columns: Sequence[str]) -> list[str]:
    return [c for c in rule.columns if c not in columns]


RidRange = tuple[int, int]
"""rids `start` <= rid < `end`: the left (lower) rids of one partition of the candidate pairs."""


Keyed = dict[str, tuple[pl.DataFrame, pl.DataFrame]]
"""Per rule name: its records' keys (`rid`, the key parts; with `touching`, every record's with
KEY_HASH, else those outside its giant blocks) and its giant blocks (the key parts and `size`), as
`rule_pairs` found them for one frame of records: shared by calls with `touching` alone."""


def rule_pairs(
    records: pl.DataFrame,
    rule: BlockingRule,
    max_block_size: int,
    touching: pl.Series | None = None,
    left_in: RidRange | None = None,
    keyed_by: Keyed | None = None,
    giant_before: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(pairs left < right of one rule, its giant blocks). `records` needs `rid` and the key columns.
    With `touching` (rids), only the pairs with at least one record among them; with `left_in`,
    only the pairs whose left rid is in that range (one partition: each pair has one left rid, so
    the partitions of a set of ranges share no pair). The block sizes, and so the giant blocks,
    are those of every record either way. `keyed_by`: the keys and block sizes of calls before
    on the same records and rules, reused (counting every record's blocks is most of the cost),
    and this rule's added.

    `giant_before` (with `touching`: an incremental night's new and changed records, every other
    record as it was in the last run): the last run's giant blocks (GIANT_BLOCKS_SCHEMA); then only
    the blocks of the `touching` records and those giant blocks are counted (`_candidate_blocks`),
    as no other block can be giant tonight."""
    limit = rule.max_block_size or max_block_size
    parts = [key_part(p) for p in rule.key]
    names = [p.meta.output_name() for p in parts]
    if keyed_by is not None and rule.name in keyed_by:
        keyed, giant = keyed_by[rule.name]
    else:
        keyed = records.select("rid", *parts).drop_nulls(names)
        if touching is not None:  # looked up by a hash of the key (`_in_blocks`)
            keyed = keyed.with_columns(_key_hash(names))
        candidates = _candidate_blocks(keyed, names, rule.name, touching, giant_before)
        counted = keyed if candidates is None else _in_blocks(keyed, candidates, names)
        sizes = counted.group_by(names).agg(pl.len().alias("size"))
        giant = sizes.filter(pl.col("size") > limit)
        if giant.height and touching is None:
            keyed = keyed.join(giant.select(names), on=names, how="anti")
        if keyed_by is not None:
            keyed_by[rule.name] = keyed, giant
    if touching is not None:
        others = None if rule.other_key is None else _other_keys(records, rule.other_key, names)
        pairs = _touching_pairs(keyed, others, touching, giant.select(names), names)
    elif rule.other_key is None:
        pairs = (
            _left_in(keyed, left_in)
            .join(keyed, on=names, suffix="_r")
            .filter(pl.col("rid") < pl.col("rid_r"))
            .select(pl.col("rid").alias("left"), pl.col("rid_r").alias("right"))
        )
    else:  # one record's key against the other's other_key (names written in the other order)
        others = _other_keys(records, rule.other_key, names)
        if giant.height:
            others = others.join(giant.select(names), on=names, how="anti")
        if left_in is None:
            pairs = _ordered(keyed.join(others, on=names, suffix="_r"))
        else:  # the lower rid in the range, on either side of the join
            pairs = _ordered(
                pl.concat(
                    [
                        _left_in(keyed, left_in)
                        .join(others, on=names, suffix="_r")
                        .filter(pl.col("rid") < pl.col("rid_r")),
                        keyed.join(_left_in(others, left_in), on=names, suffix="_r").filter(
                            pl.col("rid_r") < pl.col("rid")
                        ),
                    ]
                )
            )
    if touching is not None and left_in is not None:
        pairs = _left_in(pairs, left_in, "left")
    # biggest first, ties by their value: the same report and master table whatever order the blocks were counted in
    described = giant.sort(["size", *names], descending=[True, *[False] * len(names)]).select(
        pl.lit(rule.name).alias("rule"),
        pl.lit(" + ".join(_describe(p) for p in rule.key)).alias("key"),
        pl.concat_str(names, separator=KEY_SEPARATOR).alias("value"),
        pl.col("size").cast(pl.Int64),
    )
    return pairs, described


def _candidate_blocks(
    keyed: pl.DataFrame, names: list[str], rule: str, touching: pl.Series | None, giant_before: pl.DataFrame | None
) -> pl.DataFrame | None:
    """The blocks (key parts `names`) that may be giant tonight: those of the `touching` records
    and the rule's giant blocks of the last run; None (count every block) without both, or when a
    giant block's value cannot be split back into its parts (a part holding KEY_SEPARATOR).

    Every other record is unchanged since the last run, with the same keys (mdm/match/delta.py), so
    a block without a touching record holds the same records as last night or fewer (deleted or
    changed ones left it): not giant then, not giant now (a record changed away from a giant
    block leaves it in the last run's list, so its shrinking is counted)."""
    if touching is None or giant_before is None:
        return None
    values = giant_before.filter(pl.col("rule") == rule)["value"]
    if (values.str.count_matches(KEY_SEPARATOR, literal=True) != len(names) - 1).any():
        return None
    before = values.str.split_exact(KEY_SEPARATOR, len(names) - 1).struct.rename_fields(names).struct.unnest()
    return pl.concat([_touching(keyed, touching).select(names), before]).unique()


KEY_HASH = "_key_hash"


def _key_hash(names: list[str]) -> pl.Expr:
    """A hash of a record's key parts `names` (the records' row hash, `row_hash`): a block is looked
    up by it among every record's keys (a number, where joining on the parts hashes every record's
    strings for each join), and the records found are then joined on the parts themselves, so two
    keys of one hash stay apart."""
    return row_hash(names).alias(KEY_HASH)


def _in_blocks(keyed: pl.DataFrame, blocks: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """The rows of `keyed` (with KEY_HASH) whose key's hash is that of one of `blocks` (few, by
    their key parts `names`): every record of those blocks, and those of another key of the same
    hash, whole blocks too (a join on the parts tells them apart; a count of each block's records
    counts them right)."""
    wanted = blocks.select(_key_hash(names)).to_series().unique()
    return keyed.filter(pl.col(KEY_HASH).is_in(wanted.implode()))


def _other_keys(records: pl.DataFrame, other_key: Sequence[KeyPart], names: list[str]) -> pl.DataFrame:
    """Each record's `other_key` under the names of the rule's key parts `names`, where it has one."""
    parts = [key_part(p).alias(n) for p, n in zip(other_key, names, strict=True)]
    return records.select("rid", *parts).drop_nulls(names)


def _touching_pairs(
    keyed: pl.DataFrame, others: pl.DataFrame | None, touching: pl.Series, giant: pl.DataFrame, names: list[str]
) -> pl.DataFrame:
    """The pairs of one rule with a record among `touching`: its key (in `keyed`, every record's,
    with KEY_HASH, giant blocks included) outside the `giant` blocks joined to the records of the
    same key, or, with `others` (each record's other_key), to those whose other key is its key and
    to those whose key is its other key. Only the blocks of the touching records are looked up."""
    mine = _touching(keyed, touching).join(giant, on=names, how="anti")
    if others is None:
        return _ordered(mine.join(_in_blocks(keyed, mine, names), on=names, suffix="_r"))
    others = others.with_columns(_key_hash(names))
    mine_other = _touching(others, touching).join(giant, on=names, how="anti")
    return _ordered(
        pl.concat(
            [
                mine.join(_in_blocks(others, mine, names), on=names, suffix="_r").select("rid", "rid_r"),
                _in_blocks(keyed, mine_other, names).join(mine_other, on=names, suffix="_r").select("rid", "rid_r"),
            ]
        )
    )


def _left_in(frame: pl.DataFrame, left_in: RidRange | None, column: str = "rid") -> pl.DataFrame:
    return frame if left_in is None else frame.filter(pl.col(column).is_between(*left_in, closed="left"))


def _touching(keyed: pl.DataFrame, rids: pl.Series | None) -> pl.DataFrame:
    return keyed if rids is None else keyed.filter(pl.col("rid").is_in(rids.implode()))


def _ordered(joined: pl.DataFrame) -> pl.DataFrame:
    """Distinct pairs left < right of a join of records (`rid`) with records (`rid_r`)."""
    return (
        joined.filter(pl.col("rid") != pl.col("rid_r"))
        .select(pl.min_horizontal("rid", "rid_r").alias("left"), pl.max_horizontal("rid", "rid_r").alias("right"))
        .unique()
    )


def _describe(part: KeyPart) -> str:
    return part.column if part.prefix_chars is None else f"{part.column}[:{part.prefix_chars}]"


def block_pairs(
    records: pl.DataFrame,
    rules: Sequence[BlockingRule],
    max_block_size: int,
    touching: pl.Series | None = None,
    left_in: RidRange | None = None,
    keyed_by: Keyed | None = None,
    giant_before: pl.DataFrame | None = None,
) -> Blocked:
    """Candidate pairs of `records` (a standardized frame with `rid`) under every blocking rule;
    with `touching` (rids), only the pairs with a record among them (an incremental run's new and
    changed records, mdm/match/delta.py); with `left_in`, only those whose left rid is in the
    range (one partition of the pairs, mdm/match/partitions.py). The report then counts those
    pairs only. `keyed_by`, `giant_before`: see `rule_pairs`.

    A rule naming a column the frame lacks is skipped with a warning and a report entry.
    Raising `max_block_size` finds pairs inside big blocks (recall) at a quadratic cost in pairs.
    """
    if len(rules) > 64:
        raise ValueError(f"{len(rules)} blocking rules; at most 64 fit the rule mask")
    found = []
    report: list[dict[str, Any]] = []
    giants = [pl.DataFrame(schema=GIANT_BLOCKS_SCHEMA)]
    for index, rule in enumerate(rules):
        absent = missing_columns(rule, records.columns)
        if absent:
            warnings.warn(f"blocking rule {rule.name!r} skipped: column(s) {absent} absent", stacklevel=2)
            report.append({"rule": rule.name, "pairs": 0, "new_pairs": 0, "skipped": f"column(s) {absent} absent"})
            continue
        pairs, giant = rule_pairs(records, rule, max_block_size, touching, left_in, keyed_by, giant_before)
        found.append(
            pairs.with_columns(
                pl.lit(index, dtype=pl.UInt8).alias("_rule"), pl.lit(1 << index, dtype=pl.UInt64).alias("_bit")
            )
        )
        giants.append(giant)
        report.append(
            {
                "rule": rule.name,
                "pairs": pairs.height,
                "skipped_blocks": giant.height,
                "skipped_records": int(giant["size"].sum() or 0),
                "largest_skipped": giant.head(3).select("value", "size").to_dicts(),
            }
        )
    if not found:
        return Blocked(pl.DataFrame(schema=PAIRS_SCHEMA), list(rules), report, pl.concat(giants))
    union = _union(pl.concat(found))
    union = union.select(
        "left",
        "right",
        pl.col("_first")
        .replace_strict(list(range(len(rules))), [r.name for r in rules], return_dtype=pl.String)
        .alias("rule"),
        pl.col("rule_mask").cast(pl.UInt64),
    )
    return Blocked(union, list(rules), count_by_rule(union, rules, report), pl.concat(giants))


def count_by_rule(
    union: pl.DataFrame, rules: Sequence[BlockingRule], report: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`report` with each rule's `pairs` (the pairs of `union` it found, by `rule_mask`) and
    `new_pairs` (those no earlier rule found, by `rule`)."""
    found = union.select(
        (pl.col("rule_mask") & pl.lit(1 << index, dtype=pl.UInt64) > 0).sum().alias(rule.name)
        for index, rule in enumerate(rules)
    ).row(0, named=True)
    first = dict(union.group_by("rule").len().iter_rows())
    counted = []
    for entry in report:
        if "skipped" not in entry:
            entry = entry | {"pairs": int(found[entry["rule"]]), "new_pairs": int(first.get(entry["rule"], 0))}
        counted.append(entry)
    return counted


def records_in_blocks(records: pl.DataFrame, rules: Sequence[BlockingRule], blocks: pl.DataFrame) -> pl.Series:
    """The rids of the records whose key (or other_key) under a rule is one of `blocks` (`rule`,
    `value` as in the giant blocks' report)."""
    found = [pl.Series("rid", [], dtype=pl.Int64)]
    for rule in rules:
        values = blocks.filter(pl.col("rule") == rule.name)["value"]
        if values.is_empty() or missing_columns(rule, records.columns):
            continue
        for key in (rule.key, rule.other_key):
            if key is not None:
                value = pl.concat_str([key_part(p) for p in key], separator=KEY_SEPARATOR)
                found.append(records.filter(value.is_in(values.implode()))["rid"].cast(pl.Int64))
    return pl.concat(found).unique().sort()


PAIR_KEY_BASE = 1 << 32
"""A pair of rids below 2**32 is one UInt64 key (left * 2**32 + right): grouping and sorting one
integer column is about twice as fast as two."""

Key = TypeVar("Key", pl.Expr, pl.Series)


def pair_number(left: Key, right: Key) -> Key:
    """The pairs (`left`, `right`: rids or other numbers below 2**32) as one UInt64 each, ordered as
    the pairs are by left, then right (PAIR_KEY_BASE)."""
    return left.cast(pl.UInt64) * PAIR_KEY_BASE + right.cast(pl.UInt64)


def _union(found: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct (left, right) of `found` (`left`, `right`, `_rule`, `_bit`), sorted,
    with `_first` (the lowest rule index) and `rule_mask` (the sum of the rules' bits)."""
    agg = (
        pl.col("_rule").min().alias("_first"),
        pl.col("_bit").sum().alias("rule_mask"),  # a rule finds a pair once: its bits add
    )
    fits = found.height == 0 or (
        min(found["left"].min(), found["right"].min()) >= 0  # type: ignore[type-var, operator]
        and max(found["left"].max(), found["right"].max()) < PAIR_KEY_BASE  # type: ignore[type-var, operator]
    )
    if not fits:
        return found.group_by("left", "right").agg(*agg).sort("left", "right")
    key = pair_number(pl.col("left"), pl.col("right"))
    return (
        found.select(key.alias("_pair"), "_rule", "_bit")
        .group_by("_pair")
        .agg(*agg)
        .sort("_pair")
        .select(
            (pl.col("_pair") // PAIR_KEY_BASE).cast(pl.Int64).alias("left"),
            (pl.col("_pair") % PAIR_KEY_BASE).cast(pl.Int64).alias("right"),
            "_first",
            "rule_mask",
        )
    )

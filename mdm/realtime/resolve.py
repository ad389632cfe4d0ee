"""Resolve one standardized record against the master in memory: candidates by the blocking
rules of rules/match.yaml, scored by the master's model (`score_pairs`, with the master's term
frequencies and prior), grouped by golden customer, and the decision the nightly rules would take:

- match: the best record pair reaches the match threshold and no hard conflict
  (mdm/cluster/conflicts.py, between the record and every record of the customer) stops the merge,
  or a strong id both hold outweighs it;
- review: between the thresholds; or a match a conflict blocked whose evidence, less
  `review.conflict_bits`, still reaches the review threshold (as the review queue judges it);
- non_match: the rest.

Steward decisions about records already in the master do not concern a new record, so they are
not consulted. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from mdm.cluster.conflicts import assess, outweighed, profiles_of
from mdm.cluster.review import bits
from mdm.config.dictionary import Dictionary
from mdm.config.rules import MatchRules
from mdm.match.score import score_pairs
from mdm.realtime.index import ResolverIndex
from mdm.types import PairClass

SKIPPED_NO_KEY = "skipped: encrypted in the master and no data key"


@dataclass(frozen=True)
class Candidate:
    golden_id: str
    match_probability: float
    match_weight: float
    decision: PairClass
    record: tuple[str, str]
    """(source, source_record_id) of the customer's record that matched best"""
    records_compared: int
    blocking_rules: list[str]
    comparisons: list[dict[str, Any]]
    prior_weight: float
    conflict: str | None
    outcome: str


def candidate_rows(index: ResolverIndex, record: pl.DataFrame) -> dict[int, list[str]]:
    """Row of the master's records -> the blocking rules that make it a candidate of `record`."""
    sides, expressions = index.lookups
    # every key of the record in one select: a select per key costs more than all the look-ups
    keys = record.select(expressions).row(0)
    found: dict[int, list[str]] = {}
    for (ri, against), value in zip(sides, keys, strict=True):
        if value is None:
            continue
        rows = against.lookup(int(value), ri.limit)
        if rows is None:  # a giant block: the run skips it, so does the resolver
            continue
        for row in rows:
            names = found.setdefault(row, [])
            if ri.rule.name not in names:
                names.append(ri.rule.name)
    return found


def resolve_record(
    index: ResolverIndex, record: pl.DataFrame, rules: MatchRules, dictionary: Dictionary, limit: int
) -> tuple[list[Candidate], int, list[str]]:
    """(the best `limit` golden customers, most probable first; record pairs scored; notes)."""
    notes: list[str] = []
    if index.encrypted:
        record = record.with_columns(pl.lit(None, pl.String).alias(c) for c in index.encrypted)
        notes.append(
            f"{', '.join(index.encrypted)}: encrypted in the master and the server has no data key, so not"
            " compared (level 'missing', weight 0) and not used for blocking"
        )
    found = candidate_rows(index, record)
    if not found:
        return [], 0, notes
    rows = sorted(found)
    members = index.records[rows]
    columns = [c for c in members.columns if c in record.columns]
    incoming = record.select([pl.col(c).cast(members.schema[c]) for c in columns]).with_columns(
        pl.lit(None, pl.String).alias("golden_id")
    )
    frame = pl.concat([incoming, members.select(*columns, "golden_id")], how="vertical_relaxed").with_row_index("rid")
    frame = frame.with_columns(pl.col("rid").cast(pl.Int64))
    pairs = pl.DataFrame(
        {"left": [0] * len(rows), "right": list(range(1, len(rows) + 1))}, schema={"left": pl.Int64, "right": pl.Int64}
    )
    scored = score_pairs(
        frame,
        pairs,
        index.model,
        threshold_match_probability=index.threshold_match_probability,
        threshold_review_probability=index.threshold_review_probability,
        frequencies=_frequencies_of(index, frame.row(0, named=True)),
        record_count=index.record_count + 1,
    )
    scored = scored.with_columns(pl.Series("golden_id", members["golden_id"]), pl.Series("row", rows)).sort(
        ["match_probability", "row"], descending=[True, False]
    )
    best = scored.unique(subset="golden_id", keep="first", maintain_order=True).head(limit)
    compared = dict(scored.group_by("golden_id").len().iter_rows())
    names = [t.comparison.name for t in index.model.comparisons if f"{t.comparison.name}_level" in scored.columns]
    mine = profiles_of(record, dictionary.strong_ids)
    candidates = []
    for row in best.iter_rows(named=True):
        start, end = index.golden_rows(row["golden_id"], int(row["row"]))
        theirs = profiles_of(index.records.slice(start, end - start), dictionary.strong_ids)
        decision, conflict, outcome = _decide(index, rules, row, *assess(mine, theirs, rules.cannot_link))
        record_row = index.records.row(int(row["row"]), named=True)
        explained = [
            {
                "comparison": n,
                "level": SKIPPED_NO_KEY if _skipped(index, index.model, n) else str(row[f"{n}_level"]),
                "weight": round(float(row[f"{n}_weight"]), 4),
            }
            for n in names
        ]
        candidates.append(
            Candidate(
                golden_id=row["golden_id"],
                match_probability=float(row["match_probability"]),
                match_weight=round(float(row["match_weight"]), 4),
                decision=decision,
                record=(record_row["source"], record_row["source_record_id"]),
                records_compared=int(compared[row["golden_id"]]),
                blocking_rules=found[int(row["row"])],
                comparisons=explained,
                prior_weight=round(float(row["prior_weight"]), 4),
                conflict=conflict,
                outcome=outcome,
            )
        )
    return candidates, scored.height, notes


def _frequencies_of(index: ResolverIndex, record: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The master's term frequencies of the record's own values: every pair has the record on its
    left, and scoring reads the frequency of the left value (`score_pairs`)."""
    out = {}
    for column, table in index.frequencies.items():
        value = record.get(column)
        found = [value] if value is not None and value in table else []
        out[column] = pl.DataFrame(
            {"value": found, "term_frequency": [table[v] for v in found]},
            schema={"value": index.records.schema[column], "term_frequency": pl.Float64},
        )
    return out


def _skipped(index: ResolverIndex, model: Any, name: str) -> bool:
    if not index.encrypted:
        return False
    comparison = next(t.comparison for t in model.comparisons if t.comparison.name == name)
    return any(c in index.encrypted for c in comparison.required_columns)


def _decide(
    index: ResolverIndex, rules: MatchRules, row: dict[str, Any], reason: str | None, strong_id: str | None
) -> tuple[PairClass, str | None, str]:
    """(decision, the conflict if any, what the run would record as the pair's outcome)."""
    probability, weight = float(row["match_probability"]), float(row["match_weight"])
    if probability >= index.threshold_match_probability:
        if reason is None:
            return "match", None, "merged"
        if strong_id is not None:
            return "match", reason, outweighed(reason, strong_id)
        evidence = weight - rules.review.conflict_bits
        queued = evidence >= bits(index.threshold_review_probability)
        return ("review" if queued else "non_match"), reason, f"blocked: {reason}"
    if probability >= index.threshold_review_probability:
        return "review", reason, "review"
    return "non_match", reason, "non_match"

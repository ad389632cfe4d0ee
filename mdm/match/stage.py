"""The match stage: block, score every candidate pair with the Fellegi-Sunter model, classify by the
thresholds of rules/match.yaml."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.rules import Comparison
from mdm.context import PAIR_FILE_COMPRESSION, RunContext
from mdm.files import join_parts
from mdm.incremental.carry import GIANT_BLOCKS_FILE, MATCH_FINGERPRINT, PAIRS_FILE, PREVIOUS_RID
from mdm.match.choose import ModelOrigin, choose_model
from mdm.match.comparisons import usable_comparisons
from mdm.match.delta import DeltaCompared, compare_delta, left_pairs, match_fingerprint
from mdm.match.learn import Learned, LearningReport, label_levels, learn
from mdm.match.model import MatchModel, save_model
from mdm.match.partitions import ComparedParts, compare_in_partitions
from mdm.match.score import frequencies_by_rid, score_pairs, term_frequencies, tf_columns
from mdm.state import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchReport:
    candidate_pairs: int
    pairs_by_class: dict[str, int]
    """match / review / non_match -> pairs."""
    model: ModelOrigin
    model_trained_at: str
    blocking: list[dict[str, Any]]
    """Per blocking rule: `rule`, `pairs`, `new_pairs` (not found by an earlier rule), or `skipped` and why."""
    giant_blocks: int
    learning: LearningReport
    """What the stewards' labels moved (mdm/match/learn.py)."""
    compared_pairs: int = 0
    """Pairs compared in this run: every candidate pair in a full run; in an incremental run those
    with a new or changed record, the others' levels carried over (mdm/match/delta.py)."""


def match_stage(ctx: RunContext) -> MatchReport:
    rules, files = ctx.config.match_rules, ctx.files
    wanted = {"rid"} | {c for b in rules.blocking for c in b.columns}
    wanted |= {c for comparison in rules.comparisons for c in comparison.required_columns}
    available = pl.read_parquet_schema(files.standardized)
    records = pl.read_parquet(files.standardized, columns=[c for c in available if c in wanted])
    with StateStore(ctx.state_dir) as store:
        stored = store.current_model()
        labels = store.labels() if rules.learning.enabled else []
    comparisons = usable_comparisons(records.columns, rules.comparisons)
    delta = _compare_delta(ctx, records, comparisons)
    # the levels are compared once, for training (when this run trains) and scoring alike
    if delta is None:
        compared = compare_in_partitions(records, rules, comparisons, ctx.budget, files.dir, ctx.partitions)
        recompared = compared.candidate_pairs
    else:
        compared = ComparedParts.whole(delta.blocked, delta.compared, comparisons)
        recompared = delta.recompared
        del delta
    left_pairs(compared.scan(), comparisons).sink_parquet(files.compared, compression=PAIR_FILE_COMPRESSION)
    model, origin = choose_model(records, compared.patterns, rules, ctx.config.rules_dir, stored, ctx.retrain)
    # the stewards' answers move m and the thresholds on top of the model as trained (mdm/match/learn.py)
    learned = _learn(ctx, model, records, labels)
    classes = _score_in_slices(ctx, records, compared, learned)
    compared.remove()
    candidate_pairs = compared.candidate_pairs
    save_model(learned.model, files.model)
    if origin == "trained":
        save_model(model, files.model_trained)
    files.thresholds.write_text(
        json.dumps({"match": learned.threshold_match_probability, "review": learned.threshold_review_probability})
    )
    learned.table.write_parquet(files.learning)
    learned.new_labels.write_parquet(files.new_labels)
    compared.giant_blocks.write_parquet(files.giant_blocks)
    log.info(
        "match: %d candidate pairs, %s; model %s; %d labels", candidate_pairs, classes, origin, learned.report.labels
    )
    return MatchReport(
        candidate_pairs=candidate_pairs,
        pairs_by_class={c: classes.get(c, 0) for c in ("match", "review", "non_match")},
        model=origin,
        model_trained_at=model.trained_at.isoformat(),
        blocking=[{k: v for k, v in r.items() if k != "largest_skipped"} for r in compared.rules],
        giant_blocks=compared.giant_blocks.height,
        learning=learned.report,
        compared_pairs=recompared,
    )


SCORE_BYTES_PER_PAIR = 180
"""Scoring's working set per candidate pair: each comparison's weight and term frequency, the
match weight, probability and class (1.6 GiB for 9.3M pairs at 1M records, bench/RESULTS.md)."""


def _score_in_slices(
    ctx: RunContext, records: pl.DataFrame, compared: ComparedParts, learned: Learned
) -> dict[str, int]:
    """Score the compared pairs partition by partition, each in as many slices as the memory budget
    asks (mdm/budget.py), each slice written to disk before the next is scored, into the scored
    pairs' file; the pairs per class. A pair's score depends on that pair's levels and the term
    frequencies of all records, which are counted once, so the slices change nothing."""
    files = ctx.files
    # the columns score_pairs reads frequencies of: the model's comparisons the records can make
    usable = usable_comparisons(records.columns, [t.comparison for t in learned.model.comparisons])
    frequencies = {column: term_frequencies(records, column) for column in tf_columns(usable)}
    # picked by each pair's left rid: the compared pairs hold no left values (compare_for_scoring)
    by_rid = frequencies_by_rid(records, frequencies)
    parts: list[Path] = []
    classes = Counter[str]()
    for pairs in compared.read():
        count = ctx.budget.partitions(pairs.height, SCORE_BYTES_PER_PAIR)
        size = -(-pairs.height // count) if pairs.height else 1
        for start in range(0, max(pairs.height, 1), size):
            piece = pairs.slice(start, size)
            scored = score_pairs(
                records,
                piece,
                learned.model,
                threshold_match_probability=learned.threshold_match_probability,
                threshold_review_probability=learned.threshold_review_probability,
                compared=piece,
                frequencies=frequencies,
                by_rid=by_rid,
            )
            classes.update(dict(scored["match_class"].cast(pl.String).value_counts().iter_rows()))
            parts.append(files.dir / f"scored_{len(parts)}.parquet")
            scored.write_parquet(parts[-1], compression=PAIR_FILE_COMPRESSION)
            del scored, piece
        del pairs
    if len(parts) > 1:
        log.info("match: %d candidate pairs scored in %d slices", compared.candidate_pairs, len(parts))
    join_parts(parts, files.scored, PAIR_FILE_COMPRESSION)
    return dict(classes)


def _compare_delta(ctx: RunContext, records: pl.DataFrame, comparisons: list[Comparison]) -> DeltaCompared | None:
    """The candidate pairs and their levels from the last run's and the new or changed records'
    (mdm/match/delta.py), or None when this run compares every pair."""
    rules, carry = ctx.config.match_rules, ctx.carry
    if carry is None:
        return None
    if not carry.usable(MATCH_FINGERPRINT, match_fingerprint(rules), [PAIRS_FILE, GIANT_BLOCKS_FILE]):
        log.info("incremental: the matching rules changed since the last run; every pair is compared")
        return None
    previous = pl.read_parquet(ctx.files.record_hashes, columns=["rid", PREVIOUS_RID])
    return compare_delta(records, previous, rules, comparisons, carry, ctx.partitions)


def _learn(ctx: RunContext, model: MatchModel, records: pl.DataFrame, labels: list[dict[str, Any]]) -> Learned:
    """The model and thresholds with the stewards' labels applied (the model as is when there are none)."""
    if not labels:
        return learn(model, ctx.config.match_rules, [], records.height)
    keys = pl.read_parquet(ctx.files.standardized, columns=["rid", "source", "source_record_id"])
    placed, new_levels, unusable = label_levels(model, labels, records, keys)
    return learn(model, ctx.config.match_rules, placed, records.height, new_levels, unusable)

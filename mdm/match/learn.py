"""Stewards' answers as labels: they re-estimate the model's m probabilities and the two thresholds
on every run, on top of the model as trained (which the store keeps unchanged). No labels: the
model and the thresholds exactly as they were.

The estimators, and why: docs/architecture.md, section "mdm/match/learn.py".
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.rules import Comparison, MatchRules
from mdm.match.comparisons import compare_pairs, usable_comparisons
from mdm.match.model import PROBABILITY_FLOOR, LevelParameters, MatchModel, TrainedComparison

THRESHOLD_PRIOR_SD = 1.0
"""Prior standard deviation (natural log odds) of the calibration shift the thresholds move by:
before any label the model is taken as calibrated, and a shift of e (a factor 2.7 in the odds)
is one standard deviation away."""
MOVED = 1e-6
"""An m probability that moved less than this (renormalising moves every level a little) is not reported."""
NEW_LABEL_SCHEMA: dict[str, Any] = {"decision_id": pl.Int64, "comparisons": pl.String, "levels": pl.String}
LEARNING_SCHEMA: dict[str, Any] = {
    "parameter": pl.String,
    "comparison": pl.String,
    "level": pl.String,
    "estimate": pl.Float64,
    "previous": pl.Float64,
    "value": pl.Float64,
    "change": pl.Float64,
    "change_this_run": pl.Float64,
    "labels": pl.Int64,
    "new_labels": pl.Int64,
}


@dataclass(frozen=True)
class LearningReport:
    labels: int
    """Labels applied (a steward's live same / not-same answer whose comparison levels are known)."""
    same: int
    not_same: int
    new: int
    """Labels first seen by this run."""
    unusable: int
    """Labels whose records are gone and whose stored levels are of other comparisons."""
    parameters_moved: int
    """m probabilities the labels moved."""
    largest_move: str
    """The m probability that moved most, as `comparison level before -> after`, or ''."""
    threshold_match_probability: float
    threshold_review_probability: float
    band_labels: int
    """Labels between the thresholds, the ones the thresholds are re-estimated from."""


@dataclass
class Learned:
    model: MatchModel
    """The model the run scores with: the model as trained, m moved by the labels."""
    threshold_match_probability: float
    threshold_review_probability: float
    table: pl.DataFrame
    """What moved (LEARNING_SCHEMA), for the master's match_learning."""
    new_labels: pl.DataFrame
    """Levels of the labels whose levels were computed by this run (NEW_LABEL_SCHEMA), for the store."""
    report: LearningReport


def signature(comparisons: Sequence[Comparison]) -> str:
    """Which comparisons stored levels belong to: a hash of their definitions."""
    text = json.dumps([c.model_dump(mode="json") for c in comparisons], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_new_labels(path: Path) -> list[tuple[int, str, str]]:
    """(decision_id, comparisons signature, levels JSON) rows of the work file new_labels."""
    if not path.exists():
        return []
    return [(int(d), str(s), str(levels)) for d, s, levels in pl.read_parquet(path).iter_rows()]


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Label:
    """One steward answer with its comparison levels."""

    decision_id: int
    same: bool
    levels: tuple[int, ...]
    """Level index per comparison of the model (0, the null level, where unknown)."""
    new: bool


def label_levels(
    model: MatchModel,
    labels: Sequence[Mapping[str, Any]],
    records: pl.DataFrame,
    keys: pl.DataFrame,
) -> tuple[list[Label], pl.DataFrame, int]:
    """Each label's comparison levels: stored ones when they are of the model's comparisons, else
    computed from this run's records (`records`: rid and the compared columns; `keys`: rid,
    source, source_record_id). Returns the labels, the levels to store (computed now) and how
    many labels could not be placed (records gone, stored levels of other comparisons)."""
    comparisons = [t.comparison for t in model.comparisons]
    sig = signature(comparisons)
    found: dict[int, tuple[int, ...]] = {}
    pending = []
    for row in labels:
        if row["levels"] is not None and row["comparisons"] == sig:
            stored = json.loads(row["levels"])
            found[row["decision_id"]] = tuple(
                next((i for i, lvl in enumerate(c.levels) if lvl.label == stored.get(c.name)), 0) for c in comparisons
            )
        else:
            pending.append(row)
    computed = []
    if pending:
        wanted = {(r[f"{side}_source"], r[f"{side}_record_id"]) for r in pending for side in ("left", "right")}
        rid = {
            (s, r): i for i, s, r in keys.select("rid", "source", "source_record_id").iter_rows() if (s, r) in wanted
        }
        ends = [
            (row["decision_id"], *((row[f"{side}_source"], row[f"{side}_record_id"]) for side in ("left", "right")))
            for row in pending
        ]
        placed = [(d, rid[a], rid[b]) for d, a, b in ends if a in rid and b in rid]
        if placed:
            usable = usable_comparisons(records.columns, comparisons)
            pairs = pl.DataFrame(
                placed,
                schema={"decision_id": pl.Int64, "left": records.schema["rid"], "right": records.schema["rid"]},
                orient="row",
            )
            levels = compare_pairs(records, pairs, usable, keep=["decision_id"])
            by_name = {c.name: levels[c.name].to_list() for c in usable}
            for i, decision_id in enumerate(levels["decision_id"].to_list()):
                index = tuple(int(by_name[c.name][i]) if c.name in by_name else 0 for c in comparisons)
                found[decision_id] = index
                text = json.dumps({c.name: c.levels[j].label for c, j in zip(comparisons, index, strict=True)})
                computed.append((decision_id, sig, text))
    out = [
        Label(row["decision_id"], row["decision"] == "same", found[row["decision_id"]], row["first_run"] is None)
        for row in labels
        if row["decision_id"] in found
    ]
    return out, pl.DataFrame(computed, schema=NEW_LABEL_SCHEMA, orient="row"), len(labels) - len(out)


def _weights(model: MatchModel) -> list[list[float]]:
    """log2(m / u) per comparison and level (0 for the null level), without term frequencies."""
    return [[level.match_weight for level in t.levels] for t in model.comparisons]


def _probability(model: MatchModel, label: Label, prior_bits: float) -> float:
    weights = _weights(model)
    z = prior_bits + sum(w[i] for w, i in zip(weights, label.levels, strict=True))
    return _sigmoid(z * math.log(2))


def blend_m(model: MatchModel, labels: Sequence[Label], prior_bits: float, em_weight: float) -> MatchModel:
    """m moved by the labels' surprise: for each comparison,

        m'[l] = (K m[l] + sum_i (y_i - p_i) [level_i = l]) / (K + sum_i (y_i - p_i) [level_i not null])

    with K = `em_weight` (how many labels the estimate as trained counts for), y_i 1 for "same"
    and 0 for "not the same", p_i the trained model's probability of the labelled pair (no term
    frequencies). A label the model already agreed with moves nothing; floored at
    PROBABILITY_FLOOR and renormalised over the non-null levels."""
    if not labels:
        return model
    surprise = [(1.0 if lab.same else 0.0) - _probability(model, lab, prior_bits) for lab in labels]
    trained = []
    for c_index, t in enumerate(model.comparisons):
        levels = t.levels
        extra = [0.0] * len(levels)
        for lab, s in zip(labels, surprise, strict=True):
            if lab.levels[c_index] > 0:
                extra[lab.levels[c_index]] += s
        moved = sum(extra)
        if moved == 0.0:
            trained.append(t)
            continue
        denominator = max(em_weight + moved, 1e-12)
        raw = [
            max((em_weight * (level.m_probability or 0.0) + extra[i]) / denominator, PROBABILITY_FLOOR)
            for i, level in enumerate(levels)
        ]
        total = sum(raw[1:])
        new_levels = [levels[0]] + [
            LevelParameters(label=level.label, m_probability=raw[i] / total, u_probability=level.u_probability)
            for i, level in enumerate(levels)
            if i > 0
        ]
        trained.append(TrainedComparison(comparison=t.comparison, levels=new_levels))
    return model.model_copy(update={"comparisons": trained})


def calibration_shift(log_odds: Sequence[float], same: Sequence[bool], sd: float = THRESHOLD_PRIOR_SD) -> float:
    """The shift d (natural log odds) that best makes sigmoid(z + d) the share of "same" answers:
    maximum a posteriori, logistic likelihood, prior N(0, sd^2), by Newton's method."""
    d = 0.0
    for _ in range(100):
        probabilities = [_sigmoid(z + d) for z in log_odds]
        gradient = sum(float(y) - p for y, p in zip(same, probabilities, strict=True)) - d / sd**2
        curvature = sum(p * (1 - p) for p in probabilities) + 1 / sd**2
        step = gradient / curvature
        d += step
        if abs(step) < 1e-10:
            break
    return d


def _move(threshold: float, shift: float, low: float, high: float) -> float:
    """The threshold moved by -shift in log odds, never beyond the labelled probabilities
    [low, high] it was estimated from (it moves towards them, or through them, not past them)."""
    moved = _sigmoid(_logit(threshold) - shift)
    if moved > threshold:
        return min(moved, max(threshold, high))
    return max(moved, min(threshold, low))


def in_band(
    model: MatchModel, labels: Sequence[Label], prior_bits: float, match_t: float, review_t: float
) -> list[Label]:
    """The labels whose pair the (trained) model puts between the thresholds."""
    return [lab for lab in labels if review_t <= _probability(model, lab, prior_bits) < match_t]


def learned_thresholds(
    trained: MatchModel,
    learned: MatchModel,
    labels: Sequence[Label],
    prior_bits: float,
    match_t: float,
    review_t: float,
) -> tuple[float, float, int]:
    """The thresholds moved by the calibration shift of the labels between them (by the trained
    model's probability): (match, review, labels used)."""
    band = in_band(trained, labels, prior_bits, match_t, review_t)
    if not band:
        return match_t, review_t, 0
    probabilities = [_probability(learned, lab, prior_bits) for lab in band]
    clipped = [min(max(p, 1e-12), 1 - 1e-12) for p in probabilities]
    shift = calibration_shift([_logit(p) for p in clipped], [lab.same for lab in band])
    low, high = min(clipped), max(clipped)
    new_match = _move(match_t, shift, low, high)
    new_review = min(_move(review_t, shift, low, high), new_match)
    return new_match, new_review, len(band)


def learn(
    model: MatchModel,
    rules: MatchRules,
    labels: Sequence[Label],
    n_records: int,
    new_labels: pl.DataFrame | None = None,
    unusable: int = 0,
) -> Learned:
    """The model and thresholds with every label applied, and what they moved compared with no
    labels (`estimate`) and with the labels of earlier runs only (`previous`)."""
    settings = rules.learning
    match_t, review_t = rules.threshold_match_probability, rules.threshold_review_probability
    new_labels = new_labels if new_labels is not None else pl.DataFrame(schema=NEW_LABEL_SCHEMA)
    if not settings.enabled or not labels:
        report = LearningReport(0, 0, 0, 0, unusable, 0, "", match_t, review_t, 0)
        return Learned(model, match_t, review_t, pl.DataFrame(schema=LEARNING_SCHEMA), new_labels, report)
    prior_bits = model.prior_weight_for(n_records)
    earlier = [lab for lab in labels if not lab.new]

    def apply(some: Sequence[Label]) -> tuple[MatchModel, float, float, int]:
        learned = blend_m(model, some, prior_bits, settings.em_weight)
        return (learned, *learned_thresholds(model, learned, some, prior_bits, match_t, review_t))

    now, new_match, new_review, band = apply(labels)
    before, prev_match, prev_review, _ = apply(earlier)
    rows: list[tuple[str, str | None, str | None, float, float, float, float, float, int, int]] = []
    triples = zip(model.comparisons, now.comparisons, before.comparisons, strict=True)
    for c_index, (t, t_now, t_before) in enumerate(triples):
        informing = [lab for lab in labels if lab.levels[c_index] > 0]
        for level, level_now, level_before in zip(t.levels[1:], t_now.levels[1:], t_before.levels[1:], strict=True):
            estimate = level.m_probability or 0.0
            value, previous = level_now.m_probability or 0.0, level_before.m_probability or 0.0
            if abs(value - estimate) >= MOVED or abs(value - previous) >= MOVED:
                rows.append(
                    (
                        "m_probability",
                        t.comparison.name,
                        level.label,
                        estimate,
                        previous,
                        value,
                        value - estimate,
                        value - previous,
                        len(informing),
                        sum(lab.new for lab in informing),
                    )
                )
    band_new = sum(lab.new for lab in in_band(model, labels, prior_bits, match_t, review_t))
    for name, estimate, previous, value in (
        ("threshold_match_probability", match_t, prev_match, new_match),
        ("threshold_review_probability", review_t, prev_review, new_review),
    ):
        rows.append((name, None, None, estimate, previous, value, value - estimate, value - previous, band, band_new))
    table = pl.DataFrame(rows, schema=LEARNING_SCHEMA, orient="row")
    moved = table.filter(pl.col("parameter") == "m_probability")
    largest = ""
    if moved.height:
        top = moved.sort(pl.col("change").abs(), descending=True).row(0, named=True)
        largest = f"{top['comparison']} {top['level']} {top['estimate']:.4f} -> {top['value']:.4f}"
    training = dict(now.training) | {
        "labels": {"count": len(labels), "same": sum(lab.same for lab in labels), "em_weight": settings.em_weight}
    }
    now = now.model_copy(update={"training": training})
    report = LearningReport(
        labels=len(labels),
        same=sum(lab.same for lab in labels),
        not_same=sum(not lab.same for lab in labels),
        new=sum(lab.new for lab in labels),
        unusable=unusable,
        parameters_moved=int((moved["change"].abs() >= MOVED).sum()),
        largest_move=largest,
        threshold_match_probability=new_match,
        threshold_review_probability=new_review,
        band_labels=band,
    )
    return Learned(now, new_match, new_review, table, new_labels, report)

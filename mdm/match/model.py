"""The Fellegi-Sunter model: m and u per comparison level, the prior, training and storage (JSON).

How m, u and the prior are estimated, and why the prior is that of two random records:
docs/architecture.md, section "mdm/match/model.py".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mdm.config.rules import Comparison, MatchRules
from mdm.match.blocking import Blocked, block_pairs
from mdm.match.comparisons import compare_pairs, usable_comparisons

MODEL_VERSION = 2
PROBABILITY_FLOOR = 1e-6
"""No m or u goes below this, so no level's weight is infinite."""

STEPS_PER_DOUBLING = 16
"""Scoring reads the counts it depends on (the records scored, for the prior; a value's records
and the records with a value, for term frequencies) in steps of a sixteenth of a doubling
(about 4.4%): a night that adds or removes a few records leaves nearly every pair's score as it was,
so an incremental run rewrites only the pairs that changed (docs/architecture.md, "Stable
scores"). A weight moves by at most 1/32 bit per count read so."""


def in_steps(count: float) -> float:
    """`count` (> 0) rounded to the nearest power of 2^(1/STEPS_PER_DOUBLING), in log scale."""
    return float(2.0 ** (round(math.log2(count) * STEPS_PER_DOUBLING) / STEPS_PER_DOUBLING))


def in_steps_expr(count: pl.Expr) -> pl.Expr:
    """`in_steps` of a column of positive counts."""
    return pl.lit(2.0, dtype=pl.Float64).pow(
        (count.cast(pl.Float64).log(2) * STEPS_PER_DOUBLING).round() / STEPS_PER_DOUBLING
    )


Probabilities = dict[str, list[float]]
"""comparison name -> probability per level index (index 0, the null level, holds 1.0 and is never used)."""


class LevelParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    m_probability: float | None = Field(default=None, ge=0, le=1, description="None for the null level")
    u_probability: float | None = Field(default=None, ge=0, le=1, description="None for the null level")

    @property
    def match_weight(self) -> float:
        """log2(m / u); 0 for the null level."""
        if self.m_probability is None or self.u_probability is None:
            return 0.0
        return math.log2(self.m_probability / self.u_probability)


class TrainedComparison(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comparison: Comparison
    levels: list[LevelParameters]

    @model_validator(mode="after")
    def _labels(self) -> TrainedComparison:
        expected = [level.label for level in self.comparison.levels]
        if [level.label for level in self.levels] != expected:
            raise ValueError(f"{self.comparison.name}: parameters must follow the levels {expected} in order")
        return self


class MatchModel(BaseModel):
    """A trained model: self-contained (comparisons included), so scoring needs nothing else."""

    model_config = ConfigDict(extra="forbid")
    model_version: int = MODEL_VERSION
    trained_at: dt.datetime
    prior_match_probability: float = Field(
        gt=0, lt=1, description="that two records drawn at random from the trained_records are one person"
    )
    trained_records: int = Field(ge=2, description="records the model was trained on")
    comparisons: list[TrainedComparison]
    training: dict[str, Any] = Field(default_factory=dict, description="what training saw, for the run report")

    @property
    def prior_weight(self) -> float:
        return self.prior_weight_for(self.trained_records)

    def prior_weight_for(self, records: int) -> float:
        """log2 prior odds for a data set of `records` records (matches per record held constant;
        `records` read in steps, `in_steps`)."""
        scaled = self.prior_match_probability * (self.trained_records - 1) / in_steps(max(records - 1, 1))
        prior = min(max(scaled, PROBABILITY_FLOOR**2), 0.5)
        return math.log2(prior / (1 - prior))

    def parameters(self) -> pl.DataFrame:
        """One row per comparison level: labels, m, u and the level's match weight."""
        return pl.DataFrame(
            [
                {
                    "comparison": trained.comparison.name,
                    "level": level.label,
                    "m_probability": level.m_probability,
                    "u_probability": level.u_probability,
                    "match_weight": level.match_weight,
                }
                for trained in self.comparisons
                for level in trained.levels
            ]
        )


def save_model(model: MatchModel, path: Path | str) -> Path:
    """Write the model as indented JSON (kept next to the master)."""
    path = Path(path)
    path.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_model(path: Path | str) -> MatchModel:
    model = MatchModel.model_validate_json(Path(path).read_text(encoding="utf-8"))
    if model.model_version != MODEL_VERSION:
        raise ValueError(f"{path}: model_version {model.model_version}; this code reads {MODEL_VERSION}: retrain")
    return model


def build_model(
    comparisons: Sequence[Comparison],
    m: Probabilities,
    u: Probabilities,
    prior: float,
    training: dict[str, Any],
    trained_records: int = 2,
) -> MatchModel:
    trained = []
    for comparison in comparisons:
        levels = [LevelParameters(label=comparison.levels[0].label)]
        for index, level in enumerate(comparison.levels[1:], start=1):
            levels.append(
                LevelParameters(
                    label=level.label, m_probability=m[comparison.name][index], u_probability=u[comparison.name][index]
                )
            )
        trained.append(TrainedComparison(comparison=comparison, levels=levels))
    return MatchModel(
        trained_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        prior_match_probability=prior,
        trained_records=trained_records,
        comparisons=trained,
        training=training,
    )


# ---- estimation -------------------------------------------------------------------------------


def _normalise(counts: Sequence[float]) -> list[float]:
    """Index 0 (null level) becomes 1.0; the rest sum to 1 with each at least PROBABILITY_FLOOR."""
    rest = [max(c, 0.0) for c in counts[1:]]
    total = sum(rest) or 1.0
    floored = [max(c / total, PROBABILITY_FLOOR) for c in rest]
    again = sum(floored)
    return [1.0, *[f / again for f in floored]]


def initial_m(comparisons: Sequence[Comparison]) -> Probabilities:
    """Starting m: most mass on the best level, each lower level a quarter of the one above."""
    return {c.name: _normalise([0.0, *[4.0**-i for i in range(len(c.levels) - 1)]]) for c in comparisons}


def random_pairs(records: pl.DataFrame, count: int, seed: int) -> pl.DataFrame:
    """`count` random record pairs (left != right; a few fewer after dropping self-pairs)."""
    rids = records["rid"]
    return pl.DataFrame(
        {
            "left": rids.sample(count, with_replacement=True, seed=seed),
            "right": rids.sample(count, with_replacement=True, seed=seed + 1),
        }
    ).filter(pl.col("left") != pl.col("right"))


def level_counts(gammas: pl.DataFrame, comparisons: Sequence[Comparison]) -> dict[str, list[int]]:
    out = {}
    for comparison in comparisons:
        counted = dict(gammas[comparison.name].value_counts().iter_rows())
        out[comparison.name] = [int(counted.get(i, 0)) for i in range(len(comparison.levels))]
    return out


def estimate_u(records: pl.DataFrame, comparisons: Sequence[Comparison], sample_pairs: int, seed: int) -> Probabilities:
    """u per level from random record pairs. A level never seen gets half a count: rare, not impossible."""
    gammas = compare_pairs(records, random_pairs(records, sample_pairs, seed), comparisons)
    counts = level_counts(gammas, comparisons)
    return {name: _normalise([0.0, *[c or 0.5 for c in row[1:]]]) for name, row in counts.items()}


@dataclass
class EMResult:
    m: Probabilities
    u: Probabilities
    prior: float
    iterations: int
    converged: bool


def _product(names: Sequence[str], probabilities: Probabilities) -> pl.Expr:
    factors = [
        pl.col(name).replace_strict(list(range(len(probabilities[name]))), probabilities[name], return_dtype=pl.Float64)
        for name in names
    ]
    return pl.fold(pl.lit(1.0, dtype=pl.Float64), lambda acc, x: acc * x, factors)


def expectation_maximisation(
    gammas: pl.DataFrame,
    comparisons: Sequence[Comparison],
    m: Mapping[str, list[float]],
    u: Mapping[str, list[float]],
    prior: float,
    *,
    estimate_m: bool = True,
    estimate_u: bool = False,
    max_iterations: int = 25,
    tolerance: float = 1e-4,
    counts: str | None = None,
) -> EMResult:
    """EM over level indices (one UInt8 column per comparison, 0 = null level, ignored).

    Identical rows are counted once (there are few distinct patterns), so a step costs the same
    for a thousand pairs or ten million; `counts` names a column of `gammas` holding how many
    pairs each row stands for, when they are counted already. By default u stays as given (from
    random pairs) and m and the prior are learned.
    """
    names = [c.name for c in comparisons]
    n = pl.col(counts).sum() if counts else pl.len()
    # in a fixed order, and each level's sums taken over one column (a group_by would add in an
    # order of its threads' choosing): the same pairs train the same model to the last bit
    patterns = gammas.group_by(names).agg(n.cast(pl.Float64).alias("n")).sort(names)
    total = float(patterns["n"].sum())
    m, u = {k: list(m[k]) for k in names}, {k: list(u[k]) for k in names}
    iterations, converged = 0, False
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        weighted = patterns.with_columns(
            (pl.lit(prior) * _product(names, m)).alias("_pm"), (pl.lit(1 - prior) * _product(names, u)).alias("_pu")
        ).select(
            *names,
            (pl.col("n") * pl.col("_pm") / (pl.col("_pm") + pl.col("_pu"))).alias("_match"),
            (pl.col("n") * pl.col("_pu") / (pl.col("_pm") + pl.col("_pu"))).alias("_non_match"),
        )
        new_prior = float(weighted["_match"].sum()) / total
        change = abs(new_prior - prior)
        prior = min(max(new_prior, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
        for comparison in comparisons:
            levels = range(len(comparison.levels))
            sums = weighted.select(
                pl.col(column).filter(pl.col(comparison.name) == level).sum().alias(f"{column}{level}")
                for level in levels
                for column in ("_match", "_non_match")
            ).row(0)
            by_level = {level: (sums[2 * level], sums[2 * level + 1]) for level in levels}
            for estimate, table, slot in ((estimate_m, m, 0), (estimate_u, u, 1)):
                if estimate:
                    new = _normalise([by_level.get(i, (0.0, 0.0))[slot] for i in levels])
                    change = max(change, *(abs(a - b) for a, b in zip(new, table[comparison.name], strict=True)))
                    table[comparison.name] = new
        if change < tolerance:
            converged = True
            break
    return EMResult(m, u, prior, iterations, converged)


def pattern_counts(compared: pl.DataFrame, comparisons: Sequence[Comparison]) -> pl.DataFrame:
    """Each pattern of levels (and of the blocking rules that found it, `rule_mask`) of compared
    pairs once, with its pair count `_pairs`, in a fixed order: all training reads of the pairs.
    The counts of several partitions of the pairs add up (`add_pattern_counts`) to those of all."""
    names = ["rule_mask", *(c.name for c in comparisons)]
    return compared.group_by(names).len("_pairs").with_columns(pl.col("_pairs").cast(pl.Int64)).sort(names)


def add_pattern_counts(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The pattern counts of the union of disjoint sets of pairs, from each set's `pattern_counts`."""
    names = [c for c in parts[0].columns if c != "_pairs"]
    return pl.concat(parts).group_by(names).agg(pl.col("_pairs").sum()).sort(names)


def train_model(
    records: pl.DataFrame,
    rules: MatchRules,
    blocked: Blocked | None = None,
    patterns: pl.DataFrame | None = None,
) -> MatchModel:
    """Estimate u from random pairs, m and the prior by EM on candidate pairs; return the model.

    `records` is the standardized frame (with `rid`); `blocked` is `block_pairs(...)` of it if
    already computed, and `patterns` the `pattern_counts` of its compared pairs, if already
    computed for scoring. The rule masks of the patterns are bits of `blocked.blocking` when given,
    else of `rules.blocking`. Comparisons whose columns are absent are skipped with a warning.
    """
    settings = rules.training
    comparisons = usable_comparisons(records.columns, rules.comparisons)
    if not comparisons:
        raise ValueError("no usable comparison: every comparison's columns are absent from the records")
    if patterns is None:
        if blocked is None:
            blocked = block_pairs(records, rules.blocking, rules.max_block_size)
        compared = compare_pairs(records, blocked.pairs, comparisons, keep=["rule_mask"])
        patterns = pattern_counts(compared, comparisons)
    candidate_pairs = int(patterns["_pairs"].sum())
    if candidate_pairs == 0:
        raise ValueError("no candidate pairs to train on: check the blocking rules")
    u = estimate_u(records, comparisons, settings.u_sample_pairs, settings.seed)
    # each pattern of levels (and of rules that found it) once, with its count: every session
    # below filters and groups a few thousand rows instead of millions
    gammas = patterns
    m_start = initial_m(comparisons)
    estimates: dict[str, list[tuple[float, list[float]]]] = {c.name: [] for c in comparisons}
    sessions = []
    blocking = rules.blocking if blocked is None else blocked.blocking
    for index, rule in enumerate(blocking):
        subset = gammas.filter((pl.col("rule_mask") & (1 << index)) != 0)
        free = [c for c in comparisons if not set(c.required_columns) & set(rule.columns)]
        if subset.height == 0 or not free:
            continue
        result = expectation_maximisation(
            subset,
            free,
            m_start,
            u,
            0.3,
            max_iterations=settings.max_iterations,
            tolerance=settings.tolerance,
            counts="_pairs",
        )
        pairs = int(subset["_pairs"].sum())
        for c in free:
            estimates[c.name].append((result.prior * pairs, result.m[c.name]))
        sessions.append(
            {
                "blocking_rule": rule.name,
                "pairs": pairs,
                "learned": [c.name for c in free],
                "prior_match_probability": round(result.prior, 6),
                "iterations": result.iterations,
                "converged": result.converged,
            }
        )
    m = _pooled(comparisons, estimates, gammas, m_start, u, settings.max_iterations, settings.tolerance)
    final = expectation_maximisation(
        gammas,
        comparisons,
        m,
        u,
        0.3,
        estimate_m=False,
        max_iterations=200,
        tolerance=settings.tolerance / 10,
        counts="_pairs",
    )
    training = {
        "candidate_pairs": candidate_pairs,
        "u_sample_pairs": settings.u_sample_pairs,
        "seed": settings.seed,
        "sessions": sessions,
        "skipped_comparisons": [c.name for c in rules.comparisons if c not in comparisons],
    }
    all_pairs = records.height * (records.height - 1) / 2
    random_pair_prior = min(final.prior * candidate_pairs / all_pairs, 0.5)
    training["prior_among_candidate_pairs"] = round(final.prior, 6)
    return build_model(comparisons, m, u, random_pair_prior, training, trained_records=records.height)


def _pooled(
    comparisons: Sequence[Comparison],
    estimates: dict[str, list[tuple[float, list[float]]]],
    gammas: pl.DataFrame,
    m_start: Probabilities,
    u: Probabilities,
    max_iterations: int,
    tolerance: float,
) -> Probabilities:
    """Each comparison's m averaged over its sessions; one EM on all pairs (`gammas`: patterns of
    levels and their counts, `_pairs`) for any never learned."""
    unlearned = [c for c in comparisons if not any(w > 0 for w, _ in estimates[c.name])]
    fallback = (
        expectation_maximisation(
            gammas, comparisons, m_start, u, 0.3, max_iterations=max_iterations, tolerance=tolerance, counts="_pairs"
        ).m
        if unlearned
        else m_start
    )
    m: Probabilities = {}
    for c in comparisons:
        weight = sum(w for w, _ in estimates[c.name])
        if c in unlearned or weight <= 0:
            m[c.name] = fallback[c.name]
        else:
            levels = len(c.levels)
            m[c.name] = _normalise([sum(w * row[i] for w, row in estimates[c.name]) / weight for i in range(levels)])
    return m

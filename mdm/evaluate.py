"""Pairwise precision, recall and F1 of a clustering against the truth (for benchmarks and tests)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class PairwiseScores:
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(frame: pl.DataFrame, by: list[str]) -> int:
    return int(frame.group_by(by).agg(pl.len().alias("n")).select((pl.col("n") * (pl.col("n") - 1) // 2).sum()).item())


def pairwise_scores(records: pl.DataFrame, predicted: str = "golden_id", truth: str = "person_id") -> PairwiseScores:
    """Scores over the records' pairs: a pair is predicted when both share `predicted`, true
    when both share `truth`. Counting by group sizes keeps this linear in the records."""
    return PairwiseScores(_pairs(records, [predicted, truth]), _pairs(records, [predicted]), _pairs(records, [truth]))

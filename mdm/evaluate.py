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


@dataclass(frozen=True)
class ClusterScores:
    """How whole clusters compare with whole persons (pairwise scores hide a few giant clusters)."""

    persons: int
    clusters: int
    exact_clusters: int
    largest_cluster: int
    largest_person: int

    @property
    def exact_share(self) -> float:
        """Share of true persons whose records form exactly one cluster, with nobody else in it."""
        return self.exact_clusters / self.persons if self.persons else 1.0


def cluster_scores(records: pl.DataFrame, predicted: str = "golden_id", truth: str = "person_id") -> ClusterScores:
    members = records.group_by(predicted).agg(pl.col(truth).sort().alias("_m"))
    persons = records.group_by(truth).agg(pl.col(truth).sort().alias("_m"))
    exact = members.join(persons, on="_m", how="semi").height
    return ClusterScores(
        persons=persons.height,
        clusters=members.height,
        exact_clusters=exact,
        largest_cluster=int(members.select(pl.col("_m").list.len().max()).item() or 0),
        largest_person=int(persons.select(pl.col("_m").list.len().max()).item() or 0),
    )

"""The benchmark measures: pairwise and whole-cluster scores on a frame small enough to count by hand."""

from __future__ import annotations

import polars as pl

from mdm.evaluate import cluster_scores, pairwise_scores

# a: 2 records, one cluster (exact); b: 1 record (exact); c: 2 records split over g3 and g4,
# and g3 also holds d's only record (neither c nor d exact).
RECORDS = pl.DataFrame({"golden_id": ["g1", "g1", "g2", "g3", "g3", "g4"], "person_id": ["a", "a", "b", "c", "d", "c"]})


def test_pairwise_scores() -> None:
    scores = pairwise_scores(RECORDS)
    # predicted pairs: g1 (1), g3 (1); true pairs: a (1), c (1); both right: g1's
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (1, 2, 2)
    assert scores.precision == scores.recall == scores.f1 == 0.5


def test_cluster_scores() -> None:
    scores = cluster_scores(RECORDS)
    assert (scores.persons, scores.clusters, scores.exact_clusters) == (4, 4, 2)
    assert scores.exact_share == 0.5 and scores.largest_cluster == 2 and scores.largest_person == 2

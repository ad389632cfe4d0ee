"""Accuracy of a published master against a generator's truth.csv.

python bench/evaluate_master.py data/out/master.duckdb data/sample/truth.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import polars as pl

from mdm.evaluate import cluster_scores, pairwise_scores


def evaluate(master: Path, truth_csv: Path) -> dict[str, float | int]:
    con = duckdb.connect(str(master), read_only=True)
    try:
        xref = con.sql("SELECT source, source_record_id, golden_id FROM customer_xref").pl()
    finally:
        con.close()
    truth = pl.read_csv(truth_csv, schema_overrides={"record_id": pl.String}).filter(pl.col("record_id").is_not_null())
    truth = truth.unique(["source", "record_id"], keep="first")
    joined = xref.join(truth.rename({"record_id": "source_record_id"}), on=["source", "source_record_id"], how="inner")
    scores = pairwise_scores(joined)
    clusters = cluster_scores(joined)
    return {
        "records": joined.height,
        "truth_records": truth.height,  # more than `records` when rows were quarantined
        "true_pairs": scores.true_pairs,  # among the accepted records
        "predicted_pairs": scores.predicted_pairs,
        "true_positive_pairs": scores.true_positive_pairs,
        "golden_customers": xref["golden_id"].n_unique(),
        "true_persons": joined["person_id"].n_unique(),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "exact_cluster_share": round(clusters.exact_share, 4),  # persons whose records are exactly one golden
        "largest_golden": clusters.largest_cluster,
        "largest_person": clusters.largest_person,
    }


if __name__ == "__main__":
    print(evaluate(Path(sys.argv[1]), Path(sys.argv[2])))

"""Throughput of the probabilistic matching engine (mdm.match) on a standardized frame.

    python bench/bench_match.py STANDARDIZED.parquet

Make the parquet with the ingest and standardize stages on `generated_sources(people, work)`
(bench/generated.py). address_key is built here as a stand-in until standardize provides it.
Prints blocking counts, comparisons and scoring pairs/s on ~1M pairs, u-sampling and EM
seconds. Record the figures in bench/RESULTS.md; nothing here asserts on time.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import polars as pl

from mdm.config.rules import load_match_rules
from mdm.match import block_pairs, score_pairs, train_model
from mdm.match.comparisons import compare_pairs, usable_comparisons
from mdm.match.model import estimate_u, expectation_maximisation, initial_m

out: dict[str, Any] = {}


def timed(name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    out[f"{name}_s"] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    warnings.simplefilter("ignore")
    records = pl.read_parquet(sys.argv[1])
    line1, line2, postcode = pl.col("address_line1_key"), pl.col("address_line2_key"), pl.col("postal_code_key")
    records = records.with_columns(
        pl.when(line1.is_not_null() & postcode.is_not_null())
        .then(pl.concat_str([line1, line2.fill_null(""), postcode]))
        .alias("address_key")
    )
    rules = load_match_rules()
    out["records"] = records.height
    blocked = timed("blocking", lambda: block_pairs(records, rules.blocking, rules.max_block_size))
    out["candidate_pairs"] = blocked.pairs.height
    out["blocking"] = [{k: v for k, v in r.items() if k != "largest_skipped"} for r in blocked.rules]
    out["giant_blocks"] = blocked.giant_blocks.height
    comparisons = usable_comparisons(records.columns, rules.comparisons)
    pairs = blocked.pairs.select("left", "right").head(1_000_000)
    timed("compare_1M", lambda: compare_pairs(records, pairs, comparisons))
    out["compare_pairs_per_s"] = round(pairs.height / out["compare_1M_s"])
    u = timed("estimate_u", lambda: estimate_u(records, comparisons, rules.training.u_sample_pairs, 1))
    gammas = compare_pairs(records, blocked.pairs, comparisons)
    em = timed("em_all_pairs", lambda: expectation_maximisation(gammas, comparisons, initial_m(comparisons), u, 0.3))
    out["em_iterations"] = em.iterations
    model = timed("train_model", lambda: train_model(records, rules, blocked))
    thresholds = {
        "threshold_match_probability": rules.threshold_match_probability,
        "threshold_review_probability": rules.threshold_review_probability,
    }
    timed("score_1M", lambda: score_pairs(records, pairs, model, **thresholds))
    out["score_pairs_per_s"] = round(pairs.height / out["score_1M_s"])
    scored = score_pairs(records, blocked.pairs, model, **thresholds)
    out["classes"] = dict(scored["match_class"].cast(pl.String).value_counts().iter_rows())
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

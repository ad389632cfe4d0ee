"""Stale probabilities and flags against the generator's truth, beside the decay prior and the age-only rule.

    python bench/bench_stale.py --people 20000 [--seed 7] [--choose-seed 20261122] [--work /tmp/mdm-bench]

Generates the four sample sources twice (the generator simulates moves at 2% a month, mobile changes
1%, e-mail changes 0.5%), runs the pipeline without Prefect with --as-of the generator's as_of
(2026-11-01) and the default rules, and joins customer_xref with truth.csv on (source, record id):
a record's value is stale when truth's `<attribute>_is_current` is "0".

On the choose seed it sweeps the stale threshold and the age-only rule's month threshold for the
best F1 of `is_stale` (a record with any stale labelled value); on the report seed it scores:
- per attribute, the Brier score of `<attribute>_stale_probability` beside the decay prior's
  (1 - (1 - monthly_decay) ** months since the record's own update);
- precision / recall / F1 of the flags at the rules' threshold, and of `is_stale` beside the
  age-only rule at the month threshold chosen on the other seed;
- calibration: per bucket of months since the record's update, the mean probability beside the
  true stale share.
Scored: records with a truth label and a comparable value (web sign-ups carry only a ZIP, no
address_key: no address probability). Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402

from mdm.config.survivorship import StalenessRules  # noqa: E402
from mdm.pipeline import run_pipeline  # noqa: E402
from mdm.sample.generator import DEFAULT_AS_OF, DEFAULT_SEED  # noqa: E402
from mdm.stale.flags import ATTRIBUTES, load_staleness_rules  # noqa: E402
from mdm.stale.report import AGE_BUCKETS_MONTHS  # noqa: E402

THRESHOLDS = [round(0.05 + 0.01 * i, 2) for i in range(86)]  # 0.05 .. 0.90
AGE_MONTHS = list(range(1, 48))


def scores(predicted: pl.Series, stale: pl.Series) -> dict[str, float | int]:
    predicted = predicted.fill_null(False)
    tp = int((predicted & stale).sum())
    fp = int((predicted & ~stale).sum())
    fn = int((~predicted & stale).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "flagged": tp + fp}


def scored_records(master: Path, truth_csv: Path) -> pl.DataFrame:
    """customer_xref joined with the truth; `months` since the record's own update."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        xref = con.sql("SELECT x.*, r.as_of FROM customer_xref x JOIN run_log r USING (run_id)").pl()
    finally:
        con.close()
    truth = pl.read_csv(truth_csv, infer_schema=False).rename({"record_id": "source_record_id"})
    as_of = pl.col("as_of").str.to_date()
    day = pl.col("source_updated_at").dt.date()
    months = (as_of - pl.when(day > as_of).then(as_of).otherwise(day)).dt.total_days() / 30.4375  # null: undated
    return xref.join(truth, on=["source", "source_record_id"]).with_columns(months.alias("months"))


def labelled(attribute: str) -> pl.Expr:
    """The record has a truth label and a probability for the attribute."""
    return pl.col(f"{attribute}_is_current").is_in(["0", "1"]) & pl.col(f"{attribute}_stale_probability").is_not_null()


def record_truth(joined: pl.DataFrame) -> pl.DataFrame:
    """Records with at least one labelled, scored value; `stale`: any of those truly stale."""
    any_labelled = pl.any_horizontal(labelled(a) for a in ATTRIBUTES)
    stale = pl.any_horizontal((pl.col(f"{a}_is_current") == "0") & labelled(a) for a in ATTRIBUTES)
    return joined.filter(any_labelled).with_columns(stale.alias("stale"))


def flags_at(records: pl.DataFrame, threshold: float) -> pl.Series:
    """is_stale at another threshold: any labelled value's probability reaching it."""
    return records.select(
        pl.any_horizontal(
            (labelled(a) & (pl.col(f"{a}_stale_probability") >= threshold)).fill_null(False) for a in ATTRIBUTES
        )
    ).to_series()


def choose(records: pl.DataFrame) -> dict[str, Any]:
    """The threshold and the age-only month threshold with the best is_stale F1."""
    stale = records["stale"]
    by_threshold = {t: scores(flags_at(records, t), stale)["f1"] for t in THRESHOLDS}
    by_months = {m: scores(records["months"] >= m, stale)["f1"] for m in AGE_MONTHS}
    best_t = max(by_threshold, key=lambda t: (by_threshold[t], -t))
    best_m = max(by_months, key=lambda m: (by_months[m], -m))
    return {
        "threshold": best_t,
        "threshold_f1": by_threshold[best_t],
        "f1_by_threshold": {t: by_threshold[t] for t in THRESHOLDS if round(t * 100) % 5 == 0},
        "age_months": best_m,
        "age_f1": by_months[best_m],
    }


def evaluate(joined: pl.DataFrame, rules: StalenessRules, age_months: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attribute in ATTRIBUTES:
        scored = joined.filter(labelled(attribute))
        truth = (scored[f"{attribute}_is_current"] == "0").cast(pl.Float64)
        probability = scored[f"{attribute}_stale_probability"]
        prior = 1 - (1 - rules.decay(attribute)) ** scored["months"].clip(lower_bound=0)
        calibration = []
        for low, high in AGE_BUCKETS_MONTHS:
            upper = scored["months"] < high if high is not None else pl.Series([True] * scored.height)
            bucket = (scored["months"] >= low) & upper
            if bucket.sum() == 0:
                continue
            calibration.append(
                {
                    "months": f"{low}-{high}" if high is not None else f"{low}+",
                    "records": int(bucket.sum()),
                    "predicted": round(float(probability.filter(bucket).mean()), 3),  # type: ignore[arg-type]
                    "true": round(float(truth.filter(bucket).mean()), 3),  # type: ignore[arg-type]
                    "prior": round(float(prior.filter(bucket).mean()), 3),  # type: ignore[arg-type]
                }
            )
        out[attribute] = {
            "records": scored.height,
            "truly_stale": int(truth.sum()),
            "brier": round(float(((probability - truth) ** 2).mean()), 4),  # type: ignore[operator]
            "brier_prior": round(float(((prior - truth) ** 2).mean()), 4),  # type: ignore[operator]
            "flags": scores(scored[f"{attribute}_is_stale"], truth == 1),
            "calibration": calibration,
            "worst_bucket_gap": max(abs(c["predicted"] - c["true"]) for c in calibration),
        }
    records = record_truth(joined)
    out["is_stale"] = {
        "records": records.height,
        "truly_stale": int(records["stale"].sum()),
        "flags": scores(flags_at(records, rules.threshold_stale_probability), records["stale"]),
        "age_only": scores(records["months"] >= age_months, records["stale"]),
        "age_only_months": age_months,
        "age_only_best_here": choose(records)["age_f1"],
    }
    return out


def run(people: int, work: Path, seed: int) -> pl.DataFrame:
    sources = generated_sources(people, work, seed)
    master = work / f"master_stale_{people}_{seed}.duckdb"
    run_pipeline(sources, master, state=work / f"state_stale_{people}_{seed}", as_of=DEFAULT_AS_OF)
    return scored_records(master, sources.parent / "truth.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7, help="the seed scored (default 7)")
    parser.add_argument("--choose-seed", type=int, default=DEFAULT_SEED, help="the seed thresholds are chosen on")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    args = parser.parse_args()
    rules = load_staleness_rules(Path(__file__).parents[1] / "rules" / "survivorship.yaml")
    chosen = choose(record_truth(run(args.people, args.work, args.choose_seed)))
    print(
        f"seed {args.choose_seed}: best is_stale F1 {chosen['threshold_f1']} at threshold {chosen['threshold']}"
        f" (rules: {rules.threshold_stale_probability}); age-only best F1 {chosen['age_f1']}"
        f" at >= {chosen['age_months']} months"
    )
    result = evaluate(run(args.people, args.work, args.seed), rules, chosen["age_months"])
    print(f"seed {args.seed}:")
    print(
        f"{'attribute':<10}{'records':>9}{'stale':>7}{'Brier':>8}{'prior':>8}"
        f"   {'flags P / R / F1':<22}{'worst gap':>10}"
    )
    for attribute in ATTRIBUTES:
        row = result[attribute]
        f = row["flags"]
        print(
            f"{attribute:<10}{row['records']:>9}{row['truly_stale']:>7}{row['brier']:>8.4f}{row['brier_prior']:>8.4f}"
            f"   {f['precision']:.3f} / {f['recall']:.3f} / {f['f1']:.3f}   {row['worst_bucket_gap']:>8.3f}"
        )
    stale = result["is_stale"]
    f, age = stale["flags"], stale["age_only"]
    print(
        f"is_stale  {stale['records']:>9}{stale['truly_stale']:>7}   flags {f['precision']:.3f} / {f['recall']:.3f} /"
        f" {f['f1']:.3f}; age-only (>= {stale['age_only_months']} months) {age['precision']:.3f} /"
        f" {age['recall']:.3f} / {age['f1']:.3f} (best age threshold on this seed: F1 {stale['age_only_best_here']})"
    )
    print(json.dumps({"choose_seed": args.choose_seed, "chosen": chosen, "seed": args.seed, "stale": result}, indent=2))


if __name__ == "__main__":
    main()

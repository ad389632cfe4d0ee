"""Precision and recall of the stale flags against the generator's truth, beside the age-only rule.

    python bench/bench_stale.py --people 20000 [--work /tmp/mdm-bench]

Generates the four sample sources (seed 20261122; the generator simulates moves at 2% a month,
mobile changes 1%, e-mail changes 0.5%), runs the pipeline without Prefect with --as-of the
generator's as_of (2026-11-01), joins customer_xref with truth.csv on (source, record id) and
scores each record's `<attribute>_is_stale` against `<attribute>_is_current == "0"`. The
age-only rule (stale iff freshness of the record's own update < the threshold, i.e. older than
about 11 months) is scored on the same records: those with a truth label and a comparable value
(web sign-ups carry only a ZIP, no address_key, so they have no address flag and are left out).
Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402

from mdm.pipeline import run_pipeline  # noqa: E402
from mdm.sample.generator import DEFAULT_AS_OF  # noqa: E402
from mdm.stale.flags import ATTRIBUTES, load_staleness_rules  # noqa: E402


def scores(predicted: pl.Series, stale: pl.Series) -> dict[str, float | int]:
    tp = int((predicted & stale).sum())
    fp = int((predicted & ~stale).sum())
    fn = int((~predicted & stale).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "flagged": tp + fp}


def evaluate(master: Path, truth_csv: Path, stale_after_months: float) -> dict[str, dict[str, object]]:
    """Per attribute: records scored, truly stale, and the scores of both rules."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        xref = con.sql(
            "SELECT x.source, x.source_record_id, x.source_updated_at, x.address_is_stale, x.phone_is_stale,"
            " x.email_is_stale, x.run_id, r.as_of FROM customer_xref x JOIN run_log r USING (run_id)"
        ).pl()
    finally:
        con.close()
    truth = pl.read_csv(truth_csv, infer_schema=False).rename({"record_id": "source_record_id"})
    as_of = pl.col("as_of").str.to_date()
    day = pl.col("source_updated_at").dt.date()
    months = (as_of - pl.when(day > as_of).then(as_of).otherwise(day)).dt.total_days() / 30.4375  # null: undated
    joined = xref.join(truth, on=["source", "source_record_id"]).with_columns(months.alias("months"))
    out: dict[str, dict[str, object]] = {}
    for attribute in ATTRIBUTES:
        scored = joined.filter(
            pl.col(f"{attribute}_is_current").is_in(["0", "1"]), pl.col(f"{attribute}_is_stale").is_not_null()
        )
        stale = scored[f"{attribute}_is_current"] == "0"
        out[attribute] = {
            "records": scored.height,
            "truly_stale": int(stale.sum()),
            "labelled_without_flag": joined.filter(
                pl.col(f"{attribute}_is_current").is_in(["0", "1"]), pl.col(f"{attribute}_is_stale").is_null()
            ).height,
            "evidence": scores(scored[f"{attribute}_is_stale"], stale),
            "age_only": scores((scored["months"] > stale_after_months).fill_null(False), stale),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    args = parser.parse_args()
    sources = generated_sources(args.people, args.work)
    master = args.work / f"master_stale_{args.people}.duckdb"
    summary = run_pipeline(sources, master, state=args.work / f"state_stale_{args.people}", as_of=DEFAULT_AS_OF)
    rules = load_staleness_rules(Path(__file__).parents[1] / "rules" / "survivorship.yaml")
    result = evaluate(master, sources.parent / "truth.csv", rules.stale_after_months)
    print(f"{'attribute':<10}{'records':>9}{'stale':>7}   {'evidence P / R / F1':<22}{'age-only P / R / F1':<22}")
    for attribute, row in result.items():
        ev, age = row["evidence"], row["age_only"]
        assert isinstance(ev, dict) and isinstance(age, dict)
        print(
            f"{attribute:<10}{row['records']:>9}{row['truly_stale']:>7}   "
            f"{ev['precision']:.3f} / {ev['recall']:.3f} / {ev['f1']:.3f}   "
            f"{age['precision']:.3f} / {age['recall']:.3f} / {age['f1']:.3f}"
        )
    print(json.dumps({"as_of": summary.as_of, "seconds": summary.seconds, "stale": result}, indent=2))


if __name__ == "__main__":
    main()

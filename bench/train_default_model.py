"""Train the match model shipped beside the rules (rules/match_model.json).

    python bench/train_default_model.py [--people 20000] [--work /tmp/mdm-bench]

A run with fewer records than `training.min_records` cannot learn m and u from its own data
and scores with this model instead. It is trained here, by the ordinary pipeline, on the
sample generator's four sources (seed 20261122); the generator's size and seed are written
into the model's `training` section. Rerun it whenever the comparisons in rules/match.yaml change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from mdm.match import load_model, save_model
from mdm.pipeline import run_pipeline

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402

TARGET = Path(__file__).parents[1] / "rules" / "match_model.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    args = parser.parse_args()
    sources = generated_sources(args.people, args.work)
    master = args.work / f"default_model_{args.people}" / "master.duckdb"
    summary = run_pipeline(sources, master, as_of=dt.date(2026, 11, 1), retrain=True)
    model = load_model(master.with_suffix(".model.json"))
    model.training["trained_on"] = f"mdm sample generator, seed 20261122, {args.people} people"
    model.training["records"] = summary.standardize.records
    save_model(model, TARGET)
    records = summary.standardize.records
    print(f"wrote {TARGET} ({records} records, prior {model.prior_match_probability:.4f})")


if __name__ == "__main__":
    main()

"""Seconds and peak memory of the stale computation at volume, on the records of a benchmark run.

    python bench/bench_stale_speed.py --work /tmp/mdm-bench --people 20000 --seed 20261122 --repeat 22

Reads the standardized records (the run's state: records/standardized.parquet) and their golden
ids (the master's customer_xref) that `bench_stale.py` left under --work, repeats them `--repeat`
times as distinct customers (20,000 people x 22: about 990,000 records), and times flag_stale plus
the run report's calibration table, as the stale stage runs them (without the file I/O). Peak RSS
is this process's. Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import duckdb
import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.sample.generator import DEFAULT_AS_OF, DEFAULT_SEED
from mdm.stale.flags import ATTRIBUTES, flag_stale, load_staleness_rules, stale_inputs
from mdm.stale.report import calibration_by_months


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=22)
    args = parser.parse_args()
    rules: StalenessRules = load_staleness_rules(Path(__file__).parents[1] / "rules" / "survivorship.yaml")
    name = f"{args.people}_{args.seed}"
    con = duckdb.connect(str(args.work / f"master_stale_{name}.duckdb"), read_only=True)
    try:
        golden_ids = con.sql("SELECT source, source_record_id, golden_id FROM customer_xref").pl()
    finally:
        con.close()
    standardized = pl.read_parquet(args.work / f"state_stale_{name}" / "records" / "standardized.parquet")
    records = stale_inputs(standardized.join(golden_ids, on=["source", "source_record_id"]), rules)
    del standardized
    big = pl.concat(
        records.with_columns(pl.col("golden_id") + f"_{i}", pl.col("source_record_id") + f"_{i}")
        for i in range(args.repeat)
    )
    golden = big.group_by("golden_id").agg(pl.col(rules.column(a)).drop_nulls().last() for a in ATTRIBUTES)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    started = time.perf_counter()
    flags = flag_stale(big, golden, DEFAULT_AS_OF, rules)
    calibration_by_months(flags.checks, rules)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{big.height} records, {golden.height} golden customers: {seconds:.1f} s,"
        f" peak RSS {peak} MiB ({before} MiB before the computation)"
    )


if __name__ == "__main__":
    main()

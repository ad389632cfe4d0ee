"""Standardize stage throughput: N generated raw records, seconds per field kind, peak memory.

    python bench/bench_standardize.py --people 440000      # about 1M raw records

Target (issue 3): 1M raw records standardized in at most 30 s on the 2-core machine with
peak memory under 3 GiB. Ingest (reading the files) is timed separately and not counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from mdm.config.dictionary import load_dictionary
from mdm.config.sources import load_sources
from mdm.ingest import ingest_source
from mdm.standardize import distinct_values, stage

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402
from memory import PeakTreeRss  # noqa: E402


def timed_standardizers(times: dict[str, float]) -> None:
    """Wrap every standardizer so its time is added to times[kind]."""

    def wrap(kind: str, fn: Any) -> Any:
        def inner(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[kind] += time.perf_counter() - started

        return inner

    for table in (stage.BY_KIND, stage.NEEDS_COUNTRY):
        for kind, fn in list(table.items()):
            table[kind] = wrap(kind, fn)
    stage.standardize_country = wrap("country", stage.standardize_country)
    stage.parse_full_name = wrap("full_name", stage.parse_full_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=440_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    parser.add_argument("--workers", type=int, default=None, help="processes for per-value work (default: cores)")
    args = parser.parse_args()
    dictionary = load_dictionary()
    config = load_sources(generated_sources(args.people, args.work), dictionary.names)
    started = time.perf_counter()
    ingested = [(source, ingest_source(config, source, dictionary)) for source in config.sources]
    ingest_seconds = time.perf_counter() - started
    rows = sum(r.rows_accepted for _, r in ingested)
    times: dict[str, float] = defaultdict(float)
    timed_standardizers(times)
    started = time.perf_counter()
    with PeakTreeRss() as tree, distinct_values(workers=args.workers) as run:
        frames = [stage.standardize_source(r, s, dictionary, dt.date(2026, 11, 1)) for s, r in ingested]
    records = pl.concat(frames)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "records": rows,
                "ingest_seconds": round(ingest_seconds, 1),
                "standardize_seconds": round(seconds, 1),
                "records_per_second": round(rows / seconds),
                "peak_rss_mib": round(peak),
                "peak_rss_with_workers_mib": tree.mib,
                "seconds_by_kind": {k: round(v, 2) for k, v in sorted(times.items(), key=lambda kv: -kv[1])},
                "columns": records.width,
                "parallel_batches": run.parallel_batches,
                "workers": run.workers,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Cost of golden ids and history at scale: synthetic golden customers, two runs.

    python bench/bench_golden_history.py [GOLDEN_RECORDS]   (default 1,000,000)

Run 1 opens a version of every golden record (segment + golden_versions rows) and commits
GOLDEN_RECORDS ids, registry rows and "created" events in one store transaction; run 2 changes
1% of the records. For each run: prepare_history (hash, compare, write the segment), the
master's history table built by DuckDB, and save_assignments. Prints JSON; record the figures
in bench/RESULTS.md. Nothing here asserts on time.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from mdm.golden.history import prepare_history
from mdm.state.store import StateStore


def customers(n: int, changed_every: int | None = None) -> pl.DataFrame:
    """A golden_customers-like frame; with changed_every, every k-th e-mail differs."""
    i = pl.int_range(0, n, eager=True)
    email = pl.format("person{}@example.com", i)
    if changed_every:
        email = pl.when(i % changed_every == 0).then(pl.format("moved{}@example.org", i)).otherwise(email)
    return pl.DataFrame({"i": i}).select(
        pl.format("G{}", i.cast(pl.String).str.zfill(9)).alias("golden_id"),
        pl.lit("Ann").alias("given_name"),
        pl.format("Family{}", i % 5000).alias("family_name"),
        (pl.date(1950, 1, 1) + pl.duration(days=pl.lit(i % 20000))).alias("birth_date"),
        email.alias("email"),
        pl.format("+1415{}", (i % 10_000_000).cast(pl.String).str.zfill(7)).alias("phone"),
        pl.lit("12 Oak St").alias("address_line1"),
        pl.lit("San Francisco").alias("city"),
        pl.lit(2, dtype=pl.UInt32).alias("record_count"),
        pl.lit(["crm", "web"]).alias("sources"),
        pl.lit(0.93).alias("address_freshness"),
        pl.lit("run").alias("run_id"),
    )


def one_run(state: Path, work: Path, run_id: str, frame: pl.DataFrame, first: bool) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    store = StateStore(state)
    store.start_run(run_id, code_version="bench", sources_path="-", master_path="-", as_of="2026-11-01")
    started = time.perf_counter()
    update = prepare_history(store, run_id, frame, work)
    timings["prepare_history_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    con = duckdb.connect(str(work / f"{run_id}.duckdb"))
    table = update.tables["golden_customers_history"]
    table = table() if callable(table) else table
    assert isinstance(table, str)
    con.sql(f"CREATE TABLE golden_customers_history AS {table}")
    timings["master_history_rows"] = con.sql("SELECT count(*) FROM golden_customers_history").fetchall()[0][0]
    con.close()
    timings["master_history_table_s"] = round(time.perf_counter() - started, 2)
    ids = frame["golden_id"]
    assignments = frame.select(source=pl.lit("crm"), source_record_id="golden_id", golden_id="golden_id")
    created = frame.select(
        kind=pl.lit("created"), old_id=pl.lit(None, dtype=pl.String), new_id="golden_id", reason=pl.lit("new records")
    )
    started = time.perf_counter()
    store.save_assignments(
        run_id,
        assignments,
        ids if first else [],
        len(ids) + 1,
        events=created if first else created.clear(),
        versions=update.changes,
    )
    timings["save_assignments_s"] = round(time.perf_counter() - started, 2)
    timings["opened"], timings["closed"] = update.opened, update.closed
    store.close()
    return timings


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    out: dict[str, Any] = {"golden_records": n, "date": dt.date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        state, work = Path(tmp) / "state", Path(tmp) / "work"
        work.mkdir()
        out["run_1"] = one_run(state, work, "r1", customers(n), first=True)
        out["run_2_one_percent_changed"] = one_run(state, work, "r2", customers(n, changed_every=100), first=False)
        out["store_mib"] = round((state / StateStore.FILENAME).stat().st_size / 2**20, 1)
        out["segments_mib"] = round(sum(p.stat().st_size for p in (state / "history").iterdir()) / 2**20, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

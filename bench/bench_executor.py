"""The default executor against `--executor dask` on generated data: same master, and the time.

    python bench/bench_executor.py --people 20000 [--work /tmp/mdm-bench-executor] [--workers 2]

A base run trains the model; from two copies of its master and store, a `--full` run with the
default executor and one on a local Dask cluster of `--workers` workers, each in its own child
process. Prints their seconds per stage and whether every table a reader trusts is the same in
both masters (run ids aside); exits 1 when one differs. Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402

AS_OF = "2026-11-01"
RUN = """
import json, sys, time, datetime as dt
from mdm.executor import ExecutorSettings
from mdm.pipeline import run_pipeline, call_directly
times = {}
def timed(name, stage, ctx):
    started = time.perf_counter()
    result = call_directly(name, stage, ctx)
    times[name] = round(time.perf_counter() - started, 2)
    return result
if __name__ == "__main__":
    kind, workers = sys.argv[4], int(sys.argv[5])
    settings = ExecutorSettings(kind, workers=workers) if kind == "dask" else ExecutorSettings()
    started = time.perf_counter()
    run_pipeline(sys.argv[1], sys.argv[2], as_of=dt.date.fromisoformat(sys.argv[3]), call=timed,
                 full=kind != "base", executor=settings)
    print(json.dumps({"stage_seconds": times, "seconds": round(time.perf_counter() - started, 2)}))
"""
COMPARED = [
    "golden_customers",
    "customer_xref",
    "source_records",
    "golden_attribute_lineage",
    "match_pairs",
    "review_queue",
    "customer_tags",
    "id_events",
]
RUN_COLUMNS = ("run_id", "valid_from_run", "valid_to_run")


def run(work: Path, sources: Path, master: Path, kind: str, workers: int) -> dict[str, object]:
    script = work / "run_one.py"
    script.write_text(RUN)
    out = subprocess.run(
        [sys.executable, str(script), str(sources), str(master), AS_OF, kind, str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def table(master: Path, name: str) -> pl.DataFrame:
    con = duckdb.connect(str(master), read_only=True)
    try:
        frame: pl.DataFrame = con.sql(f'SELECT * FROM "{name}"').pl()
    finally:
        con.close()
    frame = frame.drop([c for c in frame.columns if c in RUN_COLUMNS])
    return frame.sort(frame.columns, nulls_last=True) if frame.height else frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench-executor"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sources = generated_sources(args.people, args.work)
    root = args.work / f"executor_{args.people}"
    shutil.rmtree(root, ignore_errors=True)
    base = root / "base" / "master.duckdb"
    started = time.perf_counter()
    run(args.work, sources, base, "base", args.workers)
    print(f"base run (trains the model): {time.perf_counter() - started:.1f} s")
    results, masters = {}, {}
    for kind in ("local", "dask"):
        masters[kind] = root / kind / "master.duckdb"
        shutil.copytree(base.parent, masters[kind].parent)
        results[kind] = run(args.work, sources, masters[kind], kind, args.workers)
    same = {name: table(masters["dask"], name).equals(table(masters["local"], name)) for name in COMPARED}
    records = table(masters["local"], "customer_xref").height
    print(json.dumps({"people": args.people, "records": records, **results, "same_tables": same}, indent=2))
    if not all(same.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Memory and time of golden id assignment at scale: synthetic records and clusterings, two nights.

    python bench/bench_golden_ids.py [RECORDS]   (default 5,000,000)

The first night assigns ids to RECORDS records in RECORDS / 2 clusters with an empty registry. The
store then holds a registry from a previous night of 98% of them (pairs of records per customer),
with some retired ids: ids retired because their records were gone (their records partly come
back: revivals) and ids merged into others (chains to follow). The next night has RECORDS records:
2% of the registry absent, new records, 1% of the customers split in two and 1% merged in pairs.

For each step: seconds and the peak resident memory it added (sampled, bench/memory.py), each in
a process of its own so one step's freed memory does not hide the next one's: the first night's
assign_golden_ids, StateStore.registry(), the next night's assign_golden_ids and the write of its
id work file (RunIds, with its size). Prints JSON; record the figures in bench/RESULTS.md. Nothing
here asserts on time or memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import PeakTreeRss, tree_rss_bytes  # noqa: E402

from mdm.golden.ids import IdAssignment, assign_golden_ids  # noqa: E402
from mdm.golden.stage import RunIds  # noqa: E402
from mdm.state.store import StateStore  # noqa: E402

MIB = 2**20


def night_records(first: int, end: int, new: int) -> pl.DataFrame:
    """Records r<first>..r<end - 1> seen before and `new` records never seen, with cluster labels:
    pairs of records by default (label i // 2); every 100th pair split in two, pairs 50 and 51 of
    every 100 merged into one cluster."""
    i = pl.int_range(first, end + new, dtype=pl.Int64)
    pair = i // 2
    label = (
        pl.when((pair % 100 == 0) & (i % 2 == 1))
        .then(i + 10**12)  # the other half of a split pair: a cluster of its own
        .when(pair % 100 == 51)
        .then(pair - 1)
        .otherwise(pair)
    )
    return pl.select(
        source=pl.when(i % 2 == 0).then(pl.lit("crm")).otherwise(pl.lit("web")),
        source_record_id=pl.format("r{}", i),
        label=label,
    )


def first_night_records(n: int) -> pl.DataFrame:
    i = pl.int_range(0, n, dtype=pl.Int64)
    return pl.select(
        source=pl.when(i % 2 == 0).then(pl.lit("crm")).otherwise(pl.lit("web")),
        source_record_id=pl.format("r{}", i),
        label=i // 2,
    )


def prepare(work: Path, n: int) -> None:
    """The store after a previous night of 98% of `n` records, its retired ids, and the next
    night's records (parquet), in `work`."""
    known = n * 98 // 100
    previous = first_night_records(known)
    assignment = assign_golden_ids(previous, previous["label"], _empty_registry(), 1, retired={})
    with StateStore(work / "state") as store:
        store.save_assignments(
            "night-1",
            previous.with_columns(golden_id=assignment.golden_ids),
            assignment.new_ids,
            assignment.next_number,
            events=assignment.events,
        )
        con = store._con
        # 1 customer in 1,000 of the first 5% retired because its records were gone (half of them
        # come back: the next night leaves out the first 2%), 1 in 1,000 merged into an id two on
        gone = [(StateStore.format_id(c + 1),) for c in range(0, known // 40, 1000)]
        merged = [(StateStore.format_id(c + 3), StateStore.format_id(c + 1)) for c in range(500, known // 40, 1000)]
        con.executemany("UPDATE golden_ids SET retired_run = 'night-0' WHERE golden_id = ?", gone)
        con.executemany("UPDATE golden_ids SET retired_run = 'night-0', merged_into = ? WHERE golden_id = ?", merged)
    night_records(n // 50, known, n - known + n // 50).write_parquet(work / "next_night.parquet")


def _empty_registry() -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(["source", "source_record_id", "golden_id"], pl.String))


def step_call(work: Path, step: str) -> tuple[Callable[[], object], dict[str, Any]]:
    """The call a step measures, with its inputs read beforehand (so they are not counted), and
    what to report about them."""
    if step == "first_night_assign":
        records = first_night_records(int((work / "records").read_text()))
        return lambda: assign_golden_ids(records, records["label"], _empty_registry(), 1, retired={}), {}
    if step == "registry":
        return StateStore(work / "state").registry, {}
    with StateStore(work / "state") as store:
        registry, next_number, retired = store.registry(), store.peek_next_numbers(), store.retired_ids()
    records = pl.read_parquet(work / "next_night.parquet")
    inputs = {"registry_rows": registry.height, "records": records.height, "retired_ids": len(retired)}

    def assign() -> IdAssignment:
        return assign_golden_ids(records, records["label"], registry, next_number, retired=retired)

    if step == "next_night_assign":
        return assign, inputs
    assignment = assign()
    return lambda: RunIds(assignment.next_number, assignment.events).write(work / "ids.parquet"), {}


def measure(work: Path, step: str) -> dict[str, Any]:
    """One step, in this process: its seconds and the peak memory it added."""
    call, out = step_call(work, step)
    before = tree_rss_bytes(os.getpid())
    started = time.perf_counter()
    with PeakTreeRss(interval_seconds=0.02) as peak:
        result = call()
    out |= {
        "seconds": round(time.perf_counter() - started, 2),
        "added_peak_mib": round((peak.peak_bytes - before) / MIB),
    }
    if isinstance(result, IdAssignment):
        kinds = result.events.group_by("kind").len().sort("kind").iter_rows()
        out |= {"new_ids": result.new_ids.len(), "events": dict(kinds)}
    elif isinstance(result, pl.DataFrame):
        out["rows"] = result.height
    if step == "ids_file":
        out["file_mb"] = round((work / "ids.parquet").stat().st_size / 1e6, 2)
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--step":
        print(json.dumps(measure(Path(sys.argv[3]), sys.argv[2])))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    out: dict[str, Any] = {"records": n, "date": dt.date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "records").write_text(str(n))
        started = time.perf_counter()
        prepare(work, n)
        out["prepare_s"] = round(time.perf_counter() - started, 1)
        for step in ("first_night_assign", "registry", "next_night_assign", "ids_file"):
            done = subprocess.run(
                [sys.executable, __file__, "--step", step, str(work)], check=True, capture_output=True, text=True
            )
            out[step] = json.loads(done.stdout)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

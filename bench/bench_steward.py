"""A simulated steward on a generated set: answer the first N review items from the truth, rerun,
and see what the answers changed.

    python bench/bench_steward.py --data DIR [--work /tmp/mdm-bench-steward] [--answers 100,500,2000]

DIR holds a generated set (sources.yaml, sources/, truth.csv: `mdm sample` or bench/generated.py;
it is only read). The script runs the pipeline once (the base master, in a child process: seconds
and peak memory of the whole tree), reports its queue (items, waiting items as a share of the
records, the share of the first 1000 items whose representative pair is one person: an answer
that changes the master), then for each N copies the base master and store, answers the first N
items (by review_rank) as the truth says through the steward service (so each answer settles its
item as a steward's would, and becomes a label), reruns, and reports F1 before and after, how many
answers changed the master (a "same" whose two golden customers are one after the rerun), what
the labels moved, and the rerun's seconds and peak memory. Its own rules directory is the
project's rules/match.yaml with `review.daily_capacity` raised to the largest N, so one day's
queue holds every item answered. Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_master import evaluate  # noqa: E402
from memory import PeakTreeRss  # noqa: E402

from mdm.config.rules import DEFAULT_RULES_DIR  # noqa: E402
from mdm.state import StateStore  # noqa: E402
from mdm.state.fingerprint import FINGERPRINT_COLUMNS, fingerprint_of, record_label  # noqa: E402
from mdm.steward import service  # noqa: E402
from mdm.steward.users import User, add_user  # noqa: E402

AS_OF = "2026-11-01"
RUN = """
import json, sys, time, datetime as dt
from dataclasses import asdict
from mdm.pipeline import run_pipeline, call_directly
times = {}
def timed(name, stage, ctx):
    started = time.perf_counter()
    result = call_directly(name, stage, ctx)
    times[name] = round(time.perf_counter() - started, 2)
    return result
summary = run_pipeline(sys.argv[1], sys.argv[2], as_of=dt.date.fromisoformat(sys.argv[3]), call=timed)
print(json.dumps({"stage_seconds": times, "seconds": summary.seconds, "records": summary.standardize.records,
                  "review": asdict(summary.publish.review), "learning": asdict(summary.match.learning),
                  "candidate_pairs": summary.match.candidate_pairs}))
"""
STEWARD = User("bench", "steward")


def project(data: Path, work: Path, capacity: int, learning: bool = True) -> Path:
    """work/src: the set's sources (linked) and sources.yaml, with a rules directory of our own."""
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    link = src / "sources"
    if not link.exists():
        link.symlink_to((data / "sources").resolve(), target_is_directory=True)
    rules = src / "rules"
    rules.mkdir(exist_ok=True)
    text = (DEFAULT_RULES_DIR / "match.yaml").read_text()
    assert "daily_capacity: 1000" in text
    text = text.replace("daily_capacity: 1000", f"daily_capacity: {capacity}")
    if not learning:
        assert "  enabled: true" in text
        text = text.replace("  enabled: true", "  enabled: false")
    (rules / "match.yaml").write_text(text)
    (src / "sources.yaml").write_text((data / "sources.yaml").read_text() + "\nrules: rules\n")
    return src / "sources.yaml"


def run(sources: Path, master: Path) -> dict[str, Any]:
    """One pipeline run in a child process: its report, wall seconds and peak memory of the tree."""
    started = time.perf_counter()
    with (
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(sources), str(master), AS_OF], stdout=subprocess.PIPE, text=True
        ) as child,
        PeakTreeRss(child.pid) as tree,
    ):
        stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the run failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mib"] = tree.mib
    return result


def truth_of(truth_csv: Path) -> dict[tuple[str, str], str]:
    truth = pl.read_csv(
        truth_csv, columns=["source", "record_id", "person_id"], schema_overrides={"record_id": pl.String}
    )
    truth = truth.filter(pl.col("record_id").is_not_null()).unique(["source", "record_id"], keep="first")
    return {(s, r): p for s, r, p in truth.iter_rows()}


def queue_of(master: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(master), read_only=True)
    try:
        rel = con.sql(
            "SELECT review_rank, left_source, left_record_id, left_golden_id, right_source, right_record_id,"
            " right_golden_id, reason FROM review_queue ORDER BY review_rank"
        )
        return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def members_and_fingerprints(
    master: Path, golden_ids: list[str]
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, dict[str, str | None]]]:
    """Each golden customer's records (representative first, as the steward page orders them) and
    every one of those records' fingerprint, in one query."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        have = {r[0] for r in con.sql("DESCRIBE source_records").fetchall()}
        shown = ", ".join(c for c in FINGERPRINT_COLUMNS if c in have)
        rel = con.sql(
            f"SELECT golden_id, source, source_record_id, {shown} FROM source_records"
            " WHERE golden_id IN (SELECT unnest($ids))"
            " ORDER BY golden_id, trust DESC NULLS LAST, source, source_record_id",
            params={"ids": golden_ids},
        )
        rows = [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()
    members: dict[str, list[tuple[str, str]]] = {}
    prints = {}
    for row in rows:
        members.setdefault(row["golden_id"], []).append((row["source"], row["source_record_id"]))
        prints[record_label(row["source"], row["source_record_id"])] = fingerprint_of(row)
    return members, prints


def answer(master: Path, state: Path, items: list[dict[str, Any]], truth: dict[tuple[str, str], str]) -> list[str]:
    """The steward's answers to `items`, as the truth says, through the service (one transaction each)."""
    golden = sorted({g for i in items for g in (i["left_golden_id"], i["right_golden_id"])})
    members, prints = members_and_fingerprints(master, golden)
    verdicts = []
    with StateStore(state) as store:
        if not store.query("SELECT 1 FROM users WHERE username = ?", (STEWARD.username,)):
            add_user(store, STEWARD.username, "bench steward password", "steward", by="bench")
        for i in items:
            left, right = (i["left_source"], i["left_record_id"]), (i["right_source"], i["right_record_id"])
            same = truth.get(left) is not None and truth.get(left) == truth.get(right)
            verdict = "same" if same else "not_same"
            item = (members.get(i["left_golden_id"], []), members.get(i["right_golden_id"], []))
            service.decide(
                store, STEWARD, left, right, verdict, expected_version=None, fingerprints=prints, item=item,  # type: ignore[arg-type]
                reason="bench: the truth",
            )  # fmt: skip
            verdicts.append(verdict)
    return verdicts


def joined(master: Path, items: list[dict[str, Any]]) -> list[bool]:
    """Per item: are its two records in one golden customer now?"""
    con = duckdb.connect(str(master), read_only=True)
    try:
        xref = con.sql("SELECT source, source_record_id, golden_id FROM customer_xref").pl()
    finally:
        con.close()
    golden = {(s, r): g for s, r, g in xref.iter_rows()}
    return [
        golden.get((i["left_source"], i["left_record_id"])) == golden.get((i["right_source"], i["right_record_id"]))
        for i in items
    ]


def copy_run(base: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("master.duckdb", "master.model.json"):
        shutil.copy2(base / name, target / name)
    shutil.copytree(base / "state", target / "state")
    return target / "master.duckdb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a generated set: sources.yaml, sources/, truth.csv")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench-steward"))
    parser.add_argument("--answers", default="100,500,2000", help="comma-separated N")
    parser.add_argument("--reuse-base", action="store_true", help="keep work/base if it is there")
    parser.add_argument(
        "--no-learning", action="store_true", help="reruns with learning.enabled: false (the answers' links only)"
    )
    args = parser.parse_args()
    answers = [int(n) for n in args.answers.split(",")]
    sources = project(args.data, args.work, max(answers), learning=not args.no_learning)
    suffix = "_no_learning" if args.no_learning else ""
    truth_csv = args.data / "truth.csv"
    truth = truth_of(truth_csv)
    base_dir = args.work / "base"
    report: dict[str, Any] = {"data": str(args.data), "answers": answers}
    if not (args.reuse_base and (base_dir / "master.duckdb").exists()):
        shutil.rmtree(base_dir, ignore_errors=True)
        report["base_run"] = run(sources, base_dir / "master.duckdb")
    base = base_dir / "master.duckdb"
    report["base_accuracy"] = evaluate(base, truth_csv)
    items = queue_of(base)
    same = [
        truth.get((i["left_source"], i["left_record_id"])) == truth.get((i["right_source"], i["right_record_id"]))
        for i in items
    ]
    report["base_queue"] = {
        "items_today": len(items),
        "first_1000_one_person": round(sum(same[:1000]) / max(min(len(same), 1000), 1), 4),
    }
    print(json.dumps(report, indent=2), flush=True)
    for n in answers:
        master = copy_run(base_dir, args.work / f"answers_{n}{suffix}")
        answered = items[:n]
        verdicts = answer(master, master.parent / "state", answered, truth)
        rerun = run(sources, master)
        together = joined(master, answered)
        changed = [v == "same" and t for v, t in zip(verdicts, together, strict=True)]
        result = {
            "answered": len(answered),
            "same": verdicts.count("same"),
            "not_same": verdicts.count("not_same"),
            "changed_master": sum(changed),
            "same_not_joined": sum(v == "same" and not t for v, t in zip(verdicts, together, strict=True)),
            "not_same_joined": sum(v == "not_same" and t for v, t in zip(verdicts, together, strict=True)),
            "first_1000_changed_master": round(sum(changed[:1000]) / 1000, 4) if n >= 1000 else None,
            "accuracy": evaluate(master, truth_csv),
            "rerun": rerun,
        }
        report[f"answers_{n}"] = result
        print(json.dumps({f"answers_{n}": result}, indent=2), flush=True)
    (args.work / f"report{suffix}.json").write_text(json.dumps(report, indent=2))
    before = report["base_accuracy"]
    print(f"\nbase: F1 {before['f1']} (P {before['precision']} / R {before['recall']})")
    for n in answers:
        r = report[f"answers_{n}"]
        a = r["accuracy"]
        print(
            f"N={n}: F1 {before['f1']} -> {a['f1']} (P {a['precision']} / R {a['recall']}); {r['changed_master']} of"
            f" {n} answers changed the master ({r['same']} same); queue after: {r['rerun']['review']['waiting']} items"
        )


if __name__ == "__main__":
    main()

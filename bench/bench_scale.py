"""How the nightly run grows with the data: wall time and peak memory per stage at several sizes.

    python bench/bench_scale.py --people 220000 440000 880000 [--executor local dask]
        [--memory-limit 6GiB] [--work /tmp/mdm-bench]

For each size (people; the generator makes about 2.25 records per person) it generates the four
sample sources (seed 20261122, cached under --work), runs a full pipeline (trains the model) in a
child process, samples the resident memory of the child and all its workers every 0.1 s, and
prints per stage the seconds and the peak of the samples taken while the stage ran, the whole
run's peak, and pairwise precision / recall / F1 against the generated truth. With two sizes or
more it fits each stage's growth exponent b in seconds = a * records^b (least squares over the
logs). Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_master import evaluate  # noqa: E402
from generated import generated_sources  # noqa: E402
from memory import RssTimeline  # noqa: E402

RUN = """
import json, logging, sys, time, datetime as dt
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")  # partitions, publish steps
from mdm.executor import ExecutorSettings
from mdm.pipeline import run_pipeline, call_directly
windows = {}
def timed(name, stage, ctx):
    started = time.monotonic()
    result = call_directly(name, stage, ctx)
    windows[name] = (started, time.monotonic())
    return result
kind, limit = sys.argv[3], sys.argv[4] or None
summary = run_pipeline(sys.argv[1], sys.argv[2], as_of=dt.date(2026, 11, 1), call=timed, retrain=True,
                       executor=ExecutorSettings(kind, memory_limit=limit))
print(json.dumps({"windows": windows, "seconds": summary.seconds, "records": summary.standardize.records}))
"""


def run_once(
    sources: Path, master: Path, executor: str, memory_limit: str | None, stop_above_mib: int | None = None
) -> dict[str, object]:
    command = [sys.executable, "-c", RUN, str(sources), str(master), executor, memory_limit or ""]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child, RssTimeline(child.pid) as timeline:
        while child.poll() is None:
            if stop_above_mib is not None and timeline.mib > stop_above_mib:  # before the machine starts swapping
                subprocess.run(["pkill", "-KILL", "-P", str(child.pid)], check=False)
                child.kill()
                raise SystemExit(f"stopped: the run's memory passed {stop_above_mib} MiB ({timeline.mib} MiB)")
            time.sleep(0.5)
        stdout = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"the run failed with exit code {child.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    stages = {
        name: {"seconds": round(end - start, 1), "peak_mib": timeline.peak_mib_between(start, end)}
        for name, (start, end) in result["windows"].items()
    }
    accuracy = evaluate(master, sources.parent / "truth.csv")
    return {
        "records": result["records"],
        "executor": executor,
        "memory_limit": memory_limit,
        "seconds": round(result["seconds"], 1),
        "peak_mib": timeline.mib,
        "stages": stages,
        "precision": accuracy["precision"],
        "recall": accuracy["recall"],
        "f1": accuracy["f1"],
    }


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """b of y = a * x^b by least squares over (log x, log y); None with fewer than two sizes."""
    usable = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len({x for x, _ in usable}) < 2:
        return None
    mean_x = sum(x for x, _ in usable) / len(usable)
    mean_y = sum(y for _, y in usable) / len(usable)
    num = sum((x - mean_x) * (y - mean_y) for x, y in usable)
    return round(num / sum((x - mean_x) ** 2 for x, _ in usable), 2)


def table(runs: list[dict[str, object]]) -> str:
    stages = [s for s in runs[0]["stages"] if not s.startswith("ingest ")]  # type: ignore[union-attr]  # each source's read is inside ingest
    lines = [
        "| records | executor | " + " / ".join(stages) + " s | peak MiB per stage | total s | peak MiB | P / R / F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        per = run["stages"]
        assert isinstance(per, dict)
        lines.append(
            f"| {run['records']:,} | {run['executor']} | "
            + " / ".join(str(per[s]["seconds"]) for s in stages)
            + " | "
            + " / ".join(f"{per[s]['peak_mib']:,}" for s in stages)
            + f" | {run['seconds']} | {run['peak_mib']:,} | {run['precision']} / {run['recall']} / {run['f1']} |"
        )
    return "\n".join(lines)


def report(runs: list[dict[str, Any]]) -> str:
    """The table of the runs (by executor, then size), and per executor each stage's growth
    exponents: of its seconds and of its peak memory."""
    runs = sorted(runs, key=lambda r: (str(r["executor"]), int(r["records"])))
    lines = [table(runs)]
    for executor in dict.fromkeys(str(r["executor"]) for r in runs):
        mine = [r for r in runs if r["executor"] == executor]
        for measure, key in (("seconds", "seconds"), ("peak memory", "peak_mib")):
            per_stage = {
                stage: growth_exponent([(int(r["records"]), float(r["stages"][stage][key])) for r in mine])
                for stage in mine[0]["stages"]
            }
            whole = growth_exponent([(int(r["records"]), float(r[key])) for r in mine])
            lines.append(f"growth exponents of {measure} ({executor}): {per_stage}, whole run {whole}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[220_000, 440_000])
    parser.add_argument("--executor", nargs="+", default=["local"], choices=["local", "dask"])
    parser.add_argument("--memory-limit", default=None, help="passed to the run (e.g. 6GiB); default: the run's own")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench"))
    parser.add_argument("--stop-above-mib", type=int, default=None, help="kill the run when it holds more than this")
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="a JSON-lines file: this invocation's runs are added to it, and the table and the growth exponents"
        " cover every run in it (sizes run one invocation at a time, e.g. the largest alone)",
    )
    args = parser.parse_args()
    earlier = args.runs.read_text().splitlines() if args.runs is not None and args.runs.exists() else []
    runs: list[dict[str, Any]] = [json.loads(line) for line in earlier if line]
    for people in args.people:
        sources = generated_sources(people, args.work)
        for executor in args.executor:
            run_dir = args.work / f"scale_{people}_{executor}"  # a store of its own, fresh: every run is a first run
            shutil.rmtree(run_dir, ignore_errors=True)
            master = run_dir / "master.duckdb"
            run = run_once(sources, master, executor, args.memory_limit, args.stop_above_mib)
            print(json.dumps(run), flush=True)
            runs.append(run)
            if args.runs is not None:
                with args.runs.open("a") as out:
                    out.write(json.dumps(run) + "\n")
    print(report(runs))


if __name__ == "__main__":
    main()

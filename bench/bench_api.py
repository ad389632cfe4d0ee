"""The real-time API against a published master: resolve latency and accuracy, and a loopback load test.

    python bench/bench_api.py --master /tmp/mdm-bench-api/master_440000.duckdb [--calls 300]

Starts `mdm serve` on 127.0.0.1 (a child process) with a new API token, waits for the resolver's
index to load (seconds and the server's memory are printed), then:

1. `--rounds` passes of `--calls` resolve calls, one at a time, each built from a source record
   of the master drawn with `--seed` (its names, birth date, e-mail, phone and address, dates in ISO) with one typo in
   the family name (a letter changed, dropped, doubled, or two neighbours swapped): latency per
   call (p50, p95, max, through HTTP with auth and audit) and the share whose top candidate is the
   record's own golden customer, per pass (with the machine's load average) and their medians;
2. `--requests` resolve calls with `--in-flight` at a time (threads): throughput, errors, latency.

Prints JSON; record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import httpx

from mdm.state import StateStore
from mdm.state.tokens import create_token

FIELDS = ["given_name", "middle_name", "family_name", "email_raw", "phone_raw", "address_line1_raw", "city_raw"]


def typo(name: str, rng: random.Random) -> str:
    """One typing error in `name` (at least two letters): changed, dropped, doubled or swapped."""
    i = rng.randrange(len(name) - 1)
    kind = rng.choice(["change", "drop", "double", "swap"])
    if kind == "change":
        letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != name[i].lower()])
        return name[:i] + letter + name[i + 1 :]
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[: i + 1] + name[i] + name[i + 1 :]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def records(master: Path, count: int, seed: int) -> list[tuple[str, dict[str, str]]]:
    """(golden id, record as sent) of `count` source records with a family name, one typo each."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        rows = con.sql(
            f"SELECT golden_id, birth_date, postal_code_raw, {', '.join(FIELDS)} FROM source_records"
            f" WHERE length(family_name) > 2 USING SAMPLE {count} ROWS (reservoir, {seed})"
        ).fetchall()
    finally:
        con.close()
    rng = random.Random(seed)
    out = []
    for golden_id, birth_date, postal_code, *values in rows:
        record = {f.removesuffix("_raw"): v for f, v in zip(FIELDS, values, strict=True) if v}
        record["family_name"] = typo(record["family_name"], rng)
        if birth_date is not None:
            record["birth_date"] = birth_date.isoformat()
        if postal_code:
            record["postal_code"] = postal_code
        out.append((golden_id, record))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the calls, one at a time (medians kept)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    state = args.master.parent / "state"
    with StateStore(state) as store:
        name = f"bench-{int(time.time())}"
        token = create_token(store, name, ["resolve"], by="bench:bench_api")
    sample = records(args.master, args.calls, args.seed)
    port = args.port or free_port()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{port}/api/v1/resolve"
    server = subprocess.Popen(
        [sys.executable, "-m", "mdm.cli", "serve", "--master", str(args.master), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    result: dict[str, Any] = {"master": str(args.master), "load_average_at_start": os.getloadavg()}
    try:
        started = time.perf_counter()
        warm_up_calls = 0
        with httpx.Client(timeout=120) as client:
            while True:
                try:
                    answered = client.post(url, json={"record": sample[0][1]}, headers=headers)
                    warm_up_calls += 1
                    if answered.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit("mdm serve ended")
                time.sleep(0.5)
            result["ready_seconds"] = round(time.perf_counter() - started, 1)
            result["server_rss_mib_loaded"] = rss_mib(server.pid)
            rounds = []
            for _ in range(args.rounds):
                load_before = os.getloadavg()[0]
                latencies, own, no_candidate = [], 0, 0
                for golden_id, record in sample:
                    t = time.perf_counter()
                    response = client.post(url, json={"record": record}, headers=headers)
                    latencies.append((time.perf_counter() - t) * 1000)
                    candidates = response.json()["candidates"]
                    own += bool(candidates) and candidates[0]["golden_id"] == golden_id
                    no_candidate += not candidates
                rounds.append(
                    {
                        "calls": len(sample),
                        "p50_ms": round(statistics.median(latencies), 1),
                        "p95_ms": round(percentile(latencies, 0.95), 1),
                        "max_ms": round(max(latencies), 1),
                        "top_is_own_golden": round(own / len(sample), 4),
                        "no_candidate": no_candidate,
                        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                    }
                )
            result["sequential"] = rounds
            result["sequential_median"] = {
                k: statistics.median(r[k] for r in rounds) for k in ("p50_ms", "p95_ms", "max_ms", "top_is_own_golden")
            }

        def call(i: int) -> tuple[int, float]:
            t = time.perf_counter()
            try:
                status = load_client.post(url, json={"record": sample[i % len(sample)][1]}, headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            return status, (time.perf_counter() - t) * 1000

        limits = httpx.Limits(max_connections=args.in_flight)
        with httpx.Client(timeout=120, limits=limits) as load_client, ThreadPoolExecutor(args.in_flight) as pool:
            t = time.perf_counter()
            done = list(pool.map(call, range(args.requests)))
            seconds = time.perf_counter() - t
        times = [ms for _, ms in done]
        result["load"] = {
            "requests": args.requests,
            "in_flight": args.in_flight,
            "seconds": round(seconds, 1),
            "requests_per_second": round(args.requests / seconds, 1),
            "errors": sum(status != 200 for status, _ in done),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }
        result["server_rss_mib_after"] = rss_mib(server.pid)
        result["load_average_at_end"] = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # every call answered is in the audit log once the server has stopped (SIGTERM: a clean shutdown)
    with StateStore(state) as store:
        [(audited,)] = store.query("SELECT count(*) FROM audit_log WHERE actor = ?", (f"token:{name}",))
    result["calls_answered"] = warm_up_calls + args.rounds * len(sample) + args.requests
    result["calls_audited"] = audited
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

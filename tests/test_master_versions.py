"""Kept versions of the master, `mdm rollback`, and readers during a publish."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.publish import versions
from mdm.publish.versions import RollbackError, keep_version, list_versions, rollback, versions_dir
from mdm.state import StateStore
from tests.conftest import AS_OF
from tests.conftest import query as q

NEW_PEOPLE = [
    '{"signup_id": "W9", "name": "Olga Novak", "email": "olga.novak@example.org", "birthday": "1970-01-15",'
    ' "created_at": "2026-06-04T09:00:00Z"}',
    '{"signup_id": "W10", "name": "Pedro Alves", "email": "pedro.alves@example.org", "birthday": "1991-12-01",'
    ' "created_at": "2026-06-05T09:00:00Z"}',
]


def add_person(sources: Path, n: int) -> None:
    """A new person in web.jsonl: the next run has one more golden customer."""
    with (sources.parent / "web.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(NEW_PEOPLE[n] + "\n")


def last_run(master: Path) -> str:
    return str(q(master, "SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT 1")[0][0])


def test_publishing_keeps_the_newest_n_versions_as_hard_links(tiny: Path, tmp_path: Path) -> None:
    with tiny.open("a", encoding="utf-8") as fh:
        fh.write("keep_versions: 2\n")
    master = tmp_path / "master.duckdb"
    runs = []
    for n in range(3):
        summary = run_pipeline(tiny, master, as_of=AS_OF)
        runs.append(summary.run_id)
        assert summary.publish.master_version == "link"
        if n < 2:
            add_person(tiny, n)
    kept = list_versions(master)
    assert [(v.seq, v.run_id, v.golden_customers) for v in kept] == [(3, runs[2], 6), (2, runs[1], 5)]
    assert sorted(p.name for p in versions_dir(master).iterdir()) == [
        f"000002-{runs[1]}.duckdb",
        f"000002-{runs[1]}.model.json",
        f"000003-{runs[2]}.duckdb",
        f"000003-{runs[2]}.model.json",
    ]
    assert os.stat(kept[0].path).st_ino == os.stat(master).st_ino  # no copy of the current master


def test_a_version_is_a_copy_where_hard_links_fail(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(versions.os, "link", no_links)
    assert keep_version(master, "copied-run") == "copy"
    copied = versions_dir(master) / "000002-copied-run.duckdb"
    assert copied.read_bytes() == master.read_bytes()
    assert os.stat(copied).st_ino != os.stat(master).st_ino
    assert not [p for p in versions_dir(master).iterdir() if p.name.endswith(".tmp")]


def test_rollback_restores_the_previous_master_atomically_and_keeps_the_store(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF).run_id
    add_person(tiny, 0)
    second = run_pipeline(tiny, master, as_of=AS_OF).run_id
    assert q(master, "SELECT count(*) FROM golden_customers") == [(5,)]
    kept_bytes = {v.path: v.path.read_bytes() for v in list_versions(master)}
    inode = os.stat(master).st_ino

    restored = rollback(master)

    assert (restored.run_id, restored.golden_customers) == (first, 4)
    assert last_run(master) == first
    assert q(master, "SELECT count(*), min(run_id) FROM golden_customers") == [(4, first)]
    assert os.stat(master).st_ino != inode  # a new file renamed in, not the old one rewritten
    assert {v.path: v.path.read_bytes() for v in list_versions(master)} == kept_bytes  # versions untouched
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(RollbackError, match="the oldest version kept; nothing earlier"):
        rollback(master)
    with pytest.raises(
        RollbackError, match=f"run nope is not kept; kept versions \\(newest first\\): {second}, {first}"
    ):
        rollback(master, "nope")
    # the store was not rolled back: the next run keeps W9's golden id and the whole history
    third = run_pipeline(tiny, master, as_of=AS_OF).run_id
    assert q(master, "SELECT run_id FROM published_runs ORDER BY run_seq") == [(first,), (second,), (third,)]
    assert q(master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'W9'") == [("G000000005",)]
    with StateStore(tmp_path / "state") as store:
        assert store.peek_next_numbers() == 6  # no id handed out twice


def test_rollback_to_a_named_run_and_the_list_command(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF).run_id
    add_person(tiny, 0)
    second = run_pipeline(tiny, master, as_of=AS_OF).run_id
    runner = CliRunner()
    result = runner.invoke(main, ["rollback", "--master", str(master), "--to", first])
    assert result.exit_code == 0, result.output
    assert f"rolled back {master} to run {first}" in result.output and "4 golden customers" in result.output
    listed = runner.invoke(main, ["rollback", "--master", str(master), "--list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["run_id", "published_at", "golden_customers"]
    assert lines[1].startswith(second) and lines[1].split()[-1] == "5"
    assert lines[2].startswith(first) and lines[2].endswith("4  (current)")
    result = runner.invoke(main, ["rollback", "--master", str(master), "--to", second])
    assert result.exit_code == 0 and last_run(master) == second
    assert (master.with_suffix(".model.json")).read_bytes() == list_versions(master)[0].model_path.read_bytes()


READER = r"""
import json, os, sys, time, duckdb
master, mode, stop, out = sys.argv[1:5]
SNAPSHOT = (
    "SELECT (SELECT count(*) FROM golden_customers),"
    " (SELECT count(DISTINCT run_id) FROM golden_customers),"
    " (SELECT min(run_id) FROM golden_customers),"
    " (SELECT count(*) FROM customer_xref x WHERE x.golden_id NOT IN (SELECT golden_id FROM golden_customers)),"
    " (SELECT count(DISTINCT run_id) FROM customer_xref),"
    " (SELECT min(run_id) FROM customer_xref)"
)
# held: one connection opened before the publishes and kept; reopened: a new connection per query,
# closed after it; reopened_beside_held: the same while this process also holds one open
held = duckdb.connect(master, read_only=True) if mode != "reopened" else None
with open(out, "w") as fh:
    while not os.path.exists(stop):
        try:
            con = held if mode == "held" else duckdb.connect(master, read_only=True)
            try:
                row = con.sql(SNAPSHOT).fetchall()[0]
            finally:
                if con is not held:
                    con.close()
            fh.write(json.dumps({"snapshot": list(row)}) + "\n")
        except Exception as exc:
            fh.write(json.dumps({"error": repr(exc)}) + "\n")
        fh.flush()
        time.sleep(0.01)
"""
MODES = ("held", "reopened", "reopened_beside_held")


def test_readers_never_fail_nor_see_a_half_written_master_during_publishes(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    golden_of_run = {run_pipeline(tiny, master, as_of=AS_OF).run_id: 4}
    stop = tmp_path / "stop"
    outs = {mode: tmp_path / f"{mode}.jsonl" for mode in MODES}
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(master), mode, str(stop), str(outs[mode])])
        for mode in MODES
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            o.exists() and o.read_text().count("\n") >= 2 for o in outs.values()
        ):
            time.sleep(0.05)
        for n in range(2):
            add_person(tiny, n)
            golden_of_run[run_pipeline(tiny, master, as_of=AS_OF).run_id] = 5 + n
        newest = last_run(master)
        while newest not in outs["reopened"].read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    runs_seen: dict[str, set[str]] = {}
    for mode, out in outs.items():
        seen = [json.loads(line) for line in out.read_text().splitlines()]
        assert [s for s in seen if "error" in s] == [], mode
        assert len(seen) >= 2, mode
        for s in seen:
            golden, golden_runs, run, orphans, xref_runs, xref_run = s["snapshot"]
            assert (golden_runs, xref_runs, orphans, xref_run) == (1, 1, 0, run), (mode, s)
            assert golden == golden_of_run[run], (mode, s)  # the count that run published, never a mix
            runs_seen.setdefault(mode, set()).add(run)
    first, *_, last = golden_of_run
    # measured, not assumed: a connection keeps reading the file it opened (the old inode), and so
    # does a new connection while the same process still holds one (DuckDB reuses the database it
    # has open for that path); only a process that closed every connection sees the new master
    assert runs_seen["held"] == {first}
    assert runs_seen["reopened_beside_held"] == {first}
    assert {first, last} <= runs_seen["reopened"]

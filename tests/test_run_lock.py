"""One run at a time per store and master, crashed runs cleaned up by the next, files private,
no source silently shrinking.

Regression tests for issue 15 item 3 (two runs on one master both published or one failed with
"No such file ... .tmp"; killed runs left `runs` rows at running, work directories with personal
data and a stray .tmp.wal) and item 4 (masters, versions, state and work files were 0644 in 0755
directories)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from mdm.config.errors import ConfigError
from mdm.context import RunContext
from mdm.pipeline import PipelineError, Report, run_pipeline
from mdm.state import StateStore
from mdm.state.lock import RunLocked
from tests.conftest import AS_OF, REPO


def test_a_second_run_refuses_at_once_naming_the_run_that_holds_the_lock(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    inside, release = threading.Event(), threading.Event()
    first: dict[str, object] = {}

    def held_in_match(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        if name == "match":
            first["run_id"] = ctx.run_id
            inside.set()
            release.wait(60)
        return stage(ctx)

    def run_first() -> None:
        first["summary"] = run_pipeline(tiny, master, as_of=AS_OF, call=held_in_match)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert inside.wait(60)
        with pytest.raises(RunLocked, match=rf"another run \(run {first['run_id']}, pid {os.getpid()} on .*\) holds"):
            run_pipeline(tiny, master, as_of=AS_OF)
        # another master on the same store is refused too: the store is one run's at a time
        with pytest.raises(RunLocked, match="holds the lock .*run.lock"):
            run_pipeline(tiny, tmp_path / "out" / "other.duckdb", state=master.parent / "state", as_of=AS_OF)
    finally:
        release.set()
        thread.join(120)
    assert "summary" in first  # the first run was not disturbed
    with StateStore(master.parent / "state") as store:
        assert [r["status"] for r in store.runs()] == ["published"]  # the refused runs never started
    run_pipeline(tiny, master, as_of=AS_OF)  # the lock went with the first run


def test_a_killed_run_is_closed_and_cleaned_by_the_next(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    before = master.read_bytes()
    stray = master.with_name(f".{master.name}.20261101T000000Z-dead00.tmp.wal")
    stray.write_bytes(b"left by a killed run")
    child = subprocess.Popen(
        [sys.executable, "-m", "mdm.cli", "run", "--orchestrator", "local", "--sources", str(tiny)]
        + ["--master", str(master), "--as-of", AS_OF.isoformat()],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work_root = master.parent / ".mdm-work"
    deadline = time.monotonic() + 60
    while not list(work_root.glob("*/staged_*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)  # until ingest has written: the run is recorded in the store by then
    assert child.poll() is None, "the run ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert master.read_bytes() == before
    [killed] = list(work_root.iterdir())

    summary = run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        runs = store.runs()
    assert [r["status"] for r in runs] == ["published", "failed", "published"]
    assert runs[1]["run_id"] == killed.name
    assert runs[1]["error"] == f"abandoned: the run ended without finishing (found by run {summary.run_id})"
    assert list(work_root.iterdir()) == []
    assert not stray.exists()


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_masters_versions_state_and_work_files_are_their_owners_only(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    seen: dict[str, int] = {}

    def look_at_work_files(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        if name == "publish":
            seen.update(_modes(ctx.work_dir))
        return stage(ctx)

    run_pipeline(tiny, out / "master.duckdb", as_of=AS_OF, call=look_at_work_files)
    run_pipeline(tiny, out / "master.duckdb", as_of=AS_OF)  # a second run: versions kept
    made = {name: mode for name, mode in _modes(out).items() if name != "."}  # the directory is the user's
    assert "master.duckdb" in made and "state/mdm_state.sqlite" in made and len(seen) > 10
    assert any(name.startswith(".versions/") for name in made)
    assert {name: oct(mode) for name, mode in {**made, **seen}.items() if mode & 0o077} == {}


def test_a_header_only_export_fails_the_run_and_changes_no_golden_id(tiny: Path, tmp_path: Path) -> None:
    """Issue 15 item 1: a header-only crm.csv published with exit 0 and retired its customers' ids."""
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    before = master.read_bytes()
    crm = tiny.parent / "crm.csv"
    full = crm.read_text()
    crm.write_text(full.splitlines()[0] + "\n")
    with pytest.raises(PipelineError, match=r"source 'crm' has no rows at all.*--allow-shrink crm"):
        run_pipeline(tiny, master, as_of=AS_OF)
    assert master.read_bytes() == before
    crm.write_text(full)
    run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        assert store.id_events().filter(pl.col("kind") == "retired").height == 0


def test_a_source_that_shrinks_past_max_shrink_needs_allow_shrink(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    web = tiny.parent / "web.jsonl"
    lines = web.read_text().splitlines(keepends=True)
    web.write_text("".join(lines[:2]))  # 5 rows read, 3 accepted before; now at most 2
    with pytest.raises(PipelineError, match=r"source 'web' accepted \d rows against 3 at the last published run"):
        run_pipeline(tiny, master, as_of=AS_OF)
    with pytest.raises(ConfigError, match="--allow-shrink nosuch: no such source"):
        run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["nosuch"])
    summary = run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["web"])
    assert {s.source: s.rows_accepted for s in summary.sources}["web"] < 3

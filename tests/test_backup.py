"""`mdm backup` / `mdm restore` (issue 15 item 7): a consistent copy of the durable store and the
master, refused while a run holds the lock, restored only when every file verifies, the replaced
store kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.context import RunContext
from mdm.pipeline import Report, run_pipeline
from mdm.state import StateStore
from mdm.state.backup import BackupError, backup, restore
from mdm.state.lock import RunLocked
from tests.conftest import AS_OF, query


def test_backup_then_restore_brings_back_store_and_master(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    state = master.parent / "state"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--master", str(master)])
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output and (tmp_path / "bk" / "manifest.json").exists()
    saved_master = master.read_bytes()

    (tiny.parent / "web.jsonl").write_text("")  # a later run the backup must undo
    run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["web"])
    assert master.read_bytes() != saved_master

    result = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--master", str(master)])
    assert result.exit_code == 0, result.output
    assert master.read_bytes() == saved_master
    with StateStore(state) as store:
        assert [r["run_id"] for r in store.runs()] == [first.run_id]
    [aside] = list(master.parent.glob("state.before-restore-*"))
    with StateStore(aside) as store:  # the replaced store is kept, with both runs
        assert len(store.runs()) == 2
    assert query(master, "SELECT count(*) FROM golden_customers") == [(4,)]


def test_a_damaged_backup_is_refused_before_anything_changes(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    backup(master, master.parent / "state", tmp_path / "bk")
    with (tmp_path / "bk" / "state" / "mdm_state.sqlite").open("r+b") as f:
        f.seek(200)
        f.write(b"\x00damage")
    before = master.read_bytes()
    with pytest.raises(BackupError, match=r"does not verify: state/mdm_state.sqlite differs from the manifest"):
        restore(tmp_path / "bk", master, master.parent / "state")
    assert master.read_bytes() == before and not list(master.parent.glob("state.before-restore-*"))
    with pytest.raises(BackupError, match="exists; back up into a new directory"):
        backup(master, master.parent / "state", tmp_path / "bk")


def test_no_backup_while_a_run_holds_the_lock(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    inside, release = threading.Event(), threading.Event()

    def held(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        if name == "golden":
            inside.set()
            release.wait(60)
        return stage(ctx)

    thread = threading.Thread(target=lambda: run_pipeline(tiny, master, as_of=AS_OF, call=held))
    thread.start()
    try:
        assert inside.wait(60)
        with pytest.raises(RunLocked, match="holds the lock"):
            backup(master, master.parent / "state", tmp_path / "bk")
    finally:
        release.set()
        thread.join(120)
    assert not (tmp_path / "bk").exists()

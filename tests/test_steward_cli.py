"""`mdm users` and `mdm review`, driven through click's CliRunner as a person at a terminal
(stdin: the password, then one key per line)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from tests.conftest import AS_OF, FIXTURES
from tests.conftest import query as q


@pytest.fixture
def master(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "steward", tmp_path / "src")
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tmp_path / "src" / "sources.yaml", master, as_of=AS_OF)
    return master


def add(master: Path, name: str, role: str, password: str = "correct horse") -> None:
    result = CliRunner().invoke(
        main, ["users", "add", name, "--role", role, "--password-stdin", "--master", str(master)], input=password + "\n"
    )
    assert result.exit_code == 0, result.output
    assert f"added {name} ({role})" in result.output


def test_users_add_list_and_set_role(master: Path) -> None:
    add(master, "ana", "admin")
    result = CliRunner().invoke(
        main, ["users", "add", "ben", "--master", str(master)], input="pw long enough\npw long enough\n"
    )
    assert result.exit_code == 0 and "added ben (viewer)" in result.output  # least privilege by default
    listed = CliRunner().invoke(main, ["users", "list", "--master", str(master)]).output
    assert "ana" in listed and "admin" in listed and "ben" in listed
    assert CliRunner().invoke(main, ["users", "set-role", "ben", "steward", "--master", str(master)]).exit_code == 0
    with StateStore(master.parent / "state") as store:
        assert store.query("SELECT username, role FROM users ORDER BY 1") == [("ana", "admin"), ("ben", "steward")]
        assert "pw long enough" not in str(store.query("SELECT password_hash FROM users"))
    again = CliRunner().invoke(
        main, ["users", "add", "ben", "--password-stdin", "--master", str(master)], input="x" * 9
    )
    assert again.exit_code == 1 and "exists already" in again.output


def test_review_decides_skips_undoes_and_quits(master: Path) -> None:
    add(master, "ana", "steward")
    # queue order (the master's rank, what a decision changes): C4~W4 first, whose birth dates
    # (1975-11-12 / 1976-02-22) are within a year, a little more evidence; then C3~W3, C5~W5, C8~W8
    keys = "correct horse\ns typo in the year\nn\nu\nk\nx\nq\n"
    result = CliRunner().invoke(main, ["review", "--master", str(master), "--user", "ana"], input=keys)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "[1/4] crm:C4 ~ web:W4" in out and "given_name" in out and "evidence: given_name exact" in out
    assert "pair:crm:C4|web:W4: same person" in out
    assert "pair:crm:C3|web:W3: not the same" in out and "undone: #" in out
    assert "skipped pair:crm:C3|web:W3" in out  # after the undo the same pair is asked again
    assert "unknown key 'x'" in out
    with StateStore(master.parent / "state") as store:
        live = store.query("SELECT left_record_id, decision, reason FROM steward_decisions WHERE revoked_at IS NULL")
        actions = [a for (a,) in store.query("SELECT action FROM audit_log WHERE actor = 'ana' ORDER BY audit_id")]
    assert live == [("C4", "same", "typo in the year")]
    assert actions == ["sign_in", "same", "not_same", "undo", "skip"]  # signing in at the terminal is audited too
    # the next run applies it
    run_pipeline(master.parent.parent / "src" / "sources.yaml", master, as_of=AS_OF)
    gids = q(master, "SELECT count(DISTINCT golden_id) FROM customer_xref WHERE source_record_id IN ('C4', 'W4')")
    assert gids == [(1,)]
    # --order threshold: closest to the merge threshold first (C3, C5, C8 tie; the master's rank breaks it)
    ordered = CliRunner().invoke(
        main, ["review", "--master", str(master), "--user", "ana", "--order", "threshold"], input="correct horse\nq\n"
    )
    assert "[1/3] crm:C3 ~ web:W3" in ordered.output


def test_review_refuses_a_wrong_password_and_a_viewer(master: Path) -> None:
    add(master, "vic", "viewer")
    wrong = CliRunner().invoke(main, ["review", "--master", str(master), "--user", "vic"], input="nope\n")
    assert wrong.exit_code == 1 and "wrong user name or password" in wrong.output
    viewer = CliRunner().invoke(
        main, ["review", "--master", str(master), "--user", "vic"], input="correct horse\ns\nq\n"
    )
    assert "not written: vic is a viewer: deciding needs the steward role" in viewer.output
    with StateStore(master.parent / "state") as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]

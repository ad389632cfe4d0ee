"""The CLI is a thin layer: every command documented with an example; errors are clear."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mdm.cli import main
from tests.conftest import REPO


def all_commands() -> list[str]:
    assert isinstance(main, click.Group)
    return sorted(main.commands)


@pytest.mark.parametrize("command", all_commands())
def test_every_command_has_an_example_in_its_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"mdm {command}" in result.output


def test_run_prints_the_summary(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    result = CliRunner().invoke(
        main,
        ["run", "--sources", str(tiny), "--master", str(master), "--orchestrator", "local", "--as-of", "2026-11-01"],
    )
    assert result.exit_code == 0, result.output
    assert "total                      12         6            6" in result.output
    assert "golden customers: 4   duplicates found: 2" in result.output
    # the flag profile per field and source (tests/fixtures/tiny/README.md: C6's date, e-mail, phone)
    assert "  field                crm     web\n  birth_date             1       0\n" in result.output
    assert master.exists() and (master.parent / "state" / "mdm_state.sqlite").exists()


def test_run_with_a_broken_config_exits_non_zero_with_the_problems(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: crm\n    kind: xls\n    record_id: id\n    fields: {email: e}\n")
    result = CliRunner().invoke(
        main, ["run", "--sources", str(sources), "--master", str(tmp_path / "m.duckdb"), "--orchestrator", "local"]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output and "line 3: sources[0].kind" in result.output
    assert not (tmp_path / "m.duckdb").exists()


def test_run_with_a_missing_source_file_fails_cleanly(tiny: Path, tmp_path: Path) -> None:
    (tiny.parent / "web.jsonl").unlink()
    result = CliRunner().invoke(
        main, ["run", "--sources", str(tiny), "--master", str(tmp_path / "m.duckdb"), "--orchestrator", "local"]
    )
    assert result.exit_code == 1
    assert "failed in stage ingest" in result.output and "file not found" in result.output


def test_check_command(tiny: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--sources", str(tiny)])
    assert result.exit_code == 0 and "ok: 2 sources (crm, web)" in result.output


def test_generated_docs_are_up_to_date() -> None:
    result = CliRunner().invoke(main, ["docs", "--out", str(REPO / "docs"), "--check"])
    assert result.exit_code == 0, result.output


def test_a_local_run_shows_its_progress_on_stderr(tiny: Path, tmp_path: Path) -> None:
    """Issue 16: no progress display on long local runs."""
    args = ["run", "--orchestrator", "local", "--sources", str(tiny), "--master", str(tmp_path / "m.duckdb")]
    result = CliRunner().invoke(main, [*args, "--as-of", "2026-11-01"])
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress[0] == "[1/9] ingest ..." and progress[-1].startswith("[9/9] publish done in ")
    assert len(progress) == 18 and "[1/9]" not in result.stdout

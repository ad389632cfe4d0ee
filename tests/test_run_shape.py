"""How a run is put together, checked on the tiny fixture: every work file a stage writes is
declared in WorkFiles, each stage logs its counts, and every error the product raises on purpose
is an MdmError that the CLI prints as one line."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
from click.testing import CliRunner

import mdm
from mdm.cli import main
from mdm.context import RunContext, TagTable, WorkFiles
from mdm.errors import MdmError
from mdm.pipeline import STAGE_NAMES, PipelineError, Report, run_pipeline
from mdm.types import ContactAttribute
from tests.conftest import AS_OF


def declared_files(files: WorkFiles, sources: list[str], events: list[str]) -> set[Path]:
    paths = {getattr(files, name) for name, member in inspect.getmembers(WorkFiles) if isinstance(member, property)}
    for source in sources:
        paths |= {files.staged(source), files.formats(source)}
    for source in events:
        paths |= {files.events(source), files.published_events(source)}
    paths |= {files.stale_evidence(attribute) for attribute in get_args(ContactAttribute)}
    return paths | {files.tag_table(table) for table in get_args(TagTable)}


def test_every_work_file_a_stage_writes_is_declared(tiny: Path, tmp_path: Path) -> None:
    """What the stages before publish wrote: each file is one WorkFiles declares; and the work
    directory is gone after the run failed (it holds personal data)."""
    seen: list[tuple[RunContext, set[Path]]] = []

    def stop_at_publish(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        if name == "publish":
            seen.append((ctx, set(ctx.work_dir.iterdir())))
            raise RuntimeError("stopped before publish")
        return stage(ctx)

    with pytest.raises(PipelineError, match="failed in stage publish.*MDM_KEEP_WORK=1 keeps the work files"):
        run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF, call=stop_at_publish)
    [(ctx, written)] = seen
    assert len(written) >= 20
    assert written <= declared_files(ctx.files, ["crm", "web"], [])
    assert not ctx.work_dir.exists()


def test_each_stage_logs_its_counts(tiny: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mdm")
    summary = run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)
    by_logger = {r.name: r.getMessage() for r in caplog.records}
    assert {f"mdm.{name}.stage" for name in STAGE_NAMES} <= set(by_logger)
    assert by_logger["mdm.golden.stage"] == "golden: 4 customers from 6 records, 4 new ids"
    assert by_logger["mdm.pipeline"] == f"run {summary.run_id} published in {summary.seconds} s"


def _error_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(mdm.__path__, "mdm."):
        if info.name.startswith("mdm.cli.__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == info.name:
                found.append(cls)
    return found


def test_every_error_raised_on_purpose_is_an_mdm_error() -> None:
    """AccountingError is the one exception: broken row accounting is a bug, never the data."""
    classes = _error_classes()
    assert len(classes) >= 15
    bugs = {"mdm.ingest.source.AccountingError"}
    assert [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, MdmError)] == sorted(bugs)


def test_the_cli_prints_an_mdm_error_as_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["query", "SELECT 1", "--master", str(tmp_path / "absent.duckdb")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output

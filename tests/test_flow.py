"""The Prefect flow under Prefect's test harness, and prefect.yaml matching the flow."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    import os

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect_home"))
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


@pytest.mark.prefect
def test_nightly_flow_publishes_the_master(harness: None, tiny: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    from pipelines.nightly import nightly

    master = tmp_path / "master.duckdb"
    state = nightly(sources=str(tiny), master=str(master), as_of="2026-11-01", return_state=True)
    summary = state.result()
    assert summary.golden.golden_customers == 4
    con = duckdb.connect(str(master), read_only=True)
    assert con.sql("SELECT count(*) FROM customer_xref").fetchall() == [(6,)]
    con.close()

    async def task_names() -> list[str]:
        async with get_client() as client:
            from prefect.client.schemas.sorting import TaskRunSort

            runs = await client.read_task_runs(limit=200, sort=TaskRunSort.EXPECTED_START_TIME_ASC)
            return sorted({r.name.rsplit("-", 1)[0] for r in runs if r.flow_run_id == state.state_details.flow_run_id})

    import asyncio

    assert asyncio.run(task_names()) == sorted(
        ["ingest", "standardize", "match", "cluster", "golden", "stale", "archive", "tags", "publish"]
    )

    async def report_artifact() -> str:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["mdm-run-report"]))
            )
            return str(found[0].data)

    assert f"# mdm run {summary.run_id}" in asyncio.run(report_artifact())


@pytest.mark.prefect
def test_a_failing_flow_leaves_the_master(harness: None, tiny: Path, tmp_path: Path) -> None:
    from pipelines.nightly import nightly

    master = tmp_path / "master.duckdb"
    nightly(sources=str(tiny), master=str(master), as_of="2026-11-01")
    before = master.read_bytes()
    (tiny.parent / "crm.csv").unlink()
    state = nightly(sources=str(tiny), master=str(master), as_of="2026-11-01", return_state=True)
    assert state.is_failed()
    assert master.read_bytes() == before

    async def ingest_attempts() -> list[int]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.sorting import TaskRunSort

        async with get_client() as client:
            runs = await client.read_task_runs(limit=200, sort=TaskRunSort.EXPECTED_START_TIME_ASC)
            flow_run = state.state_details.flow_run_id
            return [r.run_count for r in runs if r.flow_run_id == flow_run and r.name.startswith("ingest")]

    import asyncio

    # a missing file is an MdmError (SourceReadError): the same answer on every read, so no retry
    assert asyncio.run(ingest_attempts()) == [1]


def test_an_mdm_error_is_logged_without_its_traceback() -> None:
    """With Prefect, a failed run printed three tracebacks (94 lines) before its one-line error."""
    import logging
    import sys

    from mdm.errors import MdmError
    from pipelines.nightly import _MdmErrorsOnOneLine

    def record_of(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    wrapped = RuntimeError("stage failed")
    wrapped.__cause__ = MdmError("source 'crm' has no rows at all")
    for exc, keeps_traceback in ((MdmError("bad source"), False), (wrapped, False), (KeyError("bug"), True)):
        record = record_of(exc)
        assert _MdmErrorsOnOneLine().filter(record)
        assert (record.exc_info is not None) == keeps_traceback, exc


def test_prefect_yaml_parameters_match_the_flow() -> None:
    from pipelines.nightly import nightly

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployment = next(d for d in spec["deployments"] if d["name"] == "nightly")
    assert deployment["entrypoint"] == "pipelines/nightly.py:nightly"
    assert set(deployment["parameters"]) == set(inspect.signature(nightly.fn).parameters)
    assert deployment["schedules"][0]["cron"] == "0 2 * * *"


@pytest.mark.prefect
def test_prefect_deploy_and_deployment_ls_work_on_the_pinned_versions(harness: None, tmp_path: Path) -> None:
    """On the pinned stack `prefect deploy --all` ended in a 422 traceback and `prefect deployment
    ls` failed with 422 (FastAPI >= 0.151 rejects the client's `sort: null`)."""
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    env = os.environ | {
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "MDM_SOURCES": str(tmp_path / "sources.yaml"),
        "MDM_MASTER": str(tmp_path / "master.duckdb"),
    }
    prefect = [sys.executable, "-m", "prefect"]

    def run(*args: str) -> str:
        done = subprocess.run([*prefect, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("work-pool", "create", "mdm", "--type", "process")
    run("--no-prompt", "deploy", "--all")
    assert "nightly" in run("deployment", "ls")
    shown = run("deployment", "inspect", "nightly/nightly")
    assert str(tmp_path / "sources.yaml") in shown and "data/sample" not in shown

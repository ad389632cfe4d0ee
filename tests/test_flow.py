"""The Prefect flow under Prefect's test harness, and prefect.yaml matching the flow."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
import yaml

from mdm.config.sources import SourceConfig, SourcesConfig
from mdm.ingest.connectors import RawRead
from mdm.pipeline import run_pipeline
from tests.conftest import AS_OF, REPO, query


def task_runs(flow_run_id: UUID) -> dict[str, list[int]]:
    """The task runs of one flow run: their name (Prefect's suffix cut off) -> the attempts of each.
    Prefect records a task run's states from events, after the flow has returned: read until every
    task run is in a final state (up to 15 s), so a failed run is counted with its attempt."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> dict[str, list[int]]:
        async with get_client() as client:
            for _ in range(60):
                runs = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
                )
                if all(r.state is not None and r.state.is_final() for r in runs):
                    break
                await asyncio.sleep(0.25)
        found: dict[str, list[int]] = {}
        for r in runs:
            found.setdefault(r.name.rsplit("-", 1)[0], []).append(r.run_count)
        return found

    return asyncio.run(read())


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
    # a task per stage, and in ingest a task per source, each run once
    assert task_runs(state.state_details.flow_run_id) == {
        name: [1]
        for name in ("ingest", "ingest crm", "ingest web", "standardize", "match", "cluster", "golden", "stale")
        + ("archive", "tags", "publish")
    }
    # the per-source tasks add up to what a local run reports and publishes
    local = tmp_path / "local" / "master.duckdb"
    assert summary.ingest == run_pipeline(tiny, local, as_of=AS_OF).ingest
    for sql in ("SELECT * EXCLUDE (run_id) FROM quarantine ORDER BY ALL", "SELECT * FROM source_records ORDER BY ALL"):
        assert query(master, sql) == query(local, sql), sql

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
    # a missing file is an MdmError (SourceReadError): the same answer on every read, so no retry
    attempts = task_runs(state.state_details.flow_run_id)
    assert (attempts["ingest"], attempts["ingest crm"], "ingest web" in attempts) == ([1], [1], False)


@pytest.mark.prefect
def test_a_source_read_failing_once_is_retried_alone(
    harness: None, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: one ingest task covered every source, so a retry re-read them all."""
    from mdm.ingest import source as ingest_source
    from pipelines import nightly as flow_module

    real_read = ingest_source.read_source
    failures = {"web": 1}

    def flaky_read(config: SourcesConfig, source: SourceConfig) -> RawRead:
        if failures.get(source.name, 0) > 0:
            failures[source.name] -= 1
            raise OSError(f"connection reset while reading {source.name}")
        return real_read(config, source)

    monkeypatch.setattr(ingest_source, "read_source", flaky_read)
    monkeypatch.setattr(flow_module, "RETRY_DELAY_SECONDS", 0)
    state = flow_module.nightly(
        sources=str(tiny), master=str(tmp_path / "master.duckdb"), as_of="2026-11-01", return_state=True
    )
    assert state.is_completed() and state.result().golden.golden_customers == 4
    attempts = task_runs(state.state_details.flow_run_id)
    assert (attempts["ingest"], attempts["ingest crm"], attempts["ingest web"]) == ([1], [1], [2])
    assert failures == {"web": 0}


@pytest.mark.prefect
def test_a_source_read_failing_on_its_data_is_not_retried(
    harness: None, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mdm.ingest import source as ingest_source
    from mdm.ingest.connectors import SourceReadError
    from pipelines import nightly as flow_module

    real_read = ingest_source.read_source

    def refused_read(config: SourcesConfig, source: SourceConfig) -> RawRead:
        if source.name == "web":
            raise SourceReadError("source 'web': not UTF-8 at byte 12")
        return real_read(config, source)

    monkeypatch.setattr(ingest_source, "read_source", refused_read)
    monkeypatch.setattr(flow_module, "RETRY_DELAY_SECONDS", 0)
    master = tmp_path / "master.duckdb"
    state = flow_module.nightly(sources=str(tiny), master=str(master), as_of="2026-11-01", return_state=True)
    assert state.is_failed() and not master.exists()
    attempts = task_runs(state.state_details.flow_run_id)
    assert (attempts["ingest"], attempts["ingest crm"], attempts["ingest web"]) == ([1], [1], [1])


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

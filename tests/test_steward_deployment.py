"""The admin page's "run now" through a Prefect deployment (`mdm serve --deployment`), against a
temporary Prefect server with a deployment of the nightly flow: the flow run it creates, its
parameters, its state on the page, its audit entry, and the one-line errors when it cannot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.users import add_user
from mdm.steward.web.app import create_app
from mdm.steward.web.runner import RunRefused
from tests.conftest import AS_OF, FIXTURES, REPO
from tests.test_steward_web import PASSWORD, run_status, sign_in, start_run

pytestmark = pytest.mark.prefect

DEPLOYMENT = "nightly/run-now"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The steward fixture published, with an admin (root); returns the master."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(FIXTURES / "steward", root / "src")
    master = root / "out" / "master.duckdb"
    run_pipeline(root / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        add_user(store, "root", PASSWORD, "admin", by="test")
    return master


@pytest.fixture(scope="module")
def deployment(harness: None, site: Path) -> dict[str, str]:
    """A deployment of the nightly flow on the temporary server, its parameters as prefect.yaml
    declares them (from the environment of `prefect deploy`); returns them."""
    from pipelines.nightly import nightly

    parameters = {"sources": str(site.parent.parent / "src" / "sources.yaml"), "master": str(site)}
    nightly.to_deployment(name=DEPLOYMENT.split("/")[1], parameters=parameters).apply()
    return parameters


def flow_runs() -> dict[UUID, tuple[str, dict[str, object], str]]:
    """Every flow run of the deployment: id -> name, parameters, state name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[DEPLOYMENT.split("/")[1]]))
        )
    return {r.id: (r.name, r.parameters, r.state.name if r.state else "") for r in runs}


def set_state(flow_run_id: UUID, state: object) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, state, force=True)


def page(site: Path, name: str = DEPLOYMENT) -> TestClient:
    from pipelines.deployment import DeploymentRunner

    c = TestClient(create_app(site, site.parent / "state", runner=DeploymentRunner(name)), base_url="http://127.0.0.1")
    sign_in(c, "root")
    return c


def run_flow_audit(site: Path) -> list[tuple[str, dict[str, str]]]:
    with StateStore(site.parent / "state") as store:
        rows = store.query("SELECT actor, after FROM audit_log WHERE action = 'run_flow' ORDER BY rowid")
    return [(actor, json.loads(after)) for actor, after in rows]


def test_run_now_creates_a_flow_run_of_the_deployment(deployment: dict[str, str], site: Path) -> None:
    from prefect.states import Completed, Failed

    c = page(site)
    assert run_status(c) == f"no run started from this page (runs go through the Prefect deployment {DEPLOYMENT})"
    before = flow_runs()
    started = start_run(c)
    assert started.status_code == 200, started.text
    [flow_run_id] = set(flow_runs()) - set(before)
    name, parameters, state = flow_runs()[flow_run_id]
    # the deployment's parameters, and the admin as the one who started it (the run's audit entries name them)
    assert parameters == deployment | {"started_by": "root"} and state == "Scheduled"
    assert f"flow run {name} of {DEPLOYMENT} created (Scheduled)" in started.text
    shown = rf"flow run {name} \({flow_run_id}\) of {DEPLOYMENT}, started by root at .* UTC: Scheduled"
    assert re.fullmatch(shown, run_status(c))
    assert run_flow_audit(site)[-1] == (
        "root",
        {"deployment": DEPLOYMENT, "flow_run_id": str(flow_run_id), "flow_run": name},
    )
    # no worker runs it here: while it waits, another run now is refused (and not audited)
    again = start_run(c)
    assert again.status_code == 400 and f"flow run {name} of {DEPLOYMENT} is still Scheduled" in again.text
    assert len(flow_runs()) == len(before) + 1 and run_flow_audit(site)[-1][1]["flow_run_id"] == str(flow_run_id)
    # the page reads the state from the server on each load
    set_state(flow_run_id, Failed(message="run 1 failed in stage ingest: source 'crm' has no rows at all"))
    assert run_status(c).endswith(": Failed: run 1 failed in stage ingest: source &#39;crm&#39; has no rows at all")
    set_state(flow_run_id, Completed())
    assert run_status(c).endswith(": Completed")
    # once it is over, another may start
    assert start_run(c).status_code == 200 and len(flow_runs()) == len(before) + 2


def test_the_flow_run_publishes_the_master_and_names_the_admin(deployment: dict[str, str], site: Path) -> None:
    """What a worker would do with the page's flow run: run it from the server (the real flow)."""
    from prefect.settings import PREFECT_API_URL

    c = page(site)
    assert start_run(c).status_code == 200
    flow_run_id = run_flow_audit(site)[-1][1]["flow_run_id"]
    env = os.environ | {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "PREFECT__FLOW_RUN_ID": flow_run_id}
    done = subprocess.run(
        [sys.executable, "-m", "prefect.engine"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r": Completed$", run_status(c))
    with StateStore(site.parent / "state") as store:
        started = store.query("SELECT actor FROM audit_log WHERE action = 'run_started' ORDER BY rowid")
    assert started[-1] == ("root",)


def test_an_unknown_deployment_is_one_line_on_the_page(harness: None, site: Path) -> None:
    c = page(site, "nightly/no-such-deployment")
    r = start_run(c)
    assert r.status_code == 400 and "Traceback" not in r.text
    assert re.search(r"the Prefect server at http://\S+ has no deployment nightly/no-such-deployment", r.text)


def test_no_server_or_one_that_does_not_answer_is_one_line(harness: None) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.deployment import DeploymentRunner

    runner = DeploymentRunner(DEPLOYMENT)
    with temporary_settings(restore_defaults={PREFECT_API_URL}), pytest.raises(RunRefused) as no_server:
        runner.start("root")
    assert str(no_server.value).startswith(f"no Prefect server to run the deployment {DEPLOYMENT} on: set PREFECT_API")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}), pytest.raises(RunRefused) as refused:
        runner.start("root")
    assert str(refused.value).startswith("the Prefect server at http://127.0.0.1:9/api cannot be reached: ")
    assert "\n" not in str(refused.value)


def test_mdm_serve_with_a_deployment(deployment: dict[str, str], site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[FastAPI] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setenv("MDM_DEPLOYMENT", DEPLOYMENT)
    before = len(flow_runs())
    result = CliRunner().invoke(main, ["serve", "--master", str(site)])
    assert result.exit_code == 0, result.output
    c = TestClient(served[0], base_url="http://127.0.0.1")
    sign_in(c, "root")
    assert start_run(c).status_code == 200 and len(flow_runs()) == before + 1
    # a deployment and --sources: which one would run now is not guessed
    both = CliRunner().invoke(main, ["serve", "--master", str(site), "--sources", deployment["sources"]])
    assert both.exit_code == 2 and "not both" in both.output
    monkeypatch.delenv("MDM_DEPLOYMENT")
    bad = CliRunner().invoke(main, ["serve", "--master", str(site), "--deployment", "nightly"])
    assert bad.exit_code == 2 and "give it as <flow>/<deployment>, e.g. nightly/nightly" in bad.output

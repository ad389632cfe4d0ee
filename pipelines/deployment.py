"""The steward page's "run now" through the Prefect deployment: a flow run of it, on the server at
PREFECT_API_URL, with `started_by` the admin's name (`mdm serve --deployment nightly/nightly`).

A worker of the deployment's pool runs it, with the deployment's parameters (prefect.yaml); the
page shows the flow run and its state, read from the server on each load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from mdm.steward.web.runner import RunRefused, RunStarted, started_at

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

TAG = "steward-page"
"""The tag of the flow runs started from the page (the UI filters runs by tag)."""
T = TypeVar("T")


class DeploymentRunner:
    """Creates a flow run of the deployment `name` ("<flow>/<deployment>", as `prefect deployment
    ls` shows it), one at a time: another is refused while the last one the page started is not
    in a final state (completed, failed, cancelled, crashed)."""

    def __init__(self, name: str):
        flow, _, deployment = name.partition("/")
        if not flow or not deployment or "/" in deployment:
            raise ValueError(f"deployment {name!r}: give it as <flow>/<deployment>, e.g. nightly/nightly")
        self.name = name
        self._lock = threading.Lock()
        self._last: tuple[UUID, str, str] | None = None
        """The flow run the page started last: its id, who started it, when."""

    def start(self, by: str) -> RunStarted:
        with self._lock:
            if self._last is not None:
                going = self._read(self._last[0])
                if going.state is not None and not going.state.is_final():
                    raise RunRefused(
                        f"flow run {going.name} of {self.name} is still {going.state.name}; wait for it to finish"
                    )
            flow_run = self._call(
                lambda: self._create(by),
                missing=f"has no deployment {self.name} (`prefect deployment ls` lists them)",
            )
            self._last = (flow_run.id, by, started_at())
        state = flow_run.state.name if flow_run.state else "created"
        return RunStarted(
            f"flow run {flow_run.name} of {self.name} created ({state}): a worker of its pool runs it",
            {"deployment": self.name, "flow_run_id": str(flow_run.id), "flow_run": flow_run.name},
        )

    def _create(self, by: str) -> FlowRun:
        """A flow run of the deployment, with its parameters and `started_by`, scheduled now; not waited for."""
        created = run_deployment(self.name, parameters={"started_by": by}, timeout=0, as_subflow=False, tags=[TAG])
        return cast("FlowRun", created)  # a coroutine only when called from async code; this is a thread

    def status(self) -> str:
        if self._last is None:
            return f"no run started from this page (runs go through the Prefect deployment {self.name})"
        flow_run_id, by, at = self._last
        try:
            flow_run = self._read(flow_run_id)
        except RunRefused as exc:
            return f"flow run {flow_run_id} of {self.name}, started by {by} at {at}: state unknown ({exc})"
        state = flow_run.state
        line = f"flow run {flow_run.name} ({flow_run_id}) of {self.name}, started by {by} at {at}: "
        line += (state.name or state.type.value) if state else "no state yet"
        if state is not None and state.is_final() and not state.is_completed() and state.message:
            line += f": {state.message.splitlines()[0]}"
        return line

    def _read(self, flow_run_id: UUID) -> FlowRun:
        def read() -> FlowRun:
            with get_client(sync_client=True) as client:
                return client.read_flow_run(flow_run_id)

        return self._call(read, missing=f"has no flow run {flow_run_id} (was its database reset?)")

    def _call(self, call: Callable[[], T], missing: str) -> T:
        """Call the Prefect API; what stops it becomes one line (RunRefused) naming the server and
        what to do. `missing`: what a 404 means, after "the Prefect server at <url>"."""
        url = PREFECT_API_URL.value()
        if not url:
            # without a URL Prefect would start a temporary server of its own, which knows no deployment
            raise RunRefused(
                f"no Prefect server to run the deployment {self.name} on: set PREFECT_API_URL for `mdm serve`"
                " (e.g. http://127.0.0.1:4200/api)"
            )
        try:
            return call()
        except ObjectNotFound:
            raise RunRefused(f"the Prefect server at {url} {missing}") from None
        except httpx.HTTPStatusError as exc:
            answer = f"{exc.response.status_code} {exc.response.reason_phrase}"
            raise RunRefused(f"the Prefect server at {url} answered {answer}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise RunRefused(f"the Prefect server at {url} cannot be reached: {exc}") from None

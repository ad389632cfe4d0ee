"""Running the flow from the admin page: the `Runner` given to `create_app`, one run at a time.

`FlowRunner` runs the pipeline in a background thread of the page's process; `mdm serve
--deployment` hands the page a runner that creates a flow run of the Prefect deployment instead
(pipelines/deployment.py). The page never imports either the pipeline or Prefect.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mdm.errors import MdmError
from mdm.steward.service import StewardError

log = logging.getLogger(__name__)


class RunRefused(StewardError):
    """ "Run now" could not start a run: one is still going, or the orchestrator cannot be reached."""


@dataclass(frozen=True)
class RunStarted:
    message: str
    """One line for the admin page."""
    audit: Mapping[str, Any] | None
    """What the run_flow audit entry records (the sources file, the flow run)."""


class Runner(Protocol):
    """What "run now" on the admin page calls."""

    def start(self, by: str) -> RunStarted:
        """Start a run on behalf of the admin `by` (the run's audit entries name them); raises
        RunRefused when a run started from the page is still going or none can start."""
        ...

    def status(self) -> str:
        """One line: how the last run started from the page is going (called on each admin page load)."""
        ...


def started_at() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


class FlowRunner:
    """Calls `run` in a background thread, one run at a time, with the name of the admin who
    started it. `run` returns a one-line status ("run X published in N s"); the message of what it
    raises is shown as "failed: ...". `details` go into the run_flow audit entry (`mdm serve`
    passes the sources file)."""

    def __init__(self, run: Callable[[str], str], details: Mapping[str, Any] | None = None):
        self.run = run
        self.details = dict(details) if details is not None else None
        self._lock = threading.Lock()
        self._status = "no run started from this page"
        self.thread: threading.Thread | None = None

    def start(self, by: str) -> RunStarted:
        if not self._lock.acquire(blocking=False):
            raise RunRefused("a run is already going; wait for it to finish")
        self._status = f"running, started by {by} at {started_at()}"
        self.thread = threading.Thread(target=self._run, args=(by,), name="mdm-flow", daemon=True)
        self.thread.start()
        return RunStarted("the flow is running; the queue shows its result when it is published", self.details)

    def status(self) -> str:
        return self._status

    def _run(self, by: str) -> None:
        try:
            self._status = self.run(by)
        except Exception as exc:
            if not isinstance(exc, MdmError):  # a bug, not a refused input: keep its traceback in the log
                log.exception("the flow run started from the steward page failed")
            self._status = f"failed: {exc}"
        finally:
            self._lock.release()

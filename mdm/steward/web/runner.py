"""Running the flow from the admin page: a callable given to `create_app`, one run at a time."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from mdm.errors import MdmError

log = logging.getLogger(__name__)


class FlowRunner:
    """Calls `run` in a background thread, one run at a time, with the name of the admin who
    started it (the run's audit entries name them). `run` returns a one-line status ("run X
    published in N s"); the message of what it raises is shown as "failed: ...". `details` go into
    the run_flow audit entry (`mdm serve` passes the sources file)."""

    def __init__(self, run: Callable[[str], str], details: Mapping[str, Any] | None = None):
        self.run = run
        self.details = dict(details) if details is not None else None
        self._lock = threading.Lock()
        self.status = "no run started from this page"
        self.thread: threading.Thread | None = None

    def start(self, by: str) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self.status = f"running, started by {by} at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
        self.thread = threading.Thread(target=self._run, args=(by,), name="mdm-flow", daemon=True)
        self.thread.start()
        return True

    def _run(self, by: str) -> None:
        try:
            self.status = self.run(by)
        except Exception as exc:
            if not isinstance(exc, MdmError):  # a bug, not a refused input: keep its traceback in the log
                log.exception("the flow run started from the steward page failed")
            self.status = f"failed: {exc}"
        finally:
            self._lock.release()

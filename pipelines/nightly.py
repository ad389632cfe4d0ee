"""The nightly flow: one Prefect task per stage, each a thin call into the stage's function, and
inside the ingest task one task per source read (`ingest <source>`).

Only source reads retry, each on its own, and only on I/O failures: a problem with the data or the
configuration (an MdmError: a refused source, a broken file) fails at once, since reading again
gives the same answer. Each task returns its stage's typed report; data moves between stages as parquet files in
the run's work directory. On the console an MdmError is one line (its message), not a traceback:
the traceback still goes to Prefect's API log for the UI.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging.handlers import PrefectConsoleHandler

from mdm.context import RunContext
from mdm.errors import MdmError
from mdm.executor import ExecutorSettings
from mdm.pipeline import Report, run_pipeline
from mdm.report import report_path
from mdm.steps import is_source_step
from mdm.summary import RunSummary, format_summary

SOURCE_READ_RETRIES = 2
"""How often a source's read (`ingest <source>`) is tried again after an I/O failure; no other step retries."""
RETRY_DELAY_SECONDS = 10
TIMEOUT_SECONDS = int(os.environ.get("MDM_STAGE_TIMEOUT_SECONDS", 4 * 3600))
"""A stage running longer than this fails the run (it is stuck: a 10M-record stage takes minutes)."""


def _is_mdm_error(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, MdmError):
            return True
        exc = exc.__cause__
    return False


def _retry_on_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry unless the failure is an MdmError (data or configuration)."""
    failure = state.result(raise_on_failure=False)
    return not (isinstance(failure, BaseException) and _is_mdm_error(failure))


class _MdmErrorsOnOneLine(logging.Filter):
    """Drops the traceback of a log record about an MdmError (the message says what to fix)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_mdm_error(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_console() -> None:
    """Put the filter on Prefect's console handlers (they are configured when Prefect starts)."""
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _MdmErrorsOnOneLine) for f in handler.filters
            ):
                handler.addFilter(_MdmErrorsOnOneLine())


def _as_task(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
    wrapped = task(
        name=name,
        cache_policy=NO_CACHE,
        retries=SOURCE_READ_RETRIES if is_source_step(name) else 0,
        retry_delay_seconds=RETRY_DELAY_SECONDS,
        retry_condition_fn=_retry_on_io_only,
        timeout_seconds=TIMEOUT_SECONDS,
    )(stage)
    return wrapped(ctx)


@flow(name="nightly", log_prints=True)
def nightly(
    sources: str,
    master: str,
    state: str | None = None,
    as_of: str | None = None,
    retrain: bool = False,
    allow_shrink: list[str] | None = None,
    started_by: str | None = None,
    full: bool = False,
    executor: str = "local",
    dask_address: str | None = None,
    memory_limit: str | None = None,
) -> RunSummary:
    """Ingest, standardize, match, cluster, build golden records and publish the master.

    `executor` "dask" sends the standardize batches and comparison slices to the Dask cluster at
    `dask_address` (a local one without it; mdm/executor.py): the same master either way.
    `memory_limit` ("6GiB") is the run's memory budget (mdm/budget.py); the default is a share of the machine.

    `started_by` names who started the run in the audit log (`mdm run` passes `cli:<os user>`);
    left out, a deployment's run is `schedule:<deployment>` (prefect.yaml's nightly)."""
    _quiet_console()
    logging.getLogger("mdm").setLevel(logging.INFO)  # each stage's counts, in the console and Prefect's UI
    day = dt.date.fromisoformat(as_of) if as_of else None
    summary = run_pipeline(
        sources,
        master,
        state,
        day,
        call=_as_task,
        retrain=retrain,
        allow_shrink=allow_shrink or (),
        started_by=started_by or _deployment_actor(),
        full=full,
        executor=ExecutorSettings(executor, dask_address, memory_limit=memory_limit),  # type: ignore[arg-type]  # checked by ExecutorSettings
    )
    create_markdown_artifact(
        key="mdm-run-report",
        markdown=f"# mdm run {summary.run_id}\n\nThe whole report: `{report_path(Path(summary.master))}`\n\n"
        f"```\n{format_summary(summary)}\n```\n",
        description=f"what run {summary.run_id} read, matched and published",
    )
    return summary


def _deployment_actor() -> str | None:
    """`schedule:<deployment name>` in a deployment's run (None outside one: the process's user)."""
    from prefect.runtime import deployment

    name = deployment.name
    return f"schedule:{name}" if name else None

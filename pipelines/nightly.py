"""The nightly flow: one Prefect task per stage, each a thin call into the stage's function.

Only source reads retry (I/O); the other stages are deterministic and fail fast. Each task returns
its stage's typed report; data moves between stages as parquet files in the run's work directory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from mdm.context import RunContext
from mdm.pipeline import Report, run_pipeline
from mdm.summary import RunSummary

RETRIES = {"ingest": 2}


def _as_task(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
    wrapped = task(name=name, cache_policy=NO_CACHE, retries=RETRIES.get(name, 0), retry_delay_seconds=10)(stage)
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
) -> RunSummary:
    """Ingest, standardize, match, cluster, build golden records and publish the master.

    `started_by` names who started the run in the audit log (`mdm run` passes `cli:<os user>`);
    left out, a deployment's run is `schedule:<deployment>` (prefect.yaml's nightly)."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    return run_pipeline(
        sources,
        master,
        state,
        day,
        call=_as_task,
        retrain=retrain,
        allow_shrink=allow_shrink or (),
        started_by=started_by or _deployment_actor(),
    )


def _deployment_actor() -> str | None:
    """`schedule:<deployment name>` in a deployment's run (None outside one: the process's user)."""
    from prefect.runtime import deployment

    name = deployment.name
    return f"schedule:{name}" if name else None

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
) -> RunSummary:
    """Ingest, standardize, match, cluster, build golden records and publish the master."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    return run_pipeline(sources, master, state, day, call=_as_task, retrain=retrain, allow_shrink=allow_shrink or ())

"""The nightly run: the stages in the order data moves, each a function of the run context.

`run_pipeline` is the one code path. The CLI calls it directly; the Prefect flow calls it with
`call` wrapping each stage, and each source's read inside ingest, in a task. Stages hand data on
as files in the run's work directory (mdm/context.py `WorkFiles`) and return typed reports, which
make the run's summary.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import shutil
import subprocess
import time
import traceback
from collections.abc import Callable, Collection
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import duckdb

from mdm.archive.stage import archive_stage
from mdm.cluster.stage import cluster_stage
from mdm.config.errors import ConfigError
from mdm.config.project import ProjectConfig
from mdm.context import RunContext
from mdm.errors import MdmError
from mdm.executor import ExecutorSettings, open_partitions
from mdm.files import private_files
from mdm.golden.stage import golden_stage
from mdm.incremental.bases import load_bases
from mdm.incremental.carry import config_fingerprint, load_carry
from mdm.ingest.source import AccountingError
from mdm.ingest.stage import IngestReport, ingest_stage
from mdm.match.stage import match_stage
from mdm.publish.stage import publish_stage
from mdm.report import write_report
from mdm.sensitive import run_cipher
from mdm.stale.stage import stale_stage
from mdm.standardize.stage import StandardizeReport, standardize_stage
from mdm.state import StateStore
from mdm.state.lock import run_lock
from mdm.steps import StageCaller, call_directly
from mdm.summary import RunSummary
from mdm.tags.stage import tags_stage

log = logging.getLogger(__name__)

STATE_DIRNAME = "state"
WORK_DIRNAME = ".mdm-work"
"""Beside the master: one directory per run, removed when the run ends however it ends."""
KEEP_WORK_ENV = "MDM_KEEP_WORK"
"""Set (to anything) to keep a run's work files for inspection; they hold personal data."""
STAGE_NAMES = ("ingest", "standardize", "match", "cluster", "golden", "stale", "archive", "tags", "publish")
"""The stages in the order `run_pipeline` calls them (the names a `StageCaller` is given; inside
ingest, each source's read is a step of its own, `ingest <source>`: mdm/steps.py)."""

Report = TypeVar("Report")


class PipelineError(MdmError):
    """The run failed; the previous master and the durable store are untouched."""


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    release = version("mdm-customer-master")
    return f"{release}+{sha}" if sha else release


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def run_pipeline(
    sources: Path | str,
    master: Path | str,
    state: Path | str | None = None,
    as_of: dt.date | None = None,
    call: StageCaller = call_directly,
    retrain: bool = False,
    allow_shrink: Collection[str] = (),
    started_by: str | None = None,
    full: bool = False,
    executor: ExecutorSettings | None = None,
) -> RunSummary:
    """Run every stage and publish the master. On any failure the previous master and the
    durable store are left as they were, the run is recorded as failed, and PipelineError is raised.

    One run at a time per store and per master (RunLocked at once otherwise); the files it creates
    are its owner's only; its work directory is removed when it ends, however it ends. The audit log
    says who started it (`started_by`, StateStore.start_run) and how it ended.

    Incremental when the store holds the last published run's records under the same
    configuration and code (mdm/incremental/): only new and changed rows are standardized.
    `full` (and `retrain`) standardize every row; the master is the same either way.
    `executor` says where the standardize batches and the comparison slices run (mdm/executor.py:
    here by default, or on a Dask cluster); the master is the same either way."""
    started = time.monotonic()
    master = Path(master).resolve()
    state_dir = Path(state).resolve() if state else master.parent / STATE_DIRNAME
    run_id = new_run_id()
    as_of = as_of or dt.date.today()
    # config errors fail before any write (a broken tag does not: it is reported by the run)
    config = ProjectConfig(sources).validate()
    unknown = sorted(set(allow_shrink) - {s.name for s in config.sources.sources})
    if unknown:
        raise ConfigError(config.sources_path, [f"--allow-shrink {name}: no such source" for name in unknown])
    cipher = run_cipher(config.sensitive_columns, [state_dir, master.parent])
    with private_files(), run_lock(state_dir, master, run_id):
        state_dir.chmod(0o700)
        work_root = master.parent / WORK_DIRNAME
        _remove_leftovers(work_root)
        fingerprint = config_fingerprint(config, code_version())
        with StateStore(state_dir) as store:
            runs = store.published_runs()["run_id"]
        last = runs[-1] if len(runs) else None
        carry = None
        if not (full or retrain):
            carry = load_carry(state_dir, last, fingerprint, config.dictionary.sensitive_fields)
        ctx = RunContext(
            run_id,
            master,
            state_dir,
            as_of,
            work_root / run_id,
            config,
            retrain,
            frozenset(allow_shrink),
            cipher,
            carry,
            load_bases(state_dir, last),
            fingerprint,
        )
        ctx.work_dir.mkdir(parents=True)
        try:
            settings = executor or ExecutorSettings()
            ctx.budget = settings.budget
            with open_partitions(settings) as partitions:
                ctx.partitions = partitions
                summary = _run_stages(ctx, call, started, started_by)
        finally:
            if not os.environ.get(KEEP_WORK_ENV):
                shutil.rmtree(ctx.work_dir, ignore_errors=True)
        try:
            log.info("run report: %s", write_report(summary))
        except (OSError, duckdb.Error) as exc:  # the master is published: a report that fails is only logged
            log.warning("run %s: the run report could not be written: %s", run_id, exc)
    log.info("run %s published in %s s", run_id, summary.seconds)
    return summary


def _run_stages(ctx: RunContext, call: StageCaller, started: float, started_by: str | None = None) -> RunSummary:
    """Record the run in the store, call every stage in order, record how it ended."""
    run_id, config = ctx.run_id, ctx.config
    with StateStore(ctx.state_dir) as store:
        if ctx.cipher is not None:
            store.remember_data_key(ctx.cipher.key_id)
        for abandoned in store.close_abandoned_runs(run_id):
            log.warning("run %s had ended without finishing; recorded as failed", abandoned)
        store.start_run(
            run_id,
            code_version=code_version(),
            sources_path=str(config.sources_path),
            master_path=str(ctx.master_path),
            as_of=ctx.as_of.isoformat(),
            started_by=started_by,
        )
    log.info("run %s: %s -> %s as of %s", run_id, config.sources_path, ctx.master_path, ctx.as_of)
    stages = _Stages(ctx, call)
    try:
        ingested = stages.run("ingest", lambda ctx: ingest_stage(ctx, call))  # one step per source in it
        standardized = stages.run("standardize", standardize_stage)
        check_accounting(ingested, standardized)
        matched = stages.run("match", match_stage)
        clustered = stages.run("cluster", cluster_stage)
        golden = stages.run("golden", golden_stage)
        stale = stages.run("stale", stale_stage)
        archived = stages.run("archive", archive_stage)
        tagged = stages.run("tags", tags_stage)
        published = stages.run("publish", publish_stage)
    except BaseException as exc:
        with StateStore(ctx.state_dir) as store:
            store.finish_run(run_id, "failed", error="".join(traceback.format_exception_only(exc)).strip())
        log.error("run %s failed in stage %s: %s", run_id, stages.current, exc)
        kept = (
            f"work files kept in {ctx.work_dir}"
            if os.environ.get(KEEP_WORK_ENV)
            else f"{KEEP_WORK_ENV}=1 keeps the work files"
        )
        raise PipelineError(
            f"run {run_id} failed in stage {stages.current}: {exc}; the previous master is unchanged ({kept})"
        ) from exc
    summary = RunSummary(
        run_id,
        str(ctx.master_path),
        ctx.as_of.isoformat(),
        round(time.monotonic() - started, 2),
        ingested,
        standardized,
        matched,
        clustered,
        golden,
        stale,
        archived,
        tagged,
        published,
    )
    with StateStore(ctx.state_dir) as store:
        store.finish_run(run_id, "published", counts=summary.counts())
    return summary


def _remove_leftovers(work_root: Path) -> None:
    """Work directories of runs that ended without cleaning up (killed): they hold personal data.
    Called under the run lock, so none of them belongs to a live run."""
    if work_root.is_dir():
        for leftover in work_root.iterdir():
            log.warning("removing the work files %s of a run that ended without finishing", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


class _Stages:
    """Calls the stages through the caller, remembering which one is running (for the error)."""

    def __init__(self, ctx: RunContext, call: StageCaller):
        self.ctx, self.call, self.current = ctx, call, ""

    def run(self, name: str, stage: Callable[[RunContext], Report]) -> Report:
        self.current = name
        return self.call(name, stage, self.ctx)


def check_accounting(ingested: IngestReport, standardized: StandardizeReport) -> None:
    """Every row read was accepted, applied as a deletion (delta extracts) or quarantined, and
    every source's record was standardized."""
    for s in ingested.sources:
        if s.rows_read != s.rows_accepted + s.rows_deleted + s.rows_quarantined:
            raise AccountingError(
                f"row accounting broken for source {s.source}: read {s.rows_read}, accepted {s.rows_accepted},"
                f" deleted {s.rows_deleted}, quarantined {s.rows_quarantined}"
            )
        if s.extract == "full" and s.records != s.rows_accepted:
            raise AccountingError(f"row accounting broken for source {s.source}: {s}")
    records = ingested.total("records")
    if standardized.records != records:
        raise AccountingError(
            f"row accounting broken: the sources hold {records} records, standardized {standardized.records}"
        )
    for e in ingested.events:
        if e.rows_read != e.rows_accepted + e.rows_quarantined:
            raise AccountingError(f"row accounting broken for event source {e.source}: {e}")

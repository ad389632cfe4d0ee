"""Where a run's partitions are computed: in this process and its worker pool (`local`, the
default), or on a Dask cluster (`dask`, `mdm run --executor dask [--dask-address tcp://...]`).

The partitions are the same either way and each is a pure function of its inputs, so both give
the same master, record for record: the standardize stage's batches of distinct values, the
match stage's slices of candidate pairs to compare and the golden stage's partitions of
customers. Without an address, `dask` starts a `LocalCluster` of one single-threaded worker
process per core and closes it after the run; with one, it connects to a running scheduler whose
workers have this package installed (the same version) and sends them the partitions' inputs
(each comparison slice with the records its pairs name, each golden partition with its records).
The run itself, its work files and the durable store stay on the machine that runs `mdm run`
(docs/scaling.md).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from mdm.budget import MemoryBudget, parse_size
from mdm.errors import MdmError

log = logging.getLogger(__name__)

T = TypeVar("T")
ExecutorKind = Literal["local", "dask"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("local", "dask")


class ExecutorError(MdmError):
    """The Dask cluster could not be reached or started, or Dask is not installed."""


@dataclass(frozen=True)
class ExecutorSettings:
    kind: ExecutorKind = "local"
    address: str | None = None
    """The Dask scheduler's address (`tcp://host:8786`); None starts a LocalCluster."""
    workers: int | None = None
    """Workers of a LocalCluster (default: one per core)."""
    memory_limit: str | None = None
    """The run's memory budget (`--memory-limit 6GiB`, mdm/budget.py); None: a share of the machine."""

    def __post_init__(self) -> None:
        if self.kind not in EXECUTOR_KINDS:
            raise ExecutorError(f"executor {self.kind!r}: choose one of {', '.join(EXECUTOR_KINDS)}")
        if self.address is not None and self.kind != "dask":
            raise ExecutorError("--dask-address needs --executor dask")
        if self.memory_limit is not None:
            parse_size(self.memory_limit)  # a limit that is not a size fails here, before the run starts

    @property
    def budget(self) -> MemoryBudget:
        return MemoryBudget.of(parse_size(self.memory_limit) if self.memory_limit is not None else None)


class Partitions(Protocol):
    """Runs one function over partitions, in order (`shared` keyword arguments go to every call)."""

    distributed: bool
    """True when partitions leave this process (the stage then ships them whole, not lazily)."""
    workers: int
    """Partitions computed at once (a stage that reads each partition's input from disk reads this many
    before it maps them)."""
    worker_bytes: int | None
    """The memory each worker may hold (a stage sizes what it sends one by it); None: this process's budget."""

    def map(self, fn: Callable[..., T], *iterables: Sequence[Any], **shared: Any) -> list[T]: ...


class LocalPartitions:
    """Each partition in this process, one after the other (the stages' own pools aside)."""

    distributed = False
    workers = 1
    worker_bytes: int | None = None

    def map(self, fn: Callable[..., T], *iterables: Sequence[Any], **shared: Any) -> list[T]:
        return [fn(*args, **shared) for args in zip(*iterables, strict=True)]


class DaskPartitions:
    """Each partition a task on a Dask cluster; results gathered in order."""

    distributed = True

    def __init__(self, client: Any):
        self.client = client
        workers = client.scheduler_info()["workers"].values()
        self.workers = max(len(workers), 1)
        limits = [int(w.get("memory_limit") or 0) for w in workers]
        self.worker_bytes = min(limits) if limits and min(limits) > 0 else None
        self.tasks: Counter[str] = Counter()
        """Tasks sent, by function name (the run log says how many)."""

    def map(self, fn: Callable[..., T], *iterables: Sequence[Any], **shared: Any) -> list[T]:
        if not iterables or not iterables[0]:
            return []
        self.tasks[getattr(fn, "__name__", repr(fn))] += len(iterables[0])
        futures = self.client.map(fn, *iterables, pure=False, **shared)
        results: list[T] = self.client.gather(futures)
        return results


@contextmanager
def open_partitions(settings: ExecutorSettings) -> Iterator[Partitions]:
    """The partitions' executor of one run, closed (a LocalCluster stopped) when the run ends."""
    if settings.kind == "local":
        yield LocalPartitions()
        return
    try:
        from distributed import Client, LocalCluster  # noqa: PLC0415 (optional: the `dask` extra)
    except ImportError as exc:
        raise ExecutorError(
            "--executor dask needs Dask: pip install 'mdm-customer-master[dask]' (dask and distributed)"
        ) from exc
    if settings.address is not None:
        try:
            client = Client(settings.address, timeout="20s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"no Dask scheduler answers at {settings.address}: {exc}") from exc
        log.info("executor: Dask scheduler %s, %d workers", settings.address, len(client.scheduler_info()["workers"]))
        remote = DaskPartitions(client)
        try:
            yield remote
        finally:
            client.close()  # type: ignore[no-untyped-call]
        log.info("executor: %s Dask tasks", dict(remote.tasks))
        return
    workers = settings.workers or os.cpu_count() or 1
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=settings.budget.worker_limit(workers),
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        log.info("executor: a local Dask cluster of %d workers", workers)
        partitions = DaskPartitions(client)
        yield partitions
        log.info("executor: %s Dask tasks", dict(partitions.tasks))

"""Where the partitions run (mdm/executor.py): a run whose standardize batches, comparison slices
and golden partitions go to a Dask cluster publishes the same master as a run that keeps them here."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mdm.executor import ExecutorError, ExecutorSettings, LocalPartitions, open_partitions
from mdm.pipeline import run_pipeline
from mdm.standardize import base
from tests.conftest import AS_OF
from tests.test_incremental import COMPARED, _table, twin_masters


def test_the_sample_on_a_two_worker_dask_cluster_publishes_the_local_runs_master(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sample's batches of distinct values are small: send them to the cluster all the same
    monkeypatch.setattr(base, "MIN_CLUSTER_VALUES", 20)
    sources, local, dask, first = twin_masters(tmp_path, "local", "dask")
    with caplog.at_level(logging.INFO, logger="mdm.executor"):
        second = run_pipeline(sources, dask, as_of=AS_OF, full=True, executor=ExecutorSettings("dask", workers=2))
    sent = [r.getMessage() for r in caplog.records if "Dask tasks" in r.getMessage()]
    assert sent and all(task in sent[0] for task in ("_compare_slice", "_results_frame", "build_golden")), sent
    assert second.match.candidate_pairs == first.match.candidate_pairs > 0
    for name in COMPARED:
        assert _table(dask, name).equals(_table(local, name)), f"{name} differs between the local and the Dask run"


def test_an_unknown_executor_or_an_address_without_dask_is_refused() -> None:
    with pytest.raises(ExecutorError, match="choose one of local, dask"):
        ExecutorSettings("spark")  # type: ignore[arg-type]
    with pytest.raises(ExecutorError, match="needs --executor dask"):
        ExecutorSettings("local", "tcp://127.0.0.1:8786")
    with open_partitions(ExecutorSettings()) as partitions:
        assert isinstance(partitions, LocalPartitions)
        assert partitions.map(lambda a, b, c: a + b + c, [1, 2], [10, 20], c=100) == [111, 122]


def test_a_scheduler_that_does_not_answer_is_a_clear_error() -> None:
    settings = ExecutorSettings("dask", "tcp://127.0.0.1:9")  # the discard port: nothing listens
    with (
        pytest.raises(ExecutorError, match="no Dask scheduler answers at tcp://127.0.0.1:9"),
        open_partitions(settings),
    ):
        pass

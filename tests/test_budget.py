"""The run's memory budget (mdm/budget.py): --memory-limit is read as a size, sizes the stages'
partitions, and a run that works in many partitions publishes the same master as one that does not."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from mdm.archive import stage as archive_stage
from mdm.budget import MemoryBudget, MemoryLimitError, parse_size
from mdm.cli import main
from mdm.cluster import stage as cluster_stage
from mdm.config.dictionary import DEFAULT_DICTIONARY
from mdm.config.rules import DEFAULT_RULES_DIR
from mdm.executor import ExecutorSettings
from mdm.golden import history as golden_history
from mdm.golden import stage as golden_stage
from mdm.match import partitions as match_partitions
from mdm.match import stage as match_stage
from mdm.pipeline import run_pipeline
from mdm.publish import tables as publish_tables
from mdm.stale import stage as stale_stage
from mdm.standardize import stage as standardize_stage
from mdm.tags import compute as tags_compute
from tests.conftest import AS_OF, REPO
from tests.test_archive import with_policy
from tests.test_incremental import COMPARED, _table, twin_masters


@pytest.mark.parametrize(
    ("text", "size"),
    [("6GiB", 6 * 2**30), ("6g", 6 * 2**30), ("512MB", 512 * 2**20), ("1.5 GiB", 3 * 2**29), ("2048 mib", 2**31)],
)
def test_a_memory_limit_is_read_as_a_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "6 parsecs", "-1GiB", "100MiB"])
def test_a_memory_limit_that_is_not_a_usable_size_is_refused_before_the_run(text: str) -> None:
    with pytest.raises(MemoryLimitError, match="--memory-limit"):
        ExecutorSettings(memory_limit=text)


def test_the_budget_sizes_partitions_duckdb_and_workers() -> None:
    budget = MemoryBudget(4 * 2**30)
    assert budget.partitions(0, 1_000) == 1
    assert budget.partitions(1_000_000, 1_000) == 1  # 0.93 GiB of 1.6 GiB
    assert budget.partitions(5_000_000, 1_000) == 3  # 4.66 GiB of 1.6 GiB
    assert budget.duckdb_limit == "512MiB"
    assert MemoryBudget(64 * 2**30).duckdb_limit == "1024MiB"
    assert budget.worker_limit(2) == 2**30
    assert MemoryBudget.of(None).limit_bytes > 0


def test_the_cli_refuses_a_limit_that_is_not_a_size(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", "--sources", str(REPO / "data/sample/sources.yaml"), "--master", str(tmp_path / "m.duckdb")]
        + ["--orchestrator", "local", "--memory-limit", "lots"],
    )
    assert result.exit_code != 0
    assert "give a size such as 6GiB" in result.output
    assert not (tmp_path / "m.duckdb").exists()


def test_a_run_in_many_partitions_publishes_the_master_of_a_run_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sources, whole, parted, _ = twin_masters(tmp_path, "whole", "parted")
    # the sample's records weigh little: make each weigh enough for a 1 GiB budget to need many partitions
    monkeypatch.setattr(golden_stage, "GOLDEN_BYTES_PER_RECORD", 2_000_000)
    monkeypatch.setattr(standardize_stage, "STANDARDIZE_BYTES_PER_ROW", 10_000_000)
    monkeypatch.setattr(match_stage, "SCORE_BYTES_PER_PAIR", 1_000_000)
    monkeypatch.setattr(match_partitions, "MATCH_BYTES_PER_PAIR", 200_000)
    monkeypatch.setattr(cluster_stage, "CLUSTER_BYTES_PER_RECORD", 2_000_000)
    with caplog.at_level(logging.INFO, logger="mdm"):
        run_pipeline(sources, parted, as_of=AS_OF, full=True, executor=ExecutorSettings(memory_limit="1GiB"))
    said = [r.getMessage() for r in caplog.records]
    assert any("built in" in m and "partitions" in m for m in said), said
    assert any("rows in" in m and "batches" in m for m in said), said
    assert any("scored in" in m and "slices" in m for m in said), said
    assert any("compared in" in m and "partitions of left rids" in m for m in said), said
    assert any("partitions of connected components" in m for m in said), said
    for name in COMPARED:
        assert _table(parted, name).equals(_table(whole, name)), f"{name} differs when built in partitions"


def test_a_dictionary_without_a_term_frequency_column_still_scores(tmp_path: Path) -> None:
    """Scoring counts term frequencies once for all its slices: only of the columns the records
    have (a project's dictionary without occupation makes no occupation_key; its comparison is skipped)."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    dictionary = tmp_path / "dictionary"
    shutil.copytree(DEFAULT_DICTIONARY.parent, dictionary)
    fields = (dictionary / DEFAULT_DICTIONARY.name).read_text()
    start = fields.index("  - name: occupation\n")
    end = fields.index("  - name: ", start + 1)
    (dictionary / DEFAULT_DICTIONARY.name).write_text(fields[:start] + fields[end:])
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    survivorship = (rules / "survivorship.yaml").read_text()
    (rules / "survivorship.yaml").write_text(
        survivorship.replace("  occupation:\n    rules: [valid, most_recent, most_trusted]\n", "")
    )
    sources = data / "sources.yaml"
    sources.write_text(f"dictionary: {dictionary / DEFAULT_DICTIONARY.name}\nrules: {rules}\n" + sources.read_text())
    master = tmp_path / "out" / "master.duckdb"
    with pytest.warns(UserWarning, match="comparison 'occupation' skipped"):
        summary = run_pipeline(sources, master, as_of=AS_OF)
    assert summary.match.candidate_pairs > 0
    assert "occupation_key" not in _table(master, "source_records").columns


def test_a_publish_in_small_slices_publishes_the_master_of_a_publish_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Publish builds match_pairs a slice of pairs at a time and hashes the golden history a batch
    at a time: in slices of a few hundred (a dozen and more of each on the sample), the master and
    what is left for the next run are exactly those of one slice each, row for row and in order."""
    sources, whole, sliced, _ = twin_masters(tmp_path, "whole", "sliced")
    monkeypatch.setattr(publish_tables, "MAX_SLICE_PAIRS", 400)
    monkeypatch.setattr(golden_history, "_HASH_BATCH_ROWS", 100)
    with caplog.at_level(logging.INFO, logger="mdm"):
        run_pipeline(sources, sliced, as_of=AS_OF, full=True)
    said = [r.getMessage() for r in caplog.records if " pairs hashed in " in r.getMessage()]
    assert said and int(said[0].split(" in ")[1].split()[0]) >= 10 and "all explained" in said[0], said
    for name in COMPARED:
        assert _table(sliced, name).equals(_table(whole, name)), f"{name} differs when published in slices"
    for name in ("golden_customers", "customer_xref", "match_pairs", "golden_customers_history"):
        assert _table(sliced, name, in_stored_order=True).equals(_table(whole, name, in_stored_order=True)), (
            f"{name} is in another order in slices"
        )
    for name in ("standardized.parquet", "golden.parquet", "pairs.parquet"):  # carried to the next run
        left_whole, left_sliced = (m.parent / "state" / "records" / name for m in (whole, sliced))
        assert pl.read_parquet(left_sliced).equals(pl.read_parquet(left_whole)), f"{name} differs in slices"
    snapshot = sliced.with_name(sliced.name + ".parquet")
    for name in ("golden_customers", "customer_xref"):
        assert (
            pl.read_parquet(snapshot / f"{name}.parquet")
            .drop("run_id")
            .equals(_table(sliced, name, in_stored_order=True))
        )


def test_stale_archive_and_tags_in_many_partitions_decide_as_a_run_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The sample with an archive policy that archives some of its customers: a run flagging stale
    values and deciding the archive in many partitions flags the same values for the same reasons
    (household evidence crosses partitions) and archives the same customers as a run in one, and
    its tags, read batch by batch, are the same and leave out the same customers (a partition
    dropped would bring its archived back)."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    sources = data / "sources.yaml"
    with_policy(sources, 2)
    whole, parted = tmp_path / "whole" / "master.duckdb", tmp_path / "parted" / "master.duckdb"
    run_pipeline(sources, whole, as_of=AS_OF)
    shutil.copytree(whole.parent, parted.parent)  # one trained model for both (twin_masters)
    run_pipeline(sources, whole, as_of=AS_OF, full=True)
    monkeypatch.setattr(archive_stage, "ARCHIVE_BYTES_PER_RECORD", 2_000_000)
    monkeypatch.setattr(stale_stage, "STALE_BYTES_PER_RECORD", 2_000_000)
    monkeypatch.setattr(tags_compute, "TAG_BATCH_ROWS", 7)  # each tag's rows read in many batches
    with caplog.at_level(logging.INFO, logger="mdm"):
        run_pipeline(sources, parted, as_of=AS_OF, full=True, executor=ExecutorSettings(memory_limit="1GiB"))
    said = [r.getMessage() for r in caplog.records]
    assert any("decided in" in m and "partitions" in m for m in said), said
    assert any("flagged in" in m and "partitions" in m for m in said), said
    archived = _table(whole, "archived_customers")
    assert 0 < archived.height < _table(whole, "golden_customers").height
    household = _table(whole, "golden_customers").filter(pl.col("address_stale_reason").str.contains("household"))
    assert household.height > 0  # the sample has household evidence to lose
    compared = ["archived_customers", "archive_events", "golden_customers", "customer_xref", "customer_tags"]
    for name in [*compared, "customers_to_reverify"]:
        assert _table(parted, name).equals(_table(whole, name)), f"{name} differs when decided in partitions"

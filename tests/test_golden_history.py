"""Golden ids across runs and golden_customers_history, end to end on the tiny fixture.

In the tiny fixture (tests/fixtures/tiny/README.md) the first run gives G000000001 {C1, W1},
G000000002 {C2, W2}, G000000003 {C6 Ann Lee} and G000000004 {W5 Jane Smith}.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from mdm.duck import SqlPatch
from mdm.golden.history import row_hashes, segment_path
from mdm.pipeline import PipelineError, run_pipeline
from mdm.publish.patch import apply_patch
from mdm.state import StateStore
from tests.conftest import AS_OF
from tests.conftest import query as q

ANN, JANE = "G000000003", "G000000004"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def versions(master: Path) -> list[tuple]:
    return q(
        master,
        "SELECT golden_id, valid_from_run, valid_to_run FROM golden_customers_history ORDER BY golden_id, valid_from",
    )


def test_hash_ignores_column_order_and_staleness_but_not_values() -> None:
    base = pl.DataFrame({"golden_id": ["G1"], "email": ["a@x.com"], "address_freshness": [0.9], "run_id": ["r1"]})
    same = base.select("run_id", "address_freshness", "email", "golden_id").with_columns(
        pl.lit(0.5).alias("address_freshness"), pl.lit("r2").alias("run_id")
    )
    changed = base.with_columns(pl.lit("b@x.com").alias("email"))
    stale = base.with_columns(pl.lit(True).alias("address_is_stale"), pl.lit("aged").alias("address_stale_reason"))
    assert row_hashes(same).to_list() == row_hashes(base).to_list()
    assert row_hashes(changed).to_list() != row_hashes(base).to_list()
    assert row_hashes(stale).to_list() == row_hashes(base).to_list()  # recomputed as of each run, not versioned


def test_rerun_on_unchanged_sources_changes_no_id_and_opens_no_version(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    ids = q(master, "SELECT source_record_id, golden_id FROM customer_xref ORDER BY ALL")
    second = run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT source_record_id, golden_id FROM customer_xref ORDER BY ALL") == ids
    assert q(master, f"SELECT count(*) FROM id_events WHERE run_id = '{second.run_id}'") == [(0,)]
    assert versions(master) == [(f"G00000000{n}", first.run_id, None) for n in range(1, 5)]
    assert [(s.publish.golden_versions_opened, s.publish.golden_versions_closed) for s in (first, second)] == [
        (4, 0),
        (0, 0),
    ]
    assert not segment_path(master.parent / "state", second.run_id).exists()
    assert q(master, "SELECT run_id FROM published_runs ORDER BY run_seq") == [(first.run_id,), (second.run_id,)]


def test_a_later_as_of_changes_stale_flags_but_opens_no_version(tiny: Path, tmp_path: Path) -> None:
    """Staleness is recomputed as of each run's date: a year on, values age past the threshold,
    yet the golden records did not change, so their history does not either."""
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    fresh = q(master, "SELECT count(*) FILTER (WHERE address_is_stale) FROM golden_customers")
    later = run_pipeline(tiny, master, as_of=AS_OF.replace(year=AS_OF.year + 1))
    assert q(master, "SELECT count(*) FILTER (WHERE address_is_stale) FROM golden_customers") != fresh
    assert (later.publish.golden_versions_opened, later.publish.golden_versions_closed) == (0, 0)
    assert versions(master) == [(f"G00000000{n}", first.run_id, None) for n in range(1, 5)]


def test_a_changed_source_value_opens_one_version_and_closes_the_previous(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    edit(tiny.parent / "crm.csv", "ann.lee@example,", "ann.lee@example.com,")
    second = run_pipeline(tiny, master, as_of=AS_OF)
    rows = q(
        master,
        "SELECT golden_id, valid_from_run, valid_to_run, email,"
        " valid_to = (SELECT published_at FROM published_runs WHERE run_id = valid_to_run)"
        " FROM golden_customers_history WHERE golden_id = 'G000000003' ORDER BY valid_from",
    )
    assert rows == [
        (ANN, first.run_id, second.run_id, None, True),
        (ANN, second.run_id, None, "ann.lee@example.com", None),
    ]
    assert q(master, "SELECT count(*), count(valid_to_run) FROM golden_customers_history") == [(5, 1)]
    assert (second.publish.golden_versions_opened, second.publish.golden_versions_closed) == (1, 1)
    # the current version is what golden_customers holds
    assert q(master, f"SELECT email FROM golden_customers WHERE golden_id = '{ANN}'") == [("ann.lee@example.com",)]


def test_the_as_of_macros_return_the_earlier_version_in_a_read_only_process(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    edit(tiny.parent / "crm.csv", "ann.lee@example,", "ann.lee@example.com,")
    second = run_pipeline(tiny, master, as_of=AS_OF)
    ((between,),) = q(
        master, f"SELECT published_at + INTERVAL 1 microsecond FROM published_runs WHERE run_id = '{first.run_id}'"
    )
    script = f"""
import duckdb
con = duckdb.connect({str(master)!r}, read_only=True)
def seen(source):
    rows = con.sql(f"SELECT count(*), max(email) FILTER (golden_id = '{ANN}') FROM {{source}}").fetchall()
    print(rows)
seen("golden_customers_as_of('{first.run_id}')")
seen("golden_customers_as_of('{second.run_id}')")
seen("golden_customers_as_of_time(TIMESTAMP '{between}')")
try:
    con.sql("SELECT * FROM golden_customers_as_of('no-such-run')").fetchall()
except duckdb.Error as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "[(4, None)]",
        "[(4, 'ann.lee@example.com')]",
        "[(4, None)]",
        "Invalid Input Error: no published run no-such-run: see table published_runs",
    ]


def test_vanished_records_retire_their_id_and_coming_back_revives_it(tiny: Path, tmp_path: Path) -> None:
    """Issue 15 item 1: restoring a source that was left out gave its customers new ids, so every
    system holding the old ids lost them. A customer whose records come back gets its id back."""
    master = tmp_path / "master.duckdb"
    web = tiny.parent / "web.jsonl"
    jane = [line for line in web.read_text().splitlines(keepends=True) if '"W5"' in line][0]
    first = run_pipeline(tiny, master, as_of=AS_OF)
    edit(web, jane, "")
    second = run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["web"])  # 3 -> 2 records: Jane really left
    assert q(master, f"SELECT kind, old_id, new_id, reason FROM id_events WHERE run_id = '{second.run_id}'") == [
        ("retired", JANE, None, "its source records are gone: none of its 1 record(s) is in this run")
    ]
    assert q(master, f"SELECT valid_to_run FROM golden_customers_history WHERE golden_id = '{JANE}'") == [
        (second.run_id,)
    ]
    edit(web, "this line is not JSON\n", "this line is not JSON\n" + jane)
    third = run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'W5'") == [(JANE,)]
    assert q(master, f"SELECT kind, old_id, new_id, reason FROM id_events WHERE run_id = '{third.run_id}'") == [
        ("created", JANE, JANE, "its records came back (1 of them): the golden customer is active again")
    ]
    assert third.golden.new_golden_ids == 0
    history = f"SELECT valid_from_run, valid_to_run FROM golden_customers_history WHERE golden_id = '{JANE}'"
    assert q(master, history + " ORDER BY valid_from_run") == [(first.run_id, second.run_id), (third.run_id, None)]
    with StateStore(master.parent / "state") as store:
        assert store.retired_ids() == {}
        assert store._one(f"SELECT retired_run FROM golden_ids WHERE golden_id = '{JANE}'") is None
    assert [r[0] for r in q(master, "SELECT run_id FROM id_events")] == [
        r[0] for r in q(master, "SELECT e.run_id FROM id_events e JOIN published_runs USING (run_id) ORDER BY run_seq")
    ]


def test_a_merge_through_a_steward_decision_retires_the_id_with_a_pointer(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        store.add_decision(("crm", "C6"), ("web", "W5"), "same", decided_by="test")
    second = run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, f"SELECT kind, old_id, new_id, reason FROM id_events WHERE run_id = '{second.run_id}'") == [
        ("merged", JANE, ANN, f"1 of its records joined {ANN}, which kept the id of a larger part")
    ]
    with StateStore(master.parent / "state") as store:
        assert store.retired_ids() == {JANE: ANN}
    # Jane's version closes; Ann's record changed (two records, two sources): a new version
    assert [v for v in versions(master) if v[0] in (ANN, JANE)] == [
        (ANN, first.run_id, second.run_id),
        (ANN, second.run_id, None),
        (JANE, first.run_id, second.run_id),
    ]


def test_a_crash_after_the_segment_is_written_leaves_master_and_store_as_they_were(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store transaction fails half way (ids and events written, not yet committed): the
    previous master stays, the store holds no trace of the run, its segment is ignored and
    removed by the next run."""
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    before = master.read_bytes()
    edit(tiny.parent / "crm.csv", "ann.lee@example,", "ann.lee@example.com,")

    def fail(*args: object) -> None:
        raise OSError("disk gone inside the store transaction")

    monkeypatch.setattr(StateStore, "_retire", fail)
    with pytest.raises(PipelineError, match="disk gone inside the store transaction"):
        run_pipeline(tiny, master, as_of=AS_OF)
    monkeypatch.undo()
    with StateStore(master.parent / "state") as store:
        failed = store.runs()[-1]["run_id"]
        assert segment_path(store.directory, failed).exists()
        assert store.published_runs()["run_id"].to_list() == [first.run_id]
        assert store.golden_versions()["valid_to_run"].to_list() == [None] * 4
        assert store.id_events()["run_id"].unique().to_list() == [first.run_id]
    assert master.read_bytes() == before

    third = run_pipeline(tiny, master, as_of=AS_OF)
    assert not segment_path(master.parent / "state", failed).exists()
    assert q(master, "SELECT DISTINCT valid_from_run FROM golden_customers_history ORDER BY valid_from_run") == sorted(
        [(first.run_id,), (third.run_id,)]
    )
    assert q(master, "SELECT count(*) FROM golden_customers_history") == [(5,)]


def test_the_master_is_rebuilt_with_its_history_from_sources_and_state(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    edit(tiny.parent / "crm.csv", "ann.lee@example,", "ann.lee@example.com,")
    run_pipeline(tiny, master, as_of=AS_OF)
    before = q(master, "SELECT * FROM golden_customers_history ORDER BY golden_id, valid_from")
    master.unlink()
    run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT * FROM golden_customers_history ORDER BY golden_id, valid_from") == before


def test_a_missing_segment_fails_the_run_loudly(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(tiny, master, as_of=AS_OF)
    segment_path(master.parent / "state", first.run_id).unlink()
    with pytest.raises(PipelineError, match="golden history segments missing for committed versions"):
        run_pipeline(tiny, master, as_of=AS_OF)


def test_a_history_patch_that_does_not_hold_leaves_the_table_to_be_written_whole() -> None:
    """An incremental run patches the histories of the last master's copy (mdm/publish/patch.py):
    a patch applies only when the table has the rows the run expects before and after, and each
    statement changes the rows it says; otherwise the table is dropped and written whole."""
    con = duckdb.connect()
    try:
        con.sql("CREATE TABLE h AS SELECT 'G1' AS golden_id, 'r1' AS valid_from_run, NULL::VARCHAR AS valid_to_run")
        close = "UPDATE {table} SET valid_to_run = ? WHERE valid_to_run IS NULL AND golden_id = ?"
        add = "INSERT INTO {table} BY NAME SELECT ? AS golden_id, ? AS valid_from_run"
        patch = SqlPatch(((close, ("r2", "G1"), 1), (add, ("G1", "r2"), 1)), before=1, after=2)
        assert apply_patch(con, "h", patch)
        assert con.sql("SELECT * FROM h ORDER BY valid_from_run").fetchall() == [("G1", "r1", "r2"), ("G1", "r2", None)]
        # the last master holds other rows than the run expects: not touched, dropped
        con.sql("CREATE TABLE other AS SELECT 1 AS x")
        assert not apply_patch(con, "other", SqlPatch(((add, ("G2", "r3"), 1),), before=5, after=6))
        # a statement changing another number of rows than it says (a version closed twice, or never)
        assert not apply_patch(con, "h", SqlPatch(((close, ("r3", "G9"), 1),), before=2, after=2))
        # today's rows no longer fit the table (a golden column added since)
        con.sql("CREATE TABLE h AS SELECT 'G1' AS golden_id, 'r1' AS valid_from_run, NULL::VARCHAR AS valid_to_run")
        wider = "INSERT INTO {table} BY NAME SELECT 'G2' AS golden_id, 'r2' AS valid_from_run, 'x' AS new_column"
        assert not apply_patch(con, "h", SqlPatch(((wider, (), 1),), before=1, after=2))
        assert con.sql("SELECT table_name FROM duckdb_tables()").fetchall() == []
    finally:
        con.close()


def test_row_hashes_known_from_an_earlier_run_are_taken_only_where_the_values_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A night's golden records hashed with the last night's hashes as `known` give the hashes of
    hashing every record (over several batches); a known hash is taken only for the same values."""
    from mdm.golden import history

    monkeypatch.setattr(history, "_HASH_BATCH_ROWS", 7)
    rng = __import__("random").Random(20261207)

    def customers(n: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "golden_id": [f"G{i:09d}" for i in range(n)],
                "email": [rng.choice([None, "a@x.com", "b@y.org"]) for _ in range(n)],
                "record_count": [rng.randint(1, 4) for _ in range(n)],
                "phones": [rng.choice([[], ["+15550100"], ["+15550100", "+15550199"]]) for _ in range(n)],
                "address_freshness": [rng.random() for _ in range(n)],
                "run_id": ["r1"] * n,
            }
        )

    night1 = customers(40)
    known = history._hashed(night1.lazy())
    assert known["row_hash"].to_list() == row_hashes(night1).to_list()
    edited = [3, 8, 21]  # new values; 30-39 gone; 40-44 new; every other record's staleness moved
    night2 = pl.concat(
        [
            night1.head(30).with_columns(
                pl.when(pl.int_range(pl.len()).is_in(edited)).then(pl.lit("c@z.net")).otherwise("email").alias("email"),
                pl.lit(0.1).alias("address_freshness"),
                pl.lit("r2").alias("run_id"),
            ),
            customers(45).tail(5).with_columns(pl.lit("r2").alias("run_id")),
        ]
    )
    truth = row_hashes(night2).to_list()
    assert history._hashed(night2.lazy(), known)["row_hash"].to_list() == truth
    # a known hash stands only for its values: poisoned, it is taken for the unchanged records alone
    poisoned = known.with_columns(pl.lit("0000000000000000").alias("row_hash"))
    hashed = history._hashed(night2.lazy(), poisoned)["row_hash"].to_list()
    redone = {*edited, *range(30, 35)}
    assert [h for i, h in enumerate(hashed) if i in redone] == [h for i, h in enumerate(truth) if i in redone]
    assert {h for i, h in enumerate(hashed) if i not in redone} == {"0000000000000000"}

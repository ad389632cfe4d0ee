"""End to end on the tiny fixture, whose right answer is in tests/fixtures/tiny/README.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mdm.context import RunContext
from mdm.golden.stage import GoldenReport
from mdm.pipeline import PipelineError, Report, run_pipeline
from mdm.state import StateStore
from tests.conftest import AS_OF
from tests.conftest import query as q


def groups(master: Path) -> set[frozenset[str]]:
    rows = q(
        master,
        "SELECT golden_id, list(source || ':' || source_record_id ORDER BY source, source_record_id)"
        " FROM customer_xref GROUP BY golden_id",
    )
    return {frozenset(members) for _, members in rows}


def test_tiny_end_to_end(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)

    counts = {s.source: (s.rows_read, s.rows_accepted, s.rows_quarantined) for s in summary.sources}
    assert counts == {"crm": (7, 3, 4), "web": (5, 3, 2)}
    assert groups(master) == {
        frozenset({"crm:C1", "web:W1"}),
        frozenset({"crm:C2", "web:W2"}),
        frozenset({"crm:C6"}),
        frozenset({"web:W5"}),
    }
    assert summary.golden == GoldenReport(golden_customers=4, duplicates_found=2, new_golden_ids=4, built=4)
    assert q(master, "SELECT count(*) FROM golden_customers") == [(4,)]
    # an xref row for every accepted record
    assert q(master, "SELECT count(*) FROM customer_xref") == [(6,)]


def test_quarantine_keeps_every_reason(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    rows = q(master, "SELECT source, row_number, reasons FROM quarantine ORDER BY source, row_number")
    reasons = {(s, n): r for s, n, r in rows}
    assert reasons[("crm", 3)] == ["no record id"]
    assert reasons[("crm", 4)][0].startswith("every identity field is empty")
    assert reasons[("crm", 5)] == ["exact duplicate of row 1 (record id 'C1')"]
    assert reasons[("crm", 7)] == ["row has 13 fields, the header has 12"]
    assert reasons[("web", 3)][0].startswith("not valid JSON")
    assert reasons[("web", 4)] == ["a JSON list where an object was expected"]
    raw = q(master, "SELECT raw FROM quarantine WHERE source = 'crm' AND row_number = 3")[0][0]
    assert '"first_name": "Nobody"' in raw


def test_bad_values_are_flagged_not_dropped(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    row = q(
        master,
        "SELECT birth_date, birth_date_raw, birth_date_flags, phone, phone_flags, email, email_flags"
        " FROM source_records WHERE source_record_id = 'C6'",
    )[0]
    assert row[0] is None and row[1] == "02/30/1990"
    assert row[2] == ["not a date in format %m/%d/%Y: '02/30/1990'"]
    assert row[3] is None and "fictional" in row[4][0]
    assert row[5] is None and row[6][0].startswith("invalid e-mail")


def test_golden_values_are_standardized_and_traced(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    gid, given, family, birth, email, phone, region = q(
        master,
        "SELECT g.golden_id, given_name, family_name, birth_date, email, phone, region FROM golden_customers g"
        " JOIN customer_xref x USING (golden_id) WHERE x.source_record_id = 'C2'",
    )[0]
    assert (given, family, str(birth), email, phone, region) == (
        "Mary",
        "Smith",
        "1982-07-08",
        "mary.smith@gmail.com",
        "+14158672671",
        "CA",
    )
    lineage = q(
        master,
        f"SELECT attribute, source, source_record_id, rule, candidates, agreeing FROM golden_attribute_lineage"
        f" WHERE golden_id = '{gid}' AND attribute IN ('given_name', 'region', 'email') ORDER BY attribute",
    )
    assert lineage == [
        # both records say mary.smith@gmail.com: the newer (web, June) lends it
        ("email", "web", "W2", "all records agree", 2, 2),
        # names: the more trusted source (crm 3 over web 1) lends the spelling when all agree
        ("given_name", "crm", "C2", "all records agree", 2, 2),
        # the web sign-up is newer but has no street: an address is taken whole from a record with one
        ("region", "crm", "C2", "has address_line1", 2, 1),
    ]


def test_household_members_are_not_chained(tiny: Path, tmp_path: Path) -> None:
    """Robert, Mary and Jane share a phone; nothing may merge them (different birth dates)."""
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    ids = q(master, "SELECT count(DISTINCT golden_id) FROM customer_xref WHERE source_record_id IN ('C1', 'C2', 'W5')")
    assert ids == [(3,)]


def test_rerun_keeps_ids_and_writes_no_events(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    first = q(master, "SELECT source, source_record_id, golden_id FROM customer_xref ORDER BY ALL")
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT source, source_record_id, golden_id FROM customer_xref ORDER BY ALL") == first
    assert summary.golden.new_golden_ids == 0
    # id_events holds every run's events: the first run's four "created", none of the rerun
    assert q(master, f"SELECT count(*) FROM id_events WHERE run_id = '{summary.run_id}'") == [(0,)]
    assert q(master, "SELECT kind, count(*) FROM id_events GROUP BY kind") == [("created", 4)]
    assert q(master, "SELECT count(*), count(*) FILTER (status = 'published') FROM run_log") == [(2, 2)]


def test_steward_decisions_apply_on_the_next_run(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        store.add_decision(("crm", "C1"), ("web", "W1"), "not_same", decided_by="test", reason="different people")
        store.add_decision(("crm", "C6"), ("web", "W5"), "same", decided_by="test")
    second = run_pipeline(tiny, master, as_of=AS_OF)
    assert groups(master) == {
        frozenset({"crm:C1"}),
        frozenset({"web:W1"}),
        frozenset({"crm:C2", "web:W2"}),
        frozenset({"crm:C6", "web:W5"}),
    }
    kinds = sorted(k for (k,) in q(master, f"SELECT kind FROM id_events WHERE run_id = '{second.run_id}'"))
    assert kinds == ["merged", "split"]
    assert q(master, "SELECT * FROM steward_links") == [("crm", "C6", "web", "W5", "merged")]


def test_a_steward_same_that_contradicts_a_not_same_is_reported_not_applied(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    with StateStore(master.parent / "state") as store:
        store.add_decision(("crm", "C1"), ("web", "W1"), "not_same", decided_by="steward a")
        store.add_decision(("crm", "C1"), ("web", "W1"), "same", decided_by="steward b")
    run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT outcome FROM steward_links") == [("blocked: steward: not the same",)]
    assert frozenset({"crm:C1"}) in groups(master)


@pytest.mark.parametrize("stage", ["ingest", "match", "golden", "publish"])
def test_a_failed_run_leaves_master_and_store_intact(tiny: Path, tmp_path: Path, stage: str) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    before = master.read_bytes()
    with StateStore(master.parent / "state") as store:
        registry = store.registry().sort("source", "source_record_id")

    def failing(name: str, fn: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        if name == stage:
            raise OSError(f"disk gone during {stage}")
        return fn(ctx)

    (tiny.parent / "web.jsonl").write_text('{"signup_id": "W9", "name": "New Person", "birthday": "1999-01-01"}\n')
    with pytest.raises(PipelineError, match=f"failed in stage {stage}.*previous master is unchanged"):
        run_pipeline(tiny, master, as_of=AS_OF, call=failing, allow_shrink=["web"])  # web now holds 1 record
    assert master.read_bytes() == before
    assert not list(master.parent.glob(".master.duckdb.*.tmp"))
    with StateStore(master.parent / "state") as store:
        assert store.registry().sort("source", "source_record_id").equals(registry)
        assert [r["status"] for r in store.runs()] == ["published", "failed"]


def test_crash_inside_publish_after_the_new_file_is_written(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store commit fails after the new master is complete: the old master stays."""
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    before = master.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(StateStore, "save_assignments", fail)
    with pytest.raises(PipelineError):
        run_pipeline(tiny, master, as_of=AS_OF)
    assert master.read_bytes() == before
    assert not list(master.parent.glob(".master.duckdb.*.tmp"))


def test_field_profile_counts_flags_per_source_and_field(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    rows = q(
        master,
        "SELECT source, field, records, present, clean, flagged FROM field_profile"
        " WHERE field IN ('birth_date', 'phone') ORDER BY source, field",
    )
    assert rows == [
        ("crm", "birth_date", 3, 3, 2, 1),  # C6: 02/30/1990
        ("crm", "phone", 3, 3, 2, 1),  # C6: a fictional 555-01xx number
        ("web", "birth_date", 3, 3, 3, 0),
        ("web", "phone", 3, 2, 2, 0),  # W2 has none
    ]


def test_run_log_records_the_run(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    ((run_id, status, started, finished, version, counts),) = q(
        master, "SELECT run_id, status, started_at, finished_at, code_version, counts FROM run_log"
    )
    assert (run_id, status) == (summary.run_id, "published")
    assert started <= finished and version.startswith("0.1.0")
    assert '"rows_quarantined": 6' in counts and '"rows_read": 12' in counts


def test_typed_parquet_dates_are_read_whatever_format_is_declared(tmp_path: Path) -> None:
    """A parquet Date / zoned Datetime column is already a date: the declared format is not applied."""
    import datetime as dt

    import polars as pl

    pl.DataFrame(
        {
            "id": ["B1", "B2"],
            "full_name": ["Smith, Ann", "Lee, Bo"],
            "dob": [dt.date(1980, 3, 4), None],
            "changed": pl.Series([dt.datetime(2026, 1, 2, 3, 4, 5), None]).dt.replace_time_zone("Europe/Berlin"),
        }
    ).write_parquet(tmp_path / "billing.parquet")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: billing\n    kind: parquet\n    path: billing.parquet\n    record_id: id\n"
        '    updated_at: {column: changed, format: "%d/%m/%Y"}\n'
        "    fields:\n"
        '      full_name: {column: full_name, format: "family, given middle"}\n'
        '      birth_date: {column: dob, format: "%m/%d/%Y"}\n'
    )
    master = tmp_path / "master.duckdb"
    run_pipeline(tmp_path / "sources.yaml", master, as_of=AS_OF)
    rows = q(
        master,
        "SELECT source_record_id, given_name, family_name, birth_date, birth_date_flags, source_updated_at"
        " FROM source_records ORDER BY 1",
    )
    assert [(r[0], r[1], r[2], str(r[3]), r[4], str(r[5])) for r in rows] == [
        ("B1", "Ann", "Smith", "1980-03-04", [], "2026-01-02 02:04:05"),
        ("B2", "Bo", "Lee", "None", [], "None"),
    ]


def test_the_caller_calls_each_source_read_inside_ingest(tiny: Path, tmp_path: Path) -> None:
    """Issue 16: a retry of the ingest stage re-read every source; each read is now a step of its own."""
    called: list[str] = []

    def recording(name: str, fn: Callable[[RunContext], Report], ctx: RunContext) -> Report:
        called.append(name)
        return fn(ctx)

    summary = run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF, call=recording)
    sources, later = (
        ["ingest crm", "ingest web"],
        ["standardize", "match", "cluster", "golden", "stale", "archive", "tags", "publish"],
    )
    assert called == ["ingest", *sources, *later]
    assert [(s.source, s.rows_read, s.rows_quarantined) for s in summary.ingest.sources] == [
        ("crm", 7, 4),
        ("web", 5, 2),
    ]

"""The archive policy (rules/survivorship.yaml `archive:`, mdm/archive/): golden customers inactive
for `inactive_years` leave golden_customers for archived_customers, come back with their id on new
activity or a restore, and every change is recorded.

The runs use the tiny fixture (tests/fixtures/tiny/README.md) with `inactive_years: 5` as of
2031-06-02, so activity before 2026-06-02 is old. Last activity by eye: Robert {C1 2026-01-05,
W1 2026-06-01} 2026-06-01 and Ann {C6} 2026-04-01 are archived; Mary {C2, W2 2026-06-02} is active
on the boundary day and Jane {W5 2026-06-03} the day after."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.archive.policy import ACTIVITY_SCHEMA, DECIDED_SCHEMA, archive_changes, decide, years_before
from mdm.cli import main
from mdm.config.errors import ConfigError
from mdm.config.rules import DEFAULT_RULES_DIR
from mdm.config.survivorship import ArchiveRules, SurvivorshipRules, load_survivorship_rules
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.state.archive import RestoreRefused, archive_restores, archived_ids, restore_archived
from mdm.state.audit import audit_entries
from mdm.summary import format_summary
from mdm.types import GoldenId
from tests.conftest import query

AS_OF = dt.date(2031, 6, 2)
FIVE_YEARS = ArchiveRules(inactive_years=5)
ROBERT, MARY, ANN, JANE = "G000000001", "G000000002", "G000000003", "G000000004"
CRM_VIEWS = ["customer_360", "contactable_email", "contactable_phone", "contactable_mail", "customers_to_reverify"]


def with_policy(sources: Path, inactive_years: int | None) -> None:
    """Give the project beside `sources` its own rules directory with this archive policy."""
    rules = sources.parent / "rules"
    if not rules.exists():
        shutil.copytree(DEFAULT_RULES_DIR, rules)
        sources.write_text(sources.read_text() + "rules: rules\n")
    text = (rules / "survivorship.yaml").read_text()
    start = text.index("archive:")
    (rules / "survivorship.yaml").write_text(text[:start] + f"archive:\n  inactive_years: {inactive_years or 'null'}\n")


@pytest.fixture
def archiving(tiny: Path) -> Path:
    with_policy(tiny, 5)
    return tiny


def master_of(sources: Path) -> Path:
    return sources.parent.parent / "out" / "master.duckdb"


def run(sources: Path, as_of: dt.date = AS_OF) -> Any:
    return run_pipeline(sources, master_of(sources), as_of=as_of)


def ids(master: Path, table: str) -> list[str]:
    return [g for (g,) in query(master, f"SELECT DISTINCT golden_id FROM {table} ORDER BY 1")]


def set_crm_updated_at(sources: Path, record_id: str, day: str) -> None:
    crm = sources.parent / "crm.csv"
    lines = crm.read_text(encoding="utf-8-sig").splitlines()
    changed = [",".join([*row.split(",")[:-1], day]) if row.startswith(f"{record_id},") else row for row in lines]
    crm.write_text("\n".join(changed) + "\n", encoding="utf-8")


# ---- the policy in rules/survivorship.yaml ---------------------------------------------------


def test_the_default_never_archives_and_the_bundled_rules_say_so() -> None:
    assert ArchiveRules().inactive_years is None
    assert load_survivorship_rules(DEFAULT_RULES_DIR / "survivorship.yaml").archive == ArchiveRules()


@pytest.mark.parametrize(
    ("description", "value", "problem"),
    [
        ("zero years", "0", "0 years: give 1 to 150 years, or null to never archive"),
        ("a fraction", "2.5", "2.5 is not a whole number of years"),
        ("a word", "five", "'five' is not a whole number of years"),
        ("a yes", "true", "True is not a whole number of years"),
    ],
)
def test_a_bad_policy_is_a_config_error_with_its_line_and_the_fix(
    tmp_path: Path, description: str, value: str, problem: str
) -> None:
    path = tmp_path / "survivorship.yaml"
    text = (DEFAULT_RULES_DIR / "survivorship.yaml").read_text()
    path.write_text(text.replace("  inactive_years: null", f"  inactive_years: {value}"))
    line = path.read_text().splitlines().index(f"  inactive_years: {value}") + 1
    with pytest.raises(ConfigError) as err:
        load_survivorship_rules(path)
    assert f"line {line}: archive.inactive_years: {problem}" in str(err.value), description
    assert "fix: archive: {inactive_years: 5}" in str(err.value)


def test_load_dump_load_round_trips_the_policy() -> None:
    rules = load_survivorship_rules(DEFAULT_RULES_DIR / "survivorship.yaml")
    changed = rules.model_copy(update={"archive": FIVE_YEARS})
    dumped = yaml.safe_load(yaml.safe_dump(changed.model_dump(mode="json")))
    assert SurvivorshipRules.model_validate(dumped) == changed


# ---- the decision, as a pure function --------------------------------------------------------


def test_years_before_keeps_the_calendar_day_and_moves_29_february() -> None:
    assert years_before(dt.date(2031, 6, 2), 5) == dt.date(2026, 6, 2)
    assert years_before(dt.date(2028, 2, 29), 1) == dt.date(2027, 2, 28)


def activity(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [(g, dt.date.fromisoformat(day), what) for g, day, what in rows], schema=ACTIVITY_SCHEMA, orient="row"
    )


@pytest.mark.parametrize(
    ("description", "rows", "archived", "last"),
    [
        ("one day before the cutoff", [("G1", "2026-06-01", "crm C1 updated")], True, "crm C1 updated"),
        ("on the cutoff day", [("G1", "2026-06-02", "crm C1 updated")], False, "crm C1 updated"),
        (
            "an old update, a recent event",
            [("G1", "2020-01-01", "crm C1 updated"), ("G1", "2030-01-01", "visits event V1")],
            False,
            "visits event V1",
        ),
        (
            "a restore after the last update",
            [("G1", "2020-01-01", "crm C1 updated"), ("G1", "2027-01-01", "restored by cli:ana at 2027-01-01")],
            False,
            "restored by cli:ana at 2027-01-01",
        ),
        ("activity after as-of", [("G1", "2032-01-01", "crm C1 updated")], False, "crm C1 updated"),
        ("no date at all", [], False, None),
    ],
)
def test_decide(description: str, rows: list[tuple[str, str, str]], archived: bool, last: str | None) -> None:
    decided = decide(pl.Series(["G1"]), activity(*rows), AS_OF, FIVE_YEARS)
    assert decided.select("archived", "last_activity").row(0) == (archived, last), description
    never = decide(pl.Series(["G1"]), activity(*rows), AS_OF, ArchiveRules())
    assert never["archived"].to_list() == [False]


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(6)), st.integers(min_value=1, max_value=10))
def test_decide_depends_on_the_activity_not_on_its_order(order: list[int], years: int) -> None:
    """What an incremental run needs: the same activity in any order (and split into any batches
    before the concat) gives the same answer."""
    rows = [
        ("G1", "2024-03-01", "crm C1 updated"),
        ("G1", "2024-03-01", "billing 7 updated"),
        ("G2", "2019-12-31", "web W2 updated"),
        ("G2", "2019-12-31", "visits event V9"),
        ("G3", "2029-07-04", "restored by cli:ana at 2029-07-04"),
        ("G3", "2001-01-01", "clinic P1 updated"),
    ]
    rules = ArchiveRules(inactive_years=years)
    golden = pl.Series(["G4", "G3", "G2", "G1"])
    expected = decide(golden, activity(*rows), AS_OF, rules)
    shuffled = decide(golden.reverse(), activity(*[rows[i] for i in order]), AS_OF, rules)
    assert shuffled.equals(expected)
    assert expected.filter(pl.col("golden_id") == "G1")["last_activity"].to_list() == ["billing 7 updated"]


def test_archive_changes_say_what_changed_and_why() -> None:
    """G1 archived before, merged into G2 by this run; G2 archived before, an event since; G3 still
    archived; G4 archived now."""
    decided = pl.DataFrame(
        [
            ("G2", dt.date(2030, 1, 1), "visits event V1", False),
            ("G3", dt.date(2020, 1, 1), "crm C3 updated", True),
            ("G4", dt.date(2021, 2, 3), "crm C4 updated", True),
        ],
        schema=DECIDED_SCHEMA,
        orient="row",
    )
    retired = {GoldenId("G1"): GoldenId("G2")}
    events = archive_changes(decided, {"G1", "G2", "G3"}, retired, AS_OF, FIVE_YEARS)
    assert [(e.golden_id, e.kind, e.last_activity_on, e.reason) for e in events] == [
        ("G1", "unarchived", None, "its golden id was merged into G2"),
        (
            "G2",
            "unarchived",
            "2030-01-01",
            "active again: visits event V1 on 2030-01-01, within 5 years before 2031-06-02",
        ),
        (
            "G4",
            "archived",
            "2021-02-03",
            "no record updated and no event since 2026-06-02 (5 years before 2031-06-02);"
            " last activity 2021-02-03: crm C4 updated",
        ),
    ]


# ---- runs ------------------------------------------------------------------------------------


def test_inactive_customers_leave_golden_customers_every_crm_view_and_the_tags(archiving: Path) -> None:
    summary = run(archiving)
    master = master_of(archiving)
    assert ids(master, "golden_customers") == [MARY, JANE]
    assert ids(master, "archived_customers") == [ROBERT, ANN]
    for view in CRM_VIEWS:
        assert not set(ids(master, view)) & {ROBERT, ANN}, view
    assert not set(ids(master, "customer_tags")) & {ROBERT, ANN}
    birthdays = "SELECT count(*) FROM upcoming_birthdays(366) WHERE golden_id IN ('G000000001', 'G000000003')"
    assert query(master, birthdays) == [(0,)]
    # same columns as golden_customers, then when and why
    golden_columns = [c for (c, *_) in query(master, "DESCRIBE golden_customers")]
    archived_columns = [c for (c, *_) in query(master, "DESCRIBE archived_customers")]
    assert archived_columns == [
        *golden_columns,
        "archived_run",
        "archived_on",
        "last_activity_on",
        "last_activity",
        "archive_reason",
    ]
    assert query(
        master,
        "SELECT golden_id, archived_run, archived_on, last_activity_on, last_activity, archive_reason"
        " FROM archived_customers ORDER BY 1",
    ) == [
        (
            ROBERT,
            summary.run_id,
            AS_OF,
            dt.date(2026, 6, 1),
            "web W1 updated",
            "no record updated and no event since 2026-06-02 (5 years before 2031-06-02);"
            " last activity 2026-06-01: web W1 updated",
        ),
        (
            ANN,
            summary.run_id,
            AS_OF,
            dt.date(2026, 4, 1),
            "crm C6 updated",
            "no record updated and no event since 2026-06-02 (5 years before 2031-06-02);"
            " last activity 2026-04-01: crm C6 updated",
        ),
    ]
    # every record keeps its xref row (lineage, explain), marked; row accounting still holds
    assert query(master, "SELECT source_record_id, golden_id, archived FROM customer_xref ORDER BY 1") == [
        ("C1", ROBERT, True),
        ("C2", MARY, False),
        ("C6", ANN, True),
        ("W1", ROBERT, True),
        ("W2", MARY, False),
        ("W5", JANE, False),
    ]
    [(read, in_xref, quarantined)] = query(
        master,
        "SELECT (SELECT sum(rows_read) FROM run_source_counts), (SELECT count(*) FROM customer_xref),"
        " (SELECT count(*) FROM quarantine)",
    )
    assert (read, in_xref, quarantined) == (12, 6, 6)
    assert query(master, "SELECT count(*) FROM golden_attribute_lineage WHERE golden_id = 'G000000003'") != [(0,)]
    # the ids stay reserved: archived is not retired
    assert query(master, "SELECT count(*) FROM id_events WHERE kind <> 'created'") == [(0,)]
    with StateStore(archiving.parent.parent / "out" / "state") as store:
        assert store.retired_ids() == {}
        assert archived_ids(store)["golden_id"].to_list() == [ROBERT, ANN]
    # audited: the summary, the run's counts, the events
    assert (summary.archive.archived_customers, summary.archive.archived, summary.archive.unarchived) == (2, 2, 0)
    assert summary.counts()["archived_customers"] == 2
    assert query(master, "SELECT kind, golden_id, last_activity_on FROM archive_events ORDER BY golden_id") == [
        ("archived", ROBERT, dt.date(2026, 6, 1)),
        ("archived", ANN, dt.date(2026, 4, 1)),
    ]
    [(counts,)] = query(master, f"SELECT counts FROM run_log WHERE run_id = '{summary.run_id}'")
    assert '"archived": 2' in counts and '"unarchived": 0' in counts
    assert "archive: 2 in archived_customers (no record updated and no event since 2026-06-02 (5 years));" in (
        format_summary(summary)
    )
    report = (master.parent / "master.report.html").read_text()
    assert "<td class=n>5</td><td>2026-06-02</td><td class=n>2</td><td class=n>2</td><td class=n>0</td>" in report


def test_a_recent_event_keeps_a_customer_out_of_the_archive(archiving: Path) -> None:
    (archiving.parent / "visits.csv").write_text("visit_id,customer,day\nV1,C1,2029-10-01\n")
    archiving.write_text(
        archiving.read_text()
        + "events:\n  - {name: visits, kind: csv, path: visits.csv, record_id: visit_id,"
        + " person: {source: crm, record_id: customer}, event_time: {column: day, format: '%Y-%m-%d'}}\n"
    )
    run(archiving)
    master = master_of(archiving)
    assert ids(master, "golden_customers") == [ROBERT, MARY, JANE]
    assert ids(master, "archived_customers") == [ANN]
    assert query(master, "SELECT golden_id FROM events_visits") == [(ROBERT,)]


def test_new_activity_brings_a_customer_back_with_the_same_id(archiving: Path) -> None:
    first = run(archiving)
    set_crm_updated_at(archiving, "C6", "2031-05-01")
    second = run(archiving)
    master = master_of(archiving)
    assert ids(master, "golden_customers") == [MARY, ANN, JANE]
    assert ids(master, "archived_customers") == [ROBERT]
    assert query(master, "SELECT given_name FROM golden_customers WHERE golden_id = 'G000000003'") == [("Ann",)]
    assert (second.archive.archived, second.archive.unarchived) == (0, 1)
    assert query(master, "SELECT run_id, kind, golden_id FROM archive_events ORDER BY rowid") == [
        (first.run_id, "archived", ROBERT),
        (first.run_id, "archived", ANN),
        (second.run_id, "unarchived", ANN),
    ]
    assert query(master, "SELECT reason FROM archive_events WHERE kind = 'unarchived'") == [
        ("active again: crm C6 updated on 2031-05-01, within 5 years before 2031-06-02",)
    ]
    # the history reads like golden_customers did: Ann's version opens when she comes back
    as_of_first = f"SELECT golden_id FROM golden_customers_as_of('{first.run_id}') ORDER BY 1"
    assert query(master, as_of_first) == [(MARY,), (JANE,)]
    assert query(master, "SELECT valid_from_run FROM golden_customers_history WHERE golden_id = 'G000000003'") == [
        (second.run_id,)
    ]
    assert query(master, "SELECT count(*) FROM id_events WHERE kind <> 'created'") == [(0,)]


def test_an_incremental_run_and_a_full_run_archive_alike(archiving: Path) -> None:
    run(archiving)
    set_crm_updated_at(archiving, "C6", "2031-05-01")  # Ann back; the other records carried over
    incremental = run(archiving)
    master = master_of(archiving)
    seen = [query(master, f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY golden_id") for t in ("archived_customers",)]
    full = run_pipeline(archiving, master, as_of=AS_OF, full=True)
    assert [query(master, "SELECT * EXCLUDE (run_id) FROM archived_customers ORDER BY golden_id")] == seen
    assert (incremental.standardize.mode, incremental.archive.archived_customers) == ("incremental", 1)
    assert full.archive.archived_customers == 1
    assert full.archive.archived == full.archive.unarchived == 0


def test_an_explicit_restore_is_audited_and_holds_until_inactive_again(archiving: Path) -> None:
    run(archiving)
    state = archiving.parent.parent / "out" / "state"
    restored_at = dt.datetime(2031, 6, 3, 9, 30, tzinfo=dt.UTC)
    with StateStore(state) as store:
        with pytest.raises(RestoreRefused, match="G000000002 is not archived: it is in golden_customers"):
            restore_archived(store, MARY, by="cli:ana", reason="called")
        with pytest.raises(RestoreRefused, match="no golden customer 'G000000099'"):
            restore_archived(store, "G000000099", by="cli:ana", reason="called")
        with pytest.raises(RestoreRefused, match="say why"):
            restore_archived(store, ANN, by="cli:ana", reason=" ")
        done = restore_archived(store, ANN, by="cli:ana", reason="booked a visit", at=restored_at)
        with pytest.raises(RestoreRefused, match="already restored by cli:ana"):
            restore_archived(store, ANN, by="cli:bob", reason="again", at=restored_at)
        [entry] = audit_entries(store, actions=["archive_restore"])
    assert (entry["audit_id"], entry["actor"], entry["item_key"], entry["reason"]) == (
        done.audit_id,
        "cli:ana",
        f"golden:{ANN}",
        "booked a visit",
    )
    master = master_of(archiving)
    for as_of in (dt.date(2031, 6, 10), dt.date(2036, 6, 3)):  # later runs, the last on the restore's 5th year
        run(archiving, as_of)  # Mary and Jane go too: their last activity is days after Ann's first cutoff
        assert ids(master, "golden_customers") == [ANN], as_of
    assert query(master, "SELECT kind, reason FROM archive_events WHERE golden_id = 'G000000003' ORDER BY rowid")[
        1:
    ] == [("unarchived", "restored by cli:ana at 2031-06-03T09:30:00.000+00:00")]
    # five years and a day after the restore without activity: archived again, with the same id
    summary = run(archiving, dt.date(2036, 6, 4))
    assert ids(master, "golden_customers") == [] and summary.archive.archived == 1
    assert query(master, "SELECT last_activity FROM archived_customers WHERE golden_id = 'G000000003'") == [
        ("restored by cli:ana at 2031-06-03T09:30:00.000+00:00",)
    ]
    with StateStore(state) as store:
        assert archive_restores(store)["golden_id"].to_list() == [ANN]


def test_a_stored_tag_waits_in_the_store_while_its_customer_is_archived(tiny: Path) -> None:
    with_policy(tiny, None)
    run(tiny)
    with StateStore(tiny.parent.parent / "out" / "state") as store:
        store.set_tag(ANN, "vip", None, origin="manual", set_by="ana")
    with_policy(tiny, 5)
    archived = run(tiny)
    assert archived.tags.not_published == {
        "set on an archived customer (published again when the customer comes back)": 1
    }
    set_crm_updated_at(tiny, "C6", "2031-05-01")
    back = run(tiny)
    assert back.tags.not_published == {}
    assert query(master_of(tiny), "SELECT golden_id FROM customer_tags WHERE tag = 'vip'") == [(ANN,)]


def test_turning_the_policy_off_brings_everyone_back(archiving: Path) -> None:
    run(archiving)
    with_policy(archiving, None)
    summary = run(archiving)
    master = master_of(archiving)
    assert ids(master, "archived_customers") == []
    assert ids(master, "golden_customers") == [ROBERT, MARY, ANN, JANE]
    assert summary.archive.unarchived == 2
    assert set(query(master, "SELECT reason FROM archive_events WHERE kind = 'unarchived'")) == {
        ("archiving is off (archive.inactive_years: null)",)
    }
    # only the customers archived before are decided without a policy: their last activity is known,
    # and the customers without any date are not counted
    brought_back = "SELECT count(*) FROM archive_events WHERE kind = 'unarchived' AND last_activity_on IS NOT NULL"
    assert query(master, brought_back) == [(2,)]
    assert summary.archive.undated_customers is None
    assert "customers without any date (never archived): not counted (no policy)" in format_summary(summary)


def test_the_archive_commands(archiving: Path) -> None:
    run(archiving)
    master = master_of(archiving)
    cli = CliRunner()
    listed = cli.invoke(main, ["archive", "list", "--master", str(master)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0] == f"2 archived customers in {master}"
    assert [line.split()[0] for line in listed.output.splitlines()[3:]] == [ANN, ROBERT]  # longest inactive first
    refused = cli.invoke(main, ["archive", "restore", MARY, "--reason", "x", "--master", str(master)])
    assert refused.exit_code == 1 and "G000000002 is not archived" in refused.output
    restored = cli.invoke(main, ["archive", "restore", ANN, "--reason", "booked a visit", "--master", str(master)])
    assert restored.exit_code == 0, restored.output
    assert restored.output.startswith(f"restored {ANN} (audit #")
    listed = cli.invoke(main, ["archive", "list", "--master", str(master)])
    assert "restored by cli:" in listed.output and "back in golden_customers after the next run" in listed.output
    audit = cli.invoke(main, ["audit", "--master", str(master), "--action", "archive_restore"])
    assert f"golden:{ANN}" in audit.output and 'reason="booked a visit"' in audit.output

"""The steward service layer: users, decisions, versions, undo, audit, merge, split, and what the
next run does with them. Runs use tests/fixtures/steward (its README gives the expected master)."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import json
import pkgutil
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from mdm.errors import MdmError
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.state.fingerprint import material_changes
from mdm.steward import audit, service, users
from mdm.steward.desk import StewardDesk
from mdm.steward.users import User, UserError, add_user, authenticate, get_user, hash_password, verify_password
from mdm.steward.views import QueueFilter
from tests.conftest import AS_OF, FIXTURES
from tests.conftest import query as q

ANA = User("ana", "steward")
BEN = User("ben", "steward")


@pytest.fixture
def desk(tmp_path: Path) -> StewardDesk:
    """The steward fixture run once; users ana, ben (stewards) and vic (viewer)."""
    shutil.copytree(FIXTURES / "steward", tmp_path / "src")
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tmp_path / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        for name, role in (("ana", "steward"), ("ben", "steward"), ("vic", "viewer")):
            add_user(store, name, "correct horse", role, by="test")
    return StewardDesk(master, master.parent / "state")


def rerun(desk: StewardDesk) -> None:
    run_pipeline(desk.master.parent.parent / "src" / "sources.yaml", desk.master, as_of=AS_OF)


def groups(master: Path) -> set[frozenset[str]]:
    rows = q(master, "SELECT list(source || ':' || source_record_id) FROM customer_xref GROUP BY golden_id")
    return {frozenset(r[0]) for r in rows}


def labels(desk: StewardDesk, **filters: object) -> list[str]:
    return [f"{i.left[1]}~{i.right[1]}" for i in desk.queue(QueueFilter(**filters))]  # type: ignore[arg-type]


# ---- users --------------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$") and "correct horse" not in a
    assert verify_password("correct horse", a) and not verify_password("wrong horse", a)


def test_a_new_user_is_a_viewer_and_signs_in_with_the_right_password_only(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        add_user(store, "zoe", "long enough", by="test")
        assert get_user(store, "zoe") == User("zoe", "viewer")
        assert authenticate(store, "zoe", "long enough") == User("zoe", "viewer")
        assert authenticate(store, "zoe", "wrong") is None and authenticate(store, "nobody", "x") is None
        stored = store.query("SELECT password_hash FROM users")[0][0]
        assert "long enough" not in stored
        with pytest.raises(UserError, match="exists already"):
            add_user(store, "zoe", "long enough", by="test")
        with pytest.raises(UserError, match="unknown role 'root'"):
            add_user(store, "yan", "long enough", "root", by="test")
        with pytest.raises(UserError, match="at least 8 characters"):
            add_user(store, "yan", "short", by="test")


# ---- decisions and versions ----------------------------------------------------------------------


def test_the_queue_holds_the_four_conflicting_pairs(desk: StewardDesk) -> None:
    assert sorted(labels(desk)) == ["C3~W3", "C4~W4", "C5~W5", "C8~W8"]
    assert labels(desk, source="nowhere") == []
    assert labels(desk, min_probability=0.999) != [] and labels(desk, max_probability=0.9) == []
    item = desk.queue()[0]
    assert item.cluster_effect == 2 and item.value == 4 and item.version == 0 and item.age_days is not None
    # age: days since the newer record's update (web sign-ups, June 2026)
    assert labels(desk, max_age_days=1) == []


def test_a_viewer_cannot_decide(desk: StewardDesk) -> None:
    vic = desk.user("vic")
    assert vic is not None
    with pytest.raises(service.Forbidden, match="vic is a viewer: deciding needs the steward role"):
        desk.decide(vic, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    assert desk.audit()[0]["action"] == "user_add"


def test_a_second_decider_with_a_stale_version_is_told_and_nothing_is_written(desk: StewardDesk) -> None:
    desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0, reason="typo in the year")
    audit_before = len(desk.audit())
    with pytest.raises(service.Conflict, match=r"already decided by ana at 20\d\d-.* \(same person\)"):
        desk.decide(BEN, ("web", "W3"), ("crm", "C3"), "not_same", expected_version=0)
    with desk.store() as store:
        rows = store.query("SELECT decision, decided_by FROM steward_decisions WHERE revoked_at IS NULL")
    assert rows == [("same", "ana")] and len(desk.audit()) == audit_before
    # decided pairs leave the queue at once
    assert "C3~W3" not in labels(desk)


def test_a_decision_is_all_or_nothing(desk: StewardDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(service, "_bump", broken)
    with pytest.raises(sqlite3.OperationalError):
        desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    with desk.store() as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]
        assert store.query("SELECT count(*) FROM audit_log WHERE action = 'same'") == [(0,)]


def test_deciding_again_replaces_and_undo_restores_the_earlier_decision(desk: StewardDesk) -> None:
    first = desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    second = desk.decide(BEN, ("crm", "C3"), ("web", "W3"), "not_same", expected_version=first.item_version)
    with desk.store() as store:
        assert store.query("SELECT decision FROM steward_decisions WHERE revoked_at IS NULL") == [("not_same",)]
    desk.undo(ANA, second.audit_id)
    with desk.store() as store:
        assert store.query("SELECT decision, decided_by FROM steward_decisions WHERE revoked_at IS NULL") == [
            ("same", "ana")
        ]
    with pytest.raises(service.Conflict, match=f"#{second.audit_id} was already undone by ana"):
        desk.undo(BEN, second.audit_id)
    undo = desk.audit()[0]
    assert undo["action"] == "undo" and json.loads(undo["before"])["audit_id"] == second.audit_id


def test_skip_is_audited_sinks_to_the_end_and_never_fails_a_decision(desk: StewardDesk) -> None:
    first = desk.queue()[0]
    desk.decide(ANA, first.left, first.right, "skip", expected_version=first.version)
    items = desk.queue()
    assert (items[-1].left, items[-1].right) == (first.left, first.right) and items[-1].skipped_by == "ana"
    desk.decide(BEN, first.left, first.right, "same", expected_version=first.version)  # the skip bumped nothing


def test_every_action_is_audited_with_before_and_after(desk: StewardDesk) -> None:
    result = desk.decide(ANA, ("crm", "C4"), ("web", "W4"), "not_same", expected_version=0, reason="other person")
    entry = desk.audit()[0]
    assert entry["audit_id"] == result.audit_id and entry["actor"] == "ana" and entry["reason"] == "other person"
    assert json.loads(entry["before"]) == {"decisions": []}
    assert [d["decision"] for d in json.loads(entry["after"])["decisions"]] == ["not_same"]
    assert dt.datetime.fromisoformat(entry["at"]).tzinfo is not None


def test_audit_entries_younger_than_six_months_are_never_purged(desk: StewardDesk) -> None:
    desk.decide(ANA, ("crm", "C4"), ("web", "W4"), "not_same", expected_version=0)
    with desk.store() as store:
        with pytest.raises(service.StewardError, match="kept at least 183 days"):
            service.purge_audit(store, 30)
        n = len(audit.audit_entries(store))
        assert service.purge_audit(store, 183) == 0
        # a clock moved ahead does not reach them either (issue 15 item 5: the policy held only for
        # callers passing the true time): the store refuses and nothing is deleted
        with pytest.raises(service.StewardError, match="nothing purged: audit entries are kept at least 183 days"):
            service.purge_audit(store, 183, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=200))
        with pytest.raises(sqlite3.IntegrityError, match="kept at least 183 days"), store.transaction() as con:
            con.execute("DELETE FROM audit_log")
        with pytest.raises(sqlite3.IntegrityError, match="never rewritten"), store.transaction() as con:
            con.execute("UPDATE audit_log SET actor = 'someone else'")
        assert len(audit.audit_entries(store)) == n
        # entries older than six months are purged (written back in time, as a store kept for a year has them)
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat(timespec="milliseconds")
        with store.transaction() as con:
            con.execute("INSERT INTO audit_log (at, actor, action) VALUES (?, 'old', 'same')", (old,))
        assert service.purge_audit(store, 183) == 1
        assert len(audit.audit_entries(store)) == n


# ---- merge and split -------------------------------------------------------------------------------


def gid(desk: StewardDesk, record: str) -> str:
    return str(q(desk.master, f"SELECT golden_id FROM customer_xref WHERE source_record_id = '{record}'")[0][0])


def test_split_writes_not_same_for_every_split_and_remaining_record(desk: StewardDesk) -> None:
    g = gid(desk, "C6")
    desk.split(ANA, g, [("web", "W6")], expected_version=0)
    with desk.store() as store:
        rows = store.query("SELECT left_record_id, right_record_id, decision FROM steward_decisions")
    assert rows == [("W6", "C6", "not_same")]
    with pytest.raises(service.StewardError, match="leave at least one"):
        desk.split(ANA, g, [("web", "W6"), ("crm", "C6")], expected_version=1)
    with pytest.raises(service.StewardError, match=r"crm:C1 not in"):
        desk.split(ANA, g, [("crm", "C1")], expected_version=1)


def test_the_next_run_honours_same_not_same_merge_split_and_not_undone_decisions(desk: StewardDesk) -> None:
    desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    desk.decide(ANA, ("crm", "C8"), ("web", "W8"), "not_same", expected_version=0)
    undone = desk.decide(ANA, ("crm", "C4"), ("web", "W4"), "same", expected_version=0)
    desk.undo(BEN, undone.audit_id)
    desk.merge(ANA, gid(desk, "C7"), gid(desk, "W7"), expected_versions={})
    desk.split(BEN, gid(desk, "C6"), [("web", "W6")], expected_version=0)
    rerun(desk)
    found = groups(desk.master)
    assert {frozenset({"crm:C3", "web:W3"}), frozenset({"crm:C7", "web:W7"})} <= found
    assert {frozenset({"crm:C6"}), frozenset({"web:W6"}), frozenset({"crm:C4"}), frozenset({"web:W4"})} <= found
    assert {frozenset({"crm:C8"}), frozenset({"web:W8"})} <= found
    # the undone pair is back in the queue; the decided ones are not
    queue = q(desk.master, "SELECT left_record_id || '~' || right_record_id FROM review_queue ORDER BY 1")
    assert [r[0] for r in queue] == ["C4~W4", "C5~W5"]
    assert sorted(labels(desk)) == ["C4~W4", "C5~W5"]


def test_an_undone_decision_of_the_last_run_comes_back_to_the_queue_at_once(desk: StewardDesk) -> None:
    result = desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    rerun(desk)
    assert "C3~W3" not in labels(desk)
    desk.undo(BEN, result.audit_id)
    back = [i for i in desk.queue() if i.left[1] == "C3"]
    assert len(back) == 1 and back[0].reason.startswith("decision undone by ben")


# ---- material change ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "before", "after", "expected"),
    [
        (
            "nothing changed",
            {"given_name_key": "ann", "email_key": "a@x"},
            {"given_name_key": "ann", "email_key": "a@x"},
            [],
        ),
        ("a name changed", {"given_name_key": "ann"}, {"given_name_key": "anne"}, ["given_name_key"]),
        ("a birth date filled in", {"birth_date_key": None}, {"birth_date_key": "19900506"}, ["birth_date_key"]),
        ("an e-mail filled in", {"email_key": None}, {"email_key": "a@x"}, []),
        ("an e-mail changed", {"email_key": "a@x"}, {"email_key": "b@x"}, ["email_key"]),
        ("a phone removed", {"phone_key": "1415"}, {"phone_key": None}, ["phone_key"]),
        ("a column the decision did not record", {}, {"address_key": "1|a"}, []),
    ],
)
def test_material_changes(description: str, before: dict, after: dict, expected: list[str]) -> None:
    assert material_changes(before, after) == expected, description


def edit_source(desk: StewardDesk, name: str, old: str, new: str) -> None:
    path = desk.master.parent.parent / "src" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_decision_whose_records_changed_materially_is_not_applied_and_requeued(desk: StewardDesk) -> None:
    desk.decide(ANA, ("crm", "C3"), ("web", "W3"), "same", expected_version=0)
    edit_source(desk, "web.jsonl", '"name": "Ann Lee"', '"name": "Anna Leeds"')
    rerun(desk)
    assert frozenset({"web:W3"}) in groups(desk.master)
    rows = q(
        desk.master, "SELECT left_record_id, right_record_id, reason FROM review_queue WHERE changed_since_decision"
    )
    assert len(rows) == 1 and rows[0][:2] == ("C3", "W3")
    assert rows[0][2].startswith("changed since decision: 'same' by ana at ")
    assert "web:W3 given_name_key" in rows[0][2] and "web:W3 family_name_key" in rows[0][2]
    (outcome,) = q(desk.master, "SELECT outcome FROM steward_links WHERE left_record_id = 'C3'")[0]
    assert outcome.startswith("not applied: changed since decision")
    items = desk.queue()
    assert items[0].changed_since_decision and items[0].left == ("crm", "C3")
    # a steward decides again on the changed records: applied on the next run
    desk.decide(BEN, ("crm", "C3"), ("web", "W3"), "same", expected_version=items[0].version)
    rerun(desk)
    assert frozenset({"crm:C3", "web:W3"}) in groups(desk.master)
    assert q(desk.master, "SELECT count(*) FROM review_queue WHERE changed_since_decision") == [(0,)]


def test_a_contact_value_filled_in_is_not_material(desk: StewardDesk) -> None:
    desk.merge(ANA, gid(desk, "C7"), gid(desk, "W7"), expected_versions={})
    edit_source(
        desk, "web.jsonl", '"thardy@corp.example", "phone": null', '"thardy@corp.example", "phone": "702 900 1234"'
    )
    rerun(desk)
    assert frozenset({"crm:C7", "web:W7"}) in groups(desk.master)
    assert q(desk.master, "SELECT * FROM steward_links") == [("crm", "C7", "web", "W7", "merged")]


# ---- store upgrade -----------------------------------------------------------------------------------


def test_a_schema_2_store_gains_the_steward_tables_and_keeps_its_decisions(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / StateStore.FILENAME)
    con.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '2'), ('next_golden_number', '1');
        CREATE TABLE steward_decisions (
            decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
            left_source TEXT NOT NULL, left_record_id TEXT NOT NULL,
            right_source TEXT NOT NULL, right_record_id TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('same', 'not_same')),
            reason TEXT, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, revoked_at TEXT);
        INSERT INTO steward_decisions (left_source, left_record_id, right_source, right_record_id, decision,
            decided_by, decided_at) VALUES ('crm', 'C1', 'web', 'W1', 'not_same', 'old', '2026-01-01');
        """
    )
    con.commit()
    con.close()
    with StateStore(tmp_path) as store:
        assert store.query("SELECT value FROM meta WHERE key = 'schema_version'") == [("8",)]
        assert store.active_decisions() == [(("crm", "C1"), ("web", "W1"), "not_same")]
        assert store.query("SELECT fingerprint, audit_id FROM steward_decisions") == [(None, None)]
        assert store.query("SELECT count(*) FROM users") == [(0,)]


# ---- module shape --------------------------------------------------------------------------------


def _steward_modules() -> list[ModuleType]:
    import mdm.steward

    names = [m.name for m in pkgutil.walk_packages(mdm.steward.__path__, "mdm.steward.")]
    return [importlib.import_module(n) for n in names]


def test_every_steward_error_is_an_mdm_error() -> None:
    kinds = {
        obj
        for module in _steward_modules()
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
    }
    assert {service.StewardError, service.Forbidden, service.NotFound, service.Conflict, UserError} <= kinds
    assert [k.__qualname__ for k in kinds if not issubclass(k, MdmError)] == []


def test_users_and_the_audit_log_do_not_import_the_service() -> None:
    """service.py imports users.py and audit.py; neither imports service.py back (not even lazily)."""
    for module in (audit, users):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(m and m.startswith("mdm.steward.service") for m in imported), module.__name__

"""Audit and sessions (issue 15, item 5): each failure the probe found, as a test.

The probe found the audit log held user creation and merges only (no sign-ins, failed sign-ins,
queries, runs, rollbacks or lock-outs); thirty wrong passwords at 33 a second all answered, then
the right one let in; a session cookie that still worked after sign-out; no Secure flag behind TLS.
The page's clock is injected (`create_app(clock=...)`): no test sleeps.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.state.audit import SQL_CHARS, audit_entries
from mdm.state.store import SCHEMA_VERSION
from mdm.steward import signin
from mdm.steward.sessions import token_hash
from mdm.steward.signin import CLIENT_THROTTLE, USER_THROTTLE, Throttle
from mdm.steward.users import add_user
from mdm.steward.web.app import create_app
from tests.conftest import AS_OF, FIXTURES
from tests.conftest import query as q

PASSWORD = "correct horse"
WRONG = "wrong horse battery"


class Clock:
    """The page's clock, moved by the test."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def tick(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The steward fixture published once; users ana (steward), vic (viewer), root (admin)."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(FIXTURES / "steward", root / "src")
    master = root / "out" / "master.duckdb"
    run_pipeline(root / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        for name, role in (("ana", "steward"), ("vic", "viewer"), ("root", "admin")):
            add_user(store, name, PASSWORD, role, by="test")
    return root


@pytest.fixture
def site(published: Path, tmp_path: Path) -> Path:
    """A copy of the published site for one test; returns its master."""
    shutil.copytree(published, tmp_path / "site")
    return tmp_path / "site" / "out" / "master.duckdb"


def state(master: Path) -> Path:
    return master.parent / "state"


def client(master: Path, clock: Clock | None = None, *, tls: bool = False) -> TestClient:
    app = create_app(master, state(master), clock=clock or Clock(), behind_tls=tls)
    return TestClient(app, base_url=f"{'https' if tls else 'http'}://127.0.0.1")


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def attempt(c: TestClient, name: str, password: str) -> Response:
    token = csrf(c.get("/login").text)
    return c.post(
        "/login",
        data={"csrf": token, "username": name, "password": password, "next": "/"},
        follow_redirects=False,
    )


def sign_in(c: TestClient, name: str) -> None:
    r = attempt(c, name, PASSWORD)
    assert r.status_code == 303, r.text


def signed_in(c: TestClient) -> bool:
    r = c.get("/", follow_redirects=False)
    assert r.status_code in (200, 303)
    return r.status_code == 200


def audit(master: Path, *actions: str) -> list[dict[str, Any]]:
    """Entries of these actions, oldest first, `after` read as JSON."""
    with StateStore(state(master)) as store:
        entries = audit_entries(store, actions=actions, limit=10_000)
    return [e | {"after": json.loads(e["after"]) if e["after"] else None} for e in reversed(entries)]


def cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input)


# ---- the audit log records sign-ins, failures, sign-outs ----------------------------------------------


def test_sign_ins_failed_sign_ins_and_sign_outs_are_audited_never_the_password(site: Path) -> None:
    c = client(site)
    assert attempt(c, "ana", WRONG).status_code == 401
    assert attempt(c, "nobody", WRONG).status_code == 401
    sign_in(c, "ana")
    c.post("/logout", data={"csrf": csrf(c.get("/").text)})
    rows = [(e["actor"], e["action"], e["item_key"]) for e in audit(site, *signin_actions())]
    assert rows == [
        ("web:testclient", "sign_in_failed", "user:ana"),
        ("web:testclient", "sign_in_failed", "user:nobody"),
        ("ana", "sign_in", "user:ana"),
        ("ana", "sign_out", "user:ana"),
    ]
    failed = audit(site, "sign_in_failed")[0]["after"]
    assert failed == {"client": "web:testclient", "via": "web", "failures": 1, "client_failures": 1}
    # the password tried is nowhere in the store, not even in its free pages or its log
    for f in state(site).glob(StateStore.FILENAME + "*"):
        assert WRONG.encode() not in f.read_bytes() and PASSWORD.encode() not in f.read_bytes(), f


def signin_actions() -> tuple[str, ...]:
    return ("sign_in", "sign_in_failed", "sign_in_refused", "lockout", "sign_out")


# ---- sessions end for good ------------------------------------------------------------------------------


def test_a_copied_cookie_no_longer_works_after_sign_out(site: Path) -> None:
    c = client(site)
    sign_in(c, "ana")
    copied = client(site)
    copied.cookies.set("mdm_session", c.cookies["mdm_session"])
    token = json.loads(base64.b64decode(c.cookies["mdm_session"].split(".")[0] + "=="))["s"]
    assert signed_in(copied)  # the copy works while the session lives ...
    c.post("/logout", data={"csrf": csrf(c.get("/").text)})
    assert not signed_in(c)
    assert not signed_in(copied)  # ... and not after sign-out (the probe's cookie stayed valid 12 h)
    form = {"csrf": csrf(copied.get("/login").text), "left": "crm:C3", "right": "web:W3", "verdict": "same"}
    r = copied.post("/pair/decide", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with StateStore(state(site)) as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]
        assert store.query("SELECT count(*), min(ended_at IS NOT NULL), min(end_reason) FROM web_sessions") == [
            (1, 1, "signed out")
        ]
        # the store keeps a hash of the session token, never the token
        assert store.query("SELECT session_hash FROM web_sessions") == [(token_hash(token),)]
    for f in state(site).glob(StateStore.FILENAME + "*"):
        assert token.encode() not in f.read_bytes()


def test_signing_in_again_ends_the_browsers_previous_session(site: Path) -> None:
    c = client(site)
    sign_in(c, "ana")
    old = client(site)
    old.cookies.set("mdm_session", c.cookies["mdm_session"])
    sign_in(c, "vic")
    assert signed_in(c) and not signed_in(old)


def test_an_admin_ends_a_users_sessions_on_the_page_and_with_mdm_users_sign_out(site: Path) -> None:
    ana, admin = client(site), client(site)
    sign_in(ana, "ana")
    sign_in(admin, "root")
    page = admin.get("/admin")
    assert "Sign out everywhere" in page.text
    r = admin.post("/admin/sessions", data={"csrf": csrf(page.text), "username": "ana"})
    assert r.status_code == 200 and "ended 1 session(s) of ana" in r.text
    assert not signed_in(ana) and signed_in(admin)
    sign_in(ana, "ana")
    listed = cli("users", "list", "--master", str(site)).output
    assert re.search(r"^ana .*1 live session\(s\)", listed, re.M), listed
    done = cli("users", "sign-out", "ana", "--master", str(site))
    assert done.exit_code == 0 and "ended 1 session(s) of ana" in done.output
    assert not signed_in(ana)
    assert cli("users", "sign-out", "nobody", "--master", str(site)).exit_code == 1
    ended = [(e["actor"].split(":")[0], e["item_key"], e["after"]["sessions"]) for e in audit(site, "sessions_ended")]
    assert ended == [("root", "user:ana", 1), ("cli", "user:ana", 1)]


def test_a_role_change_ends_the_users_sessions(site: Path) -> None:
    ana, admin = client(site), client(site)
    sign_in(ana, "ana")
    sign_in(admin, "root")
    admin.post("/admin/role", data={"csrf": csrf(admin.get("/admin").text), "username": "ana", "role": "viewer"})
    assert not signed_in(ana)
    sign_in(ana, "ana")  # and she signs in again, as a viewer
    assert "ana (viewer)" in ana.get("/").text
    assert [e["after"]["why"] for e in audit(site, "sessions_ended")] == ["role changed to viewer"]


def test_a_session_still_lasts_twelve_hours_on_the_server_too(site: Path) -> None:
    clock = Clock()
    c = client(site, clock)
    sign_in(c, "ana")
    clock.tick(11 * 3600 + 3000)
    assert signed_in(c)
    clock.tick(1000)  # 12 h 6 min: the store's session has expired, though the cookie is still fresh
    assert not signed_in(c)


# ---- sign-in throttling ---------------------------------------------------------------------------------


def test_thirty_wrong_passwords_at_33_a_second_are_held_back_and_the_right_one_after_them_too(site: Path) -> None:
    """The probe: 30 wrong passwords at 33 a second were all answered, then the right one worked."""
    clock = Clock()
    c = client(site, clock)
    answers = []
    for _ in range(30):
        answers.append(attempt(c, "ana", WRONG).status_code)
        clock.tick(1 / 33)
    assert answers == [401] * 3 + [429] * 27  # three checked; then a wait of 1 s that none waited
    right, wrong = attempt(c, "ana", PASSWORD), attempt(c, "ana", WRONG)
    assert right.status_code == 429 and "try again in 1 s" in right.text
    assert (right.text, right.headers["retry-after"]) == (wrong.text, wrong.headers["retry-after"])
    assert not signed_in(c)
    # the refusals are audited once per wait, not one entry each
    assert [e["action"] for e in audit(site, *signin_actions())] == ["sign_in_failed"] * 3 + ["sign_in_refused"]
    clock.tick(1)
    sign_in(c, "ana")  # once the wait is over, the right password works


def test_ten_failures_lock_a_user_name_out_15_minutes_right_or_wrong_password_alike(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    c = client(site, clock)
    waits = []
    for n in range(1, 11):
        assert attempt(c, "ana", WRONG).status_code == 401
        waits.append(USER_THROTTLE.wait_after(n))
        clock.tick(USER_THROTTLE.wait_after(n))  # each attempt waits exactly as long as it must
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 900]  # exponential, then the lock-out
    clock.t -= 1  # a second before the lock-out ends
    checked: list[str] = []
    real = signin.authenticate
    monkeypatch.setattr(signin, "authenticate", lambda *a: checked.append(a[1]) or real(*a))
    right, wrong = attempt(c, "ana", PASSWORD), attempt(c, "ana", WRONG)
    assert right.status_code == wrong.status_code == 429
    assert (right.text, right.headers["retry-after"]) == (wrong.text, wrong.headers["retry-after"]) == (right.text, "1")
    assert checked == []  # the passwords were not even looked at
    (lock,) = audit(site, "lockout")
    assert (lock["actor"], lock["item_key"], lock["after"]["failures"]) == ("web:testclient", "user:ana", 10)
    listed = cli("users", "list", "--master", str(site)).output
    assert re.search(r"^ana .*sign-in held back until ", listed, re.M), listed
    clock.tick(1)
    sign_in(c, "ana")
    assert checked == ["ana"]
    assert "sign-in held back" not in cli("users", "list", "--master", str(site)).output


def test_an_admin_lifts_a_lock_out_with_mdm_users_unlock(site: Path) -> None:
    clock = Clock()
    c = client(site, clock)
    for n in range(1, 11):
        attempt(c, "vic", WRONG)
        clock.tick(USER_THROTTLE.wait_after(n) if n < 10 else 0)
    assert attempt(c, "vic", PASSWORD).status_code == 429
    done = cli("users", "unlock", "vic", "--master", str(site))
    assert done.exit_code == 0 and "vic: failed sign-ins forgotten" in done.output
    clock.tick(2)  # the client's own wait (ten failures from it), not the user name's 15 minutes
    sign_in(c, "vic")
    assert [e["item_key"] for e in audit(site, "unlock")] == ["user:vic"]


def test_many_user_names_from_one_client_are_held_back_too(site: Path) -> None:
    clock = Clock()
    c = client(site, clock)
    for i in range(CLIENT_THROTTLE.free_failures):
        assert attempt(c, f"guess{i}", WRONG).status_code == 401
        clock.tick(0.03)
    # a name never tried before, and a real user with the right password: held back alike
    assert attempt(c, "someone.new", WRONG).status_code == 429
    assert attempt(c, "ana", PASSWORD).status_code == 429
    assert [e["after"]["throttled"] for e in audit(site, "sign_in_refused")] == [["client"]]
    other = client(site, clock)  # the same TestClient address: every client here is "testclient"
    assert attempt(other, "ana", PASSWORD).status_code == 429


def test_a_client_lock_out_is_audited_and_a_success_does_not_reset_a_clients_failures(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        add_user(store, "ana", PASSWORD, by="test")
        user, client_limit = Throttle(3, 1, 60, 10), Throttle(0, 0.5, 60, 3)
        t = 1_000_000.0
        for name in ("a", "b", "c"):
            r = signin.sign_in(store, name, WRONG, client="web:10.0.0.9", now=t, throttles=(user, client_limit))
            assert r.user is None and r.retry_after == 0
            t += 60
        r = signin.sign_in(store, "ana", PASSWORD, client="web:10.0.0.9", now=t, throttles=(user, client_limit))
        assert r.user is None and r.retry_after > 0  # locked: the right password is not taken
        other = signin.sign_in(store, "ana", PASSWORD, client="web:10.0.0.1", now=t, throttles=(user, client_limit))
        assert other.user is not None  # another address is not
        entries = audit_entries(store, actions=["lockout"])
        assert [(e["item_key"], json.loads(e["after"])["failures"]) for e in entries] == [("client:web:10.0.0.9", 3)]
        t += 15 * 60
        ok = signin.sign_in(store, "ana", PASSWORD, client="web:10.0.0.9", now=t, throttles=(user, client_limit))
        assert ok.user is not None
        # a success takes back its own attempt only: the client keeps its three failures
        assert store.query("SELECT failures FROM sign_in_throttle WHERE key = 'client:web:10.0.0.9'") == [(3,)]


def test_the_terminal_sign_in_is_throttled_and_audited_too(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mdm.cli.steward as steward_cli

    frozen = time.time()
    monkeypatch.setattr(steward_cli, "time", SimpleNamespace(time=lambda: frozen))
    review = ["review", "--master", str(site), "--user", "ana"]
    for _ in range(3):
        assert "wrong user name or password" in cli(*review, input=WRONG + "\n").output
    held = cli(*review, input=PASSWORD + "\nq\n")
    assert held.exit_code == 1 and "too many failed sign-ins for this user name or from here" in held.output
    rows = [(e["actor"].split(":")[0], e["action"]) for e in audit(site, *signin_actions())]
    assert rows == [("cli", "sign_in_failed")] * 3 + [("cli", "sign_in_refused")]


# ---- Secure cookies behind TLS ----------------------------------------------------------------------------


def cookie_attributes(response: Response) -> tuple[str, set[str]]:
    name, *attributes = response.headers["set-cookie"].split(";")
    return name.split("=")[0], {a.strip().split("=")[0].lower() for a in attributes}


def test_the_cookie_is_secure_behind_tls_and_only_then(site: Path) -> None:
    plain = cookie_attributes(client(site).get("/login"))
    assert plain[0] == "mdm_session" and "secure" not in plain[1]
    tls = client(site, tls=True)
    name, attributes = cookie_attributes(tls.get("/login"))
    assert name == "__Host-mdm_session" and {"secure", "httponly", "samesite", "path"} <= attributes
    sign_in(tls, "ana")
    assert signed_in(tls)


def test_mdm_serve_behind_tls_sets_secure_cookies_and_still_binds_127_0_0_1(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[tuple[FastAPI, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.delenv("MDM_BEHIND_TLS", raising=False)
    assert cli("serve", "--master", str(site)).exit_code == 0
    assert cli("serve", "--master", str(site), "--behind-tls").exit_code == 0
    monkeypatch.setenv("MDM_BEHIND_TLS", "1")
    assert cli("serve", "--master", str(site)).exit_code == 0
    secure = []
    for app, kw in served:
        assert kw["host"] == "127.0.0.1"
        r = TestClient(app, base_url="https://127.0.0.1").get("/login")
        secure.append(("secure" in cookie_attributes(r)[1], kw["proxy_headers"]))
    assert secure == [(False, False), (True, True), (True, True)]


# ---- mdm query, mdm rollback and runs are audited --------------------------------------------------------


def test_mdm_query_is_audited_with_who_the_sql_and_the_row_count_never_the_result(site: Path) -> None:
    sql = "SELECT family_name FROM golden_customers WHERE family_name IS NOT NULL"
    names = [n for (n,) in q(site, sql)]
    shown = cli("query", sql, "--master", str(site), "--format", "csv")
    assert shown.exit_code == 0 and names[0] in shown.output
    long_sql = "SELECT count(*) FROM golden_customers -- " + "x" * 300
    assert cli("query", long_sql, "--master", str(site)).exit_code == 0
    assert cli("query", "SELECT family_name FROM golden_customers", "--master", str(site)).exit_code == 0
    refused = cli("query", "DELETE FROM golden_customers", "--master", str(site))
    assert refused.exit_code == 1 and "read-only" in refused.output
    entries = audit(site, "query")
    assert [e["actor"].startswith("cli:") for e in entries] == [True] * 4
    assert [e["after"].get("rows") for e in entries] == [len(names), 1, len(q(site, "FROM golden_customers")), None]
    assert entries[0]["after"]["sql"] == sql and entries[0]["after"]["format"] == "csv"
    assert len(entries[1]["after"]["sql"]) == SQL_CHARS and len(entries[1]["after"]["sql_sha256"]) == 64
    assert entries[3]["after"]["failed"] == "QueryError"
    assert entries[0]["item_key"] == f"master:{site.resolve()}"
    with StateStore(state(site)) as store:
        logged = json.dumps(store.query("SELECT * FROM audit_log"))
    assert not [n for n in names if n in logged]


def test_a_query_whose_audit_cannot_be_written_is_not_shown(site: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "state-file"
    a_file.write_text("")
    r = cli("query", "SELECT family_name FROM golden_customers", "--master", str(site), "--state", str(a_file / "x"))
    assert r.exit_code == 1 and "the audit log in" in r.output and "could not be written" in r.output
    assert "family_name" not in r.output


def test_mdm_rollback_is_audited_and_a_refused_one_too(site: Path) -> None:
    first = q(site, "SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT 1")[0][0]
    run_pipeline(site.parent.parent / "src" / "sources.yaml", site, as_of=AS_OF)
    second = q(site, "SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT 1")[0][0]
    assert cli("rollback", "--master", str(site), "--list").exit_code == 0
    assert audit(site, "rollback") == []  # listing changes nothing and is not a rollback
    assert cli("rollback", "--master", str(site)).exit_code == 0
    assert cli("rollback", "--master", str(site), "--to", "no-such-run").exit_code == 1
    done, refused = audit(site, "rollback")
    assert done["actor"].startswith("cli:") and done["item_key"] == f"master:{site.resolve()}"
    assert (json.loads(done["before"]), done["after"]["run_id"]) == ({"run_id": second}, first)
    assert "run no-such-run is not kept" in refused["after"]["failed"]


def test_runs_are_audited_started_published_failed_and_by_whom(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    sources = site.parent.parent / "src" / "sources.yaml"
    ok = cli(
        "run", "--sources", str(sources), "--master", str(site), "--orchestrator", "local", "--as-of", "2026-11-01"
    )
    assert ok.exit_code == 0, ok.output
    served: list[FastAPI] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    assert cli("serve", "--master", str(site), "--sources", str(sources)).exit_code == 0
    admin = TestClient(served[0], base_url="http://127.0.0.1")
    sign_in(admin, "root")
    admin.post("/admin/run", data={"csrf": csrf(admin.get("/admin").text)})
    served[0].state.site.runner.thread.join(timeout=600)
    (sources.parent / "web.jsonl").unlink()
    failed = cli("run", "--sources", str(sources), "--master", str(site), "--orchestrator", "local")
    assert failed.exit_code == 1
    entries = [
        e
        for e in audit(site, "run_started", "run_published", "run_failed")
        if not e["actor"].startswith("process:")  # the fixture's own run, from Python
    ]
    who = [(e["actor"].split(":")[0], e["action"]) for e in entries]
    assert who == [
        ("cli", "run_started"),
        ("cli", "run_published"),
        ("root", "run_started"),
        ("root", "run_published"),
        ("cli", "run_started"),
        ("cli", "run_failed"),
    ]
    assert len({e["item_key"] for e in entries}) == 3 and all(e["item_key"].startswith("run:") for e in entries)
    assert entries[-1]["after"]["status"] == "failed" and "web.jsonl" in entries[-1]["after"]["error"]


def test_a_scheduled_run_is_audited_as_the_schedule_and_an_abandoned_run_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.runtime import deployment

    from pipelines.nightly import _deployment_actor

    assert _deployment_actor() is None  # not in a deployment: run_pipeline names the process's user
    monkeypatch.setattr(deployment, "name", "nightly", raising=False)
    assert _deployment_actor() == "schedule:nightly"
    with StateStore(tmp_path) as store:
        store.start_run("r1", code_version="x", sources_path="s", master_path="m", as_of="2026-11-01")
        store.start_run("r2", code_version="x", sources_path="s", master_path="m", as_of="2026-11-01", started_by="a")
        assert store.close_abandoned_runs("r3") == ["r1", "r2"]
        entries = audit_entries(store, actions=["run_started", "run_failed"])
    rows = [(e["actor"].split(":")[0], e["action"], e["item_key"]) for e in reversed(entries)]
    assert rows == [
        ("process", "run_started", "run:r1"),
        ("a", "run_started", "run:r2"),
        ("process", "run_failed", "run:r1"),
        ("a", "run_failed", "run:r2"),
    ]


# ---- mdm audit -------------------------------------------------------------------------------------------


def test_mdm_audit_reads_the_log_with_since_action_user_and_limit(site: Path) -> None:
    c = client(site)
    attempt(c, "ana", WRONG)
    sign_in(c, "ana")
    cli("query", "SELECT 42", "--master", str(site))
    m = ["--master", str(site)]
    everything = cli("audit", *m)
    assert everything.exit_code == 0
    lines = everything.output.splitlines()
    assert " query " in lines[0] and " sign_in " in lines[1] and " sign_in_failed " in lines[2]  # newest first
    assert "user_add" in everything.output and "run_published" in everything.output
    failed = cli("audit", *m, "--action", "sign_in_failed").output.splitlines()
    assert len(failed) == 1 and "web:testclient  sign_in_failed  user:ana" in failed[0] and WRONG not in failed[0]
    both = cli("audit", *m, "--action", "sign_in", "--action", "sign_in_failed").output.splitlines()
    assert len(both) == 2
    by_ana = cli("audit", *m, "--user", "ana").output
    assert "sign_in_failed" in by_ana and "user_add" in by_ana and "query" not in by_ana
    assert len(cli("audit", *m, "--limit", "2").output.splitlines()) == 2
    later = cli("audit", *m, "--since", "2999-01-01")
    assert later.exit_code == 0 and later.stdout.strip() == "" and "no audit entries match" in later.stderr
    assert "Example:" in cli("audit", "--help").output
    missing = cli("audit", "--state", str(site.parent / "nowhere"))
    assert missing.exit_code == 1 and "no durable store" in missing.output


# ---- the store --------------------------------------------------------------------------------------------


def test_a_schema_4_store_gains_sessions_throttle_and_the_kept_audit(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store, store.transaction() as con:
        con.execute("INSERT INTO audit_log (at, actor, action) VALUES ('2026-01-01T00:00:00.000+00:00', 'x', 'same')")
    con = sqlite3.connect(tmp_path / StateStore.FILENAME)
    con.executescript(
        "DROP TABLE web_sessions; DROP TABLE sign_in_throttle; DROP TRIGGER audit_log_kept;"
        " DROP TRIGGER audit_log_fixed; UPDATE meta SET value = '4' WHERE key = 'schema_version';"
    )
    con.close()
    with StateStore(tmp_path) as store:
        assert (
            store.query("SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)] == [("8",)]
        )
        assert store.query("SELECT count(*) FROM web_sessions") == [(0,)]
        assert store.query("SELECT count(*) FROM sign_in_throttle") == [(0,)]
        triggers = store.query("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        assert triggers == [("audit_log_fixed",), ("audit_log_kept",)]
        assert store.query("SELECT actor FROM audit_log") == [("x",)]

"""The steward page through HTTP (Starlette's TestClient): sign-in, roles, CSRF, escaping,
concurrent decisions. The browser tests (test_steward_e2e.py) drive the same page in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.users import add_user
from mdm.steward.web import security
from mdm.steward.web.app import HEADERS, create_app
from mdm.steward.web.routes import ROUTERS
from mdm.steward.web.runner import FlowRunner
from mdm.steward.web.security import SECRET_FILE
from tests.conftest import AS_OF, FIXTURES, REPO

PASSWORD = "correct horse"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The steward fixture published; users ana (steward), vic (viewer), root (admin). Returns the master."""
    shutil.copytree(FIXTURES / "steward", tmp_path / "src")
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tmp_path / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        for name, role in (("ana", "steward"), ("vic", "viewer"), ("root", "admin")):
            add_user(store, name, PASSWORD, role, by="test")
    return master


def client(master: Path) -> TestClient:
    return TestClient(create_app(master, master.parent / "state"), base_url="http://127.0.0.1")


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(c: TestClient, name: str) -> None:
    page = c.get("/login")
    r = c.post("/login", data={"csrf": csrf(page.text), "username": name, "password": PASSWORD, "next": "/"})
    assert r.status_code == 200 and "Review queue" in r.text, r.text


def test_pages_need_sign_in_and_a_wrong_password_is_refused(site: Path) -> None:
    c = client(site)
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    page = c.get("/login")
    bad = c.post("/login", data={"csrf": csrf(page.text), "username": "ana", "password": "wrong", "next": "/"})
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text


def test_the_session_cookie_is_signed_httponly_and_strict(site: Path) -> None:
    c = client(site)
    r = c.get("/login")
    cookie = r.headers["set-cookie"]
    value, *attributes = cookie.split(";")
    # attribute names are case-insensitive (RFC 6265, 5.2): compare them lower-cased
    attrs = {k.strip().lower(): v.strip() for k, _, v in (a.partition("=") for a in attributes)}
    assert "httponly" in attrs and attrs["samesite"].lower() == "strict" and attrs["path"] == "/"
    assert attrs["max-age"] == str(12 * 3600)
    assert value.startswith("mdm_session=") and len(value.rsplit(".", 1)[1]) == 43  # an HMAC-SHA256, base64url
    policy = r.headers["content-security-policy"]
    # scripts: the app's own file only (/keys.js), never inline or eval
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    secret = site.parent / "state" / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # a forged cookie (user set, signature not ours) is an anonymous visitor
    c.cookies.set("mdm_session", "eyJ1IjoiYW5hIn0.forged")
    assert c.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(site: Path) -> None:
    c = client(site)
    sign_in(c, "ana")
    form = {"left": "crm:C3", "right": "web:W3", "verdict": "same", "version": "0"}
    assert c.post("/pair/decide", data=form).status_code == 403
    assert c.post("/pair/decide", data=form | {"csrf": "not-the-token"}).status_code == 403
    # an anonymous login POST without the token too
    assert client(site).post("/login", data={"username": "ana", "password": PASSWORD}).status_code == 403
    with StateStore(site.parent / "state") as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]


def test_a_viewer_reads_but_cannot_decide_nor_manage(site: Path) -> None:
    c = client(site)
    sign_in(c, "vic")
    page = c.get("/pair", params={"left": "crm:C3", "right": "web:W3"})
    assert page.status_code == 200 and "deciding needs the steward role" in page.text
    r = c.post(
        "/pair/decide",
        data={"csrf": csrf(page.text), "left": "crm:C3", "right": "web:W3", "verdict": "same", "version": "0"},
    )
    assert r.status_code == 403 and "vic is a viewer" in r.text
    assert c.get("/admin").status_code == 403
    with StateStore(site.parent / "state") as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]


def test_names_are_shown_escaped(site: Path) -> None:
    c = client(site)
    sign_in(c, "ana")
    for page in (c.get("/"), c.get("/pair", params={"left": "crm:C5", "right": "web:W5"})):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_two_stewards_deciding_one_pair_one_wins_the_other_is_told(site: Path) -> None:
    first, second = client(site), client(site)
    sign_in(first, "ana")
    with StateStore(site.parent / "state") as store:
        add_user(store, "ben", PASSWORD, "steward", by="test")
    sign_in(second, "ben")
    params = {"left": "crm:C3", "right": "web:W3"}
    page_a, page_b = first.get("/pair", params=params), second.get("/pair", params=params)
    form = params | {"version": "0"}
    ok = first.post("/pair/decide", data=form | {"csrf": csrf(page_a.text), "verdict": "same"})
    assert ok.status_code == 200 and "same person" in ok.text
    late = second.post("/pair/decide", data=form | {"csrf": csrf(page_b.text), "verdict": "not_same"})
    assert late.status_code == 409 and "already decided by ana at" in late.text
    with StateStore(site.parent / "state") as store:
        assert store.query("SELECT decision, decided_by FROM steward_decisions") == [("same", "ana")]


def test_an_admin_adds_a_user_who_is_a_viewer_by_default(site: Path) -> None:
    c = client(site)
    sign_in(c, "root")
    page = c.get("/admin")
    r = c.post("/admin/users", data={"csrf": csrf(page.text), "username": "new.one", "password": "long enough"})
    assert r.status_code == 200 and "added new.one" in r.text
    with StateStore(site.parent / "state") as store:
        assert store.query("SELECT role FROM users WHERE username = 'new.one'") == [("viewer",)]
    r = c.post("/admin/role", data={"csrf": csrf(page.text), "username": "root", "role": "viewer"})
    assert r.status_code == 400 and "cannot take away their own admin role" in r.text


def test_sign_out_ends_the_session_and_old_tokens(site: Path) -> None:
    c = client(site)
    sign_in(c, "ana")
    token = csrf(c.get("/").text)
    c.post("/logout", data={"csrf": token})
    assert c.get("/", follow_redirects=False).status_code == 303
    r = c.post("/pair/decide", data={"csrf": token, "left": "crm:C3", "right": "web:W3", "verdict": "same"})
    assert r.status_code == 403


# ---- every route: sign-in, role, CSRF --------------------------------------------------------------

ROUTES: dict[tuple[str, str], str | None] = {
    # (method, path): the role it needs (None: anyone)
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("POST", "/logout"): None,
    ("GET", "/style.css"): None,
    ("GET", "/keys.js"): None,
    ("GET", "/"): "viewer",
    ("POST", "/queue/next"): "steward",
    ("GET", "/pair"): "viewer",
    ("POST", "/pair/decide"): "steward",
    ("POST", "/pair/next"): "steward",
    ("POST", "/pair/claim"): "steward",
    ("POST", "/pair/release"): "steward",
    ("GET", "/customers"): "viewer",
    ("GET", "/work"): "viewer",
    ("GET", "/admin/throughput"): "admin",
    ("GET", "/golden/{golden_id}"): "viewer",
    ("POST", "/golden/{golden_id}/split"): "steward",
    ("POST", "/golden/{golden_id}/merge"): "steward",
    ("GET", "/audit"): "viewer",
    ("POST", "/audit/{audit_id}/undo"): "steward",
    ("GET", "/admin"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/role"): "admin",
    ("POST", "/admin/sessions"): "admin",
    ("POST", "/admin/run"): "admin",
}
RANK = {"viewer": 0, "steward": 1, "admin": 2}


def url(path: str) -> str:
    return path.replace("{golden_id}", "G000000001").replace("{audit_id}", "1")


SIGN_INS = ("sign_in", "sign_in_failed", "sign_in_refused", "lockout", "sign_out")


def written(site: Path) -> list[tuple[int, ...]]:
    """Audit entries (but signing in and out, which the tests do) and decisions."""
    with StateStore(site.parent / "state") as store:
        return store.query(
            f"SELECT (SELECT count(*) FROM audit_log WHERE action NOT IN {SIGN_INS}),"
            " (SELECT count(*) FROM steward_decisions)"
        )


def test_the_route_table_is_the_apps() -> None:
    """A new route fails here until ROUTES says what role it needs: the tests below then check it."""
    routes = {(m, r.path) for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) for m in r.methods}
    assert routes == set(ROUTES)


def test_every_page_but_sign_in_needs_a_session_and_every_post_the_csrf_token(site: Path) -> None:
    c = client(site)
    token = csrf(c.get("/login").text)
    before = written(site)
    responses = []
    for (method, path), role in ROUTES.items():
        if method == "GET":
            r = c.get(url(path), follow_redirects=False)
            if role is None:
                assert r.status_code == 200, path
            else:
                assert r.status_code == 303, path
                assert r.headers["location"] == "/login?" + urlencode({"next": url(path)}), path
            responses.append(r)
            continue
        for form in ({}, {"csrf": "not-the-token"}):
            r = c.post(url(path), data=form | {"username": "ana", "password": PASSWORD}, follow_redirects=False)
            assert r.status_code == 403 and "CSRF token" in r.text, path
            responses.append(r)
        if role is not None:  # the right token, nobody signed in
            r = c.post(url(path), data={"csrf": token}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/login?" + urlencode({"next": url(path)}), path
            responses.append(r)
    for r in responses:
        assert {name: r.headers.get(name) for name in HEADERS} == HEADERS, r.url
    assert written(site) == before


def test_signed_in_a_post_without_the_token_is_refused_and_a_role_too_low_is_403(site: Path) -> None:
    before = written(site)
    for name, role in (("vic", "viewer"), ("ana", "steward")):
        c = client(site)
        sign_in(c, name)
        token = csrf(c.get("/").text)
        for (method, path), needed in ROUTES.items():
            if method == "POST":
                r = c.post(url(path), data={"username": name, "password": PASSWORD}, follow_redirects=False)
                assert r.status_code == 403 and "CSRF" in r.text, (name, path)
            if needed is None or RANK[needed] <= RANK[role]:
                continue
            if method == "GET":
                r = c.get(url(path))
            else:
                r = c.post(url(path), data={"csrf": token, "left": "crm:C3", "right": "web:W3", "verdict": "same"})
            assert r.status_code == 403, (name, path)
            assert f"{name} is a {role}: this needs the {needed} role" in r.text, (name, path)
    assert written(site) == before


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(site)
    sign_in(c, "ana")
    real = time.time
    # the cookie's signature stays fresh (itsdangerous reads the real clock): only the issue time inside ages
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: real() + 11 * 3600))
    assert c.get("/", follow_redirects=False).status_code == 200
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: real() + 12 * 3600 + 60))
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# ---- running the flow from the admin page -----------------------------------------------------------


def start_run(c: TestClient) -> Response:
    """POST /admin/run as the signed-in admin (following the redirect to /admin)."""
    return c.post("/admin/run", data={"csrf": csrf(c.get("/admin").text)})


def run_status(c: TestClient) -> str:
    found = re.search(r"<p>Status: (.*)</p>", c.get("/admin").text)
    assert found, "no run status on the admin page"
    return found.group(1)


def finish(app: FastAPI) -> None:
    thread = app.state.site.runner.thread
    thread.join(timeout=600)
    assert not thread.is_alive()


def runs(site: Path) -> list[tuple[str, str]]:
    with StateStore(site.parent / "state") as store:
        return store.query("SELECT run_id, status FROM runs ORDER BY started_at")


def test_an_admin_runs_the_flow_one_run_at_a_time(site: Path) -> None:
    sources = site.parent.parent / "src" / "sources.yaml"
    go = threading.Event()

    def run(by: str) -> str:
        assert go.wait(timeout=600), "the test never let the run go"
        summary = run_pipeline(sources, site, as_of=AS_OF)
        return f"run {summary.run_id} published in {summary.seconds} s"

    app = create_app(site, site.parent / "state", runner=FlowRunner(run, {"sources": str(sources)}))
    c = TestClient(app, base_url="http://127.0.0.1")
    sign_in(c, "root")
    assert run_status(c) == "no run started from this page"
    first = start_run(c)
    assert first.status_code == 200 and "the flow is running" in first.text
    assert run_status(c).startswith("running, started by root at ")
    second = start_run(c)
    assert second.status_code == 400 and "a run is already going; wait for it to finish" in second.text
    go.set()
    finish(app)
    (run_id, published) = runs(site)[-1]
    assert published == "published" and re.fullmatch(rf"run {run_id} published in [0-9.]+ s", run_status(c))
    with StateStore(site.parent / "state") as store:
        entries = store.query("SELECT actor, after FROM audit_log WHERE action = 'run_flow'")
    assert entries == [("root", json.dumps({"sources": str(sources)}))]  # the refused second start wrote none
    # and another run may start once it is over
    assert start_run(c).status_code == 200
    finish(app)
    assert run_status(c).startswith(f"run {runs(site)[-1][0]} published in ")


def test_a_failed_run_shows_its_message_and_a_page_without_a_run_refuses_one(site: Path) -> None:
    sources = site.parent.parent / "src" / "sources.yaml"
    (sources.parent / "web.jsonl").unlink()
    runner = FlowRunner(lambda by: str(run_pipeline(sources, site, as_of=AS_OF)))
    app = create_app(site, site.parent / "state", runner=runner)
    c = TestClient(app, base_url="http://127.0.0.1")
    sign_in(c, "root")
    assert start_run(c).status_code == 200
    finish(app)
    (run_id, failed) = runs(site)[-1]
    assert failed == "failed"
    assert run_status(c).startswith(f"failed: run {run_id} failed in stage ingest: ")
    off = client(site)
    sign_in(off, "root")
    assert "Off: start the page with" in off.get("/admin").text
    r = start_run(off)
    assert r.status_code == 400 and "running the flow from the page is off" in r.text


def test_mdm_serve_runs_the_pipeline_from_the_page(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mdm serve --sources` gives the page a run of the real pipeline (the page never imports it)."""
    import uvicorn

    served: list[FastAPI] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    sources = site.parent.parent / "src" / "sources.yaml"
    result = CliRunner().invoke(main, ["serve", "--master", str(site), "--sources", str(sources)])
    assert result.exit_code == 0, result.output
    c = TestClient(served[0], base_url="http://127.0.0.1")
    sign_in(c, "root")
    assert start_run(c).status_code == 200
    finish(served[0])
    assert run_status(c).startswith(f"run {runs(site)[-1][0]} published in ")
    with StateStore(site.parent / "state") as store:
        assert store.query("SELECT after FROM audit_log WHERE action = 'run_flow'") == [
            (json.dumps({"sources": str(sources)}),)
        ]


def test_the_page_does_not_import_the_pipeline(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from mdm.steward.web.app import create_app\n"
        f"c = TestClient(create_app({str(tmp_path / 'm.duckdb')!r}, {str(tmp_path / 'state')!r}))\n"
        "assert c.get('/login').status_code == 200\n"
        "assert 'mdm.pipeline' not in sys.modules, 'mdm.pipeline was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr

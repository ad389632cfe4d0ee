"""The steward page through HTTP (Starlette's TestClient): sign-in, roles, CSRF, escaping,
concurrent decisions. The browser tests (test_steward_e2e.py) drive the same page in Chromium."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.users import add_user
from mdm.steward.web.app import create_app
from mdm.steward.web.security import SECRET_FILE
from tests.conftest import AS_OF, FIXTURES

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
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert (
        "script-src" not in r.headers["content-security-policy"]
        and "default-src 'none'" in r.headers["content-security-policy"]
    )
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

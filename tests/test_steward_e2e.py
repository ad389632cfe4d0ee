"""The steward page as a person uses it: a real headless Chromium (Debian's package, driven by
Playwright) against `mdm serve`'s app on a free 127.0.0.1 port, then the next pipeline run.

Skips, saying why, when Playwright is not installed (`pip install -e '.[dev]'`) or no Chromium is
found (`make browser` installs Debian's chromium as root; MDM_CHROMIUM points at another binary).
Playwright's own browser download is never used. MDM_UPDATE_SCREENSHOTS=1 also writes the queue
page to docs/img/review-queue.png (the README's picture).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.users import add_user
from mdm.steward.web.app import create_app
from tests.conftest import AS_OF, FIXTURES, REPO
from tests.conftest import query as q

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    for candidate in (os.environ.get("MDM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]' (make test does)"
    )
    path = chromium()
    if path is None:
        pytest.skip("no Chromium: run `make browser` as root (apt-get install chromium) or set MDM_CHROMIUM")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    def __init__(self, tmp: Path):
        shutil.copytree(FIXTURES / "steward", tmp / "src")
        self.sources = tmp / "src" / "sources.yaml"
        self.master = tmp / "out" / "master.duckdb"
        self.state = self.master.parent / "state"
        run_pipeline(self.sources, self.master, as_of=AS_OF)
        with StateStore(self.state) as store:
            add_user(store, "root", PASSWORD, "admin", by="test")  # as `mdm users add root --role admin`

    def rerun(self) -> None:
        run_pipeline(self.sources, self.master, as_of=AS_OF)

    def golden_of(self, record_id: str) -> str:
        return str(q(self.master, f"SELECT golden_id FROM customer_xref WHERE source_record_id = '{record_id}'")[0][0])

    def groups(self) -> set[frozenset[str]]:
        rows = q(self.master, "SELECT list(source || ':' || source_record_id) FROM customer_xref GROUP BY golden_id")
        return {frozenset(r[0]) for r in rows}


@contextmanager
def serving(master: Path, state: Path) -> Iterator[str]:
    """The steward page of `master` served by uvicorn in a thread; yields its base url."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(master, state), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the steward page did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    """The steward fixture published, served by uvicorn in a thread; yields (site, base url)."""
    s = Site(tmp_path)
    with serving(s.master, s.state) as url:
        yield s, url


def sign_in(page: Any, base: str, name: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Review queue')")


def open_pair(page: Any, base: str, left: str, right: str) -> None:
    page.goto(base + "/")
    page.click(f"a.open[href*='{left.replace(':', '%3A')}'][href*='{right.replace(':', '%3A')}']")
    page.wait_for_selector(f"h1:has-text('{left} ~ {right}')")


def queue_pairs(page: Any, base: str) -> list[str]:
    page.goto(base + "/")
    return [
        page.locator("a.open").nth(i).get_attribute("href").split("left=")[1].split("&pos=")[0].replace("%3A", ":")
        for i in range(page.locator("a.open").count())
    ]


def test_a_steward_works_the_queue_merges_splits_undoes_and_the_next_run_honours_it(
    browser: Any, site: tuple[Site, str], tmp_path: Path
) -> None:
    s, base = site
    dialogs: list[str] = []
    admin = browser.new_context().new_page()
    # the admin adds a steward on the admin page
    sign_in(admin, base, "root")
    admin.goto(base + "/admin")
    admin.fill("form[action='/admin/users'] input[name=username]", "ana")
    admin.fill("form[action='/admin/users'] input[name=password]", PASSWORD)
    admin.select_option("form[action='/admin/users'] select[name=role]", "steward")
    admin.click("form[action='/admin/users'] button")
    assert "added ana" in admin.inner_text(".flash")

    page = browser.new_context().new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, base, "ana")
    assert page.locator("a.open").count() == 4
    shot = tmp_path / "review-queue.png"
    page.set_viewport_size({"width": 1280, "height": 640})
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MDM_UPDATE_SCREENSHOTS") == "1":
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "img" / "review-queue.png")

    # same person, with a reason; the pair leaves the queue at once
    open_pair(page, base, "crm:C3", "web:W3")
    assert "1990-05-06" in page.inner_text("table") and "1991-08-16" in page.inner_text("table")
    page.fill("input[name=reason]", "typo in the year")
    page.click("button.same")
    assert "same person" in page.inner_text(".flash")
    # not the same
    open_pair(page, base, "crm:C8", "web:W8")
    page.click("button.not_same")
    assert "not the same" in page.inner_text(".flash")
    # skip: the pair stays, marked, last; its untrusted name is text, never markup
    open_pair(page, base, "crm:C5", "web:W5")
    assert "<script>alert(1)</script>" in page.inner_text("body")
    page.click("button[value=skip]")  # then on to the next item (C4~W4), as after every decision
    page.wait_for_selector("h1:has-text('crm:C4 ~ web:W4')")
    page.goto(base + "/")
    rows = page.locator("tbody tr")
    assert rows.count() == 2 and "skipped by ana" in rows.nth(1).inner_text()
    # same, then undo on the audit page: the pair is back in the queue
    open_pair(page, base, "crm:C4", "web:W4")
    page.click("button.same")
    page.goto(base + "/audit")
    page.locator("tr", has_text="pair:crm:C4|web:W4").locator("button").click()
    assert "undid" in page.inner_text(".flash")
    assert sorted(queue_pairs(page, base)) == sorted(["crm:C4&right=web:W4", "crm:C5&right=web:W5"])
    # merge two golden customers by hand
    page.goto(f"{base}/golden/{s.golden_of('C7')}")
    page.fill("input[name=merge_q]", s.golden_of("W7"))  # the search box takes a golden id too
    page.press("input[name=merge_q]", "Enter")
    page.click(f"button:has-text('Merge with {s.golden_of('W7')}')")
    assert "will be one customer after the next run" in page.inner_text(".flash")
    # split a record out of a golden customer
    page.goto(f"{base}/golden/{s.golden_of('C6')}")
    page.check("input[value='web:W6']")
    page.click("button:has-text('Split the ticked records out')")
    assert "1 record(s) will leave" in page.inner_text(".flash")
    # the audit log holds every action, the undone one marked
    page.goto(base + "/audit")
    audit = page.inner_text("table")
    for action in ("same", "not_same", "skip", "undo", "merge", "split", "user_add"):
        assert f"\t{action}\t" in audit, action
    assert "undone (#" in audit
    assert dialogs == []

    # the next run honours each decision
    s.rerun()
    groups = s.groups()
    assert frozenset({"crm:C3", "web:W3"}) in groups  # same
    assert {frozenset({"crm:C8"}), frozenset({"web:W8"})} <= groups  # not the same
    assert {frozenset({"crm:C4"}), frozenset({"web:W4"})} <= groups  # undone: not applied
    assert frozenset({"crm:C7", "web:W7"}) in groups  # merged by hand
    assert {frozenset({"crm:C6"}), frozenset({"web:W6"})} <= groups  # split
    assert sorted(queue_pairs(page, base)) == sorted(["crm:C4&right=web:W4", "crm:C5&right=web:W5"])


def test_a_viewer_cannot_decide_and_a_post_without_csrf_is_refused(browser: Any, site: tuple[Site, str]) -> None:
    s, base = site
    with StateStore(s.state) as store:
        add_user(store, "vic", PASSWORD, "viewer", by="test")
        add_user(store, "ana", PASSWORD, "steward", by="test")
    viewer = browser.new_context().new_page()
    sign_in(viewer, base, "vic")
    open_pair(viewer, base, "crm:C3", "web:W3")
    assert viewer.locator("button.same").count() == 0
    token = viewer.get_attribute("input[name=csrf]", "value")
    form = {"left": "crm:C3", "right": "web:W3", "verdict": "same", "version": "0"}
    assert viewer.request.post(base + "/pair/decide", form=form | {"csrf": token}).status == 403
    steward = browser.new_context().new_page()
    sign_in(steward, base, "ana")
    assert steward.request.post(base + "/pair/decide", form=form).status == 403  # signed in, no token
    with StateStore(s.state) as store:
        assert store.query("SELECT count(*) FROM steward_decisions") == [(0,)]


def test_two_stewards_on_one_pair_the_second_is_told(browser: Any, site: tuple[Site, str]) -> None:
    s, base = site
    with StateStore(s.state) as store:
        add_user(store, "ana", PASSWORD, "steward", by="test")
        add_user(store, "ben", PASSWORD, "steward", by="test")
    ana, ben = browser.new_context().new_page(), browser.new_context().new_page()
    sign_in(ana, base, "ana")
    sign_in(ben, base, "ben")
    open_pair(ana, base, "crm:C3", "web:W3")
    open_pair(ben, base, "crm:C3", "web:W3")
    ana.click("button.same")
    ben.click("button.not_same")
    assert "already decided by ana at" in ben.inner_text(".error")
    with StateStore(s.state) as store:
        assert store.query("SELECT decision, decided_by FROM steward_decisions") == [("same", "ana")]

"""The steward desk worked as a steward works it, in a real headless Chromium (Debian's package,
driven by Playwright; skips as tests/test_steward_e2e.py says when either is missing): search,
paging, twenty items decided in a row from the keyboard (single keys with the page's script,
Alt+key accesskeys with scripts off), claims between two stewards, a merge picked by search.
Runs on tests/queue_fixture.py (29 review items). MDM_UPDATE_SCREENSHOTS=1 also writes the
pictures docs/steward.md shows (docs/img/desk-*.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.users import add_user
from tests.conftest import AS_OF, REPO
from tests.conftest import query as q
from tests.queue_fixture import person, write_queue_fixture
from tests.test_steward_e2e import PASSWORD, browser, serving, sign_in  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.e2e


class Desk:
    def __init__(self, tmp: Path):
        self.sources = write_queue_fixture(tmp / "src")
        self.master = tmp / "out" / "master.duckdb"
        self.state = self.master.parent / "state"
        run_pipeline(self.sources, self.master, as_of=AS_OF)
        with StateStore(self.state) as store:
            for name in ("ana", "ben"):
                add_user(store, name, PASSWORD, "steward", by="test")
        self.desk = StewardDesk(self.master, self.state)

    def golden_of(self, record_id: str) -> str:
        return str(q(self.master, f"SELECT golden_id FROM customer_xref WHERE source_record_id = '{record_id}'")[0][0])

    def decisions(self) -> list[tuple[str, str, str, str]]:
        with StateStore(self.state) as store:
            return [
                (f"{a}:{b}", f"{c}:{d}", verdict, by)
                for a, b, c, d, verdict, by in store.query(
                    "SELECT left_source, left_record_id, right_source, right_record_id, decision, decided_by"
                    " FROM steward_decisions WHERE label = 1 ORDER BY decision_id"
                )
            ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Desk, str]]:
    d = Desk(tmp_path)
    with serving(d.master, d.state) as url:
        yield d, url


def shot(page: Any, tmp: Path, name: str, height: int = 720) -> None:
    """A screenshot (checked to be a PNG); copied to docs/img with MDM_UPDATE_SCREENSHOTS=1."""
    page.set_viewport_size({"width": 1280, "height": height})
    path = tmp / name
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MDM_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, REPO / "docs" / "img" / name)


def access_key(page: Any, key: str) -> None:
    """Alt+key as a keyboard types it: key down, the character, key up, with Alt held. Chromium
    runs an element's accesskey on the character event, which Playwright's `keyboard.press`
    does not send while a modifier is held, so the events go through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    code, vk = f"Key{key.upper()}", ord(key.upper())
    cdp.send(
        "Input.dispatchKeyEvent",
        {"type": "rawKeyDown", "modifiers": 1, "key": key, "code": code, "windowsVirtualKeyCode": vk},
    )
    cdp.send(
        "Input.dispatchKeyEvent",
        {"type": "char", "modifiers": 1, "text": key, "unmodifiedText": key, "key": key, "code": code},
    )
    cdp.send(
        "Input.dispatchKeyEvent",
        {"type": "keyUp", "modifiers": 1, "key": key, "code": code, "windowsVirtualKeyCode": vk},
    )
    cdp.detach()


def current_pair(page: Any) -> str:
    return str(page.inner_text("h1"))


def positions(page: Any) -> list[int]:
    return [int(t) for t in page.locator("tbody tr td.num:first-child").all_inner_texts()]


def test_a_steward_finds_customers_by_name_and_phone_and_pages_the_queue(
    browser: Any,  # noqa: F811
    served: tuple[Desk, str],
    tmp_path: Path,
) -> None:
    d, base = served
    page = browser.new_context().new_page()
    sign_in(page, base, "ana")
    assert "29 items" in page.inner_text("h1")
    # the queue's search box: a phone as a person would type it
    page.fill("form.filters input[name=q]", "(617) 294-1207")
    page.press("form.filters input[name=q]", "Enter")
    page.wait_for_selector("h1:has-text('1 items')")
    assert page.locator("a.open").count() == 1 and "C107" in page.inner_text("tbody")
    # the header's box finds a customer by name in one step, whatever page the steward is on
    page.fill("form.find input[name=q]", "dunne")
    page.press("form.find input[name=q]", "Enter")
    page.wait_for_selector("h1:has-text('Find a customer')")
    # Dmitri Dunne in crm and in web (two customers: the review item), and Dunne Dmitrison
    assert "3 customer(s) match" in page.inner_text("main")
    page.locator("table.hits a").first.click()
    page.wait_for_selector("h1:has-text('G0')")
    assert "Dunne" in page.inner_text("table.golden")
    # paging, ten a page
    page.goto(base + "/?per=10")
    assert positions(page) == list(range(1, 11)) and "Page 1 of 3" in page.inner_text("nav.pages")
    shot(page, tmp_path, "desk-queue.png")
    page.click("a[rel=next]")
    page.wait_for_selector("nav.pages:has-text('Page 2 of 3')")
    assert positions(page) == list(range(11, 21))
    page.click("a[rel=next]")
    page.wait_for_selector("nav.pages:has-text('Page 3 of 3')")
    assert positions(page) == list(range(21, 30)) and page.locator("a[rel=next]").count() == 0
    page.click("a[rel=prev]")
    page.wait_for_selector("nav.pages:has-text('Page 2 of 3')")


def test_twenty_items_in_a_row_from_the_keyboard(
    browser: Any,  # noqa: F811
    served: tuple[Desk, str],
    tmp_path: Path,
) -> None:
    d, base = served
    queue = [f"{i.left[0]}:{i.left[1]} ~ {i.right[0]}:{i.right[1]}" for i in d.desk.queue()]
    page = browser.new_context().new_page()
    sign_in(page, base, "ana")
    with page.expect_navigation():
        access_key(page, "w")  # "work the queue": the first item, claimed
    seen, verdicts = [], []
    for n in range(20):
        seen.append(current_pair(page))
        if n == 0:
            assert page.locator("svg.waterfall rect").count() >= 3
            assert "claimed by ana" in page.inner_text("main")
            shot(page, tmp_path, "desk-pair.png", height=900)
        key, verdict = ("s", "same") if n % 3 else ("d", "not_same")
        verdicts.append(verdict)
        with page.expect_navigation():
            page.keyboard.press(key)
        assert ("same person" if verdict == "same" else "not the same") in page.inner_text(".flash")
    assert seen == queue[:20]  # each item once, in the queue's order
    assert current_pair(page) == queue[20]
    got = d.decisions()
    assert [(f"{a} ~ {b}", v, by) for a, b, v, by in got] == [
        (pair, v, "ana") for pair, v in zip(queue[:20], verdicts, strict=True)
    ]
    # back: the item just decided, with its live decision
    with page.expect_navigation():
        page.keyboard.press("b")
    assert current_pair(page) == queue[19] and "Live decision: same by ana" in page.inner_text("main")
    # next: on without deciding; skip: the item sinks to the end of the queue
    with page.expect_navigation():
        page.keyboard.press("n")
    assert current_pair(page) == queue[20]
    with page.expect_navigation():
        page.keyboard.press("k")
    assert "skipped" in page.inner_text(".flash") and current_pair(page) == queue[21]
    page.goto(base + "/")
    assert "9 items" in page.inner_text("h1")
    assert "skipped by ana" in page.locator("tbody tr").last.inner_text()
    assert len(d.decisions()) == 20


def test_with_scripts_off_the_accesskeys_work_the_queue(
    browser: Any,  # noqa: F811
    served: tuple[Desk, str],
) -> None:
    d, base = served
    queue = [f"{i.left[0]}:{i.left[1]} ~ {i.right[0]}:{i.right[1]}" for i in d.desk.queue()]
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, base, "ben")
    with page.expect_navigation():
        access_key(page, "w")
    for key in ("s", "d"):
        page.keyboard.press(key)  # a single key does nothing without the script (the count below) ...
    assert current_pair(page) == queue[0]
    for key in ("s", "d", "k"):
        with page.expect_navigation():
            access_key(page, key)  # ... the accesskey does
    assert current_pair(page) == queue[3]
    assert [(v, by) for *_, v, by in d.decisions()] == [("same", "ben"), ("not_same", "ben")]


def test_two_stewards_working_the_queue_never_meet_on_an_item(
    browser: Any,  # noqa: F811
    served: tuple[Desk, str],
) -> None:
    d, base = served
    queue = [f"{i.left[0]}:{i.left[1]} ~ {i.right[0]}:{i.right[1]}" for i in d.desk.queue()]
    ana, ben = browser.new_context().new_page(), browser.new_context().new_page()
    sign_in(ana, base, "ana")
    sign_in(ben, base, "ben")
    ana.click("button.start")
    ana.wait_for_selector(f"h1:has-text('{queue[0]}')")
    ben.goto(base + "/")
    assert "ana" in ben.locator("tbody tr").first.inner_text()  # the queue shows who holds what
    ben.click("button.start")
    ben.wait_for_selector(f"h1:has-text('{queue[1]}')")  # not ana's item
    # ben opens ana's item from the queue: told who holds it; deciding it is refused
    ben.goto(base + "/")
    ben.locator("a.open").first.click()
    ben.wait_for_selector(f"h1:has-text('{queue[0]}')")
    assert "ana is working on this item" in ben.inner_text("main")
    ben.click("button.same")
    assert "claimed by ana" in ben.inner_text(".error")
    assert d.decisions() == []
    # ana decides and moves on; her next item is the third (ben holds the second)
    ana.keyboard.press("s")
    ana.wait_for_selector(f"h1:has-text('{queue[2]}')")
    # ben releases his claim: the item is free in the queue again
    ben.goto(base + "/")
    ben.locator("a.open").first.click()  # his own item is now the queue's first
    ben.wait_for_selector(f"h1:has-text('{queue[1]}')")
    ben.click("button.release")
    ben.wait_for_selector("h1:has-text('Review queue')")
    assert "released" in ben.inner_text(".flash") and "ben" not in ben.locator("tbody tr").first.inner_text()
    assert [(a, b, v, by) for a, b, v, by in d.decisions()] == [(*queue[0].split(" ~ "), "same", "ana")]


def test_a_steward_merges_two_customers_picked_by_search_and_the_next_run_joins_them(
    browser: Any,  # noqa: F811
    served: tuple[Desk, str],
    tmp_path: Path,
) -> None:
    d, base = served
    page = browser.new_context().new_page()
    sign_in(page, base, "ana")
    tom, thomas = d.golden_of("C7"), d.golden_of("W7")
    page.goto(f"{base}/golden/{tom}")
    page.fill("input[name=merge_q]", "thomas hardy")
    page.press("input[name=merge_q]", "Enter")
    page.wait_for_selector("table.hits")
    assert page.locator("table.hits tbody tr").count() == 1
    shot(page, tmp_path, "desk-golden.png", height=1000)
    page.click(f"button:has-text('Merge with {thomas}')")
    assert "will be one customer after the next run" in page.inner_text(".flash")
    page.goto(base + "/work")
    assert "merge" in page.inner_text("tbody") and page.locator("tbody button:has-text('Undo')").count() == 1
    shot(page, tmp_path, "desk-work.png", height=400)
    run_pipeline(d.sources, d.master, as_of=AS_OF)
    grouped = q(
        d.master, "SELECT list(source_record_id ORDER BY source_record_id) FROM customer_xref GROUP BY golden_id"
    )
    assert ["C7", "W7"] in [r[0] for r in grouped]
    assert person(0)["crm"] == "C100"  # the fixture's shape, for the reader

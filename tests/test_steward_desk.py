"""The steward desk's working tools: the queue paged, filtered and searched in DuckDB; claims;
deciding and going on to the next item; the weights' waterfall; a golden customer's lineage and
staleness; a steward's day and the team's throughput. Runs use tests/queue_fixture.py (29 items)."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from fastapi.testclient import TestClient

from mdm.match.explain import RecordRef, score_pair
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.service import Conflict, pair_key
from mdm.steward.users import User, add_user
from mdm.steward.views import QueueFilter
from mdm.steward.web.app import create_app
from mdm.steward.web.routes.review import waterfall
from tests.conftest import AS_OF
from tests.conftest import query as q
from tests.queue_fixture import person, write_queue_fixture

ANA = User("ana", "steward")
BEN = User("ben", "steward")
ROOT = User("root", "admin")
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The queue fixture run once (the master and the state as the run left them)."""
    base = tmp_path_factory.mktemp("desk")
    master = base / "out" / "master.duckdb"
    run_pipeline(write_queue_fixture(base / "src"), master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        for name, role in (("ana", "steward"), ("ben", "steward"), ("vic", "viewer"), ("root", "admin")):
            add_user(store, name, PASSWORD, role, by="test")
    return master


@pytest.fixture
def desk(published: Path, tmp_path: Path) -> StewardDesk:
    """The published master over a fresh copy of its state (each test decides on its own)."""
    shutil.copytree(published.parent / "state", tmp_path / "state")
    return StewardDesk(published, tmp_path / "state")


def keys(items: list) -> list[str]:  # type: ignore[type-arg]
    return [i.key for i in items]


def item_of(i: int) -> str:
    p = person(i)
    return pair_key(("crm", p["crm"]), ("web", p["web"]))


# ---- the queue: pages, filters, search ------------------------------------------------------------


def test_pages_cut_the_whole_queue_in_its_order(desk: StewardDesk) -> None:
    whole = desk.queue()
    assert len(whole) == 29 and [i.position for i in whole] == list(range(1, 30))
    pages = [desk.queue_page(QueueFilter(), offset, 10) for offset in (0, 10, 20)]
    assert [p.total for p in pages] == [29, 29, 29] and [p.pages for p in pages] == [3, 3, 3]
    assert [len(p.items) for p in pages] == [10, 10, 9] and [p.page for p in pages] == [1, 2, 3]
    assert keys([i for p in pages for i in p.items]) == keys(whole)
    assert desk.queue_page(QueueFilter(), 40, 10).items == []
    assert pages[0].reasons == ["blocked: different birth dates"]


def test_orders_and_filters(desk: StewardDesk) -> None:
    high = desk.queue(QueueFilter(order="score_high"))
    probabilities = [i.match_probability for i in high]
    assert probabilities == sorted(probabilities, reverse=True)  # type: ignore[type-var]
    assert probabilities != list(reversed(probabilities))  # not all equal: the order is seen
    low = desk.queue(QueueFilter(order="score_low"))
    assert [i.match_probability for i in low] == sorted(probabilities)  # type: ignore[type-var]
    assert len(desk.queue(QueueFilter(reason="blocked: different birth dates"))) == 29
    assert desk.queue(QueueFilter(reason="no such reason")) == []
    assert desk.queue(QueueFilter(changed_only=True)) == []
    middle = sorted(probabilities)[len(probabilities) // 2]  # type: ignore[type-var]
    band = desk.queue(QueueFilter(min_probability=middle))
    assert band and all(i.match_probability is not None and i.match_probability >= middle for i in band)
    assert len(band) < 29
    assert desk.queue(QueueFilter(source="nowhere")) == []


@pytest.mark.parametrize(
    ("description", "query", "expected"),
    [
        ("phone as written in crm", "(617) 294-1207", [item_of(7)]),
        ("phone with dots", "617.294.1207", [item_of(7)]),
        ("phone in E.164", "+16172941207", [item_of(7)]),
        ("phone, international spacing", "+1 617 294 1207", [item_of(7)]),
        ("phone, bare digits", "6172941207", [item_of(7)]),
        ("a family name, any case", "DUNNE", [item_of(3)]),
        ("given and family name", "ann lee", ["pair:crm:C3|web:W3"]),
        ("an e-mail, any case", "Ann.Lee@Outlook.com", ["pair:crm:C3|web:W3"]),
        ("a record id", "W103", [item_of(3)]),
        ("a source and record id", "crm:C103", [item_of(3)]),
        ("a name with markup is text", "<script>", ["pair:crm:C5|web:W5"]),
        ("nobody", "Zebedee", []),
        ("a phone of nobody", "(617) 294-9999", []),
    ],
)
def test_search_finds_the_item_of_a_customer(desk: StewardDesk, description: str, query: str, expected: list) -> None:  # type: ignore[type-arg]
    assert keys(desk.queue(QueueFilter(search=query))) == expected, description


def test_search_by_golden_id_and_customers(desk: StewardDesk) -> None:
    golden = q(desk.master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'W112'")[0][0]
    assert keys(desk.queue(QueueFilter(search=golden.lower()))) == [item_of(12)]
    found = desk.find_customers("415 867 2671")
    assert {c["given_name"] for c in found.customers} == {"Robert", "Mary"} and found.total == 2
    assert [c["golden_id"] for c in desk.find_customers(golden).customers] == [golden]
    assert desk.find_customers("").total == 0


# ---- claims and the next item -----------------------------------------------------------------


def test_two_stewards_never_get_the_same_item_and_claims_expire(desk: StewardDesk) -> None:
    first = desk.next_item(ANA, QueueFilter())
    second = desk.next_item(BEN, QueueFilter())
    assert first is not None and second is not None
    assert (first.position, second.position) == (1, 2)
    assert desk.queue()[0].claimed_by == "ana" and desk.queue()[1].claimed_by == "ben"
    with pytest.raises(Conflict, match="claimed by ana"):
        desk.decide(BEN, first.left, first.right, "same", expected_version=0)
    with pytest.raises(Conflict, match="claimed by ana"):
        desk.claim(BEN, first.left, first.right)
    desk.decide(ANA, first.left, first.right, "same", expected_version=0)
    with desk.store() as store:  # deciding ended ana's claim
        assert store.query("SELECT claimed_by FROM steward_claims ORDER BY claimed_by") == [("ben",)]
    with desk.store() as store, store.transaction() as con:  # fifteen minutes later
        con.execute("UPDATE steward_claims SET expires_at = '2000-01-01T00:00:00.000+00:00'")
    # ben's claim has expired: ana may take his item
    assert desk.next_item(ANA, QueueFilter()) is not None
    assert desk.queue()[0].key == second.key and desk.queue()[0].claimed_by == "ana"
    assert desk.release(ANA, second.left, second.right) == f"released {second.key}"
    assert desk.queue()[0].claimed_by is None


def test_next_item_walks_on_past_a_position_and_wraps(desk: StewardDesk) -> None:
    whole = desk.queue()
    after = desk.next_item(ANA, QueueFilter(), after_position=5)
    assert after is not None and after.key == whole[5].key
    last = desk.next_item(BEN, QueueFilter(), after_position=29)  # past the end: from the start
    assert last is not None and last.key == whole[0].key
    assert desk.next_item(BEN, QueueFilter(search="nobody at all")) is None
    viewer = desk.next_item(User("vic", "viewer"), QueueFilter())  # read, never claimed
    assert viewer is not None and desk.claim_of(viewer.left, viewer.right) is None


def test_a_schema_7_store_gains_the_claims_table(desk: StewardDesk) -> None:
    con = sqlite3.connect(desk.state_dir / StateStore.FILENAME)
    con.executescript("DROP TABLE steward_claims; UPDATE meta SET value = '7' WHERE key = 'schema_version';")
    con.close()
    with desk.store() as store:
        assert store.query("SELECT value FROM meta WHERE key = 'schema_version'") == [("8",)]
        assert store.query("SELECT count(*) FROM steward_claims") == [(0,)]


# ---- the page: decide and go to the next --------------------------------------------------------


def signed_in(desk: StewardDesk, name: str) -> tuple[TestClient, str]:
    c = TestClient(create_app(desk.master, desk.state_dir), base_url="http://127.0.0.1")
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
    c.post("/login", data={"csrf": token, "username": name, "password": PASSWORD, "next": "/"})
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)  # type: ignore[union-attr]
    return c, token


def target(location: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(location)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_deciding_goes_to_the_next_item_of_the_same_filtered_queue(desk: StewardDesk) -> None:
    c, token = signed_in(desk, "ana")
    whole = desk.queue(QueueFilter(order="score_low"))
    start = c.post("/queue/next", data={"csrf": token, "order": "score_low"}, follow_redirects=False)
    path, query = target(start.headers["location"])
    assert path == "/pair" and query["order"] == "score_low"
    assert (query["left"], query["right"]) == (":".join(whole[0].left), ":".join(whole[0].right))
    assert query["pos"] == "1"
    form = {"csrf": token, "left": query["left"], "right": query["right"], "version": "0", "order": "score_low"}
    form["pos"] = query["pos"]
    r = c.post("/pair/decide", data=form | {"verdict": "same"}, follow_redirects=False)
    path, query = target(r.headers["location"])
    assert (query["left"], query["right"]) == (":".join(whole[1].left), ":".join(whole[1].right))
    assert (query["back_left"], query["back_right"]) == (form["left"], form["right"]) and query["order"] == "score_low"
    page = c.get(r.headers["location"])
    assert "same person" in page.text and 'accesskey="b"' in page.text  # the flash, and the way back
    # "next": leaves the item undecided (its claim released) and opens the one after it
    assert query["pos"] == "1"  # the decided item left the queue: the next stands where it stood
    form = {"csrf": token, "left": query["left"], "right": query["right"], "order": "score_low", "pos": "1"}
    r = c.post("/pair/next", data=form, follow_redirects=False)
    _, query = target(r.headers["location"])
    assert (query["left"], query["right"]) == (":".join(whole[2].left), ":".join(whole[2].right))
    assert desk.claim_of(whole[1].left, whole[1].right) is None
    # back to the queue when asked
    form = {"csrf": token, "left": query["left"], "right": query["right"], "version": "0", "then": "queue"}
    r = c.post("/pair/decide", data=form | {"verdict": "not_same"}, follow_redirects=False)
    assert r.headers["location"] == "/?"
    with desk.store() as store:
        assert store.query("SELECT count(*) FROM steward_decisions WHERE label = 1") == [(2,)]
        assert store.query("SELECT action FROM audit_log WHERE action IN ('same', 'not_same') ORDER BY audit_id") == [
            ("same",),
            ("not_same",),
        ]


def test_the_queue_page_pages_and_searches(desk: StewardDesk) -> None:
    c, _ = signed_in(desk, "vic")
    first = c.get("/?per=10")
    assert "Page 1 of 3" in first.text and first.text.count('class="open"') == 10
    third = c.get("/?per=10&page=3")
    assert "Page 3 of 3" in third.text and third.text.count('class="open"') == 9
    found = c.get("/", params={"q": "617-294-1207"})
    assert found.text.count('class="open"') == 1 and "C107" in found.text
    assert "None" not in c.get("/pair", params={"left": "crm:C7", "right": "web:W7"}).text


# ---- why the score: the waterfall ----------------------------------------------------------------


def test_the_waterfall_adds_prior_and_comparisons_to_the_total(desk: StewardDesk) -> None:
    score = score_pair(desk.master, RecordRef("crm", "C3"), RecordRef("web", "W3"))
    assert math.isclose(score.prior_weight + sum(c.weight for c in score.comparisons), score.match_weight)
    assert math.isclose(score.match_probability, 2**score.match_weight / (1 + 2**score.match_weight))
    for c in score.comparisons:
        if c.m_probability is None:  # the null level: no evidence
            assert c.weight == 0 and c.u_probability is None
        else:
            assert c.u_probability is not None and math.isclose(c.weight, math.log2(c.m_probability / c.u_probability))
    assert any(c.term_frequency_adjusted for c in score.comparisons)
    birth = next(c for c in score.comparisons if c.comparison == "birth_date")
    assert birth.weight < 0  # another birth date: evidence against
    chart = waterfall(score)
    bars = chart["bars"]
    assert [b["name"] for b in bars] == ["prior", *(c.comparison for c in score.comparisons), "total"]
    assert bars[-1]["kind"] == "total" and bars[len(bars) // 2]["width"] >= 1
    assert all(b["kind"] == ("up" if b["weight"] >= 0 else "down") for b in bars[:-1])


# ---- the golden customer, my work, throughput ---------------------------------------------------


def test_a_golden_customer_shows_each_values_source_trust_and_freshness(desk: StewardDesk) -> None:
    golden = q(desk.master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'C1'")[0][0]
    view = desk.golden(golden)
    values = {v.name: v for v in view.values}
    assert values["given_name"].value == "Robert" and values["given_name"].source in ("crm:C1", "web:W1")
    assert values["given_name"].trust in (1, 3) and values["given_name"].agreeing == "2 of 2"
    assert values["email"].freshness is not None and 0 < values["email"].freshness <= 1
    assert values["middle_name"].value == "" and values["middle_name"].source == ""  # empty, never "None"
    assert values["sources"].value == "crm, web"
    assert [e["kind"] for e in view.id_events] == ["created"]


def test_my_work_lists_the_days_actions_and_throughput_counts_them(desk: StewardDesk) -> None:
    items = desk.queue()
    first = desk.decide(ANA, items[0].left, items[0].right, "same", expected_version=0)
    desk.decide(ANA, items[1].left, items[1].right, "not_same", expected_version=0)
    desk.decide(ANA, items[2].left, items[2].right, "skip", expected_version=0)
    desk.decide(BEN, items[3].left, items[3].right, "same", expected_version=0)
    desk.undo(ANA, first.audit_id)
    today = dt.datetime.now(dt.UTC).date()
    mine = desk.my_work(ANA, today)
    assert [e["action"] for e in mine] == ["undo", "skip", "not_same", "same"]
    assert mine[-1]["undone_by_audit_id"] is not None
    assert desk.my_work(ANA, today - dt.timedelta(days=1)) == []
    rows = {t.steward: t for t in desk.throughput(ROOT, today, today)}
    assert (rows["ana"].decided, rows["ana"].skipped, rows["ana"].undid, rows["ana"].undone) == (2, 1, 1, 1)
    assert (rows["ben"].decided, rows["ben"].skipped) == (1, 0)
    with pytest.raises(Exception, match="needs the admin role"):
        desk.throughput(ANA, today, today)


@pytest.fixture
def client_of_root(desk: StewardDesk) -> Iterator[TestClient]:
    c, _ = signed_in(desk, "root")
    yield c


def test_the_pages_of_work_throughput_and_customers(desk: StewardDesk, client_of_root: TestClient) -> None:
    items = desk.queue()
    desk.decide(ANA, items[0].left, items[0].right, "same", expected_version=0)
    c = client_of_root
    page = c.get("/admin/throughput?days=3").text
    assert re.search(r"<td>ana</td><td class=\"num\">1</td>", page)
    found = c.get("/customers", params={"q": "(415) 867-2671"}).text
    assert "Robert" in found and "Mary" in found and "2 customer(s)" in found
    golden = q(desk.master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'C7'")[0][0]
    merge = c.get(f"/golden/{golden}", params={"merge_q": "thomas hardy"}).text
    assert "Merge with G" in merge and "<th>Freshness</th>" in merge


def test_a_stale_contact_value_is_flagged_with_its_reason(published: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    shutil.copyfile(published, master)
    shutil.copytree(published.parent / "state", tmp_path / "state")
    golden = q(master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'C1'")[0][0]
    with duckdb.connect(str(master)) as con:  # as a run would publish a phone last confirmed long ago
        con.execute(
            "UPDATE golden_customers SET phone_is_stale = true, phone_freshness = 0.2,"
            " phone_stale_reason = 'aged: not confirmed for 40 months' WHERE golden_id = ?",
            [golden],
        )
    desk = StewardDesk(master, tmp_path / "state")
    values = {v.name: v for v in desk.golden(golden).values}
    assert values["phone"].stale and values["phone"].stale_reason == "aged: not confirmed for 40 months"
    assert values["phone"].freshness == 0.2 and not values["email"].stale
    c, _ = signed_in(desk, "vic")
    page = c.get(f"/golden/{golden}").text
    assert '<tr class="stale">' in page and "aged: not confirmed for 40 months" in page


def test_undo_from_my_work_comes_back_to_my_work(desk: StewardDesk) -> None:
    items = desk.queue()
    done = desk.decide(ANA, items[0].left, items[0].right, "same", expected_version=0)
    c, token = signed_in(desk, "ana")
    page = c.get("/work").text
    day = dt.datetime.now(dt.UTC).date().isoformat()
    assert f'action="/audit/{done.audit_id}/undo"' in page and f'value="/work?day={day}"' in page
    r = c.post(f"/audit/{done.audit_id}/undo", data={"csrf": token, "back": f"/work?day={day}"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/work?day={day}"
    assert re.search(r"undone \(#\d+\)", c.get(r.headers["location"]).text)
    assert desk.queue()[0].key == items[0].key  # back in the queue
    other = desk.decide(ANA, items[1].left, items[1].right, "not_same", expected_version=0)
    r = c.post(f"/audit/{other.audit_id}/undo", data={"csrf": token, "back": "//evil.example"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never off the site

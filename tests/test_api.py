"""The JSON API under /api/v1 (FastAPI's TestClient) over the bundled sample's master: tokens and
roles, standardize as the run does, resolve sample records to their own golden customers, a
merged id's redirect, bad input, the audit log, and a reload when a new master is published."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.state.tokens import create_token, list_tokens, revoke_token
from mdm.steward.web.api import MAX_BODY_BYTES
from mdm.steward.web.app import create_app
from tests.conftest import AS_OF, REPO

SAMPLE = REPO / "data" / "sample"
RECORDS = 60
"""Sample records the end-to-end test resolves (a seeded draw)."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's master, once for the module (tests copy it before changing anything)."""
    master = tmp_path_factory.mktemp("api") / "master.duckdb"
    run_pipeline(SAMPLE / "sources.yaml", master, as_of=AS_OF)
    return master


@pytest.fixture
def master(published: Path, tmp_path: Path) -> Path:
    """A copy of the sample's master, model and store of its own."""
    target = tmp_path / "out"
    target.mkdir()
    for name in ("master.duckdb", "master.model.json"):
        shutil.copy2(published.parent / name, target / name)
    shutil.copytree(published.parent / "state", target / "state")
    return target / "master.duckdb"


def tokens_of(master: Path) -> dict[str, str]:
    with StateStore(master.parent / "state") as store:
        return {
            "both": create_token(store, "both", ["resolve", "read"], by="test"),
            "resolve": create_token(store, "resolver", ["resolve"], by="test"),
            "read": create_token(store, "reader", ["read"], by="test"),
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(master: Path) -> tuple[TestClient, dict[str, str]]:
    return TestClient(create_app(master, master.parent / "state"), base_url="http://127.0.0.1"), tokens_of(master)


def source_records(master: Path, sql: str = "") -> pl.DataFrame:
    con = duckdb.connect(str(master), read_only=True)
    try:
        return con.sql(f"SELECT * FROM source_records {sql}").pl()
    finally:
        con.close()


def audit_rows(master: Path, action: str = "api_call") -> list[tuple[Any, ...]]:
    con = sqlite3.connect(master.parent / "state" / StateStore.FILENAME)
    try:
        return con.execute(
            "SELECT actor, item_key, after FROM audit_log WHERE action = ? ORDER BY audit_id", (action,)
        ).fetchall()
    finally:
        con.close()


# ---- tokens -------------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_stored(master: Path) -> None:
    state = master.parent / "state"
    result = CliRunner().invoke(main, ["tokens", "create", "desk", "--role", "read", "--state", str(state)])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("mdm_") and len(token) > 40
    with StateStore(state) as store:
        (listed,) = list_tokens(store)
        assert (listed.name, listed.roles) == ("desk", ("read",))
        assert token not in str(store.query("SELECT * FROM api_tokens"))
    listing = CliRunner().invoke(main, ["tokens", "list", "--state", str(state)])
    assert "desk" in listing.output and token not in listing.output
    revoked = CliRunner().invoke(main, ["tokens", "revoke", "desk", "--state", str(state)])
    assert revoked.exit_code == 0 and "revoked desk" in revoked.output
    assert [r[1] for r in audit_rows(master, "api_token_created")] == ["token:desk"]
    assert [r[1] for r in audit_rows(master, "api_token_revoked")] == ["token:desk"]


def test_token_names_and_roles_are_checked(master: Path) -> None:
    result = CliRunner().invoke(main, ["tokens", "create", "Bad Name", "--state", str(master.parent / "state")])
    assert result.exit_code != 0 and "lower-case letters" in result.output
    with StateStore(master.parent / "state") as store:
        create_token(store, "desk", ["resolve"], by="test")
        with pytest.raises(Exception, match="exists"):
            create_token(store, "desk", ["read"], by="test")
        with pytest.raises(Exception, match="roles are"):
            create_token(store, "other", ["admin"], by="test")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic dXNlcjpwdw=="}, 401),
        ({"Authorization": "Bearer mdm_not-a-token"}, 401),
    ],
)
def test_calls_without_a_live_token_get_401(
    api: tuple[TestClient, dict[str, str]], headers: dict[str, str], status: int
) -> None:
    client, _ = api
    for method, path in (
        ("POST", "/api/v1/resolve"),
        ("POST", "/api/v1/standardize"),
        ("GET", "/api/v1/customers/G000000001"),
        ("GET", "/api/v1/openapi.json"),
    ):
        response = client.request(method, path, json={"record": {"given_name": "Ann"}}, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_without_the_role_gets_403_and_a_revoked_one_401(
    master: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = api
    body = {"record": {"given_name": "Ann", "family_name": "Lee"}}
    assert client.post("/api/v1/resolve", json=body, headers=bearer(tokens["read"])).status_code == 403
    assert client.post("/api/v1/standardize", json=body, headers=bearer(tokens["read"])).status_code == 403
    refused = client.get("/api/v1/customers/G000000001", headers=bearer(tokens["resolve"]))
    assert refused.status_code == 403 and "lacks the read role" in refused.json()["error"]
    assert client.get("/api/v1/customers/G000000001", headers=bearer(tokens["read"])).status_code == 200
    with StateStore(master.parent / "state") as store:
        revoke_token(store, "reader", by="test")
    assert client.get("/api/v1/customers/G000000001", headers=bearer(tokens["read"])).status_code == 401


def test_the_page_session_is_no_api_token_and_api_posts_need_no_csrf(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    assert client.get("/login").status_code == 200  # a page session cookie now
    assert client.post("/api/v1/standardize", json={"record": {"given_name": "Ann"}}).status_code == 401
    ok = client.post("/api/v1/standardize", json={"record": {"given_name": "Ann"}}, headers=bearer(tokens["both"]))
    assert ok.status_code == 200


# ---- standardize --------------------------------------------------------------------------------


def test_standardize_gives_the_values_and_flags_the_run_gave(
    master: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    """crm rows with flagged values, sent as the crm source sends them (its country and formats):
    the API's values, keys and flags are the run's."""
    client, tokens = api
    fields = ["given_name", "family_name", "email", "phone", "postal_code", "city", "address_line1"]
    rows = source_records(
        master,
        "WHERE source = 'crm' AND (len(email_flags) > 0 OR len(phone_flags) > 0 OR len(postal_code_flags) > 0)"
        " ORDER BY source_record_id LIMIT 8",
    )
    assert rows.height == 8
    for row in rows.iter_rows(named=True):
        record = {f: row[f"{f}_raw"] for f in fields if row[f"{f}_raw"] is not None}
        response = client.post(
            "/api/v1/standardize", json={"record": record, "country": "US"}, headers=bearer(tokens["resolve"])
        )
        assert response.status_code == 200, response.text
        got = response.json()["fields"]
        for field in record:
            assert got[field]["value"] == row[field], (row["source_record_id"], field)
            assert got[field]["key"] == row[f"{field}_key"], (row["source_record_id"], field)
            assert got[field]["flags"] == list(row[f"{field}_flags"]), (row["source_record_id"], field)


def test_standardize_flags_and_formats(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    body = {
        "record": {"full_name": "Lee, Ann M", "birth_date": "02/30/1980", "email": "ann@gmial.com", "gender": "woman"},
        "formats": {"full_name": "family, given middle", "birth_date": "%m/%d/%Y"},
    }
    got = client.post("/api/v1/standardize", json=body, headers=bearer(tokens["resolve"])).json()
    assert got["accepted"] is True
    assert (got["fields"]["given_name"]["value"], got["fields"]["family_name"]["value"]) == ("Ann", "Lee")
    assert got["fields"]["birth_date"]["value"] is None and got["fields"]["birth_date"]["flags"]
    assert got["fields"]["email"]["flags"] == ["domain typo 'gmial.com' corrected to 'gmail.com'"]
    assert got["fields"]["gender"]["value"] == "F"


def test_a_record_the_run_would_quarantine_says_why(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    got = client.post("/api/v1/standardize", json={"record": {"gender": "f"}}, headers=bearer(tokens["resolve"])).json()
    assert got["accepted"] is False and got["quarantine_reasons"][0].startswith("every identity field is empty")
    resolved = client.post("/api/v1/resolve", json={"record": {"gender": "f"}}, headers=bearer(tokens["resolve"]))
    assert resolved.status_code == 422 and "quarantine" in resolved.json()["error"]


def test_a_sensitive_value_is_never_answered_in_clear(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    body = {"record": {"given_name": "Ann", "national_id": "318-52-7794"}}
    response = client.post("/api/v1/standardize", json=body, headers=bearer(tokens["resolve"]))
    assert response.status_code == 200
    assert "7794" in response.text and "318" not in response.text
    assert response.json()["fields"]["national_id"]["value"] == "*****7794"


# ---- resolve ------------------------------------------------------------------------------------


def _as_sent(row: dict[str, Any]) -> dict[str, str]:
    """A published record as a client would send it: its raw values, dates in ISO."""
    fields = ["given_name", "middle_name", "family_name", "email", "phone", "address_line1", "city", "postal_code"]
    record = {f: row[f"{f}_raw"] for f in fields if row.get(f"{f}_raw")}
    if row["birth_date"] is not None:
        record["birth_date"] = row["birth_date"].isoformat()
    return record


def test_sample_records_resolve_to_their_own_golden_customers(
    master: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    """End to end: records of the sample, as sent by a client, and the same records with one typo in
    the family name; the top candidate is the record's own golden customer."""
    client, tokens = api
    rows = source_records(master, f"USING SAMPLE {RECORDS} ROWS (reservoir, 20261204)").filter(
        pl.col("full_name_raw").is_null()  # the sources that send names in parts: sent as they are
    )
    assert rows.height > 20
    own = typo_own = 0
    for row in rows.iter_rows(named=True):
        record = _as_sent(row)
        response = client.post("/api/v1/resolve", json={"record": record}, headers=bearer(tokens["resolve"]))
        assert response.status_code == 200, response.text
        got = response.json()
        top = got["candidates"][0]
        own += top["golden_id"] == row["golden_id"]
        assert top["record"]["source_record_id"] is not None and top["comparisons"]
        assert sorted(c["golden_id"] for c in got["candidates"]) == sorted({c["golden_id"] for c in got["candidates"]})
        if record.get("family_name") and len(record["family_name"]) > 3:
            name = record["family_name"]
            record["family_name"] = name[:2] + name[3] + name[2] + name[4:]  # two letters swapped
            typoed = client.post("/api/v1/resolve", json={"record": record}, headers=bearer(tokens["resolve"])).json()
            typo_own += bool(typoed["candidates"]) and typoed["candidates"][0]["golden_id"] == row["golden_id"]
    assert own == rows.height
    assert typo_own >= 0.9 * rows.filter(pl.col("family_name_raw").str.len_chars() > 3).height


def test_a_resolved_match_is_explained_and_decided(master: Path, api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    row = source_records(master, "WHERE source = 'crm' AND email IS NOT NULL AND birth_date IS NOT NULL LIMIT 1").row(
        0, named=True
    )
    got = client.post(
        "/api/v1/resolve", json={"record": _as_sent(row), "limit": 3}, headers=bearer(tokens["resolve"])
    ).json()
    assert len(got["candidates"]) <= 3 and got["master_run_id"]
    top = got["candidates"][0]
    assert top["decision"] == "match" and top["outcome"] == "merged" and top["conflict"] is None
    levels = {c["comparison"]: c["level"] for c in top["comparisons"]}
    assert levels["email"] == "exact" and levels["birth_date"] == "exact"
    total = top["prior_weight"] + sum(c["weight"] for c in top["comparisons"])
    assert abs(total - top["match_weight"]) < 1e-3
    assert "email" in top["blocking_rules"]


def test_a_household_member_is_kept_apart_by_the_conflict_rules(
    master: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    """Another given name at the same address, phone and family name: a household member, never a match."""
    client, tokens = api
    row = source_records(
        master, "WHERE source = 'crm' AND phone IS NOT NULL AND address_line1 IS NOT NULL LIMIT 1"
    ).row(0, named=True)
    record = _as_sent(row) | {"given_name": "Zebediah", "birth_date": "2011-07-15"}
    record.pop("email", None)
    got = client.post("/api/v1/resolve", json={"record": record}, headers=bearer(tokens["resolve"])).json()
    same = [c for c in got["candidates"] if c["golden_id"] == row["golden_id"]]
    assert same and same[0]["decision"] != "match"
    assert same[0]["conflict"] is not None or same[0]["match_probability"] < got["threshold_match_probability"]


# ---- customers ----------------------------------------------------------------------------------


def test_a_customer_with_records_and_lineage(master: Path, api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    golden_id = source_records(
        master, "WHERE golden_id IN (SELECT golden_id FROM source_records GROUP BY 1 HAVING count(*) > 2) LIMIT 1"
    )["golden_id"][0]
    got = client.get(f"/api/v1/customers/{golden_id}", headers=bearer(tokens["read"])).json()
    assert got["golden"]["golden_id"] == golden_id
    assert len(got["source_records"]) > 2 and got["lineage"] and got["id_events"]
    assert {r["attribute"] for r in got["lineage"]} >= {"given_name", "family_name"}


def test_a_merged_id_redirects_to_the_live_one_and_a_gone_one_is_410(
    master: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = api
    con = sqlite3.connect(master.parent / "state" / StateStore.FILENAME)
    with con:  # as a run's merges leave them: G1 into G2, G2 later into the live G000000001; G3 gone
        con.executemany(
            "INSERT INTO golden_ids (golden_id, created_run, retired_run, merged_into) VALUES (?, 'r0', 'r1', ?)",
            [("G900000001", "G900000002"), ("G900000002", "G000000001"), ("G900000003", None)],
        )
    con.close()
    moved = client.get("/api/v1/customers/G900000001", headers=bearer(tokens["read"]), follow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["location"] == "/api/v1/customers/G000000001"
    assert moved.json() == {"golden_id": "G900000001", "merged_into": "G000000001"}
    followed = client.get("/api/v1/customers/G900000001", headers=bearer(tokens["read"]))
    assert followed.status_code == 200 and followed.json()["golden"]["golden_id"] == "G000000001"
    assert client.get("/api/v1/customers/G900000003", headers=bearer(tokens["read"])).status_code == 410
    assert client.get("/api/v1/customers/G123", headers=bearer(tokens["read"])).status_code == 404


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b'{"record": {"given_nmae": "Ann"}}', {}, 422, "unknown field: not in the dictionary"),
        (b'{"record": {"given_name": 42}}', {}, 422, "must be text"),
        (b'{"record": {"given_name": "Ann"}, "colour": "red"}', {}, 422, "unknown field"),
        (b'{"record": {}}', {}, 422, "carries no field"),
        (b'{"given_name": "Ann"}', {}, 422, "record"),
        (b'{"record": {"given_name": "Ann"}, "limit": 500}', {}, 422, "limit"),
        (b'{"record": {"given_name": "Ann"}, "formats": {"email": "%Y"}}', {}, 422, "formats given"),
        (
            b'{"record": {"given_name": "Ann", "email": "a@b.c"}, "formats": {"email": "%Y"}}',
            {},
            422,
            "takes no format",
        ),
        (b'{"record": {"given_name": "Ann"}, "country": "USA"}', {}, 422, "country"),
        (b'{"record": {"given_name": "J\xf6rg"}}', {}, 400, "not UTF-8: byte 0xf6"),
        (b'{"record": {"given_name": "Ann"', {}, 400, "not JSON"),
        (b"given_name=Ann", {"content-type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        (b'{"record": {"given_name": "' + b"a" * MAX_BODY_BYTES + b'"}}', {}, 413, "larger than"),
        (b"[" * 60_000, {}, 400, "nested too deeply"),  # was a 500: the JSON parser's RecursionError
        (b"[]", {}, 422, "record"),
        (b'"Ann"', {}, 422, "record"),
        (b'{"record": {"given_name": "A\\u0000nn"}}', {}, 422, "given_name holds a NUL character"),
        (b'{"record": {"given_name": "' + b"a" * 10_001 + b'"}}', {}, 422, "at most 10000 characters"),
        (b'{"record": {"given_name": "Ann"}, "limit": "5"}', {}, 422, "limit"),
    ],
)
def test_bad_input_gets_a_4xx_that_says_what_is_wrong(
    api: tuple[TestClient, dict[str, str]], body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    client, tokens = api
    sent = {"content-type": "application/json"} | headers | bearer(tokens["resolve"])
    response = client.post("/api/v1/resolve", content=body, headers=sent)
    assert response.status_code == status, response.text
    assert says in response.text


def test_nothing_sent_is_stored_and_every_call_is_audited(master: Path, api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    secret_name = "Quillfeather"
    with client:  # the app's lifespan: its shutdown commits the audit entries still queued
        client.post(
            "/api/v1/resolve",
            json={"record": {"given_name": "Ann", "family_name": secret_name}},
            headers=bearer(tokens["resolve"]),
        )
        client.post(
            "/api/v1/standardize", json={"record": {"family_name": secret_name}}, headers=bearer(tokens["read"])
        )
        client.post("/api/v1/standardize", json={"record": {"family_name": secret_name}})
        client.get("/api/v1/customers/G000000001", headers=bearer(tokens["read"]))
    rows = audit_rows(master)
    assert [(actor, item, eval_status(after)) for actor, item, after in rows] == [
        ("token:resolver", "POST /api/v1/resolve", 200),
        ("token:reader", "POST /api/v1/standardize", 403),
        ("api:testclient", "POST /api/v1/standardize", 401),
        ("token:reader", "GET /api/v1/customers/G000000001", 200),
    ]
    stored = b"".join(p.read_bytes() for p in (master.parent / "state").rglob("*") if p.is_file())
    assert secret_name.encode() not in stored
    assert source_records(master).filter(pl.col("family_name_raw") == secret_name).height == 0


def eval_status(after: str) -> int:
    import json

    return int(json.loads(after)["status"])


def test_openapi_schema_lists_the_endpoints(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    schema = client.get("/api/v1/openapi.json", headers=bearer(tokens["read"])).json()
    assert set(schema["paths"]) == {"/standardize", "/resolve", "/customers/{golden_id}"}
    assert schema["servers"] == [{"url": "/api/v1"}]
    assert "given_name" in schema["components"]["schemas"]["Record"]["properties"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# ---- reload -------------------------------------------------------------------------------------


def test_a_new_master_is_loaded_without_dropping_requests(master: Path) -> None:
    from mdm.steward.web.api import create_api

    tokens = tokens_of(master)
    api = create_api(master, master.parent / "state", check_seconds=0.0)
    client = TestClient(api, base_url="http://127.0.0.1")
    row = source_records(master, "WHERE source = 'crm' AND email IS NOT NULL LIMIT 1").row(0, named=True)
    body = {"record": _as_sent(row)}
    first = client.post("/resolve", json=body, headers=bearer(tokens["resolve"])).json()
    # a new master published over the old one (a new file renamed in, as publish does): here the same content
    fresh = master.with_name("fresh.duckdb")
    shutil.copy2(master, fresh)
    os.replace(fresh, master)
    statuses: list[int] = []

    def call() -> None:
        for _ in range(5):
            statuses.append(client.post("/resolve", json=body, headers=bearer(tokens["resolve"])).status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    live = api.state.api.index
    live.wait_for_reload()
    assert statuses == [200] * 15
    assert live.reloads == 1 and live.last_error is None
    after = client.post("/resolve", json=body, headers=bearer(tokens["resolve"])).json()
    assert after["candidates"][0]["golden_id"] == first["candidates"][0]["golden_id"] == row["golden_id"]
    assert dt.datetime.now(dt.UTC)  # (the master's run id is the same: the content did not change)


# ---- sensitive fields ---------------------------------------------------------------------------


@pytest.fixture
def encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/test_sensitive.py's two sources (national ids, one a typo of another), published
    with a data key (MDM_DATA_KEY_FILE stays set); returns the master."""
    from mdm.sensitive import KEY_ENV, KEY_FILE_ENV, create_key_file
    from tests.test_sensitive import _project

    key = tmp_path / "keys" / "data.key"
    create_key_file(key)
    monkeypatch.setenv(KEY_FILE_ENV, str(key))
    monkeypatch.delenv(KEY_ENV, raising=False)
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(_project(tmp_path / "src"), master, as_of=AS_OF)
    return master


def _resolve_mary(master: Path) -> Any:
    with StateStore(master.parent / "state") as store:
        token = create_token(store, "desk", ["resolve", "read"], by="test")
    client = TestClient(create_app(master, master.parent / "state"), base_url="http://127.0.0.1")
    record = {"given_name": "Mary", "family_name": "Jones", "birth_date": "1975-01-02", "national_id": "731-44-1089"}
    response = client.post("/api/v1/resolve", json={"record": record}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert "731-44" not in response.text and "73144" not in response.text
    golden_id = response.json()["candidates"][0]["golden_id"]
    customer = client.get(f"/api/v1/customers/{golden_id}", headers=bearer(token))
    assert customer.status_code == 200 and "731441" not in customer.text and "enc:v1:" not in customer.text
    return response.json()


def test_with_the_data_key_a_national_id_is_compared_as_in_the_run(encrypted: Path) -> None:
    got = _resolve_mary(encrypted)
    levels = {c["comparison"]: c["level"] for c in got["candidates"][0]["comparisons"]}
    assert levels["national_id"] in ("exact", "one_typo") and got["notes"] == []


def test_without_the_data_key_a_national_id_is_skipped_and_the_answer_says_so(
    encrypted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mdm.sensitive import KEY_FILE_ENV

    monkeypatch.delenv(KEY_FILE_ENV)
    got = _resolve_mary(encrypted)
    levels = {c["comparison"]: c["level"] for c in got["candidates"][0]["comparisons"]}
    assert levels["national_id"] == "skipped: encrypted in the master and no data key"
    assert got["notes"] and "no data key" in got["notes"][0]


def test_a_schema_5_store_gains_the_token_table(tmp_path: Path) -> None:
    with StateStore(tmp_path) as store:
        create_token(store, "desk", ["read"], by="test")
    con = sqlite3.connect(tmp_path / StateStore.FILENAME)
    con.executescript("DROP TABLE api_tokens; UPDATE meta SET value = '5' WHERE key = 'schema_version';")
    con.close()
    with StateStore(tmp_path) as store:
        assert store.query("SELECT value FROM meta WHERE key = 'schema_version'") == [("8",)]
        assert list_tokens(store) == []
        create_token(store, "desk", ["read"], by="test")


def test_a_customers_rows_are_found_around_one_of_them() -> None:
    from mdm.realtime.index import NEAR_ROWS, customer_rows

    runs = [("G1", 1), ("G2", 3), ("G3", 2 * NEAR_ROWS + 5), ("G4", 1), ("G5", NEAR_ROWS + 1), ("G6", 2)]
    ids = pl.Series([g for g, n in runs for _ in range(n)])
    for row, golden_id in enumerate(ids.to_list()):
        expected = (ids.search_sorted(golden_id, side="left"), ids.search_sorted(golden_id, side="right"))
        assert customer_rows(ids, golden_id, row) == expected, (row, golden_id)

"""Sensitive fields at rest (mdm/sensitive.py): a national id is never stored in clear, in any file
the master, its versions or the durable store hold; analysts see it masked; key holders can read
it; matching on it works exactly as on clear values."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.pipeline import run_pipeline
from mdm.publish.protect import protect_file
from mdm.sensitive import (
    KEY_ENV,
    KEY_FILE_ENV,
    DataKeyError,
    FieldCipher,
    create_key_file,
    load_data_key,
    mask,
    new_key_text,
)
from mdm.standardize.source import HIDDEN
from mdm.state import StateStore
from mdm.state.audit import audit_entries
from tests.conftest import AS_OF, query

# Every spelling of each national id the sources hold: none may be found in any stored file.
CLEAR = ["518-20-3947", "518203947", "518 20 3947", "731-44-1098", "731441098", "731441089", "46-7", "888-77-2222"]

CRM = """\
id,first,last,dob,ssn,email,updated
A1,Robert,Smith,1980-03-04,518-20-3947,robert.smith@gmail.com,2026-01-05
A2,Bob,Smyth,1980-03-05,518203947,,2026-02-05
A3,Mary,Jones,1975-01-02,731-44-1098,mary.jones@gmail.com,2026-03-01
A4,Marie,Jones,1975-01-02,731441089,,2026-03-02
A5,Zed,Zero,1990-01-01,46-7,zed@example.org,2026-03-03
,Robert,Smith,1980-03-04,518-20-3947,robert.smith@yahoo.com,2026-01-05
A7,Bad,Row,1990-01-01,888-77-2222,bad@row.com,2026-04-01,extra
"""
WEB = (
    json.dumps({"sid": "W1", "name": "Robert Smith", "ssn": "518 20 3947", "created": "2026-06-01"})
    + "\n"
    + json.dumps({"sid": "W2", "name": "Ann Lee", "ssn": None, "created": "2026-06-02"})
    + "\n"
)
SOURCES = """\
version: 1
sources:
  - name: crm
    kind: csv
    path: crm.csv
    record_id: id
    updated_at: updated
    trust: 2
    country: US
    fields:
      given_name: first
      family_name: last
      birth_date: dob
      national_id: ssn
      email: email
  - name: web
    kind: jsonl
    path: web.jsonl
    record_id: sid
    updated_at: created
    trust: 1
    country: US
    fields:
      full_name: {column: name, format: "given middle family"}
      national_id: ssn
"""


def _project(root: Path, dictionary: Path | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "crm.csv").write_text(CRM)
    (root / "web.jsonl").write_text(WEB)
    text = SOURCES if dictionary is None else SOURCES.replace("version: 1\n", f"version: 1\ndictionary: {dictionary}\n")
    (root / "sources.yaml").write_text(text)
    return root / "sources.yaml"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "data.key"
    create_key_file(path)
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    monkeypatch.delenv(KEY_ENV, raising=False)
    return path


def _run(sources: Path, master: Path) -> None:
    run_pipeline(sources, master, as_of=AS_OF)


def _texts_in_duckdb(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = []
        for (table,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall():
            columns = [r[0] for r in con.sql(f'DESCRIBE "{table}"').fetchall()]
            for column in columns:
                rows = con.sql(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"').fetchall()
                out += [f"{table}.{column}: {v}" for (v,) in rows if v is not None]
        return out
    finally:
        con.close()


def _texts_in_sqlite(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        out = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in con.execute(f'SELECT * FROM "{table}"'):
                out += [f"{table}: {v}" for v in row if v is not None]
        return out
    finally:
        con.close()


def _stored_texts(directory: Path) -> list[str]:
    """Every value of every table and every file's bytes under `directory` (the master's folder:
    master, versions, snapshot, report, model, state, history), as text to search."""
    out: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix == ".duckdb":
            out += _texts_in_duckdb(path)
        elif path.suffix == ".parquet":
            con = duckdb.connect()
            frame = con.sql(f"SELECT * FROM read_parquet('{path}')")
            out += [f"{path.name}: {v}" for row in frame.fetchall() for v in row if v is not None]
            con.close()
        elif path.suffix == ".sqlite":
            out += _texts_in_sqlite(path)
        out.append(path.read_bytes().decode("utf-8", errors="replace"))
    return out


def _leaks(directory: Path) -> list[str]:
    texts = _stored_texts(directory)
    return [f"{value!r} in {text[:200]}" for text in texts for value in CLEAR if value in str(text)]


def test_a_national_id_is_never_stored_in_clear(tmp_path: Path, key_file: Path) -> None:
    sources = _project(tmp_path / "project")
    master = tmp_path / "out" / "master.duckdb"
    _run(sources, master)
    _run(sources, master)  # a second run: versions, history and the store's copies too
    assert query(master, "SELECT count(*) FROM golden_customers WHERE national_id IS NOT NULL")[0][0] >= 2
    assert _leaks(tmp_path / "out") == []
    # the quarantine holds both of the source's rejected rows, their national ids as tokens
    raws = query(master, "SELECT source_record_id, raw FROM quarantine WHERE source = 'crm' ORDER BY row_number")
    assert [r for r, _ in raws] == [None, None]  # a row without a record id; a row with an extra column
    duplicate = json.loads(raws[0][1])
    assert duplicate["ssn"].startswith("enc:v1:") and duplicate["first"] == "Robert"
    assert raws[1][1].startswith("enc:v1:")  # the row that could not be split: one token whole


def test_analysts_see_masked_values_and_key_holders_the_clear_ones(tmp_path: Path, key_file: Path) -> None:
    sources = _project(tmp_path / "project")
    master = tmp_path / "out" / "master.duckdb"
    _run(sources, master)
    rows = query(
        master,
        "SELECT g.national_id, g.national_id_masked FROM golden_customers g JOIN customer_xref x USING (golden_id)"
        " WHERE x.source = 'crm' AND x.source_record_id = 'A1'",
    )
    token, masked = rows[0]
    assert token.startswith("enc:v1:") and masked == "*****3947"
    cipher = FieldCipher(load_data_key())  # type: ignore[arg-type]
    assert cipher.decrypt(token) == "518203947"
    # equal values, equal tokens: the golden value joins its records' values
    assert query(master, f"SELECT count(*) FROM source_records WHERE national_id = '{token}'")[0][0] == 3
    runner = CliRunner()
    sql = "SELECT national_id FROM source_records WHERE source_record_id = 'A3'"
    plain = runner.invoke(main, ["query", sql, "--master", str(master), "--format", "csv"])
    assert plain.exit_code == 0, plain.output
    assert "731441098" not in plain.output and "enc:v1:" in plain.output
    revealed = runner.invoke(main, ["query", sql, "--master", str(master), "--format", "csv", "--reveal"])
    assert revealed.exit_code == 0, revealed.output
    assert revealed.output.split() == ["national_id", "731441098"]
    out = tmp_path / "export.csv"
    done = runner.invoke(
        main, ["export", "--master", str(master), "--table", "golden_customers", "--output", str(out), "--reveal"]
    )
    assert done.exit_code == 0, done.output
    assert "518203947" in out.read_text()
    with StateStore(master.parent / "state") as store:
        revealing = [e["action"] for e in audit_entries(store) if '"reveal": true' in (e["after"] or "")]
    assert sorted(revealing) == ["export", "query"]
    # without the key, --reveal is refused with what to set
    os.environ.pop(KEY_FILE_ENV)
    refused = runner.invoke(main, ["query", sql, "--master", str(master), "--reveal"])
    assert refused.exit_code == 1 and KEY_FILE_ENV in refused.output


def test_matching_on_protected_values_is_the_same_as_on_clear_ones(tmp_path: Path, key_file: Path) -> None:
    import shutil

    from mdm.config.dictionary import DEFAULT_DICTIONARY

    clear_dictionary = tmp_path / "dictionary"
    shutil.copytree(DEFAULT_DICTIONARY.parent, clear_dictionary)
    fields = clear_dictionary / "fields.yaml"
    fields.write_text(fields.read_text().replace("    sensitive: true", "    sensitive: false"))
    protected, clear = tmp_path / "p" / "master.duckdb", tmp_path / "c" / "master.duckdb"
    _run(_project(tmp_path / "protected"), protected)
    _run(_project(tmp_path / "clear", fields), clear)
    assert query(clear, "SELECT national_id FROM golden_customers WHERE national_id = '518203947'")
    sql = "SELECT source, source_record_id, golden_id FROM customer_xref ORDER BY 1, 2"
    assert query(protected, sql) == query(clear, sql)
    # the same national id (three spellings) made one customer of A1, A2 (another name) and W1
    assert len({g for s, r, g in query(protected, sql) if (s, r) in {("crm", "A1"), ("crm", "A2"), ("web", "W1")}}) == 1


def test_a_flag_of_a_sensitive_field_does_not_quote_the_value(tmp_path: Path, key_file: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    _run(_project(tmp_path / "project"), master)
    flags = query(master, "SELECT national_id_flags FROM source_records WHERE source_record_id = 'A5'")[0][0]
    assert flags and all(HIDDEN in f and "46" not in f for f in flags)


def test_a_run_needs_the_key_and_keeps_to_the_first_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _project(tmp_path / "project")
    master = tmp_path / "out" / "master.duckdb"
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(DataKeyError, match=r"crm \(ssn\), web \(ssn\).*mdm key create"):
        _run(sources, master)
    assert not master.exists()
    monkeypatch.setenv(KEY_ENV, new_key_text())
    _run(sources, master)
    monkeypatch.setenv(KEY_ENV, new_key_text())
    with pytest.raises(DataKeyError, match="encrypted with data key"):
        _run(sources, master)


def test_an_unsafe_key_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = tmp_path / "out" / "master.duckdb"
    inside = tmp_path / "out" / "state" / "data.key"
    create_key_file(inside)
    monkeypatch.setenv(KEY_FILE_ENV, str(inside))
    with pytest.raises(DataKeyError, match="outside the state and master directories"):
        load_data_key([tmp_path / "out" / "state", master.parent])
    readable = tmp_path / "elsewhere" / "data.key"
    create_key_file(readable)
    readable.chmod(0o644)
    monkeypatch.setenv(KEY_FILE_ENV, str(readable))
    with pytest.raises(DataKeyError, match="chmod 600"):
        load_data_key()
    readable.chmod(0o600)
    readable.write_text("not a key\n")
    with pytest.raises(DataKeyError, match="not 32 bytes"):
        load_data_key()


def test_key_create_makes_a_private_key_and_never_overwrites_one(tmp_path: Path) -> None:
    path = tmp_path / "k" / "data.key"
    runner = CliRunner()
    made = runner.invoke(main, ["key", "create", str(path)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_text()
    again = runner.invoke(main, ["key", "create", str(path)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert path.read_text() == before


def test_tokens_are_deterministic_authenticated_and_name_their_key() -> None:
    a = FieldCipher(load_data_key(env={KEY_ENV: new_key_text()}))  # type: ignore[arg-type]
    b = FieldCipher(load_data_key(env={KEY_ENV: new_key_text()}))  # type: ignore[arg-type]
    assert a.encrypt("518203947") == a.encrypt("518203947") != a.encrypt("518203948")
    assert a.decrypt(a.encrypt("518203947")) == "518203947"
    with pytest.raises(DataKeyError, match=f"encrypted with data key {a.key_id}"):
        b.decrypt(a.encrypt("518203947"))
    token = a.encrypt("518203947")
    damaged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(DataKeyError, match="damaged"):
        a.decrypt(damaged)
    assert (mask("518203947"), mask("1234"), mask("")) == ("*****3947", "****", "")
    series = a.encrypt_series(pl.Series("v", ["x", None, "x"]))
    assert series[0] == series[2] and series[1] is None


def test_check_says_which_key_a_run_will_use_and_init_says_one_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _project(tmp_path / "project")
    runner = CliRunner()
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    refused = runner.invoke(main, ["check", "--sources", str(sources), "--config-only"])
    assert refused.exit_code == 1 and "mdm key create" in refused.output
    monkeypatch.setenv(KEY_ENV, new_key_text())
    done = runner.invoke(main, ["check", "--sources", str(sources), "--config-only"])
    assert done.exit_code == 0, done.output
    assert "sensitive fields encrypted with data key" in done.output and "crm (ssn), web (ssn)" in done.output
    own = tmp_path / "customers.csv"
    own.write_text("".join(CRM.splitlines(keepends=True)[:5]))
    started = runner.invoke(main, ["init", str(tmp_path / "new"), "--csv", str(own)])
    assert started.exit_code == 0, started.output
    assert "ssn is mapped to national_id, which is kept encrypted" in started.output
    assert "national_id: ssn   # sensitive" in (tmp_path / "new" / "sources.yaml").read_text()


def test_an_incremental_night_carries_golden_records_over_as_a_full_run_builds_them(
    tmp_path: Path, key_file: Path
) -> None:
    """The golden records and lineage an incremental run carries over are left as tokens and read
    back decrypted: the night publishes what a --full run does, national ids included."""
    sources = _project(tmp_path / "project")
    live = tmp_path / "live" / "master.duckdb"
    _run(sources, live)
    crm = sources.parent / "crm.csv"
    crm.write_text(crm.read_text().replace("mary.jones@gmail.com", "mary.j@gmail.com"))
    twin = tmp_path / "twin" / "master.duckdb"
    shutil.copytree(live.parent, twin.parent)
    night = run_pipeline(sources, live, as_of=AS_OF)
    run_pipeline(sources, twin, as_of=AS_OF, full=True)
    assert night.standardize.mode == "incremental"
    assert 0 < night.golden.built < night.golden.golden_customers
    for sql in (
        "SELECT * EXCLUDE (run_id) FROM golden_customers ORDER BY ALL",
        "SELECT * FROM golden_attribute_lineage ORDER BY ALL",
    ):
        assert query(live, sql) == query(twin, sql)
    assert query(live, "SELECT count(*) FROM golden_customers WHERE national_id LIKE 'enc:v1:%'")[0][0] >= 2
    assert _leaks(tmp_path / "live") == []


def test_a_file_left_for_the_next_run_is_copied_with_tokens_only_when_there_is_a_key(tmp_path: Path) -> None:
    """protect_file: with a key, a copy whose sensitive values are tokens; without one, the file
    itself (nothing to encrypt), but never a file holding a sensitive value in clear."""
    source, out = tmp_path / "golden.parquet", tmp_path / "carried.parquet"
    pl.DataFrame(
        {"golden_id": ["G1", "G2"], "national_id": [None, None]},
        schema={"golden_id": pl.String, "national_id": pl.String},
    ).write_parquet(source)
    assert protect_file(source, out, ["national_id", "not_in_file"], None) == source
    assert not out.exists()
    pl.DataFrame({"golden_id": ["G1", "G2"], "national_id": [None, "518203947"]}).write_parquet(source)
    with pytest.raises(RuntimeError, match="'national_id' and no data key"):
        protect_file(source, out, ["national_id"], None)
    cipher = FieldCipher(load_data_key(env={KEY_ENV: new_key_text()}))  # type: ignore[arg-type]
    assert protect_file(source, out, ["national_id"], cipher) == out
    carried = pl.read_parquet(out)
    assert carried["golden_id"].to_list() == ["G1", "G2"] and carried["national_id"][0] is None
    assert cipher.decrypt(carried["national_id"][1]) == "518203947"

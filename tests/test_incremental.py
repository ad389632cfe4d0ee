"""Incremental runs (mdm/incremental/): a night that carries the unchanged records over publishes
the same master as a `--full` run on the same inputs and the same store, night after night of
edits, deletions, additions and steward decisions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import random
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import polars as pl
import pytest

from mdm.pipeline import run_pipeline
from mdm.sample import generate_sample
from mdm.sample.events import generate_events
from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.users import add_user
from mdm.summary import RunSummary
from tests.conftest import AS_OF, REPO, query

# the tables a reader trusts, compared whole (run ids aside: two runs never share one)
COMPARED = [
    "golden_customers",
    "customer_xref",
    "source_records",
    "golden_attribute_lineage",
    "match_pairs",
    "review_queue",
    "steward_links",
    "quarantine",
    "field_profile",
    "customer_tags",
    "id_events",
    "events_visits",
    "events_purchases",
    "events_survey",
]
RUN_COLUMNS = ("run_id", "valid_from_run", "valid_to_run")


def twin_masters(tmp_path: Path, first: str, second: str) -> tuple[Path, Path, Path, RunSummary]:
    """The bundled sample copied under tmp_path, and two masters (`tmp_path/<first>/` and
    `tmp_path/<second>/`) sharing one trained model: training's sums are not bit-stable from run to
    run, so the second master's store is a copy of the first's after its first run. The first is
    then run again with --full; (sources.yaml, first master, second master, that run's summary):
    the caller runs the second master its own way and compares."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    sources = data / "sources.yaml"
    one, two = tmp_path / first / "master.duckdb", tmp_path / second / "master.duckdb"
    run_pipeline(sources, one, as_of=AS_OF)
    shutil.copytree(one.parent, two.parent)
    return sources, one, two, run_pipeline(sources, one, as_of=AS_OF, full=True)


def _sample(root: Path, people: int) -> Path:
    generate_sample(root, n_people=people)
    generate_events(root)
    (root / "sources.yaml").write_text((REPO / "data" / "sample" / "sources.yaml").read_text())
    return root / "sources.yaml"


def _edit_csv(path: Path, encoding: str, delimiter: str, rng: random.Random, night: int) -> None:
    """Edit, delete and add rows of a CSV source as its system would between two nights."""
    text = path.read_text(encoding=encoding)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    for row in rng.sample(body, 6):  # a moved or renumbered customer: one value changes
        column = rng.choice([i for i, name in enumerate(header) if name not in ("customer_no", "patient_id")][1:])
        row[column] = (row[column] + "x") if row[column] else "7"
    for row in rng.sample(body, 3):
        body.remove(row)
    for i, row in enumerate(rng.sample(body, 4)):  # new registrations, near copies of existing people
        body.append([f"N{night}{i}{row[0]}", *row[1:]])
    rng.shuffle(body)  # an export in another order is no change
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *body])
    path.write_text(("\ufeff" if text.startswith("\ufeff") else "") + out.getvalue(), encoding=encoding)


def _edit_jsonl(path: Path, rng: random.Random, night: int) -> None:
    lines: list[dict | str] = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        lines.append(row if isinstance(row, dict) else line)  # the source's broken lines stay broken
    rows = [r for r in lines if isinstance(r, dict) and r.get("signup_id")]
    for row in rng.sample(rows, 5):
        row["email"] = f"moved{night}.{row.get('email') or 'none@example.org'}"
    for row in rng.sample(rows, 2):
        lines.remove(row)
        rows.remove(row)
    lines += [{**row, "signup_id": f"N{night}{i}{row['signup_id']}"} for i, row in enumerate(rng.sample(rows, 3))]
    path.write_text("".join((json.dumps(r) if isinstance(r, dict) else r) + "\n" for r in lines))


def _edit_sqlite(path: Path, rng: random.Random, night: int) -> None:
    con = sqlite3.connect(path)
    try:
        ids = [r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY account_id")]
        for account in rng.sample(ids, 5):
            con.execute("UPDATE accounts SET phone = '555-01' || ? WHERE account_id = ?", (night, account))
        gone = rng.sample(ids, 2)
        con.executemany("DELETE FROM accounts WHERE account_id = ?", [(a,) for a in gone])
        kept = rng.choice([i for i in ids if i not in gone])
        cursor = con.execute("SELECT * FROM accounts WHERE account_id = ?", (kept,))
        columns = [d[0] for d in cursor.description]
        row = dict(zip(columns, cursor.fetchone(), strict=True))
        row["account_id"] = f"N{night}{row['account_id']}"
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO accounts ({names}) VALUES ({', '.join('?' for _ in columns)})", list(row.values()))
        con.commit()
    finally:
        con.close()


def _night(data: Path, rng: random.Random, night: int) -> None:
    sources = data / "sources"
    _edit_csv(sources / "crm.csv", "utf-8", ",", rng, night)
    _edit_csv(sources / "clinic.csv", "latin-1", ";", rng, night)
    _edit_jsonl(sources / "web_signups.jsonl", rng, night)
    _edit_sqlite(sources / "billing.sqlite", rng, night)


def _steward_answers(master: Path, rng: random.Random) -> None:
    """A steward answers two items of the review queue: the decisions both kinds of run apply."""
    desk = StewardDesk(master, master.parent / "state")
    with StateStore(master.parent / "state") as store:
        if store.query("SELECT 1 FROM users WHERE username = 'ana'") == []:
            add_user(store, "ana", "correct horse", "steward", by="test")
    ana = desk.user("ana")
    assert ana is not None
    items = query(master, "SELECT left_source, left_record_id, right_source, right_record_id FROM review_queue")
    for ls, lr, rs, rr in rng.sample(items, min(2, len(items))):
        desk.decide(ana, (ls, lr), (rs, rr), rng.choice(["same", "not_same"]), expected_version=None)


def _table(master: Path, name: str, *, in_stored_order: bool = False) -> pl.DataFrame:
    """A table of the master without its run columns, its rows sorted (or as stored)."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        frame: pl.DataFrame = con.sql(f'SELECT * FROM "{name}"').pl()
    finally:
        con.close()
    frame = frame.drop([c for c in frame.columns if c in RUN_COLUMNS])
    return frame.sort(frame.columns, nulls_last=True) if frame.height and not in_stored_order else frame


def _mode(master: Path) -> dict:
    counts = query(master, "SELECT counts FROM run_log ORDER BY started_at DESC LIMIT 1")[0][0]
    return json.loads(counts)


def _not_read(*_: object) -> None:
    raise AssertionError("an incremental night read the store's golden versions")


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_nights_publish_the_full_runs_master(
    tmp_path: Path, seed: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="mdm.publish.patch")
    rng = random.Random(seed)
    sources = _sample(tmp_path / "data", people=150)
    live = tmp_path / "live" / "master.duckdb"
    run_pipeline(sources, live, as_of=AS_OF)
    assert _mode(live)["mode"] == "full"
    for night in range(1, 4):
        _night(tmp_path / "data", rng, night)
        if night == 2:
            _steward_answers(live, rng)
        as_of = AS_OF + dt.timedelta(days=night)
        # the same store and master, twice: once incremental (the live one), once --full
        twin = tmp_path / f"full{night}" / "master.duckdb"
        shutil.copytree(live.parent, twin.parent)
        caplog.clear()
        with monkeypatch.context() as patched_night:
            # the night's history is patched from the versions the last run left: the store's
            # versions, which grow with every night published, are not read (a full run reads them all)
            patched_night.setattr(StateStore, "golden_versions", _not_read)
            patched_night.setattr(StateStore, "current_golden_versions", _not_read)
            night_run = run_pipeline(sources, live, as_of=as_of)
        # the incremental run patched the last master's source_records and lineage (mdm/publish/patch.py),
        # and match_pairs unless most scores moved: these nights change a sixth of the records, so
        # the prior and the frequencies of most names step (test_a_quiet_night_patches_match_pairs)
        patched = {r.getMessage().split()[1] for r in caplog.records if " patched: " in r.getMessage()}
        assert {
            "source_records",
            "golden_attribute_lineage",
            "golden_customers_history",
            "id_events",
            "customer_tags",
            "events_visits",
            "events_purchases",
            "events_survey",
        } <= patched, caplog.text
        if "match_pairs" in patched:
            assert "written whole" not in caplog.text, caplog.text
        else:
            assert "match_pairs: " in caplog.text and "pairs changed; written whole" in caplog.text, caplog.text
        full_run = run_pipeline(sources, twin, as_of=as_of, full=True)
        incremental, full = _mode(live), _mode(twin)
        assert (incremental["mode"], full["mode"]) == ("incremental", "full")
        # only the pairs touching a new or changed record were compared; the full run compared all
        assert 0 < night_run.match.compared_pairs < night_run.match.candidate_pairs / 2
        assert full_run.match.compared_pairs == full_run.match.candidate_pairs == night_run.match.candidate_pairs
        # only the components the changes touch were clustered again
        records = night_run.standardize.records
        assert records / 2 < night_run.cluster.carried_records < records
        assert full_run.cluster.carried_records == 0
        # and only the customers whose records changed had their golden record built
        assert 0 < night_run.golden.built < night_run.golden.golden_customers / 2
        assert full_run.golden.built == full_run.golden.golden_customers == night_run.golden.golden_customers
        changed = {name: c for name, c in incremental["changes"].items() if c["new"] + c["changed"] + c["deleted"]}
        assert set(changed) == {"crm", "billing", "web", "clinic"}, incremental["changes"]
        assert all(c["unchanged"] > 0 for c in incremental["changes"].values())
        for name in COMPARED:
            mine, theirs = _table(live, name), _table(twin, name)
            assert mine.equals(theirs), f"night {night}: {name} differs between the incremental and the full run"
        # the histories, patched with this night's versions and id events, hold what the full run wrote
        # whole (the two runs' ids and times aside)
        timeless = ["valid_from", "valid_to"]
        mine, theirs = _table(live, "golden_customers_history"), _table(twin, "golden_customers_history")
        assert mine.drop(timeless).equals(theirs.drop(timeless)), f"night {night}: the golden history differs"
        wrong_times = query(
            live,
            "SELECT count(*) FROM golden_customers_history h"
            " JOIN published_runs o ON o.run_id = h.valid_from_run"
            " LEFT JOIN published_runs c ON c.run_id = h.valid_to_run"
            " WHERE h.valid_from IS DISTINCT FROM o.published_at OR h.valid_to IS DISTINCT FROM c.published_at",
        )
        assert wrong_times == [(0,)], f"night {night}: versions opened or closed at another time than their run's"
        assert not re.search(r"(golden_customers_history|id_events) .*written whole", caplog.text), caplog.text
        assert _catalog(live) == _catalog(twin)  # nothing of the copied master is left over
        # the store's registry holds every record's published golden id, the same after either run;
        # the night wrote only the records whose id was new or changed (the others keep last_run)
        xref = _table(live, "customer_xref").select("source", "source_record_id", "golden_id")
        for master in (live, twin):
            with StateStore(master.parent / "state") as store:
                registry = store.registry()
            held = xref.join(registry, on=["source", "source_record_id"], how="left", suffix="_registry")
            same = held["golden_id"].eq_missing(held["golden_id_registry"])  # a record missing from it fails too
            assert same.all(), f"night {night}: the registry differs from customer_xref"
        with closing(sqlite3.connect(live.parent / "state" / "mdm_state.sqlite")) as con:
            written = con.execute("SELECT count(*) FROM xref_registry WHERE last_run = ?", (night_run.run_id,))
            assert 0 < written.fetchone()[0] < xref.height / 2


@pytest.mark.parametrize("tampered", [False, True])
def test_a_quiet_night_patches_match_pairs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tampered: bool
) -> None:
    """A night that changes a few records (one edited, one deleted, one added) leaves the record
    count in its step and most frequencies too: most pairs keep their scores, so match_pairs is
    patched, by the pairs whose rows changed, into what a full run writes (the pairs hashed and
    explained in slices of 40, as a large run does). `tampered`: a pair deleted from the last
    master by hand, so the patch does not hold and every pair is explained for a whole write."""
    monkeypatch.setattr("mdm.publish.tables.MAX_SLICE_PAIRS", 40)
    sources = _sample(tmp_path / "data", people=150)
    live, twin = tmp_path / "live" / "master.duckdb", tmp_path / "twin" / "master.duckdb"
    run_pipeline(sources, live, as_of=AS_OF)
    shutil.copytree(live.parent, twin.parent)
    if tampered:
        con = duckdb.connect(str(live))
        try:
            con.sql("DELETE FROM match_pairs WHERE rowid = 7")
        finally:
            con.close()
    path = tmp_path / "data" / "sources" / "crm.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8").removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    email = header.index("email")
    body[5][email] = "moved." + (body[5][email] or "none@example.org")
    del body[9]
    body.append(["N1" + body[20][0], *body[20][1:]])  # a new registration, a near copy of someone
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    caplog.set_level(logging.INFO, logger="mdm.publish.patch")
    run_pipeline(sources, live, as_of=AS_OF + dt.timedelta(days=1))
    patched = [r.getMessage() for r in caplog.records if r.getMessage().startswith("publish: match_pairs patched")]
    assert len(patched) == 1 and ("written whole" not in caplog.text or tampered), caplog.text
    found = re.search(r"(\d+) pairs inserted, (\d+) deleted", patched[0])
    assert found is not None
    inserted, deleted = int(found[1]), int(found[2])
    pairs = query(live, "SELECT count(*) FROM match_pairs")[0][0]
    assert 0 < inserted < pairs / 2 and 0 < deleted < pairs / 2
    run_pipeline(sources, twin, as_of=AS_OF + dt.timedelta(days=1), full=True)
    for name in COMPARED:
        assert _table(live, name).equals(_table(twin, name)), name
    whole = "match_pairs in the last master is not as the last run left it; written whole"
    assert (whole in caplog.text) == tampered
    if tampered:  # stored best first, as a whole write stores it
        stored = [_table(m, "match_pairs", in_stored_order=True) for m in (live, twin)]
        assert stored[0].equals(stored[1])


@pytest.mark.parametrize("held", [True, False])
def test_source_records_patch_hashes_only_the_records_a_night_touched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, held: bool
) -> None:
    """The records a night did not touch keep last night's source_records hashes; the others'
    rows are held to be hashed, unless they are more than a batch of the memory budget holds
    (`held` False: a budget of 100 rows a batch against a night that edits 120 rows): then
    every row is hashed as the file streams. The master is the full run's either way."""
    if not held:
        monkeypatch.setattr("mdm.publish.stage.STANDARDIZE_BYTES_PER_ROW", 10**15)  # 100 rows a batch
    sources = _sample(tmp_path / "data", people=250)
    live, twin = tmp_path / "live" / "master.duckdb", tmp_path / "twin" / "master.duckdb"
    run_pipeline(sources, live, as_of=AS_OF)
    shutil.copytree(live.parent, twin.parent)
    path = tmp_path / "data" / "sources" / "crm.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8").removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(body) > 120
    email = header.index("email")
    for row in body[:120]:
        row[email] = "moved." + (row[email] or "none@example.org")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    caplog.set_level(logging.INFO, logger="mdm.publish")
    run_pipeline(sources, live, as_of=AS_OF + dt.timedelta(days=1))
    assert ("every row hashed" in caplog.text) != held, caplog.text
    carried = re.search(r"(\d+) records' hashes carried, (\d+) records hashed", caplog.text)
    assert (carried is not None) == held, caplog.text
    if carried is not None:  # the 100-odd records the edits changed (or moved) hashed, the rest carried
        assert 100 < int(carried[2]) <= 130 < int(carried[1]), carried[0]
    assert "publish: source_records patched" in caplog.text
    run_pipeline(sources, twin, as_of=AS_OF + dt.timedelta(days=1), full=True)
    for name in COMPARED:
        assert _table(live, name).equals(_table(twin, name)), name


def _catalog(master: Path) -> list[tuple[str, str]]:
    """Every table, view and macro of a master, by kind and name."""
    return query(
        master,
        "SELECT 'table', table_name FROM duckdb_tables() UNION ALL"
        " SELECT 'view', view_name FROM duckdb_views() WHERE NOT internal UNION ALL"
        " SELECT function_type, function_name FROM duckdb_functions() WHERE NOT internal"
        " AND function_type IN ('macro', 'table_macro') ORDER BY ALL",
    )


def test_a_master_changed_since_its_run_is_not_patched_but_written_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows deleted from the published master by hand: the next run's patch would start from a master
    other than the one its hashes describe, so it writes the table whole (match_pairs: explaining
    every pair, which a patch does not), and publishes what a full run publishes."""
    sources = _sample(tmp_path / "data", people=60)
    live, twin = tmp_path / "live" / "master.duckdb", tmp_path / "twin" / "master.duckdb"
    run_pipeline(sources, live, as_of=AS_OF)
    shutil.copytree(live.parent, twin.parent)
    con = duckdb.connect(str(live))
    try:
        con.sql("DELETE FROM source_records WHERE source = 'crm'")
        con.sql("DELETE FROM match_pairs WHERE left_source = 'web'")
    finally:
        con.close()
    _night(tmp_path / "data", random.Random(3), 1)
    caplog.set_level(logging.INFO, logger="mdm.publish.patch")
    run_pipeline(sources, live, as_of=AS_OF + dt.timedelta(days=1))
    assert "source_records in the last master is not as the last run left it; written whole" in caplog.text
    # (in so small a sample the night moves every score: match_pairs is written whole either way)
    assert re.search(r"match_pairs.*written whole", caplog.text), caplog.text
    assert "golden_attribute_lineage patched" in caplog.text
    run_pipeline(sources, twin, as_of=AS_OF + dt.timedelta(days=1), full=True)
    for name in ("source_records", "golden_attribute_lineage", "match_pairs"):
        assert _table(live, name).equals(_table(twin, name)), name
    stored = [_table(m, "match_pairs", in_stored_order=True) for m in (live, twin)]
    assert stored[0].equals(stored[1])  # best first, as a whole write stores it


def test_a_changed_configuration_or_a_failed_run_means_a_full_run(tmp_path: Path) -> None:
    sources = _sample(tmp_path / "data", people=60)
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(sources, master, as_of=AS_OF)
    run_pipeline(sources, master, as_of=AS_OF)
    assert _mode(master)["mode"] == "incremental"
    assert sum(_mode(master)["changes"][s]["unchanged"] for s in ("crm", "web")) > 0
    # the carried records were written by a run the store does not know as published: not used
    meta = master.parent / "state" / "records" / "carry.json"
    written = json.loads(meta.read_text())
    meta.write_text(json.dumps(written | {"run_id": "20200101T000000Z-000000"}))
    run_pipeline(sources, master, as_of=AS_OF)
    assert _mode(master)["mode"] == "full"
    # another sources.yaml (a source's trust): the fingerprint differs, everything is standardized
    sources.write_text(sources.read_text().replace("trust: 3", "trust: 4", 1))
    run_pipeline(sources, master, as_of=AS_OF)
    assert _mode(master)["mode"] == "full"
    run_pipeline(sources, master, as_of=AS_OF, retrain=True)
    assert _mode(master)["mode"] == "full"


def test_a_source_file_unchanged_since_the_last_run_is_not_read_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the crm export changes: billing, web and clinic, and the events of clinic and web,
    are taken over from the last run's ingest (the same bytes; a file rewritten with the same bytes
    too), crm and its purchases are read; the master is the full run's, quarantine and counts
    included. A changed file is read again the next night."""
    sources = _sample(tmp_path / "data", people=60)
    live, twin = tmp_path / "live" / "master.duckdb", tmp_path / "twin" / "master.duckdb"
    run_pipeline(sources, live, as_of=AS_OF)
    files = tmp_path / "data" / "sources"
    _edit_csv(files / "crm.csv", "utf-8", ",", random.Random(5), 1)
    clinic = files / "clinic.csv"
    clinic.write_bytes(clinic.read_bytes())  # rewritten, same bytes
    shutil.copytree(live.parent, twin.parent)
    caplog.set_level(logging.INFO, logger="mdm.ingest.reuse")
    run_pipeline(sources, live, as_of=AS_OF + dt.timedelta(days=1))
    taken = {
        r.getMessage().split(":")[0].removeprefix("ingest ") for r in caplog.records if "taken over" in r.getMessage()
    }
    assert taken == {"billing", "web", "clinic", "visits", "survey"}
    run_pipeline(sources, twin, as_of=AS_OF + dt.timedelta(days=1), full=True)
    for name in [*COMPARED, "run_source_counts"]:
        assert _table(live, name).equals(_table(twin, name)), name
    assert _mode(live)["rows_quarantined"] == _mode(twin)["rows_quarantined"] > 0
    _edit_jsonl(files / "web_signups.jsonl", random.Random(6), 2)
    caplog.clear()
    run_pipeline(sources, live, as_of=AS_OF + dt.timedelta(days=2))
    taken = {
        r.getMessage().split(":")[0].removeprefix("ingest ") for r in caplog.records if "taken over" in r.getMessage()
    }
    assert taken == {"crm", "billing", "clinic", "visits", "purchases"}


def test_the_registry_a_run_leaves_is_the_store_s_and_the_next_night_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The golden id registry as a run leaves it beside its records is row for row the store's
    after the run; the next night reads it instead of the store's table, unless the store says
    another run wrote the registry last."""
    sources = _sample(tmp_path / "data", people=60)
    master = tmp_path / "out" / "master.duckdb"
    left = master.parent / "state" / "records" / "registry.parquet"
    keys = ["source", "source_record_id"]

    def stored() -> pl.DataFrame:
        with StateStore(master.parent / "state") as store:
            return store.registry().sort(keys)

    run_pipeline(sources, master, as_of=AS_OF)
    assert pl.read_parquet(left).sort(keys).equals(stored())
    read_from_store = []
    original = StateStore.registry

    def counted(self: StateStore) -> pl.DataFrame:
        read_from_store.append(1)
        return original(self)

    monkeypatch.setattr(StateStore, "registry", counted)
    for night in (1, 2):  # records edited, deleted and added: ids move, are new, are retired
        _edit_csv(tmp_path / "data" / "sources" / "crm.csv", "utf-8", ",", random.Random(night), night)
        run_pipeline(sources, master, as_of=AS_OF + dt.timedelta(days=night))
        assert _mode(master)["mode"] == "incremental"
        assert read_from_store == []
        monkeypatch.setattr(StateStore, "registry", original)
        assert pl.read_parquet(left).sort(keys).equals(stored())
        monkeypatch.setattr(StateStore, "registry", counted)
    with closing(sqlite3.connect(master.parent / "state" / "mdm_state.sqlite")) as con, con:
        con.execute("UPDATE meta SET value = 'another run' WHERE key = 'registry_run'")
    run_pipeline(sources, master, as_of=AS_OF + dt.timedelta(days=3))
    assert _mode(master)["mode"] == "incremental"
    assert read_from_store == [1]

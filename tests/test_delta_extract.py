"""Delta extracts (sources.yaml `extract: delta` with a `delete_marker`): a source that sends only
its added, changed and deleted rows publishes, night after night, the master the same data
delivered as whole extracts publishes; incremental and --full alike, after a failed run too."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import shutil
from pathlib import Path

import polars as pl
import pytest

import mdm.publish.stage
from mdm.config.errors import ConfigError
from mdm.config.sources import SourceConfig, load_sources
from mdm.incremental.bases import bases_root
from mdm.ingest.connectors import SourceReadError
from mdm.ingest.source import marked_deleted
from mdm.pipeline import PipelineError, run_pipeline
from mdm.sensitive import FieldCipher, load_data_key
from tests.conftest import AS_OF, query
from tests.test_incremental import COMPARED, _mode, _sample, _table

# the tables a reader trusts, compared between the delta and the whole deliveries (row numbers
# aside: a delta source's record keeps the row number of the delivery that last changed it)
AGAINST_FULL = [
    "golden_customers",
    "customer_xref",
    "source_records",
    "golden_attribute_lineage",
    "match_pairs",
    "review_queue",
    "customer_tags",
    "events_purchases",
]
DELTA_CRM = "    path: sources/crm_delta.csv\n    extract: delta\n    delete_marker: {column: op, value: D}\n"


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path.write_text(out.getvalue(), encoding="utf-8")


class Crm:
    """The crm source as its system holds it (record id -> row), delivered two ways each night:
    whole (`crm.csv`, sorted by id) and as the night's delta (`crm_delta.csv`, column op: U or D)."""

    def __init__(self, sources: Path):
        self.header, body = _rows(sources / "crm.csv")
        self.width = len(self.header)
        self.held: dict[str, list[str]] = {}
        for row in body:  # which of them were accepted: `accepted`, after the first night
            self.held.setdefault(row[0], row)
        # the first night both deliveries carry every row, the unusable ones too (quarantined alike)
        self.first = sorted(body, key=lambda r: r[0])
        self.delta: list[list[str]] = [[*r, "U"] for r in self.first]
        self.bad: list[str] | None = None

    def accepted(self, master: Path) -> None:
        """Keep the records the first night accepted (the others are quarantined either way)."""
        ids = {r for (r,) in query(master, "SELECT source_record_id FROM customer_xref WHERE source = 'crm'")}
        self.held = {k: v for k, v in self.held.items() if k in ids}

    def blank(self, record_id: str, op: str) -> list[str]:
        return [record_id, *[""] * (self.width - 1), op]

    def night(self, rng: random.Random, night: int) -> None:
        """Edits, deletions, additions, a deletion of an id never delivered and a row without any
        identity field (quarantined either way)."""
        delta: list[list[str]] = []
        email = self.header.index("email")
        chosen = rng.sample(sorted(self.held), 8)
        for record_id in chosen[:5]:
            row = list(self.held[record_id])
            row[email] = f"moved{night}.{row[email] or 'none@example.org'}"
            self.held[record_id] = row
            delta.append([*row, "U"])
        for record_id in chosen[5:]:
            del self.held[record_id]
            delta.append(self.blank(record_id, "D"))
        for i, record_id in enumerate(rng.sample(sorted(self.held), 3)):  # new registrations, near copies
            row = [f"N{night}{i}{record_id}", *self.held[record_id][1:]]
            self.held[row[0]] = row
            delta.append([*row, "U"])
        delta.append(self.blank(f"GONE{night}", "D"))
        self.bad = [f"BAD{night}", *[""] * (self.width - 1)]
        delta.append([*self.bad, "U"])
        rng.shuffle(delta)
        self.delta, self.first = delta, []

    def deliver(self, whole: Path, deltas: Path) -> None:
        rows = self.first or [*sorted(self.held.values(), key=lambda r: r[0]), *([self.bad] if self.bad else [])]
        _write(whole / "sources" / "crm.csv", self.header, rows)
        _write(deltas / "sources" / "crm_delta.csv", [*self.header, "op"], self.delta)


def _two_deliveries(tmp_path: Path, people: int) -> tuple[Path, Path, Crm]:
    """The same sample twice: crm as whole extracts (`whole`), and as deltas (`deltas`)."""
    whole = _sample(tmp_path / "whole", people).parent
    deltas = tmp_path / "deltas"
    shutil.copytree(whole, deltas)
    sources = deltas / "sources.yaml"
    sources.write_text(sources.read_text().replace("    path: sources/crm.csv\n", DELTA_CRM, 1))
    return whole, deltas, Crm(whole / "sources")


def _without_row_numbers(master: Path, name: str) -> pl.DataFrame:
    frame = _table(master, name)
    frame = frame.drop([c for c in frame.columns if c == "row_number"])
    return frame.sort(frame.columns, nulls_last=True) if frame.height else frame


def _crm_counts(master: Path) -> tuple[int, ...]:
    return query(
        master,
        "SELECT rows_read, rows_accepted, rows_deleted, rows_quarantined, records, extract FROM run_source_counts"
        " WHERE source = 'crm'",
    )[0]


def test_delta_nights_publish_the_whole_extracts_master(tmp_path: Path) -> None:
    rng = random.Random(7)
    whole, deltas, crm = _two_deliveries(tmp_path, people=150)
    full_master, delta_master = whole / "out" / "master.duckdb", deltas / "out" / "master.duckdb"
    for night in range(4):
        if night == 1 or night == 3:
            crm.night(rng, night)  # night 2 delivers night 1's delta again: nothing changes
        crm.deliver(whole, deltas)
        as_of = AS_OF + dt.timedelta(days=night)
        if night:  # the delta store and master again, run --full
            shutil.copytree(delta_master.parent, tmp_path / f"twin{night}")
        run_pipeline(whole / "sources.yaml", full_master, as_of=as_of)
        summary = run_pipeline(deltas / "sources.yaml", delta_master, as_of=as_of)
        if night == 0:
            crm.accepted(delta_master)
        for name in AGAINST_FULL:
            mine, theirs = _without_row_numbers(delta_master, name), _without_row_numbers(full_master, name)
            assert mine.equals(theirs), f"night {night}: {name} differs between the delta and the whole extracts"
        # the purchases name crm records, most of them from the base after the first night
        assert query(delta_master, "SELECT count(*) FROM events_purchases WHERE golden_id IS NOT NULL")[0][0] > 30
        read, accepted, deleted, quarantined, records, extract = _crm_counts(delta_master)
        assert (read, extract) == (accepted + deleted + quarantined, "delta")
        assert records == len(crm.held)
        if night == 0:
            continue
        assert _mode(delta_master)["mode"] == "incremental"
        changes = summary.standardize.changes["crm"]
        if night == 2:  # the same delta again: its upserts change nothing, its deletions are unknown now
            assert (accepted, deleted, quarantined) == (8, 0, 5)
            assert (changes.new, changes.changed, changes.deleted) == (0, 0, 0)
        else:
            assert (accepted, deleted, quarantined) == (8, 3, 2)
            assert (changes.new, changes.changed, changes.deleted) == (3, 5, 3)
        gone = f"GONE{1 if night == 2 else night}"
        reason = f"delete marker for record id {gone!r}, which is not among the source's records (never delivered,"
        assert (gone, [reason + " or deleted already)"]) in query(
            delta_master, "SELECT source_record_id, reasons FROM quarantine WHERE source = 'crm'"
        )
        twin = tmp_path / f"twin{night}" / "master.duckdb"
        run_pipeline(deltas / "sources.yaml", twin, as_of=as_of, full=True)
        assert _mode(twin)["mode"] == "full"
        for name in COMPARED:
            assert _table(delta_master, name).equals(_table(twin, name)), f"night {night}: {name}: --full differs"


def test_a_failed_run_changes_nothing_and_the_rerun_publishes_the_same_master(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(3)
    _, deltas, crm = _two_deliveries(tmp_path, people=60)
    master, sources = deltas / "out" / "master.duckdb", deltas / "sources.yaml"
    crm.deliver(tmp_path / "whole", deltas)
    first = run_pipeline(sources, master, as_of=AS_OF)
    crm.accepted(master)
    crm.night(rng, 1)
    crm.deliver(tmp_path / "whole", deltas)
    reference = tmp_path / "reference" / "master.duckdb"
    shutil.copytree(master.parent, reference.parent)
    run_pipeline(sources, reference, as_of=AS_OF)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    # fails after the run left its records and bases, before the store says it was published
    monkeypatch.setattr(mdm.publish.stage, "publish_master", broken)
    with pytest.raises(PipelineError, match="disk full"):
        run_pipeline(sources, master, as_of=AS_OF)
    monkeypatch.undo()
    assert len(list(bases_root(master.parent / "state").iterdir())) == 2  # the last published run's, and its own
    rerun = run_pipeline(sources, master, as_of=AS_OF)
    assert sorted(p.name for p in bases_root(master.parent / "state").iterdir()) == [rerun.run_id]
    assert first.run_id != rerun.run_id
    for name in [*COMPARED, "run_source_counts"]:
        assert _table(master, name).equals(_table(reference, name)), f"{name} differs after the failed run"


TINY_HEADER = "customer_no,first_name,last_name,birth_date,gender,email,phone,address_line1,city,state,zip,updated_at"


def _marked(record_id: str, marker: str) -> str:
    """A tiny crm delta row that only marks `record_id` deleted (`marker` in the last column)."""
    return ",".join([record_id, *[""] * (TINY_HEADER.count(","))] + [marker]) + "\n"


def _with_national_ids(tiny: Path) -> Path:
    """The tiny fixture's crm with a national id (column ssn), read as a delta extract from crm_delta.csv."""
    crm = tiny.parent / "crm.csv"
    text = crm.read_text(encoding="utf-8-sig").splitlines()
    rows = [line.split(",") for line in text]
    width = len(rows[0])
    ssns = {"C1": "123-45-6789", "C2": "987-65-4321", "C6": "555-12-3456"}
    crm.write_text(
        "\n".join(",".join([*r[:width], ssns.get(r[0], "") if i else "ssn", *r[width:]]) for i, r in enumerate(rows))
        + "\n"
    )
    text = tiny.read_text()
    tiny.write_text(text.replace("      phone: phone\n", "      phone: phone\n      national_id: ssn\n", 1))
    return tiny


def _to_delta(tiny: Path, marker: str) -> None:
    """The tiny fixture's crm read as a delta extract from crm_delta.csv, with `marker` as its delete_marker."""
    settings = f"    path: crm_delta.csv\n    extract: delta\n    delete_marker: {marker}\n"
    tiny.write_text(tiny.read_text().replace("    path: crm.csv\n", settings, 1))


def test_sensitive_values_are_tokens_in_the_base_and_read_back_in_clear(
    tiny: Path, tmp_path: Path, data_key: str
) -> None:
    sources = _with_national_ids(tiny)
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(sources, master, as_of=AS_OF)  # a whole extract first: its records are the base
    _to_delta(sources, "is_deleted")
    (tiny.parent / "crm_delta.csv").write_text(
        TINY_HEADER + ",ssn,is_deleted\n"
        "C2,Mary,Smith,07/08/1982,F,mary.smith@gmail.com,(415) 867-2671,12 Oak St,San Francisco,CA,94110,"
        "2026-06-01,987-65-4321,no\n" + _marked("C6", ",YES")
    )
    run_pipeline(sources, master, as_of=AS_OF, allow_shrink=["crm"])
    state = master.parent / "state"
    (base,) = bases_root(state).glob("*/staged_crm.parquet")
    assert b"123-45-6789" not in base.read_bytes() and b"987-65-4321" not in base.read_bytes()
    stored = pl.read_parquet(base).sort("source_record_id")
    assert stored["source_record_id"].to_list() == ["C1", "C2"]
    assert stored["national_id"].str.starts_with("enc:v1:").all()
    # C1 came from the base: decrypted when read, encrypted once when published (not a token of a token)
    key = load_data_key()
    assert key is not None
    cipher = FieldCipher(key)
    published = dict(query(master, "SELECT source_record_id, national_id_raw FROM source_records WHERE source = 'crm'"))
    assert published == {"C1": cipher.encrypt("123-45-6789"), "C2": cipher.encrypt("987-65-4321")}


def test_a_truthy_marker_and_the_shrink_check(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)  # crm: C1, C2, C6 accepted
    _to_delta(tiny, "is_deleted")
    delta = tiny.parent / "crm_delta.csv"
    header = TINY_HEADER + ",is_deleted\n"
    delta.write_text(header + _marked(" C6 ", " true ") + _marked("C1", "Yes") + _marked("C2", "0"))
    with pytest.raises(PipelineError, match=r"source 'crm' has 1 records with its delta applied against 3"):
        run_pipeline(tiny, master, as_of=AS_OF)
    summary = run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["crm"])
    (crm,) = [s for s in summary.ingest.sources if s.source == "crm"]
    # C2's row is marked "0": not a deletion, an update whose every identity field is empty (quarantined)
    assert (crm.rows_read, crm.rows_accepted, crm.rows_deleted, crm.rows_quarantined, crm.records) == (3, 0, 2, 1, 1)
    assert query(master, "SELECT source_record_id FROM customer_xref WHERE source = 'crm'") == [("C2",)]
    delta.write_text(header)  # nothing changed tonight: an empty delta is no shrink
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    assert [s.records for s in summary.ingest.sources if s.source == "crm"] == [1]


def test_a_first_delta_without_records_is_refused(tiny: Path, tmp_path: Path) -> None:
    _to_delta(tiny, "is_deleted")
    (tiny.parent / "crm_delta.csv").write_text(TINY_HEADER + ",is_deleted\n" + _marked("C1", "y"))
    with pytest.raises(PipelineError, match="delta source 'crm' has no records at all"):
        run_pipeline(tiny, tmp_path / "out" / "master.duckdb", as_of=AS_OF)


def test_a_bad_row_leaves_its_record_as_it_was(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    before = query(master, "SELECT given_name FROM source_records WHERE source = 'crm' AND source_record_id = 'C2'")
    _to_delta(tiny, "{column: op, value: D}")
    (tiny.parent / "crm_delta.csv").write_text(TINY_HEADER + ",op\nC2,,,,F,,,,,,,2026-06-01,U\n")
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    (crm,) = [s for s in summary.ingest.sources if s.source == "crm"]
    assert (crm.rows_read, crm.rows_accepted, crm.rows_quarantined, crm.records) == (1, 0, 1, 3)
    after = query(master, "SELECT given_name FROM source_records WHERE source = 'crm' AND source_record_id = 'C2'")
    assert after == before == [("Mary",)]


def test_a_base_that_lacks_a_field_mapped_since_asks_for_one_full_extract(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    _to_delta(tiny, "{column: op, value: D}")
    text = tiny.read_text()
    tiny.write_text(text.replace("      phone: phone\n", "      phone: phone\n      middle_name: middle\n", 1))
    header = TINY_HEADER + ",middle"
    (tiny.parent / "crm_delta.csv").write_text(header + ",op\n" + _marked("C6", ",D"))
    with pytest.raises(PipelineError, match=r"it had no middle_name.*set `extract: full` for crm for one night"):
        run_pipeline(tiny, master, as_of=AS_OF)
    # one night of a whole extract (with the new column), then deltas again
    (tiny.parent / "crm.csv").write_text(
        header + "\nC1,Robert,Smith,03/04/1980,M,robert.smith@gmail.com,(415) 867-2671,12 Oak St,San Francisco,CA,"
        "94110,2026-01-05,J\nC6,Ann,Lee,02/03/1990,F,ann.lee@example.com,(617) 555-0142,9 Elm Ave,Boston,MA,02110,"
        "2026-04-01,\n"
    )
    delta_settings = "    path: crm_delta.csv\n    extract: delta\n    delete_marker: {column: op, value: D}\n"
    tiny.write_text(tiny.read_text().replace(delta_settings, "    path: crm.csv\n", 1))
    run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["crm"])
    _to_delta(tiny, "{column: op, value: D}")
    run_pipeline(tiny, master, as_of=AS_OF, allow_shrink=["crm"])
    assert query(master, "SELECT source_record_id, middle_name_raw FROM source_records WHERE source = 'crm'") == [
        ("C1", "J")
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [  # the line of the setting at fault, or of the source when a setting is missing
        ("    delete_marker: op\n", "line 7: sources[0].delete_marker: delete_marker applies to delta extracts only"),
        ("    extract: delta\n", "line 4: sources[0].delete_marker: a delta source needs `delete_marker`"),
        (
            "    extract: delta\n    delete_marker: zip\n",
            "line 8: sources[0].delete_marker: delete_marker.column 'zip' is",
        ),
        ("    extract: delta\n    delete_marker: customer_no\n", "delete_marker.column 'customer_no' is also mapped"),
        ("    extract: delta\n    delete_marker: {column: op, value: ' '}\n", "delete_marker.value is blank"),
        (
            "    extract: deltas\n    delete_marker: op\n",
            "line 7: sources[0].extract: Input should be 'full' or 'delta'",
        ),
        (
            "    extract: delta\n    delete_marker: {column: op, valu: D}\n",
            "line 8: sources[0].delete_marker.valu: Extra inputs are not permitted",
        ),
    ],
)
def test_extract_settings_are_checked_with_their_line(tiny: Path, setting: str, message: str) -> None:
    tiny.write_text(tiny.read_text().replace("    path: crm.csv\n", "    path: crm.csv\n" + setting, 1))
    with pytest.raises(ConfigError) as caught:
        load_sources(tiny)
    assert message in str(caught.value), str(caught.value)
    assert len(caught.value.problems) == 1


def test_a_marker_column_missing_from_the_file_is_named(tiny: Path, tmp_path: Path) -> None:
    _to_delta(tiny, "{column: op, value: D}")
    shutil.copyfile(tiny.parent / "crm.csv", tiny.parent / "crm_delta.csv")
    config = load_sources(tiny)
    assert config.sources[0].delete_marker is not None and config.sources[0].delete_marker.value == "D"
    with pytest.raises(PipelineError, match="op") as caught:
        run_pipeline(tiny, tmp_path / "out" / "master.duckdb", as_of=AS_OF)
    assert isinstance(caught.value.__cause__, SourceReadError)


MARKERS = [
    # description, delete_marker, the column's values, which rows are deletions
    ("a column alone: true, 1, yes or y in any case", "gone", ["true", " Y ", "1", "YES", "t"], [1, 1, 1, 1, 0]),
    ("a column alone: anything else is an upsert", "gone", ["false", "0", "", None, "no"], [0, 0, 0, 0, 0]),
    (
        "a value: that value, spaces aside",
        {"column": "gone", "value": "D"},
        ["D", " D ", "d", "U", None],
        [1, 1, 0, 0, 0],
    ),
    ("a number as the value", {"column": "gone", "value": 9}, ["9", "9.0", "1"], [1, 0, 0]),
]


@pytest.mark.parametrize(("description", "marker", "values", "expected"), MARKERS, ids=[m[0] for m in MARKERS])
def test_which_rows_a_marker_deletes(
    description: str, marker: object, values: list[str | None], expected: list[int]
) -> None:
    source = SourceConfig.model_validate(
        {
            "name": "crm",
            "kind": "csv",
            "path": "crm.csv",
            "record_id": "id",
            "extract": "delta",
            "delete_marker": marker,
            "fields": {"given_name": "first"},
        }
    )
    frame = pl.DataFrame({"gone": values}, schema={"gone": pl.String})
    assert marked_deleted(source, frame).cast(pl.Int64).to_list() == expected, description

"""Event sources (sources.yaml `events:`, mdm/ingest/events.py) on the tiny fixture plus five
visits: one for C1 (Robert Smith), one naming W5 (a web record) as a crm record, one for an
unknown customer, one for C4 (itself quarantined: no identity), one with 31 February, one with a
bad due date, an exact repeat of the first, and one each without a visit id, a customer or a day;
web_visits has one visit of W5."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mdm.config.errors import ConfigError
from mdm.config.sources import load_sources
from mdm.pipeline import run_pipeline
from tests.conftest import AS_OF, query

VISITS = """visit_id,customer,day,department,due
V1,C1,2026-10-01,rehabilitation,
V2,W5,2026-10-02,general,2027-03-01
V3,C99,2026-10-03,general,
V4,C4,2026-10-04,general,
V5,C1,2026-02-31,general,
V6,C2,2026-10-05,general,2027-13-01
V1,C1,2026-10-01,rehabilitation,
,C2,2026-10-06,general,
V9,,2026-10-07,general,
V10,C2,,general,
"""
EVENTS_YAML = """events:
  - name: visits
    kind: csv
    path: visits.csv
    record_id: visit_id
    person: {source: crm, record_id: customer}
    event_time: {column: day, format: "%Y-%m-%d"}
    columns:
      department: department
      due_date: {column: due, format: "%Y-%m-%d"}
"""


@pytest.fixture
def with_events(tiny: Path) -> Path:
    (tiny.parent / "visits.csv").write_text(VISITS)
    # W5 is a web record: a second event source keyed to web
    web_events = EVENTS_YAML.replace("name: visits", "name: web_visits").replace("source: crm", "source: web")
    web_events = web_events.replace("path: visits.csv", "path: web_visits.csv").replace("events:\n", "")
    (tiny.parent / "web_visits.csv").write_text("visit_id,customer,day,department,due\nX1,W5,2026-10-02,general,\n")
    tiny.write_text(tiny.read_text() + EVENTS_YAML + web_events)
    return tiny


def test_events_are_published_with_their_golden_customer_and_bad_rows_are_quarantined(
    with_events: Path, tmp_path: Path
) -> None:
    master = tmp_path / "out" / "master.duckdb"
    summary = run_pipeline(with_events, master, as_of=AS_OF)
    [visits, web_visits] = summary.ingest.events
    assert (visits.rows_read, visits.rows_accepted, visits.rows_quarantined) == (10, 1, 9)
    assert (web_visits.rows_read, web_visits.rows_accepted) == (1, 1)
    robert = query(master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'C1'")[0][0]
    assert query(master, "SELECT event_id, golden_id, person_record_id, event_time, department FROM events_visits") == [
        ("V1", robert, "C1", dt.date(2026, 10, 1), "rehabilitation")
    ]
    reasons = dict(query(master, "SELECT row_number, reasons FROM quarantine WHERE source = 'visits' ORDER BY 1"))
    assert reasons == {
        2: ["person record crm:'W5' is not in source crm"],  # W5 is a web record
        3: ["person record crm:'C99' is not in source crm"],
        4: ["person record crm:'C4' was quarantined (see its row in quarantine)"],
        5: ["event time '2026-02-31' is not a date in the format %Y-%m-%d"],
        6: ["due_date '2027-13-01' is not a date in the format %Y-%m-%d"],
        7: ["exact duplicate of row 1 (record id 'V1')"],
        8: ["no event id"],
        9: ["no crm record id (column customer)"],
        10: ["no event time (column day)"],
    }
    assert query(
        master, "SELECT source, rows_read, rows_accepted, rows_quarantined FROM run_source_counts WHERE role = 'events'"
    ) == [("visits", 10, 1, 9), ("web_visits", 1, 1, 0)]


def test_an_event_source_must_name_a_person_source(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {name: crm, kind: csv, path: a.csv, record_id: id, fields: {email: e}}\n"
        "events:\n  - {name: visits, kind: csv, path: v.csv, record_id: id, person: {source: clinic, record_id: p},"
        " event_time: {column: d, format: '%Y-%m-%d'}, columns: {golden_id: g}}\n"
        "  - {name: crm, kind: csv, path: v.csv, record_id: id, person: {source: crm, record_id: p},"
        " event_time: d}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    text = str(caught.value)
    assert "column name(s) ['golden_id']" in text
    assert "event_time needs one `column` and its `format`" in text
    problems = caught.value.problems
    assert len(problems) == 2, problems


def test_person_source_names_must_exist_for_events(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {name: crm, kind: csv, path: a.csv, record_id: id, fields: {email: e}}\n"
        "events:\n  - {name: visits, kind: csv, path: v.csv, record_id: id, person: {source: clinic, record_id: p},"
        " event_time: {column: d, format: '%Y-%m-%d'}}\n"
    )
    with pytest.raises(ConfigError, match=r"person.source 'clinic' is not a source; use one of: crm"):
        load_sources(path)


def test_the_bundled_sample_events_are_what_the_generator_makes(tmp_path: Path) -> None:
    import shutil

    from mdm.sample.events import generate_events
    from tests.conftest import REPO

    sample = tmp_path / "sample"
    shutil.copytree(REPO / "data" / "sample", sample)
    counts = generate_events(sample)
    assert counts == {"visits": 1520, "purchases": 411, "survey_answers": 538}
    for name in ("visits.csv", "purchases.csv", "survey_answers.jsonl"):
        made = (sample / "sources" / name).read_bytes()
        assert made == (REPO / "data" / "sample" / "sources" / name).read_bytes(), f"regenerate {name}: mdm sample"

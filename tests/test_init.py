"""`mdm init` and a new user's own file (issue 16 "done when"): a 30-row CSV with ISO timestamps,
day-first dates and "Family, Given" names goes from `mdm init` to a published master with no value
silently lost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from click.testing import CliRunner

from mdm.cli import main
from tests.conftest import AS_OF, query

FAMILY = ["Okafor", "Lindqvist", "García", "O'Brien", "Nguyen", "Müller", "Smith", "Kowalski", "Haddad", "Tanaka"]
GIVEN = ["Ada", "Björn", "Lucía", "Seán", "Minh", "Jürgen", "Mary", "Zofia", "Rami", "Yuki"]


def people_csv(path: Path) -> None:
    """30 people: "Family, Given" names, dd/mm/yyyy birth dates, ISO stamps with Z, fractions, offsets."""
    rows = ["patient_id,name,dob,email,mobile,last_modified"]
    for i in range(30):
        born = dt.date(1950 + i, 1 + i % 12, 1 + (i * 7) % 28)
        stamp = dt.datetime(2026, 1 + i % 10, 1 + i % 27, 8, i, i)
        written = [f"{stamp:%Y-%m-%dT%H:%M:%S}Z", f"{stamp:%Y-%m-%dT%H:%M:%S}.123Z", f"{stamp:%Y-%m-%dT%H:%M:%S}+01:00"]
        name = f"{FAMILY[i % 10]}, {GIVEN[(i + i // 10) % 10]}"
        rows.append(f'P{i:03d},"{name}",{born:%d/%m/%Y},p{i}@example.org,+1 415 867 {2600 + i},{written[i % 3]}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_init_maps_a_users_file_and_the_run_loses_nothing(tmp_path: Path) -> None:
    people_csv(tmp_path / "people.csv")
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "proj"), "--csv", str(tmp_path / "people.csv")])
    assert result.exit_code == 0 and "every column was mapped" in result.output, result.output
    sources = tmp_path / "proj" / "sources.yaml"
    [source] = yaml.safe_load(sources.read_text())["sources"]
    assert source["record_id"] == "patient_id" and source["updated_at"] == "last_modified"
    assert source["fields"] == {
        "full_name": {"column": "name", "format": "family, given middle"},
        "birth_date": {"column": "dob", "format": "%d/%m/%Y"},
        "email": "email",
        "phone": "mobile",
    }
    assert runner.invoke(main, ["check", "--sources", str(sources)]).exit_code == 0
    master = tmp_path / "proj" / "out" / "master.duckdb"
    args = ["run", "--orchestrator", "local", "--sources", str(sources), "--master", str(master)]
    result = runner.invoke(main, [*args, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert query(master, "SELECT rows_read, rows_accepted, rows_quarantined FROM run_source_counts") == [(30, 30, 0)]
    assert query(master, "SELECT sum(flagged) FROM field_profile") == [(0,)]  # nothing nulled or flagged
    assert query(
        master,
        "SELECT count(*) FROM source_records WHERE birth_date IS NULL OR given_name IS NULL"
        " OR family_name IS NULL OR source_updated_at IS NULL",
    ) == [(0,)]
    assert query(
        master,
        "SELECT family_name, given_name, birth_date, source_updated_at FROM source_records"
        " WHERE source_record_id = 'P005'",
    ) == [("Müller", "Jürgen", dt.date(1955, 6, 8), dt.datetime(2026, 6, 6, 7, 5, 5))]  # written 08:05:05+01:00
    # the generic tags only: no hospital tag skipped for want of a visits table
    tags = query(master, "SELECT tag, status FROM tag_definitions ORDER BY tag")
    assert tags and all(status != "skipped" for _, status in tags)


def test_init_never_overwrites(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path)]).exit_code == 0
    again = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert again.exit_code == 1 and "exists already" in again.output

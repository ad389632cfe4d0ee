"""`mdm check` opens every source before any run (issue 16): it passed a missing file, a wrong
column name, a date format `%d/%q/%Y` and a name format "family, given"; the run then failed 16 s in
with three tracebacks, or published every birth date nulled."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mdm.cli import main


def check(sources: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--sources", str(sources)])
    return result.exit_code, result.output


def test_check_opens_every_source_and_reports_it(tiny: Path) -> None:
    code, output = check(tiny)
    assert code == 0, output
    assert (
        "  crm (csv, utf-8-sig detected): 7 rows, 3 accepted, 4 quarantined; least clean: birth_date 67%, email 67%"
        in output
    )
    assert "  web (jsonl): 5 rows, 3 accepted, 2 quarantined;" in output
    assert "dates: birth_date (%m/%d/%Y), updated_at (%Y-%m-%d)" in output


@pytest.mark.parametrize(
    ("description", "old", "new", "message"),
    [
        ("missing file", "path: crm.csv", "path: crm_2026.csv", "source 'crm': file not found: "),
        (
            "wrong column",
            "given_name: first_name",
            "given_name: firstname",
            "column(s) firstname (did you mean 'first_name'?) declared in sources.yaml are not in the source",
        ),
        (
            "date format",
            'birth_date: {column: birth_date, format: "%m/%d/%Y"}',
            'birth_date: {column: birth_date, format: "%d/%q/%Y"}',
            "format '%d/%q/%Y' has %q, not a strptime directive",
        ),
        (
            "name format",
            'format: "given middle family"',
            'format: "family, given"',
            "fields.full_name: format 'family, given' is not a name order; use one of \"family, given middle\"",
        ),
        (
            "dates in another format",
            'birth_date: {column: birth_date, format: "%m/%d/%Y"}',
            'birth_date: {column: birth_date, format: "%Y-%m-%d"}',
            "source 'crm': 3 of 3 birth_date values do not parse with format '%Y-%m-%d' (e.g. '03/04/1980'",
        ),
    ],
)
def test_check_refuses_what_the_run_would_fail_on(
    tiny: Path, description: str, old: str, new: str, message: str
) -> None:
    text = tiny.read_text()
    assert old in text, description
    tiny.write_text(text.replace(old, new, 1))
    code, output = check(tiny)
    assert code == 1 and "Traceback" not in output, description
    assert message in " ".join(output.split()), (description, output)


def test_config_only_does_not_open_the_sources(tiny: Path) -> None:
    (tiny.parent / "crm.csv").unlink()
    result = CliRunner().invoke(main, ["check", "--sources", str(tiny), "--config-only"])
    assert result.exit_code == 0 and "sources opened" not in result.output

"""Dates and timestamps without a declared format are ISO 8601; a format with %z works; a field
whose values mostly fail its format fails the run naming source, field, format and samples; and
updated_at's flags are in field_profile like any field's (issue 16 "Dates"; issue 20's ISO case).

Regression cases from issue 16: `updated_at` declared without a format fell back to %Y-%m-%d and
nulled 28 of 30 ISO timestamps with exit 0; with `%Y-%m-%dT%H:%M:%S%z` the run crashed in the stale
stage (datetime[us] against datetime[us, UTC]); a date format `%d/%q/%Y` published every birth date
nulled with exit 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mdm.pipeline import PipelineError, run_pipeline
from mdm.standardize.date import parse_dates
from tests.conftest import AS_OF, query

D = dt.datetime


@pytest.mark.parametrize(
    ("description", "text", "fmt", "as_timestamp", "as_date"),
    [
        ("ISO date", "2025-08-12", None, D(2025, 8, 12), dt.date(2025, 8, 12)),
        ("Z", "2025-08-12T16:03:00Z", None, D(2025, 8, 12, 16, 3), dt.date(2025, 8, 12)),
        ("fraction and Z", "2025-08-12T16:03:00.123Z", None, D(2025, 8, 12, 16, 3, 0, 123000), dt.date(2025, 8, 12)),
        ("offset, to UTC", "2025-08-12T16:03:00+01:00", None, D(2025, 8, 12, 15, 3), dt.date(2025, 8, 12)),
        (
            "offset past midnight: the date as written",
            "2025-08-12T00:30:00+02:00",
            None,
            D(2025, 8, 11, 22, 30),
            dt.date(2025, 8, 12),
        ),
        (
            "offset without colon",
            "2025-08-12T16:03:00.5-0500",
            None,
            D(2025, 8, 12, 21, 3, 0, 500000),
            dt.date(2025, 8, 12),
        ),
        ("space, no seconds", "2025-08-12 16:03", None, D(2025, 8, 12, 16, 3), dt.date(2025, 8, 12)),
        ("no offset: taken as UTC", "2025-08-12T16:03:00", None, D(2025, 8, 12, 16, 3), dt.date(2025, 8, 12)),
        ("declared %z", "2025-08-12T16:03:00+0200", "%Y-%m-%dT%H:%M:%S%z", D(2025, 8, 12, 14, 3), dt.date(2025, 8, 12)),
        (
            "declared %z with Z",
            "2025-08-12T16:03:00Z",
            "%Y-%m-%dT%H:%M:%S%z",
            D(2025, 8, 12, 16, 3),
            dt.date(2025, 8, 12),
        ),
        ("day first is not ISO", "12/08/2025", None, None, None),
        ("no such day", "2025-02-30", None, None, None),
        ("no such hour", "2025-08-12T25:00:00Z", None, None, None),
    ],
)
def test_dates_without_a_format_are_iso_8601(
    description: str, text: str, fmt: str | None, as_timestamp: D | None, as_date: dt.date | None
) -> None:
    stamps, stamp_flags = parse_dates(pl.Series([text]), fmt, pl.Datetime)
    dates, _ = parse_dates(pl.Series([text]), fmt, pl.Date)
    assert (stamps[0], dates[0]) == (as_timestamp, as_date), description
    assert (stamp_flags[0].to_list() == []) == (as_timestamp is not None)


def _web_updated_at(tiny: Path, spec: str, stamps: list[str]) -> None:
    sources = tiny.read_text().replace('updated_at: {column: created_at, format: "%Y-%m-%dT%H:%M:%SZ"}', spec)
    tiny.write_text(sources)
    web = tiny.parent / "web.jsonl"
    text = web.read_text()
    for old, new in zip(("2026-06-01T10:00:00Z", "2026-06-02T11:30:00Z", "2026-06-03T08:00:00Z"), stamps, strict=True):
        text = text.replace(old, new)
    web.write_text(text)


@pytest.mark.parametrize(
    ("spec", "first", "first_utc"),
    [
        ("updated_at: created_at", "2026-06-01T10:00:00.123Z", D(2026, 6, 1, 10, 0, 0, 123000)),  # fractions too
        (
            'updated_at: {column: created_at, format: "%Y-%m-%dT%H:%M:%S%z"}',
            "2026-06-01T12:00:00+02:00",
            D(2026, 6, 1, 10, 0),
        ),
    ],
)
def test_iso_timestamps_keep_their_dates_with_or_without_a_format(
    tiny: Path, tmp_path: Path, spec: str, first: str, first_utc: D
) -> None:
    _web_updated_at(tiny, spec, [first, "2026-06-02T11:30:00+01:00", "2026-06-03T08:00:00Z"])
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)  # no crash in the stale stage
    rows = query(
        master,
        "SELECT source_record_id, source_updated_at FROM customer_xref WHERE source = 'web' ORDER BY 1",
    )
    assert rows == [
        ("W1", first_utc),
        ("W2", D(2026, 6, 2, 10, 30)),
        ("W5", D(2026, 6, 3, 8, 0)),
    ]


def test_updated_at_flags_are_in_field_profile(tiny: Path, tmp_path: Path) -> None:
    _web_updated_at(tiny, "updated_at: created_at", ["2026-06-01T10:00:00Z", "yesterday", "2026-06-03T08:00:00Z"])
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    assert query(
        master,
        "SELECT records, present, clean, flagged FROM field_profile WHERE source = 'web' AND field = 'updated_at'",
    ) == [(3, 3, 2, 1)]


def test_a_wrong_date_format_fails_the_run_naming_source_field_format_and_samples(tiny: Path, tmp_path: Path) -> None:
    tiny.write_text(  # a valid strptime format, but not these values' (an unknown directive fails at load)
        tiny.read_text().replace(
            'birth_date: {column: birthday, format: "%Y-%m-%d"}', 'birth_date: {column: birthday, format: "%d/%m/%Y"}'
        )
    )
    with pytest.raises(
        PipelineError,
        match=r"source 'web': 3 of 3 birth_date values do not parse with format '%d/%m/%Y' \(e\.g\. '1980-03-04', "
        r"'1982-07-08', '2011-09-09'\)",
    ):
        run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)
    assert not (tmp_path / "master.duckdb").exists()

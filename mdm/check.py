"""What `mdm check` does with the data: open every source as a run would, before any run.

Each person source is read and validated whole (missing files, missing columns with "did you
mean", undecidable encodings, row accounting), then a sample of its accepted rows is standardized
to measure how many values of each mapped field come out clean and how many dates parse with
their format. A source whose dates mostly fail fails the check with the run's own message. Event
sources are read and checked the same way. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mdm.config.project import ProjectConfig
from mdm.ingest.connectors import csv_encoding
from mdm.ingest.events import ingest_events, person_records
from mdm.ingest.source import IngestResult, ingest_source
from mdm.standardize.date import ISO_8601
from mdm.standardize.source import standardize_source
from mdm.standardize.stage import DatesUnparsed, unparsed_dates

SAMPLE_ROWS = 2_000
"""Accepted rows per source standardized by the check (the rates are of this sample)."""


@dataclass(frozen=True)
class SourceCheck:
    source: str
    kind: str
    encoding: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    clean_share: dict[str, float]
    """field -> share of present values in the sample that came out clean."""
    formats: dict[str, str]
    """date field (and updated_at) -> the format its values are parsed with."""
    rows_deleted: int = 0
    """A delta extract's rows marked deleted (whether the run's records hold them is the run's to check)."""

    def line(self) -> str:
        encoding = f", {self.encoding}" if self.encoding else ""
        worst = sorted(self.clean_share.items(), key=lambda kv: (kv[1], kv[0]))[:3]
        shares = ", ".join(f"{name} {share:.0%}" for name, share in worst)
        dates = ", ".join(f"{name} ({fmt})" for name, fmt in self.formats.items())
        return (
            f"  {self.source} ({self.kind}{encoding}): {self.rows_read} rows, {self.rows_accepted} accepted,"
            + (f" {self.rows_deleted} marked deleted," if self.rows_deleted else "")
            + f" {self.rows_quarantined} quarantined; least clean: {shares or '-'}; dates: {dates or '-'}"
        )


def check_sources(config: ProjectConfig, as_of: dt.date) -> list[SourceCheck]:
    """Open every source; raise what a run would raise (SourceReadError, DatesUnparsed)."""
    sources, dictionary = config.sources, config.dictionary
    date_fields = [f.name for f in dictionary.published_fields if f.kind == "date"]
    checks, problems, persons = [], [], {}
    for source in sources.sources:
        encoding = " ".join(csv_encoding(sources, source)) if source.kind == "csv" else None
        ingested = ingest_source(sources, source, dictionary)
        persons[source.name] = person_records(ingested.staged, ingested.quarantine)
        sample = ingested.staged.head(SAMPLE_ROWS)
        preview = IngestResult(source.name, sample.height, sample, ingested.quarantine.head(0), ingested.formats)
        frame = standardize_source(preview, source, dictionary, as_of)
        problems += unparsed_dates(frame, sample, source, ingested.formats, date_fields)
        shares = {}
        for field in source.fields:
            if f"{field}_raw" in frame.columns and field in frame.columns:
                present = frame[f"{field}_raw"].str.strip_chars().str.len_chars() > 0
                n_present, n_clean = int(present.sum()), int((present & frame[field].is_not_null()).sum())
                if n_present:
                    shares[field] = n_clean / n_present
        formats = {
            name: fmt or ISO_8601 for name, fmt in ingested.formats.items() if name in [*date_fields, "updated_at"]
        }
        checks.append(
            SourceCheck(
                source.name,
                source.kind,
                encoding,
                ingested.rows_read,
                ingested.rows_accepted,
                ingested.rows_quarantined,
                shares,
                formats,
                ingested.rows_deleted,
            )
        )
    for event in sources.events:
        events = ingest_events(sources, event, persons[event.person.source])
        checks.append(
            SourceCheck(
                event.name, event.kind, None, events.rows_read, events.rows_accepted, events.rows_quarantined, {}, {}
            )
        )
    if problems:
        raise DatesUnparsed("; ".join(problems) + ". Declare the right format for the field in sources.yaml")
    return checks

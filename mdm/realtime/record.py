"""One record from the API, standardized as the nightly run standardizes a source's row.

The record is any dictionary fields (text), checked against a model generated from the
dictionary (unknown fields and non-text values are refused). It is standardized by the run's own
code, `standardize_source`, on a one-row frame; only the fields the record carries (and those
they imply: the name parts of a full_name, the country) are standardized, the others are null
columns of the run's types, so a record costs what it holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, StrictStr, create_model

from mdm.config.dictionary import Dictionary
from mdm.config.sources import ColumnSpec, SourceConfig
from mdm.errors import MdmError
from mdm.ingest import IngestResult
from mdm.ingest.validate import RECORD_ID, record_failures
from mdm.sensitive import mask
from mdm.standardize.source import standardize_source
from mdm.types import FULL_NAME_FORMATS

DATE_FORMAT = "%Y-%m-%d"
"""The format of a date field when the request names none (ISO 8601)."""
FULL_NAME_FORMAT = "given middle family"
DEFAULT_COUNTRY = "US"
API_SOURCE = "api"
NAME_PARTS = ("given_name", "middle_name", "family_name")


class RecordOptions(BaseModel):
    """How to read the record's values (a source's `country` and field formats in sources.yaml)."""

    model_config = ConfigDict(extra="forbid")
    country: StrictStr = Field(
        default=DEFAULT_COUNTRY,
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166 alpha-2 default for phones and addresses when the record has no country",
    )
    formats: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description=f"per field: a date field's strptime format (default \"{DATE_FORMAT}\"), or full_name's"
        f' order (default "{FULL_NAME_FORMAT}"), e.g. {{"birth_date": "%m/%d/%Y"}}',
    )


def record_model(dictionary: Dictionary) -> type[BaseModel]:
    """The request's `record`: every dictionary field optional, text only, nothing else."""
    fields: dict[str, Any] = {
        f.name: (StrictStr | None, Field(default=None, description=f.description, max_length=10_000))
        for f in dictionary.fields
    }
    return create_model("Record", __config__=ConfigDict(extra="forbid", title="Record"), **fields)


class RecordProblem(MdmError, ValueError):
    """Options that cannot apply to the record (a format for a field it lacks, a bad order)."""


@dataclass(frozen=True)
class StandardizedRecord:
    frame: pl.DataFrame
    """One row, the columns of the run's standardized table (absent fields null)."""
    fields: list[str]
    """The published fields the record carried or implied, dictionary order."""
    quarantine_reasons: list[str]
    """Why the run would quarantine this row (empty: it would be accepted)."""


class RecordStandardizer:
    """Standardizes single records with one dictionary; holds the run's column types."""

    def __init__(self, dictionary: Dictionary):
        self.dictionary = dictionary
        self.model = record_model(dictionary)
        every: dict[str, str | None] = {f.name: None for f in dictionary.published_fields}
        self._schema = standardize_source(*self._inputs(every, RecordOptions()), dictionary, dt.date.today()).schema
        self._nulls = pl.DataFrame({c: pl.Series([None], dtype=dtype) for c, dtype in self._schema.items()})
        """One row of nulls in the run's columns and types, which a record's own columns replace."""
        # each field's extra columns: those after its `_flags` and before the next field's `_raw`
        self._extras: dict[str, list[str]] = {}
        current: str | None = None
        for column in self._schema:
            if column.endswith("_raw") and column.removesuffix("_raw") in every:
                current = column.removesuffix("_raw")
                self._extras[current] = []
            elif current is not None and column.startswith(f"{current}_") and not column.endswith(("_key", "_flags")):
                self._extras[current].append(column)

    @lru_cache(maxsize=256)  # noqa: B019 - one standardizer per app, a few field sets
    def _sub_dictionary(self, names: frozenset[str]) -> Dictionary:
        wanted = set(names) | {"country"}
        if "full_name" in names:
            wanted |= set(NAME_PARTS)
        return self.dictionary.model_copy(update={"fields": [f for f in self.dictionary.fields if f.name in wanted]})

    def _inputs(self, values: Mapping[str, str | None], options: RecordOptions) -> tuple[IngestResult, SourceConfig]:
        formats: dict[str, str | None] = {}
        specs: dict[str, ColumnSpec] = {}
        unknown = sorted(set(options.formats) - set(values))
        if unknown:
            raise RecordProblem(f"formats given for field(s) the record does not carry: {', '.join(unknown)}")
        for name in values:
            field = self.dictionary.field(name)
            given = options.formats.get(name)
            if field.type == "date":
                formats[name] = given or DATE_FORMAT
            elif field.kind == "full_name":
                formats[name] = given or FULL_NAME_FORMAT
                if formats[name] not in FULL_NAME_FORMATS:
                    raise RecordProblem(
                        f"full_name's format is one of {', '.join(repr(f) for f in FULL_NAME_FORMATS)}, not {given!r}"
                    )
            elif given is not None:
                raise RecordProblem(f"{name} takes no format (only date fields and full_name do)")
            else:
                formats[name] = None
            specs[name] = ColumnSpec(column=name, format=formats[name])
        staged = pl.DataFrame(
            {
                "source": [API_SOURCE],
                "row_number": [1],
                "source_record_id": ["request"],
                "updated_at": pl.Series([None], dtype=pl.String),
                **{name: pl.Series([value], dtype=pl.String) for name, value in values.items()},
            }
        )
        source = SourceConfig(
            name=API_SOURCE, kind="csv", path="-", record_id="id", country=options.country.upper(), fields=specs
        )
        return IngestResult(API_SOURCE, 1, staged, pl.DataFrame(), formats), source

    def standardize(
        self, record: BaseModel, options: RecordOptions, as_of: dt.date | None = None
    ) -> StandardizedRecord:
        values = {k: v for k, v in record.model_dump().items() if v is not None}
        if not values:
            raise RecordProblem("the record carries no field: give at least one dictionary field")
        ingested, source = self._inputs(values, options)
        # checked as a source mapping every field would be: a record without any identity field is refused
        staged = {RECORD_ID: ingested.staged[RECORD_ID][0], **values}
        reasons = record_failures(staged, self.dictionary, [f.name for f in self.dictionary.fields])
        dictionary = self._sub_dictionary(frozenset(values))
        frame = standardize_source(ingested, source, dictionary, as_of or dt.date.today())
        fields = [f.name for f in dictionary.published_fields]
        full = self._nulls.with_columns(frame[c] for c in frame.columns if c in self._schema)
        return StandardizedRecord(full, fields, reasons)

    def describe(self, standardized: StandardizedRecord) -> dict[str, dict[str, Any]]:
        """Per field: raw, value, key, flags (each a reason) and the kind's extra columns; a
        sensitive field's values masked."""
        row = standardized.frame.row(0, named=True)
        out: dict[str, dict[str, Any]] = {}
        for name in standardized.fields:
            sensitive = self.dictionary.field(name).sensitive
            extras = {c.removeprefix(f"{name}_"): _json(row[c], sensitive) for c in self._extras.get(name, [])}
            out[name] = {
                "raw": _json(row[f"{name}_raw"], sensitive),
                "value": _json(row[name], sensitive),
                "key": _json(row[f"{name}_key"], sensitive),
                "flags": list(row[f"{name}_flags"] or []),
                "extra": extras,
            }
        return out


def _json(value: Any, sensitive: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if sensitive:
        return mask(str(value))
    return value

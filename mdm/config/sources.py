"""sources.yaml: which source systems to read and how their columns map to dictionary fields.

A dictionary field is mapped from one column (`given_name: first_name`) or from several
columns of the same source (`phone: {columns: [mobile_phone, home_phone]}`). With several
columns, `combine: first` (the default) takes the first non-empty value in the listed order
-- the order is the preference -- and `combine: join` joins the non-empty values with
`separator` (for a street split over two columns). Either way the row keeps every raw value
in the quarantine/staging copy, so nothing is lost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mdm.config.errors import ConfigError, line_of, parse_model, read_yaml
from mdm.types import FULL_NAME_FORMATS, SourceKind

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


_DIRECTIVES = set("aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%") | {".f", ":z", "#z", ".3f", ".6f", ".9f"}


def _unknown_directives(fmt: str) -> list[str]:
    """The %-directives of a strptime format that polars (chrono) does not know, e.g. %q."""
    unknown = []
    for match in re.finditer(r"%([.:#]?\d?[a-zA-Z%])", fmt):
        directive = match.group(1)
        if directive not in _DIRECTIVES and directive.lstrip("-_0^#") not in _DIRECTIVES:
            unknown.append("%" + directive)
    return unknown


def _as_spec(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


class ColumnSpec(BaseModel):
    """Where a dictionary field's value comes from in one source."""

    model_config = ConfigDict(extra="forbid")
    column: str | None = None
    columns: list[str] | None = None
    format: str | None = Field(
        default=None,
        description='date: a strptime format such as "%m/%d/%Y"; full_name: '
        '"family, given middle", "given middle family", "family given middle" or "family middle given"',
    )
    combine: Literal["first", "join"] = "first"
    separator: str = " "
    max_age_years: int | None = Field(
        default=None,
        ge=1,
        description="date fields: overrides the dictionary's age limit for this source (historical people: large)",
    )

    @model_validator(mode="after")
    def _one_of_column_or_columns(self) -> ColumnSpec:
        if (self.column is None) == (self.columns is None):
            raise ValueError(
                'give exactly one of `column` or `columns`, e.g. {column: dob, format: "%Y-%m-%d"}'
                " or {columns: [mobile_phone, home_phone]}"
            )
        if self.columns is not None and len(self.columns) < 1:
            raise ValueError("`columns` needs at least one column name")
        return self

    @property
    def source_columns(self) -> list[str]:
        return [self.column] if self.column is not None else list(self.columns or [])


TRUTHY_MARKERS = ("true", "1", "yes", "y")
"""A delete marker column declared without a value marks a row deleted with one of these
(case and surrounding spaces aside)."""


class DeleteMarker(BaseModel):
    """The column of a delta extract that marks a row as a deletion of its record, and the value
    meaning deleted (none: a truthy value, one of TRUTHY_MARKERS)."""

    model_config = ConfigDict(extra="forbid")
    column: str
    value: str | None = Field(
        default=None,
        description="the value meaning deleted, compared after stripping spaces (e.g. D); none: true, 1, yes or y",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _value_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _value_not_blank(self) -> DeleteMarker:
        if self.value is not None and not self.value.strip():
            raise ValueError("delete_marker.value is blank; give the value meaning deleted (e.g. value: D)")
        return self


class SourceLocation(BaseModel):
    """Where a source's rows are and how to read them: shared by person and event sources."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: SourceKind
    path: str | None = None
    table: str | None = None
    query: str | None = None
    dsn_env: str | None = None
    encoding: str | None = Field(default=None, description="csv only; detected when absent")
    delimiter: str | None = Field(default=None, description="csv only; detected when absent")
    quotechar: str = '"'
    record_id: str

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"source name {value!r} must be lower-case letters, digits and _ (e.g. name: crm_export)")
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> SourceLocation:
        if self.kind in ("csv", "parquet", "jsonl", "sqlite") and not self.path:
            raise ValueError(f"a {self.kind} source needs `path` (e.g. path: sources/{self.name}.{self.kind})")
        if self.kind == "postgres" and not self.dsn_env:
            raise ValueError(
                "a postgres source needs `dsn_env`, the name of an environment variable holding the DSN"
                " (e.g. dsn_env: BILLING_DSN)"
            )
        if self.kind in ("sqlite", "postgres") and (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query` (e.g. table: accounts)")
        if self.kind not in ("csv",) and (self.encoding or self.delimiter):
            raise ValueError("`encoding` and `delimiter` apply to csv sources only")
        return self


class SourceConfig(SourceLocation):
    """One source system of person records (matched into golden customers)."""

    updated_at: ColumnSpec | None = None
    trust: int = Field(default=1, ge=0, description="higher wins survivorship ties")
    country: str = Field(default="US", description="ISO 3166 alpha-2 default for phones/addresses")
    max_shrink: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="the run fails when this source's accepted rows fall by more than this share against the"
        " last published run, or when it has no rows at all (an empty or partial export is not every customer"
        " leaving); `mdm run --allow-shrink NAME` lets one run through",
    )
    min_date_parse_rate: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="the run fails when fewer of this source's values of a date field (or updated_at) parse"
        " with its format than this share (at least 10 values present, or every value failing): a wrong"
        " format would otherwise null them all",
    )
    fields: dict[str, ColumnSpec]
    extract: Literal["full", "delta"] = Field(
        default="full",
        description="full: every night the whole source, a record absent from it is deleted; delta: only the"
        " rows added or changed since the last run, and rows marked deleted by `delete_marker`",
    )
    delete_marker: DeleteMarker | None = Field(
        default=None,
        validate_default=True,
        description="delta sources: the column marking a row as a deletion, e.g. {column: op, value: D}, or"
        " a column name alone (is_deleted) meaning a true value (true, 1, yes, y) deletes",
    )

    @field_validator("delete_marker", mode="before")
    @classmethod
    def _delete_marker_spec(cls, value: Any) -> Any:
        return _as_spec(value)

    @field_validator("delete_marker")
    @classmethod
    def _marker_fits_extract(cls, marker: DeleteMarker | None, info: ValidationInfo) -> DeleteMarker | None:
        """A delete marker only with `extract: delta`, and always with it; its column no mapped one."""
        extract = info.data.get("extract")
        if extract is None:  # not full nor delta: reported as such
            return marker
        if extract == "full":
            if marker is not None:
                raise ValueError(
                    "delete_marker applies to delta extracts only; add `extract: delta` if the source sends only"
                    " its changes (a full extract's deletions are the records absent from it), or remove it"
                )
            return marker
        if marker is None:
            raise ValueError(
                "a delta source needs `delete_marker`, the column marking a row as a deletion"
                " (e.g. delete_marker: {column: op, value: D}, or delete_marker: is_deleted for true/1/yes/y)"
            )
        updated_at: ColumnSpec | None = info.data.get("updated_at")
        mapped = {info.data.get("record_id"), *(updated_at.source_columns if updated_at else [])}
        mapped |= {c for spec in info.data.get("fields", {}).values() for c in spec.source_columns}
        if marker.column in mapped:
            raise ValueError(
                f"delete_marker.column {marker.column!r} is also mapped (record_id, updated_at or a field): the"
                " marker is a column of its own, not a field; name the column that marks deletions"
            )
        return marker

    @field_validator("updated_at", mode="before")
    @classmethod
    def _updated_at_spec(cls, value: Any) -> Any:
        return _as_spec(value)

    @field_validator("fields", mode="before")
    @classmethod
    def _field_specs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_spec(v) for k, v in value.items()}
        return value

    @field_validator("country")
    @classmethod
    def _country_alpha2(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"country {value!r} must be an ISO 3166 alpha-2 code (e.g. country: US)")
        return value.upper()

    @model_validator(mode="after")
    def _has_fields(self) -> SourceConfig:
        if not self.fields:
            raise ValueError("`fields` maps dictionary fields to columns (e.g. fields: {email: email_address})")
        problems = []
        for name, spec in [*self.fields.items(), *([("updated_at", self.updated_at)] if self.updated_at else [])]:
            if spec.format is None:
                continue
            if name == "full_name":
                if spec.format not in FULL_NAME_FORMATS:
                    known = ", ".join(f'"{f}"' for f in FULL_NAME_FORMATS)
                    problems.append(f"fields.full_name: format {spec.format!r} is not a name order; use one of {known}")
            elif unknown := _unknown_directives(spec.format):
                problems.append(
                    f"{'updated_at' if name == 'updated_at' else 'fields.' + name}: format {spec.format!r} has"
                    f' {", ".join(unknown)}, not a strptime directive (e.g. format: "%d/%m/%Y")'
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def staged_fields(self) -> list[str]:
        """The dictionary fields it maps, and `updated_at` when it declares one: what its staged rows
        hold values of."""
        return [*self.fields, *(["updated_at"] if self.updated_at is not None else [])]

    def column_for(self, field: str) -> ColumnSpec | None:
        return self.fields.get(field)


class PersonLink(BaseModel):
    """Which person source an event belongs to, and the event source's column holding that
    source's record id."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="a person source declared under `sources:`")
    record_id: str = Field(description="the event source's column holding the person record's id")


EVENT_KEY_COLUMNS = ("source", "row_number", "event_id", "person_source", "person_record_id", "event_time")


class EventSourceConfig(SourceLocation):
    """One source of events about people (visits, purchases, survey answers), under `events:`.

    Events are not matched: each names the person record it belongs to (`person`) and reaches
    its golden customer through that record. `record_id` is the event's own id column.
    Published as table `events_<name>` (mdm/ingest/events.py says what is checked)."""

    person: PersonLink
    event_time: ColumnSpec = Field(description='when it happened: {column: visit_date, format: "%d.%m.%Y"}')
    columns: dict[str, ColumnSpec] = Field(
        default_factory=dict,
        description="published column -> source column; with `format` the value is parsed as a date"
        " (a timestamp when the format has a time of day)",
    )

    @field_validator("event_time", mode="before")
    @classmethod
    def _event_time_spec(cls, value: Any) -> Any:
        return _as_spec(value)

    @field_validator("columns", mode="before")
    @classmethod
    def _column_specs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_spec(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _event_columns(self) -> EventSourceConfig:
        if self.event_time.format is None or self.event_time.column is None:
            raise ValueError(
                "event_time needs one `column` and its `format`"
                ' (e.g. event_time: {column: visit_date, format: "%Y-%m-%d"})'
            )
        bad = [c for c in self.columns if not _NAME.match(c) or c in (*EVENT_KEY_COLUMNS, "golden_id")]
        if bad:
            raise ValueError(
                f"column name(s) {bad} must be lower-case identifiers other than"
                f" {', '.join((*EVENT_KEY_COLUMNS, 'golden_id'))} (e.g. columns: {{department: dept}})"
            )
        return self


class SourcesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    dictionary: str | None = Field(default=None, description="dictionary/fields.yaml to use; the project's by default")
    rules: str | None = Field(default=None, description="rules directory to use; the project's by default")
    keep_versions: int = Field(
        default=7, ge=1, description="published masters kept beside the master for `mdm rollback` (the newest N)"
    )
    tags: str | None = Field(default=None, description="tags.yaml to use; default: tags.yaml of the rules directory")
    allowed_dirs: list[str] = Field(
        default_factory=list,
        description="directories outside the one holding sources.yaml that source files may be read from"
        " (source paths are confined to sources.yaml's directory otherwise)",
    )
    sources: list[SourceConfig]
    events: list[EventSourceConfig] = Field(
        default_factory=list, description="sources of events about people (not matched); see EventSourceConfig"
    )
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesConfig:
        names = [s.name for s in self.sources] + [e.name for e in self.events]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"source names must be unique (person and event sources alike); repeated: {', '.join(dupes)}"
            )
        if not self.sources:
            raise ValueError("`sources` is empty: declare at least one source")
        persons = [s.name for s in self.sources]
        for event in self.events:
            if event.person.source not in persons:
                raise ValueError(
                    f"event source {event.name!r}: person.source {event.person.source!r} is not a source;"
                    f" use one of: {', '.join(persons)} (e.g. person: {{source: {persons[0]}, record_id: patient_id}})"
                )
        return self

    def resolve(self, source: SourceLocation) -> Path:
        """The source's path, relative to the sources.yaml that declared it."""
        assert source.path is not None
        return self.relative(source.path)

    def relative(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path

    def dsn(self, source: SourceLocation) -> str:
        assert source.dsn_env is not None
        value = os.environ.get(source.dsn_env)
        if not value:
            raise ConfigError(
                self.base_dir / "sources.yaml",
                [
                    f"source {source.name!r}: environment variable {source.dsn_env} is not set;"
                    f" export it, e.g. {source.dsn_env}='postgresql://user@127.0.0.1:5432/db'"
                ],
            )
        return value


def _paths_outside(config: SourcesConfig, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """Source files outside sources.yaml's directory and its allowed_dirs (`../../etc/passwd`)."""
    allowed = [config.base_dir, *(config.relative(d).resolve() for d in config.allowed_dirs)]
    problems = []
    for key, group in (("sources", config.sources), ("events", config.events)):
        for i, source in enumerate(group):
            if source.path is None:
                continue
            target = config.resolve(source).resolve()
            if not any(target.is_relative_to(root) for root in allowed):
                problems.append(
                    f"line {line_of(lines, (key, i, 'path'))}: {key}[{i}].path: {source.path!r} is outside"
                    f" {config.base_dir}; move the file there, or name its directory in allowed_dirs"
                    " (e.g. allowed_dirs: [/srv/exports])"
                )
    return problems


def load_sources(path: Path | str, field_names: set[str] | None = None) -> SourcesConfig:
    """Load and check sources.yaml; with field_names, also check every mapped field exists."""
    path = Path(path)
    config = parse_model(SourcesConfig, path)
    config.base_dir = path.parent.resolve()
    _, lines = read_yaml(path)
    confined = _paths_outside(config, lines)
    if confined:
        raise ConfigError(path, confined)
    if field_names is not None:
        problems = []
        for i, source in enumerate(config.sources):
            for field in source.fields:
                if field not in field_names:
                    line = line_of(lines, ("sources", i, "fields", field))
                    known = ", ".join(sorted(field_names))
                    problems.append(
                        f"line {line}: sources[{i}].fields.{field}: not a dictionary field; use one of: {known}"
                    )
        if problems:
            raise ConfigError(path, problems)
    return config

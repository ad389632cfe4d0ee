"""dictionary/fields.yaml: the canonical customer fields, their kinds and coded values."""

from __future__ import annotations

import csv
import unicodedata
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mdm.config.errors import ConfigError, parse_model
from mdm.types import BadValuePolicy, FieldKind, FieldType

DEFAULT_DICTIONARY = (Path(__file__).parents[1] / "bundled" / "dictionary" / "fields.yaml").resolve()


SENSITIVE_KINDS = ("identifier", "text")
"""Kinds a field marked `sensitive` may have: their standardized form has no parts besides the
value and its key, so the whole field can be encrypted (mdm/sensitive.py)."""

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def fold(text: str) -> str:
    """Case-fold, strip accents and surrounding space, one apostrophe: the form synonyms are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold().translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class CodedValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    label: str
    synonyms: list[str] = Field(default_factory=list)


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: FieldType
    kind: FieldKind
    identity: bool = False
    input_only: bool = False
    description: str
    values: list[CodedValue] | None = None
    reference: str | None = None
    on_invalid: BadValuePolicy = "set_null"
    max_age_years: int | None = Field(
        default=None, ge=1, description="date fields: a date more than this many years before the as-of date is flagged"
    )
    unique_per_person: bool = Field(
        default=False,
        description="a strong id: one person's value, never another's (a national id; an e-mail or phone only"
        " where every source verifies it per person). Records holding one (identifiers also one typo apart)"
        " are exempt from the birth-date and name conflicts (mdm/cluster/conflicts.py)",
    )
    sensitive: bool = Field(
        default=False,
        description="encrypted wherever the master and the store keep it, masked for analysts (mdm/sensitive.py);"
        " identifier and text fields only",
    )

    @model_validator(mode="after")
    def _coded_needs_values(self) -> FieldDef:
        if self.kind == "coded" and not self.values:
            raise ValueError(f"coded field {self.name!r} needs `values` (e.g. values: [{{code: F, label: female}}])")
        if self.unique_per_person and (self.type != "string" or self.kind in ("coded", "full_name", "person_name")):
            raise ValueError(
                f"field {self.name!r}: unique_per_person marks an identifier, e-mail or phone"
                " (e.g. national_id: kind identifier, unique_per_person: true)"
            )
        if self.sensitive and (self.type != "string" or self.kind not in SENSITIVE_KINDS):
            raise ValueError(
                f"field {self.name!r}: sensitive is supported on fields of kind {' or '.join(SENSITIVE_KINDS)}"
                " (an e-mail, phone, address or date drives contact views and staleness, which need it in clear)"
            )
        return self


class ReferenceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    key: str
    description: str
    source: str
    licence: str


class Dictionary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    fields: list[FieldDef]
    reference_tables: list[ReferenceTable] = Field(default_factory=list)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Dictionary:
        names = [f.name for f in self.fields]
        problems = [f"field {n!r} is defined twice" for n in sorted({n for n in names if names.count(n) > 1})]
        tables = {t.name for t in self.reference_tables}
        problems += [
            f"field {f.name!r} names reference {f.reference!r}, which is not in reference_tables"
            for f in self.fields
            if f.reference and f.reference not in tables
        ]
        for f in self.fields:
            seen: dict[str, str] = {}
            for value in f.values or []:
                for spelling in [value.code, *value.synonyms]:
                    key = fold(spelling)
                    if seen.get(key, value.code) != value.code:
                        problems.append(
                            f"field {f.name!r}: {spelling!r} is a synonym of both {seen[key]} and {value.code}"
                        )
                    seen[key] = value.code
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> set[str]:
        return {f.name for f in self.fields}

    @property
    def published_fields(self) -> list[FieldDef]:
        """The fields a standardized record and a golden customer carry, in dictionary order."""
        return [f for f in self.fields if not f.input_only]

    @property
    def identity_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.identity]

    @property
    def strong_ids(self) -> dict[str, bool]:
        """The key column of each field marked unique_per_person -> whether a typo is tolerated
        (identifiers: a digit typed wrong or two swapped; an e-mail or phone only when equal)."""
        return {f"{f.name}_key": f.kind == "identifier" for f in self.fields if f.unique_per_person}

    @property
    def sensitive_fields(self) -> list[str]:
        """The published fields marked `sensitive`, encrypted at rest (mdm/sensitive.py)."""
        return [f.name for f in self.published_fields if f.sensitive]

    def synonyms(self, name: str) -> dict[str, str]:
        """folded spelling -> code, for a coded field."""
        return {fold(s): v.code for v in self.field(name).values or [] for s in [v.code, *v.synonyms]}

    def reference_path(self, name: str) -> Path:
        for t in self.reference_tables:
            if t.name == name:
                return self.base_dir / t.path
        raise KeyError(name)

    def reference_rows(self, name: str) -> list[dict[str, str]]:
        with self.reference_path(name).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    @cached_property
    def countries(self) -> dict[str, str]:
        """folded spelling (alpha-2, alpha-3, names, synonyms) -> alpha-2."""
        out: dict[str, str] = {}
        for row in self.reference_rows("countries"):
            for spelling in [row["alpha2"], row["alpha3"], row["name"], *row["synonyms"].split("|")]:
                if spelling:
                    out.setdefault(fold(spelling), row["alpha2"])
        return out


def load_dictionary(path: Path | str = DEFAULT_DICTIONARY) -> Dictionary:
    path = Path(path)
    dictionary = parse_model(Dictionary, path)
    dictionary.base_dir = path.parent.resolve()
    missing = [
        f"reference table {t.name!r}: file {t.path} not found beside {path.name}"
        for t in dictionary.reference_tables
        if not (dictionary.base_dir / t.path).exists()
    ]
    if missing:
        raise ConfigError(path, missing)
    return dictionary

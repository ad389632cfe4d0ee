"""The master's documented schema as data: every table, view and macro readers may rely on.

The descriptions themselves are in mdm/publish/catalog.py (`MASTER_TABLES`, `MASTER_MACROS`);
this module holds their types, expands column patterns, renders docs/schema.md (`mdm docs`) and
checks a published master against the documentation (`schema_problems`, run by the tests on the
tiny fixture, so an undocumented table or column fails CI).

A column name is literal (`golden_id`) or a pattern with one placeholder (`<field>_flags`) for
columns whose set depends on the configuration: the placeholders and what they range over are
`PLACEHOLDERS`. The check is exact either way: every column of the master must be one documented
column or one expansion of a pattern, and every documented column and every expansion must be in
the master, with the documented type (DuckDB's spelling, as DESCRIBE prints it; `<field type>`:
the dictionary field's type).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from mdm.config.dictionary import Dictionary
from mdm.config.rules import MatchRules
from mdm.stale.flags import ATTRIBUTES as STALE_ATTRIBUTES

CATALOG_FILE = "mdm/publish/catalog.py"
FIELD_TYPE = "<field type>"
DUCKDB_TYPES = {"string": "VARCHAR", "date": "DATE"}
_PLACEHOLDER = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True)
class Column:
    name: str
    """literal, or a pattern with one placeholder: "<field>_flags" """
    type: str
    """DuckDB type as DESCRIBE prints it ("VARCHAR[]"), or "<field type>" with a <field>-like placeholder"""
    meaning: str


@dataclass(frozen=True)
class Table:
    name: str
    kind: Literal["table", "view"]
    section: str
    grain: str
    """one row per ..."""
    purpose: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Macro:
    signature: str
    meaning: str

    @property
    def name(self) -> str:
        return self.signature.split("(", 1)[0]


PER_SOURCE = "<name>"
"""A documented table named `events_<name>` stands for one table per declared event source."""


def table(
    name: str, grain: str, purpose: str, columns: Sequence[tuple[str, str, str]], *, section: str, view: bool = False
) -> Table:
    """A documented table from (name, type, meaning) tuples: the compact form catalog.py uses."""
    return Table(name, "view" if view else "table", section, grain, purpose, tuple(Column(*c) for c in columns))


@dataclass(frozen=True)
class SchemaContext:
    """What the column patterns range over, from the run's dictionary and match rules."""

    fields: dict[str, str]
    """published dictionary field -> its kind"""
    field_types: dict[str, str]
    """every dictionary field (input-only too) -> its DuckDB type"""
    input_fields: list[str]
    comparisons: list[str]
    sensitive: list[str] = field(default_factory=list)
    contact_attributes: list[str] = field(default_factory=lambda: list(STALE_ATTRIBUTES))

    @classmethod
    def of(cls, dictionary: Dictionary, rules: MatchRules) -> SchemaContext:
        return cls(
            fields={f.name: f.kind for f in dictionary.published_fields},
            field_types={f.name: DUCKDB_TYPES[f.type] for f in dictionary.fields},
            input_fields=[f.name for f in dictionary.fields if f.input_only],
            comparisons=[c.name for c in rules.comparisons],
            sensitive=dictionary.sensitive_fields,
        )

    def of_kind(self, kind: str) -> list[str]:
        return [name for name, k in self.fields.items() if k == kind]


@dataclass(frozen=True)
class Placeholder:
    meaning: str
    values: Callable[[SchemaContext], list[str]]


PLACEHOLDERS: dict[str, Placeholder] = {
    "field": Placeholder("each published dictionary field (dictionary/fields.yaml)", lambda c: list(c.fields)),
    "input_field": Placeholder(
        "each input-only dictionary field (split into others, kept raw)", lambda c: c.input_fields
    ),
    "person_name": Placeholder("each dictionary field of kind person_name", lambda c: c.of_kind("person_name")),
    "address_line": Placeholder("each dictionary field of kind address_line", lambda c: c.of_kind("address_line")),
    "sensitive": Placeholder(
        "each published dictionary field marked `sensitive: true`, encrypted at rest (mdm/sensitive.py)",
        lambda c: c.sensitive,
    ),
    "comparison": Placeholder("each comparison of rules/match.yaml", lambda c: c.comparisons),
    "contact": Placeholder("each contact attribute whose staleness is tracked", lambda c: c.contact_attributes),
}


def expand(column: Column, ctx: SchemaContext) -> dict[str, str]:
    """Concrete column name -> DuckDB type, for a literal column or a pattern."""
    found = _PLACEHOLDER.findall(column.name)
    if not found:
        return {column.name: column.type}
    if len(found) > 1 or found[0] not in PLACEHOLDERS:
        raise ValueError(f"column {column.name!r}: one placeholder of {sorted(PLACEHOLDERS)} expected")
    out = {}
    for value in PLACEHOLDERS[found[0]].values(ctx):
        typ = ctx.field_types[value] if column.type == FIELD_TYPE else column.type
        out[column.name.replace(f"<{found[0]}>", value)] = typ
    return out


def expected_columns(documented: Table, ctx: SchemaContext) -> dict[str, tuple[str, Column]]:
    """Concrete column name -> (type, the documented column it comes from)."""
    out: dict[str, tuple[str, Column]] = {}
    for column in documented.columns:
        for name, typ in expand(column, ctx).items():
            if name in out:
                raise ValueError(
                    f"{documented.name}.{name} is documented twice ({out[name][1].name!r} and {column.name!r})"
                )
            out[name] = (typ, column)
    return out


def schema_problems(
    master: Path, ctx: SchemaContext, tables: Sequence[Table], macros: Sequence[Macro] = ()
) -> list[str]:
    """Every difference between a published master and its documentation, each with where to fix it."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        found = dict(con.sql("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        described = {name: con.sql(f'DESCRIBE "{name}"').fetchall() for name in found}
        macro_names = con.sql(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE NOT internal AND function_type LIKE '%macro'"
        ).fetchall()
        found_macros = {name for (name,) in macro_names}
    finally:
        con.close()
    where = f"document it in {CATALOG_FILE}"
    documented = {t.name: t for t in tables if not t.name.endswith(PER_SOURCE)}
    problems: list[str] = []
    for pattern in (t for t in tables if t.name.endswith(PER_SOURCE)):
        prefix = pattern.name.removesuffix(PER_SOURCE)
        for name in [n for n in found if n.startswith(prefix) and n not in documented]:
            # one table per declared source: the documented columns come first, in order (a column
            # documented with the field type may have any type); the source's own columns follow
            leading = described[name][: len(pattern.columns)]
            lead = [(c.name, c.type) for c in pattern.columns]
            if [n for n, *_ in leading] != [n for n, _ in lead] or any(
                t != FIELD_TYPE and row[1] != t for (_, t), row in zip(lead, leading, strict=False)
            ):
                problems.append(
                    f"table {name!r} does not start with the columns every {pattern.name} table has:"
                    f" {', '.join(n for n, _ in lead)} ({CATALOG_FILE})"
                )
            del found[name]
    problems += [
        f"table {name!r} ({kind.lower()}) is in the master but not documented: add a table(...) for it to"
        f" MASTER_TABLES in {CATALOG_FILE}"
        for name, kind in sorted(found.items())
        if name not in documented
    ]
    problems += [
        f"table {name!r} is documented in {CATALOG_FILE} but not in the master: remove it or publish it"
        for name in documented
        if name not in found
    ]
    for name, doc in documented.items():
        if name not in found:
            continue
        if (found[name] == "VIEW") != (doc.kind == "view"):
            problems.append(f"{name!r} is a {found[name].lower()} in the master but documented as a {doc.kind}")
        expected = expected_columns(doc, ctx)
        actual = {row[0]: row[1] for row in described[name]}
        problems += [
            f"column {name}.{col} ({typ}) is not documented: {where} (table {name!r})"
            for col, typ in actual.items()
            if col not in expected
        ]
        problems += [
            f"column {name}.{col} is documented (as {spec.name!r}) but not in the master"
            for col, (_, spec) in expected.items()
            if col not in actual
        ]
        problems += [
            f"column {name}.{col} is {actual[col]} in the master but documented as {typ} ({spec.name!r})"
            for col, (typ, spec) in expected.items()
            if col in actual and actual[col] != typ
        ]
    documented_macros = {m.name for m in macros}
    problems += [
        f"macro {m!r} is not documented: add a Macro to MASTER_MACROS in {CATALOG_FILE}"
        for m in sorted(found_macros - documented_macros)
    ]
    problems += [f"macro {m!r} is documented but not in the master" for m in sorted(documented_macros - found_macros)]
    return problems


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def schema_markdown(ctx: SchemaContext, tables: Sequence[Table], macros: Sequence[Macro]) -> str:
    out = [
        "# The published master: tables, views and macros",
        "",
        f"Generated from `{CATALOG_FILE}` by `mdm docs`; do not edit by hand. A test publishes the tiny",
        "fixture and checks every table and column of the master against this description, both ways.",
        'Query the master with `mdm query "SQL" --master M` (read-only) or any DuckDB client.',
        "",
        "Column names in angle brackets stand for a set of columns, one per value of the placeholder",
        "(with the project's dictionary and rules):",
        "",
        "| placeholder | stands for | values |",
        "|---|---|---|",
    ]
    for name, placeholder in PLACEHOLDERS.items():
        values = ", ".join(f"`{v}`" for v in placeholder.values(ctx))
        out.append(f"| `<{name}>` | {placeholder.meaning} | {values} |")
    out += ["", "`<field type>`: the field's type in the dictionary (`VARCHAR`, or `DATE` for dates).", ""]
    sections: dict[str, list[Table]] = {}
    for t in tables:
        sections.setdefault(t.section, []).append(t)
    out += ["## Contents", ""]
    for section, members in sections.items():
        out.append(f"- {section}: " + ", ".join(f"[`{t.name}`](#{t.name})" for t in members))
    out.append("- Macros: " + ", ".join(f"`{m.name}`" for m in macros))
    out.append("")
    for section, members in sections.items():
        out += [f"## {section}", ""]
        for t in members:
            out += [
                f"### {t.name}",
                "",
                f"{'View' if t.kind == 'view' else 'Table'}; one row per {t.grain}. {_cell(t.purpose)}",
                "",
                "| column | type | meaning |",
                "|---|---|---|",
            ]
            out += [f"| `{c.name}` | `{c.type}` | {_cell(c.meaning)} |" for c in t.columns]
            out.append("")
    out += ["## Macros", "", "| macro | meaning |", "|---|---|"]
    out += [f"| `{m.signature}` | {_cell(m.meaning)} |" for m in macros]
    out.append("")
    return "\n".join(out)

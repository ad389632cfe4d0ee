"""The USPS Publication 28 tables an address line is parsed with, read once per dictionary.

Three reference tables of `dictionary/fields.yaml` (see `dictionary/reference/SOURCES.md`):
`usps_street_suffixes` (Appendix C1), `usps_unit_designators` (Appendix C2, plus FLAT) and
`usps_directionals`. Spellings are upper-case without dots, as the parser sees its tokens.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mdm.config.dictionary import Dictionary

TABLE_NAMES = ("usps_street_suffixes", "usps_unit_designators", "usps_directionals")


@dataclass(frozen=True)
class Designator:
    """A secondary unit designator: its standard abbreviation and whether a number must follow."""

    standard: str
    requires_range: bool


@dataclass(frozen=True)
class AddressTables:
    """spelling -> standard form, for the three tables; `units_outside_us` holds only the
    spellings that are clearly units in any country (APT, SUITE, UNIT, FLAT, #, ...), not the
    ones that are ordinary words elsewhere (STE is Sainte in French, FL and RM are ambiguous)."""

    suffixes: dict[str, str]
    units: dict[str, Designator]
    units_outside_us: dict[str, Designator]
    directionals: dict[str, str]


def build_tables(
    suffix_rows: list[dict[str, str]], unit_rows: list[dict[str, str]], directional_rows: list[dict[str, str]]
) -> AddressTables:
    units = {r["spelling"]: Designator(r["standard"], r["requires_range"] == "1") for r in unit_rows}
    return AddressTables(
        suffixes={r["spelling"]: r["standard"] for r in suffix_rows},
        units=units,
        units_outside_us={r["spelling"]: units[r["spelling"]] for r in unit_rows if r["outside_us"] == "1"},
        directionals={r["spelling"]: r["standard"] for r in directional_rows},
    )


_LOADED: dict[tuple[str, ...], AddressTables] = {}


def table_paths(dictionary: Dictionary) -> tuple[str, ...]:
    """The files of the three tables (suffixes, units, directionals) in this dictionary."""
    return tuple(str(dictionary.reference_path(name)) for name in TABLE_NAMES)


def tables_from_paths(paths: tuple[str, ...]) -> AddressTables:
    """The tables in these files, read from disk the first time only (per process and set of files)."""
    tables = _LOADED.get(paths)
    if tables is None:
        rows = []
        for path in paths:
            with Path(path).open(encoding="utf-8", newline="") as fh:
                rows.append(list(csv.DictReader(fh)))
        tables = _LOADED[paths] = build_tables(*rows)
    return tables


def address_tables(dictionary: Dictionary) -> AddressTables:
    """The dictionary's address tables, read from disk the first time only (per set of files)."""
    return tables_from_paths(table_paths(dictionary))

"""Nickname -> canonical given names, from `dictionary/reference/nicknames.csv`."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary

NICKNAMES_CSV = DEFAULT_DICTIONARY.parent / "reference" / "nicknames.csv"


@dataclass(frozen=True)
class Nicknames:
    """preferred: nickname -> the canonical name most people mean (bill -> william);
    every: nickname -> all its canonical names, sorted and `|`-joined (bill -> robert|...|william)."""

    preferred: dict[str, str]
    every: dict[str, str]

    def canonical(self, key: str) -> tuple[str, str]:
        """(canonical, canonicals) of a folded given name; a name not listed is its own."""
        return self.preferred.get(key, key), self.every.get(key, key)


@cache
def load_nicknames(path: Path = NICKNAMES_CSV) -> Nicknames:
    preferred: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            every.setdefault(row["nickname"], []).append(row["canonical"])
            if row["preferred"] == "1":
                preferred[row["nickname"]] = row["canonical"]
    return Nicknames(preferred, {k: "|".join(sorted(v)) for k, v in every.items()})


def nicknames_for(dictionary: Dictionary) -> Nicknames:
    """The dictionary's `nicknames` reference table, or the bundled one if it names none."""
    try:
        return load_nicknames(dictionary.reference_path("nicknames"))
    except KeyError:
        return load_nicknames()

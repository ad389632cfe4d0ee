"""Hard conflicts: what two records may carry and still be one person.

A conflict forbids a merge outright, whatever the match score, and is checked between whole
clusters, so a third record never chains two people together (a parent and child sharing a
phone, twins sharing an address and family name). Which conflicts apply is set in
rules/match.yaml under `cannot_link`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import jellyfish
import polars as pl

from mdm.config.rules import CannotLink

PROFILE_COLUMNS = ["birth_date_key", "given_name_key", "given_name_canonicals", "middle_name_key", "family_name_key"]
SIMILAR_GIVEN_NAMES = 0.85
"""Jaro-Winkler at or above this is a spelling variant (Jon / John, Katharine / Katherine), not another name."""


class Profile(NamedTuple):
    """The identity facts of one record that conflicts are judged on (standardized keys).
    (A named tuple, not a dataclass: a million are made per run, and tuples are made fastest.)"""

    birth_date: str | None = None  # YYYYMMDD
    given: str | None = None
    given_canonicals: frozenset[str] = frozenset()
    middle: str | None = None
    family: str | None = None


def profiles_of(records: pl.DataFrame) -> list[Profile]:
    """One profile per record, in row order; absent columns count as empty."""
    n = records.height
    columns = [records[c].to_list() if c in records.columns else [None] * n for c in PROFILE_COLUMNS]
    canonical_sets: dict[str | None, frozenset[str]] = {None: frozenset(), "": frozenset()}

    def canonicals(text: str | None) -> frozenset[str]:
        found = canonical_sets.get(text)
        if found is None:
            found = canonical_sets[text] = frozenset(text.split("|"))  # type: ignore[union-attr]
        return found

    return [
        Profile(birth, given, canonicals(c), middle, family)
        for birth, given, c, middle, family in zip(*columns, strict=True)
    ]


def _digit_typo_or_swap(a: str, b: str) -> bool:
    if len(a) != 8 or len(b) != 8:
        return False
    if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return True  # day and month swapped
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 1 or jellyfish.damerau_levenshtein_distance(a, b) <= 1


def birth_dates_conflict(a: Profile, b: Profile) -> bool:
    """Both dates present and clearly different: not equal, not day/month swapped, not one typed digit."""
    if a.birth_date is None or b.birth_date is None or a.birth_date == b.birth_date:
        return False
    return not _digit_typo_or_swap(a.birth_date, b.birth_date)


def _same_given_name(a: Profile, b: Profile) -> bool:
    x, y = a.given, b.given
    if x is None or y is None or x == y:
        return True
    if len(x) == 1 or len(y) == 1:
        return x[0] == y[0]  # an initial
    if (a.given_canonicals | {x}) & (b.given_canonicals | {y}):
        return True  # nicknames of one name (bob, robert)
    if x == b.middle or y == a.middle:
        return True  # goes by the middle name
    return jellyfish.jaro_winkler_similarity(x, y) >= SIMILAR_GIVEN_NAMES


def given_names_conflict(a: Profile, b: Profile) -> bool:
    """Same family name, given names clearly different: a household member or a twin, not a duplicate."""
    if a.family is None or a.family != b.family:
        return False
    return not _same_given_name(a, b)


def dates_conflict(left: Sequence[Profile], right: Sequence[Profile]) -> bool:
    """Both clusters carry birth dates and not one date of one is the same as, or a typo of, a
    date of the other. (Not "any two differ": two copies of one date with a typo each differ in
    two digits from each other, yet each is one digit from the truth.)"""
    if len(left) == 1 and len(right) == 1:  # most merges join two single records: no sets needed
        return birth_dates_conflict(left[0], right[0])
    left_dates = {p.birth_date for p in left if p.birth_date is not None}
    right_dates = {p.birth_date for p in right if p.birth_date is not None}
    if not left_dates or not right_dates:
        return False
    return not any(a == b or _digit_typo_or_swap(a, b) for a in left_dates for b in right_dates)


def conflict(left: Iterable[Profile], right: Iterable[Profile], rules: CannotLink) -> str | None:
    """The first reason the records of two clusters may not be one person, or None.

    Given names conflict when any record of one clusters' conflicts with any of the other's (a
    twin's initial must not bridge two twins); birth dates when no date of one is near a date
    of the other (see `dates_conflict`)."""
    left, right = list(left), list(right)
    if rules.different_birth_date and dates_conflict(left, right):
        return "different birth dates"
    if rules.different_given_name and any(given_names_conflict(a, b) for a in left for b in right):
        return "different given names, same family name"
    return None

"""Hard conflicts: what two records may carry and still be one person.

A conflict forbids a merge outright, whatever the match score, and is checked between whole
clusters, so a third record never chains two people together (a parent and child sharing a
phone, twins sharing an address and family name). Which conflicts apply is set in
rules/match.yaml under `cannot_link`; how each is judged between clusters, and why, is in
docs/architecture.md ("mdm/cluster/conflicts.py").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import jellyfish
import polars as pl

from mdm.config.rules import CannotLink

PROFILE_COLUMNS = ["birth_date_key", "given_name_key", "given_name_canonicals", "middle_name_key", "family_name_key"]
SIMILAR_NAMES = 0.85
"""Jaro-Winkler at or above this is a spelling variant (Jon / John, Katharine / Katherine, Smith /
Smyth), not another name."""

BIRTH_DATES = "different birth dates"
GIVEN_NAMES = "different given names, same family name"
NAMES = "no name in common"


class StrongId(NamedTuple):
    """A value (the key) of a field the dictionary marks unique_per_person."""

    field: str
    value: str
    typo_tolerant: bool = False


class Profile(NamedTuple):
    """The identity facts of one record that conflicts are judged on (standardized keys).
    (A named tuple, not a dataclass: a million are made per run, and tuples are made fastest.)"""

    birth_date: str | None = None  # YYYYMMDD
    given: str | None = None
    given_canonicals: frozenset[str] = frozenset()
    middle: str | None = None
    family: str | None = None
    ids: tuple[StrongId, ...] = ()


def profile_columns(strong_ids: Mapping[str, bool] = {}) -> list[str]:  # noqa: B006 - never mutated
    """The standardized columns `profiles_of` reads: the names, the birth date and the strong ids."""
    return [*PROFILE_COLUMNS, *strong_ids]


def profiles_of(records: pl.DataFrame, strong_ids: Mapping[str, bool] = {}) -> list[Profile]:  # noqa: B006
    """One profile per record, in row order; absent columns count as empty. `strong_ids`: the key
    columns of the dictionary's unique_per_person fields, each with whether a typo is tolerated
    (`Dictionary.strong_ids`)."""
    n = records.height
    columns = [records[c].to_list() if c in records.columns else [None] * n for c in PROFILE_COLUMNS]
    canonical_sets: dict[str | None, frozenset[str]] = {None: frozenset(), "": frozenset()}

    def canonicals(text: str | None) -> frozenset[str]:
        found = canonical_sets.get(text)
        if found is None:
            found = canonical_sets[text] = frozenset(text.split("|"))  # type: ignore[union-attr]
        return found

    profiles = [
        Profile(birth, given, canonicals(c), middle, family)
        for birth, given, c, middle, family in zip(*columns, strict=True)
    ]
    for column, tolerant in strong_ids.items():
        if column not in records.columns:
            continue
        field = column.removesuffix("_key")
        for i, value in enumerate(records[column].cast(pl.String).to_list()):
            if value:
                profiles[i] = profiles[i]._replace(ids=(*profiles[i].ids, StrongId(field, value, tolerant)))
    return profiles


# ---- strong ids -----------------------------------------------------------------------------


def _one_typo(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= 1 and jellyfish.damerau_levenshtein_distance(a, b) <= 1


def _consecutive_numbers(a: str, b: str) -> bool:
    """123456788 / 123456789: numbers handed out one after the other (twins registered together),
    not a typo of one number."""
    return len(a) == len(b) and a.isdigit() and b.isdigit() and abs(int(a) - int(b)) == 1


def ids_agree(x: StrongId, y: StrongId) -> bool:
    """The same strong id: equal, or (identifiers) one typo apart, a digit changed, added, dropped
    or two neighbours swapped, unless the two are consecutive numbers."""
    if x.field != y.field:
        return False
    if x.value == y.value:
        return True
    return x.typo_tolerant and _one_typo(x.value, y.value) and not _consecutive_numbers(x.value, y.value)


def shared_strong_id(left: Iterable[Profile], right: Iterable[Profile]) -> str | None:
    """The field of a strong id a record of `left` and a record of `right` both hold, or None."""
    left_ids = [x for p in left for x in p.ids]
    if not left_ids:
        return None
    for y in (y for p in right for y in p.ids):
        for x in left_ids:
            if ids_agree(x, y):
                return x.field
    return None


# ---- birth dates ----------------------------------------------------------------------------


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


# ---- names ----------------------------------------------------------------------------------


def _near(x: str, y: str) -> bool:
    return x == y or jellyfish.jaro_winkler_similarity(x, y) >= SIMILAR_NAMES


def _same_given_name(a: Profile, b: Profile) -> bool:
    """The two given names can be one person's (True also when either is missing)."""
    x, y = a.given, b.given
    if x is None or y is None or x == y:
        return True
    if len(x) == 1 or len(y) == 1:
        return x[0] == y[0]  # an initial
    if (a.given_canonicals | {x}) & (b.given_canonicals | {y}):
        return True  # nicknames of one name (bob, robert)
    if x == b.middle or y == a.middle:
        return True  # goes by the middle name
    return jellyfish.jaro_winkler_similarity(x, y) >= SIMILAR_NAMES


def _one_family(a: Profile, b: Profile) -> bool:
    """Both family names present and the same or near-equal (Smith / Smyth: a typo in one record)."""
    return a.family is not None and b.family is not None and _near(a.family, b.family)


def given_names_conflict(a: Profile, b: Profile) -> bool:
    """One family name (or a typo of it), given names clearly different: a household member or
    a twin, not a duplicate."""
    if a.given is None or b.given is None or not _one_family(a, b):
        return False
    return not _same_given_name(a, b)


def _full_given_names_agree(a: Profile, b: Profile) -> bool:
    """Two full given names (not initials) that are one person's: the same, nicknames, a spelling
    variant or the middle name."""
    return (
        a.given is not None and b.given is not None and len(a.given) > 1 and len(b.given) > 1 and _same_given_name(a, b)
    )


def given_names_clash(left: Sequence[Profile], right: Sequence[Profile]) -> bool:
    """Some pair of the two clusters' records conflicts on given names (`given_names_conflict`)
    and no pair of full given names agrees. One member's typo ("Jonh") does not hold John apart
    from Jack, and an initial or a record without a given name does not bridge two twins."""
    clash = False
    for a in left:
        if a.given is None:
            continue
        for b in right:
            if b.given is None:
                continue
            if _full_given_names_agree(a, b):
                return False
            if not clash and given_names_conflict(a, b):
                clash = True
    return clash


def _full_names(p: Profile) -> tuple[str, ...]:
    return tuple(n for n in (p.given, p.middle, p.family) if n is not None and len(n) > 1)


def names_share_nothing(a: Profile, b: Profile) -> bool:
    """Both records carry a given and a family name and share none of their names: the given
    names are not one person's (`_same_given_name`: equal, nicknames, an initial, the middle name,
    a spelling variant) and no full name of one (given, middle or family) is the same as, or a
    spelling variant of, a full name of the other (so names written in the other order, a
    married name beside the maiden name as a middle name, share)."""
    if a.given is None or a.family is None or b.given is None or b.family is None:
        return False
    if _same_given_name(a, b):
        return False
    names_b = _full_names(b)
    return not any(_near(x, y) for x in _full_names(a) for y in names_b)


# ---- between clusters -----------------------------------------------------------------------


def fact_conflict(left: Sequence[Profile], right: Sequence[Profile], rules: CannotLink) -> str | None:
    """The first conflict of the two clusters' facts, strong ids aside (see `conflict`)."""
    if rules.different_birth_date and dates_conflict(left, right):
        return BIRTH_DATES
    if len(left) == 1 and len(right) == 1:  # most merges join two single records
        a, b = left[0], right[0]
        if rules.different_given_name and given_names_conflict(a, b):
            return GIVEN_NAMES
        if rules.different_names and names_share_nothing(a, b):
            return NAMES
        return None
    if rules.different_given_name and given_names_clash(left, right):
        return GIVEN_NAMES
    if rules.different_names and any(names_share_nothing(a, b) for a in left for b in right):
        return NAMES
    return None


def assess(left: Sequence[Profile], right: Sequence[Profile], rules: CannotLink) -> tuple[str | None, str | None]:
    """(the first conflict of the two clusters' facts, the strong id they share that outweighs
    it): the second is looked for only when there is a conflict to outweigh."""
    reason = fact_conflict(left, right, rules)
    return reason, (shared_strong_id(left, right) if reason is not None else None)


def conflict(left: Iterable[Profile], right: Iterable[Profile], rules: CannotLink) -> str | None:
    """The first reason the records of two clusters may not be one person, or None.

    - Two clusters holding one strong id (`shared_strong_id`) never conflict: an equal national
      id outweighs a mistyped date or a replaced name.
    - Birth dates: no date of one is near a date of the other (`dates_conflict`).
    - Given names: a pair conflicts and no pair of full given names agrees (`given_names_clash`).
    - Names: any record of one shares no name with a record of the other (`names_share_nothing`).
    """
    reason, strong_id = assess(list(left), list(right), rules)
    return None if strong_id is not None else reason


def outweighed(reason: str, strong_id: str) -> str:
    """The outcome of a merge whose conflict a shared strong id outweighed (match_pairs.outcome)."""
    return f"merged (the same {strong_id} outweighs: {reason})"

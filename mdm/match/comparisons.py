"""Comparisons: each candidate pair gets, per comparison, the first level whose test holds.

A comparison is data (`mdm.config.rules.Comparison`): ordered labelled levels, the null level
(`missing`) first and `else` last. Tests are polars expressions over a pair frame holding
both records' columns (`<column>_l`, `<column>_r`); string similarities are computed in bulk
first (mdm/match/similarity.py). The result is a small-integer level index per comparison
(0 = missing, last = else), which the model and the scorer turn into weights and labels.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from mdm.config.rules import Comparison, ComparisonLevel
from mdm.executor import Partitions
from mdm.match.similarity import DISTANCES, Metric, pairwise, pairwise_many

LEVEL_DTYPE = pl.UInt8


def left(column: str) -> pl.Expr:
    return pl.col(f"{column}_l")


def right(column: str) -> pl.Expr:
    return pl.col(f"{column}_r")


def similarity_column(metric: Metric, column: str) -> str:
    return f"_{metric}_{column}"


def _exact(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    return left(cols[0]) == right(cols[0])


def _nickname(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """Canonical names equal, or the '|'-joined sets of every canonical name overlap."""
    canonical, canonicals = cols
    overlap = left(canonicals).str.split("|").list.set_intersection(right(canonicals).str.split("|")).list.len() > 0
    return (left(canonical) == right(canonical)) | overlap


def _jaro_winkler(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    return pl.col(similarity_column("jaro_winkler", cols[0])) >= level.min_similarity


def _levenshtein(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    return pl.col(similarity_column("levenshtein", cols[0])) <= level.max_distance


def _damerau_levenshtein(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """At most `max_distance` edits, a swap of two neighbours counting as one (3559862 / 3559682)."""
    return pl.col(similarity_column("damerau_levenshtein", cols[0])) <= level.max_distance


NAME_PLUS_NUMBER = r"^\p{L}[\p{L}._-]*\d+$"
"""A mailbox made of a name and a number (annlee8, ann.lee84): people with one name make such
mailboxes near-equal to each other (annlee8 / ganlee4), so two of them a typo apart are no evidence."""


def _email_typo(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """At most `max_distance` edits apart (iprice@car.com / iprice@carr.com), but not when a
    differing character is a digit (ann1@ / ann2@: a number picked by each person) nor when both
    mailboxes differ and are each a name and a number (annlee8@ / ganlee4@: made from one name)."""
    a, b = left(cols[0]), right(cols[0])
    close = pl.col(similarity_column("levenshtein", cols[0])) <= level.max_distance
    same_digits = a.str.replace_all(r"\D", "") == b.str.replace_all(r"\D", "")
    mailbox_a, mailbox_b = a.str.extract(r"^(.+)@", 1), b.str.extract(r"^(.+)@", 1)
    made_from_names = (
        (mailbox_a != mailbox_b) & mailbox_a.str.contains(NAME_PLUS_NUMBER) & mailbox_b.str.contains(NAME_PLUS_NUMBER)
    ).fill_null(False)
    return close & same_digits & ~made_from_names


def _initial(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """One side is a single letter equal to the other's first letter."""
    a, b = left(cols[0]), right(cols[0])
    return ((a.str.len_chars() == 1) & (b.str.slice(0, 1) == a)) | ((b.str.len_chars() == 1) & (a.str.slice(0, 1) == b))


def _transposed(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """Given and family names swapped between the two records."""
    first, second = cols
    return (left(first) == right(second)) & (left(second) == right(first))


def _lone_name_is_family(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """One record has a single name, in the given-name field, and it is the other's family name
    ("Stephens" / "Henry Stephens": a surname typed into the first field of a form)."""
    given, family = cols
    return (left(family).is_null() & (left(given) == right(family))) | (
        right(family).is_null() & (right(given) == left(family))
    )


def _day_month_swapped(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """YYYYMMDD keys with the same year and day and month exchanged (1980-03-04 vs 1980-04-03)."""
    a, b = left(cols[0]), right(cols[0])
    return (
        (a.str.slice(0, 4) == b.str.slice(0, 4))
        & (a.str.slice(4, 2) == b.str.slice(6, 2))
        & (a.str.slice(6, 2) == b.str.slice(4, 2))
    )


def _year_off_by_one(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """YYYYMMDD keys with the same month and day and years one apart."""
    a, b = left(cols[0]), right(cols[0])
    year_a = a.str.slice(0, 4).cast(pl.Int32, strict=False)
    year_b = b.str.slice(0, 4).cast(pl.Int32, strict=False)
    return (a.str.slice(4, 4) == b.str.slice(4, 4)) & ((year_a - year_b).abs() == 1)


def _within_days(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """YYYYMMDD keys at most `max_days` apart (a date typed a month or a year wrong by the day)."""
    a, b = (side(cols[0]).str.to_date("%Y%m%d", strict=False) for side in (left, right))
    return (a - b).dt.total_days().abs() <= (level.max_days or 0)


def _last_chars_equal(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    n = level.last_chars or 0
    a, b = left(cols[0]), right(cols[0])
    return (a.str.len_chars() >= n) & (a.str.slice(-n) == b.str.slice(-n))


def _email_local_part_equal(cols: list[str], level: ComparisonLevel) -> pl.Expr:
    """Same part before the @ (the domain differs, or the exact level would have caught it)."""
    return left(cols[0]).str.extract(r"^(.+)@", 1) == right(cols[0]).str.extract(r"^(.+)@", 1)


LEVEL_TESTS: dict[str, Callable[[list[str], ComparisonLevel], pl.Expr]] = {
    "exact": _exact,
    "nickname": _nickname,
    "jaro_winkler": _jaro_winkler,
    "levenshtein": _levenshtein,
    "damerau_levenshtein": _damerau_levenshtein,
    "email_typo": _email_typo,
    "initial": _initial,
    "transposed": _transposed,
    "lone_name_is_family": _lone_name_is_family,
    "day_month_swapped": _day_month_swapped,
    "year_off_by_one": _year_off_by_one,
    "within_days": _within_days,
    "last_chars_equal": _last_chars_equal,
    "email_local_part_equal": _email_local_part_equal,
}


LEVEL_METRICS: dict[str, Metric] = {
    "jaro_winkler": "jaro_winkler",
    "levenshtein": "levenshtein",
    "damerau_levenshtein": "damerau_levenshtein",
    "email_typo": "levenshtein",
}
"""Level kinds whose test reads a string similarity (computed in bulk first), and which one."""
SIMILARITY_ONLY = ("jaro_winkler", "levenshtein", "damerau_levenshtein")
"""Level kinds whose test reads the similarity alone, never the strings."""


def level_test(comparison: Comparison, level: ComparisonLevel) -> pl.Expr:
    """The boolean test of one level (null counts as false)."""
    cols = level.columns_or(comparison.column)
    if level.kind == "missing":
        return pl.all_horizontal(left(c).is_null() | right(c).is_null() for c in cols)
    if level.kind == "else":
        return pl.lit(True)
    return LEVEL_TESTS[level.kind](cols, level).fill_null(False)


def level_index(comparison: Comparison) -> pl.Expr:
    """The index of the first level whose test holds, as `<comparison>` (UInt8), as one expression
    over a pair frame holding every similarity column the levels test (`similarity_column`).
    The plain statement of what `levels_of` computes faster on blocked pairs; tests hold the
    two together."""
    levels = comparison.levels
    # built from the else level up: each earlier level wraps the later ones
    chain: pl.Expr = pl.lit(len(levels) - 1, dtype=LEVEL_DTYPE)
    for index in range(len(levels) - 2, -1, -1):
        chain = pl.when(level_test(comparison, levels[index])).then(pl.lit(index, dtype=LEVEL_DTYPE)).otherwise(chain)
    return chain.alias(comparison.name)


def _level_index_of(comparison: Comparison) -> pl.Expr:
    """`level_index`, built once per comparison (its JSON): building the expression costs more
    than evaluating it on the few pairs of an API call."""
    return _level_index_cached(comparison.model_dump_json())


@functools.lru_cache(maxsize=256)
def _level_index_cached(comparison_json: str) -> pl.Expr:
    return level_index(Comparison.model_validate_json(comparison_json))


def usable_comparisons(columns: Sequence[str], comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons whose columns are all present; each other one is skipped with a warning."""
    usable = []
    for comparison in comparisons:
        absent = [c for c in comparison.required_columns if c not in columns]
        if absent:
            warnings.warn(f"comparison {comparison.name!r} skipped: column(s) {absent} absent", stacklevel=2)
        else:
            usable.append(comparison)
    return usable


PAIRS_PER_SLICE = 1_000_000
"""Pairs compared at once; memory of a slice grows with it, speed hardly does beyond it."""
CODED_PAIRS_PER_RECORD = 4
"""From this many pairs per record on, records' strings are turned into categorical codes before
pairs gather them: coding a record's strings costs about what gathering them for 3 pairs saves
(at 1M records: 1.7 s to code, 0.6 s saved per 1M pairs)."""


def pair_frame(records: pl.DataFrame, pairs: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """pairs (left, right, ...) with `<column>_l` and `<column>_r` from the records of each side."""
    side = records.select("rid", *columns)
    return pairs.join(
        side.rename({c: f"{c}_l" for c in columns}).rename({"rid": "left"}),
        on="left",
        how="left",
        maintain_order="left",
    ).join(
        side.rename({c: f"{c}_r" for c in columns}).rename({"rid": "right"}),
        on="right",
        how="left",
        maintain_order="left",
    )


def _with_similarity(undecided: pl.DataFrame, comparison: Comparison, index: int) -> pl.DataFrame:
    """`undecided` with the similarity that level `index` tests, computed only where it can matter:
    both values present and, for an edit distance, lengths no further apart than the largest
    `max_distance` of the comparison's levels on it (the length gap is a lower bound of the
    distance). Elsewhere it is null, which no level test passes."""
    level = comparison.levels[index]
    metric = LEVEL_METRICS[level.kind]
    column = level.columns_or(comparison.column)[0]
    name = similarity_column(metric, column)
    if name in undecided.columns:
        return undecided
    a, b = f"{column}_l", f"{column}_r"
    rows = (
        undecided.with_row_index("_sim_at")
        .filter(pl.col(a).is_not_null() & pl.col(b).is_not_null())
        .select("_sim_at", pl.col(a, b).cast(pl.String))
    )
    if metric in DISTANCES:
        bound = max(
            later.max_distance or 0
            for later in comparison.levels[index:]
            if LEVEL_METRICS.get(later.kind) == metric and later.columns_or(comparison.column)[0] == column
        )
        gap = pl.col(a).str.len_chars().cast(pl.Int64) - pl.col(b).str.len_chars().cast(pl.Int64)
        rows = rows.filter(gap.abs() <= bound)
    values = pairwise(metric, rows[a], rows[b])
    full = pl.repeat(None, undecided.height, dtype=values.dtype, eager=True).alias(name)
    if rows.height:
        full = full.scatter(rows["_sim_at"], values)
    return undecided.with_columns(full)


def _as_strings(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    names = [f"{c}_{side}" for c in columns for side in ("l", "r")]
    coded = [n for n in names if frame.schema[n] == pl.Categorical]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame


CODE_KINDS = ("missing", "exact", "transposed")
"""Level kinds whose test holds for categorical codes as for the strings (null, equal: one
dictionary for every column, so codes of two columns compare too)."""


def _first_levels(rows: pl.DataFrame, comparison: Comparison, indices: Sequence[int]) -> pl.Series:
    """Per row, the first of the levels `indices` whose test holds (null where none does), each
    test run only on the rows no earlier one took."""
    found = pl.repeat(None, rows.height, dtype=LEVEL_DTYPE, eager=True)
    undecided = rows.with_row_index("_at")
    for index in indices:
        if undecided.height == 0:
            break
        level = comparison.levels[index]
        if level.kind in LEVEL_METRICS:
            undecided = _with_similarity(undecided, comparison, index)
        if level.kind not in CODE_KINDS and level.kind not in SIMILARITY_ONLY:
            undecided = _as_strings(undecided, level.columns_or(comparison.column))
        hit = undecided.select(level_test(comparison, level)).to_series()
        taken = undecided["_at"].filter(hit)
        if taken.len():
            found = found.scatter(taken, index)
            undecided = undecided.filter(~hit)
    return found


def levels_of(frame: pl.DataFrame, comparison: Comparison) -> pl.Series:
    """The level index of `comparison` per row of a pair frame, as `<comparison>` (UInt8).

    The same levels as `level_index`, found with less work: each level's test (and the string
    similarity it needs) runs only on the rows no earlier level took, and the missing, exact and
    transposed levels, which take most blocked pairs, compare categorical codes where the frame
    holds them. (Running a comparison, or a similarity, once per distinct pair of values and
    joining back was measured slower at 1M records: the unique and the join cost more than the
    repeated work they save.)"""
    levels = comparison.levels
    columns = [f"{c}_{side}" for c in comparison.required_columns for side in ("l", "r")]
    found = _first_levels(frame.select(columns), comparison, range(len(levels) - 1))
    return found.fill_null(len(levels) - 1).alias(comparison.name)


def compare_pairs(
    records: pl.DataFrame,
    pairs: pl.DataFrame,
    comparisons: Sequence[Comparison],
    keep: Sequence[str] = (),
    carry_left: Sequence[str] = (),
    partitions: Partitions | None = None,
    many: bool | None = None,
) -> pl.DataFrame:
    """Per pair (`left`, `right` rids), one UInt8 level index column per comparison.

    `comparisons` must be usable on `records` (see `usable_comparisons`); `keep` names
    extra columns of `pairs` to carry through (e.g. `rule`); `carry_left` names record
    columns whose left-hand value (`<column>_l`) is kept too (a string column as Categorical when
    the strings were coded, see `CODED_PAIRS_PER_RECORD`). The pairs are compared in slices of
    PAIRS_PER_SLICE, on `partitions` (mdm/executor.py) when given, else here one after the other.
    `many` says whether the pairs are many per record (see below); by default judged from these
    pairs, which a partition of all the candidate pairs would misjudge.
    """
    columns = list(
        dict.fromkeys([*(c for comparison in comparisons for c in comparison.required_columns), *carry_left])
    )
    # Many pairs per record (blocked pairs): strings as categorical codes (one dictionary for the
    # process), so a pair frame gathers 4-byte codes instead of strings, and levels found level
    # by level (`levels_of`), the missing and exact levels, which take most such pairs, on codes.
    # Few (random pairs, to estimate u): nearly every pair reaches the last levels, so each
    # similarity is computed on the whole slice at once and `level_index` picks the level.
    if many is None:
        many = pairs.height >= CODED_PAIRS_PER_RECORD * records.height
    side = records.select("rid", *columns)
    if many and (partitions is None or not partitions.distributed):
        side = side.with_columns(pl.col(pl.String).cast(pl.Categorical))
    # in slices: both records' values of every compared column, for millions of pairs at once,
    # would hold gigabytes of strings; a slice's levels are a few bytes a pair
    slices = [
        pairs.slice(start, PAIRS_PER_SLICE).select("left", "right", *keep)
        for start in range(0, max(pairs.height, 1), PAIRS_PER_SLICE)
    ]
    settings = _SliceSettings(list(comparisons), columns, list(keep), [f"{c}_l" for c in carry_left], many)
    if partitions is None or not partitions.distributed:
        return pl.concat([_compare_slice(part, side, settings) for part in slices])
    # on a cluster each task gets only the records its slice's pairs name, and codes their strings
    # there (categories are per process): a worker holds a slice's worth whatever the record count
    # (every record's columns sent to every worker outgrew a worker's share of the budget at 1M
    # records). The slices go a wave of one per worker at a time, so this process holds as few.
    compared = []
    for first in range(0, len(slices), partitions.workers):
        wave = slices[first : first + partitions.workers]
        named = [pl.concat([part["left"], part["right"]]).unique().to_frame("rid") for part in wave]
        sides = [side.join(rids, on="rid", how="semi") for rids in named]
        compared += partitions.map(_compare_slice, wave, sides, settings=settings)
        del sides
    return pl.concat(compared)


@dataclass(frozen=True)
class _SliceSettings:
    comparisons: list[Comparison]
    columns: list[str]
    keep: list[str]
    carried: list[str]
    many: bool


def _compare_slice(pairs: pl.DataFrame, side: pl.DataFrame, settings: _SliceSettings) -> pl.DataFrame:
    """The levels of one slice of pairs (compare_pairs)."""
    comparisons, columns, keep, carried = settings.comparisons, settings.columns, settings.keep, settings.carried
    if settings.many and pl.String in side.schema.dtypes():
        side = side.with_columns(pl.col(pl.String).cast(pl.Categorical))
    frame = pair_frame(side, pairs, columns)
    if settings.many:
        return frame.select("left", "right", *keep, *carried).with_columns(levels_of(frame, c) for c in comparisons)
    needed = _similarities(comparisons)
    values = pairwise_many([(metric, frame[f"{column}_l"], frame[f"{column}_r"]) for metric, column in needed])
    frame = frame.with_columns(v.alias(similarity_column(m, c)) for v, (m, c) in zip(values, needed, strict=True))
    return frame.select("left", "right", *keep, *carried, *[_level_index_of(c) for c in comparisons])


def _similarities(comparisons: Sequence[Comparison]) -> list[tuple[Metric, str]]:
    needed: dict[tuple[Metric, str], None] = {}
    for comparison in comparisons:
        for level in comparison.levels:
            if level.kind in LEVEL_METRICS:
                needed[(LEVEL_METRICS[level.kind], level.columns_or(comparison.column)[0])] = None
    return list(needed)

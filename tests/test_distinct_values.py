"""map_distinct: one call per distinct value, shared across sources, same answer in worker processes."""

from __future__ import annotations

import functools
from unittest.mock import patch

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.standardize import base
from mdm.standardize.base import distinct_values, map_distinct
from mdm.standardize.phone import parse_phone

PHONES = pl.Series("phone", ["(415) 867-2671", None, "415.867.2671", "(415) 867-2671", "n/a", "+44 20 7946 0321"])
REGIONS = pl.Series("country", ["US", "US", "US", "US", "US", None])


def test_each_distinct_value_is_analysed_once_and_spread_back_in_row_order() -> None:
    calls: list[str] = []

    def shout(value: str) -> tuple[str]:
        calls.append(value)
        return (value.upper(),)

    (out,) = map_distinct(pl.Series(["a", "b", None, "a"]), shout, [pl.String])
    assert out.to_list() == ["A", "B", None, "A"]
    assert sorted(calls) == ["a", "b"]


CALLS: list[str] = []


def shout(value: str) -> tuple[str]:
    CALLS.append(value)
    return (value.upper(),)


def test_values_seen_in_an_earlier_source_are_not_analysed_again() -> None:
    CALLS.clear()
    with distinct_values(workers=1):
        map_distinct(pl.Series(["a", "b"]), shout, [pl.String])
        (second,) = map_distinct(pl.Series(["b", "c", "a", None]), shout, [pl.String])
    assert second.to_list() == ["B", "C", "A", None]
    assert sorted(CALLS) == ["a", "b", "c"]


def test_a_closure_keeps_nothing_between_calls() -> None:
    """A closure is made anew for each call, so keeping its results would only hold memory."""
    with distinct_values(workers=1) as run:
        map_distinct(pl.Series(["a"]), lambda v: (v,), [pl.String])
    assert run.memo == {}


def test_worker_processes_give_the_same_answer_as_this_process() -> None:
    dtypes = [pl.String, pl.String, pl.String, pl.Boolean, pl.String]
    here = map_distinct(PHONES, parse_phone, dtypes, extra=REGIONS)
    with distinct_values(workers=2, min_parallel_values=1) as run:
        there = map_distinct(PHONES, parse_phone, dtypes, extra=REGIONS)
    assert run.parallel_batches == 1
    assert [s.to_list() for s in there] == [s.to_list() for s in here]


def test_a_partial_made_anew_for_each_source_shares_its_results() -> None:
    """The address standardizer makes `partial(parse_line_with_tables, paths=...)` per source."""
    with distinct_values(workers=1) as run:
        for _source in range(2):
            map_distinct(pl.Series(["a", "b"]), functools.partial(_upper, suffix="!"), [pl.String])
    assert len(run.memo) == 1


def test_a_partial_with_unhashable_arguments_keeps_nothing() -> None:
    with distinct_values(workers=1) as run:
        for _source in range(2):
            (out,) = map_distinct(pl.Series(["a"]), functools.partial(_upper, suffix="!", seen=[]), [pl.String])
    assert out.to_list() == ["A!"]
    assert run.memo == {}


def _upper(value: str, suffix: str, seen: list[str] | None = None) -> tuple[str]:
    return (value.upper() + suffix,)


def test_a_local_function_stays_in_this_process() -> None:
    """A closure cannot be found by name in a worker: it runs here, whatever the batch size."""
    with distinct_values(workers=2, min_parallel_values=1) as run:
        (out,) = map_distinct(pl.Series(["x", "y"]), lambda v: (v * 2,), [pl.String])
    assert out.to_list() == ["xx", "yy"]
    assert run.parallel_batches == 0


PHONE_TEXTS = st.one_of(st.none(), st.sampled_from(["(415) 867-2671", "415.867.2671", "n/a", "+44 20 7946 0321", ""]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(PHONE_TEXTS, st.sampled_from([None, "US", "GB"])), max_size=12))
def test_a_few_values_are_mapped_in_python_exactly_as_many_are(rows: list[tuple[str | None, str | None]]) -> None:
    """The real-time API's one-record path (`FEW_VALUES`) against the frame-and-join path."""
    values = pl.Series("phone", [v for v, _ in rows], dtype=pl.String)
    regions = pl.Series("country", [r for _, r in rows], dtype=pl.String)
    dtypes = [pl.String, pl.String, pl.String, pl.Boolean, pl.String]
    few = map_distinct(values, parse_phone, dtypes, regions)
    with patch.object(base, "FEW_VALUES", -1):
        many = map_distinct(values, parse_phone, dtypes, regions)
    assert [s.name for s in few] == [s.name for s in many]
    assert [s.dtype for s in few] == [s.dtype for s in many]
    assert [s.to_list() for s in few] == [s.to_list() for s in many]

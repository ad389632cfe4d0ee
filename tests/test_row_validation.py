"""`record_failures` (one record, plain Python: the real-time API) gives the reasons `row_failures`
(pandera over a source's staged rows: the nightly run) gives, in the same words and order."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.config.dictionary import DEFAULT_DICTIONARY, load_dictionary
from mdm.ingest.validate import MAX_VALUE_CHARS, RECORD_ID, record_failures, row_failures

DICTIONARY = load_dictionary(DEFAULT_DICTIONARY)
EVERY_FIELD = [f.name for f in DICTIONARY.fields]


def by_pandera(values: dict[str, str | None], mapped: list[str]) -> list[str]:
    columns = [RECORD_ID, *mapped]
    row = pl.DataFrame({c: [values.get(c)] for c in columns}, schema=dict.fromkeys(columns, pl.String))
    return row_failures(row, DICTIONARY, mapped).get(0, [])


CASES = [
    # (description, values, mapped fields)
    ("a clean record", {RECORD_ID: "r1", "given_name": "Ann", "family_name": "Lee"}, EVERY_FIELD),
    ("no record id", {RECORD_ID: None, "email": "a@b.com"}, EVERY_FIELD),
    ("a blank record id and no identity field", {RECORD_ID: " \t", "city": "Boston"}, EVERY_FIELD),
    ("identity fields only blank", {RECORD_ID: "r1", "given_name": "\u00a0", "phone": "\u2028 "}, EVERY_FIELD),
    ("a separator character is no blank for polars", {RECORD_ID: "r1", "given_name": "\x1f"}, EVERY_FIELD),
    ("a NUL in a value and in the id", {RECORD_ID: "r\x00", "given_name": "A\x00n"}, EVERY_FIELD),
    ("a value too long", {RECORD_ID: "r1", "city": "x" * (MAX_VALUE_CHARS + 1), "email": "a@b.com"}, EVERY_FIELD),
    ("long, NUL, no identity", {RECORD_ID: "", "occupation": "\x00" + "y" * MAX_VALUE_CHARS}, EVERY_FIELD),
    ("no identity field mapped", {RECORD_ID: "r1", "city": "Boston"}, ["city", "region"]),
]


@pytest.mark.parametrize(("description", "values", "mapped"), CASES, ids=[c[0] for c in CASES])
def test_one_record_fails_as_its_row_would(description: str, values: dict[str, str | None], mapped: list[str]) -> None:
    assert record_failures(values, DICTIONARY, mapped) == by_pandera(values, mapped)


TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(" \t\x00\x1c\x1f\u00a0\u2028\u3000ab"), max_size=4))


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({RECORD_ID: TEXT, "given_name": TEXT, "email": TEXT, "city": TEXT}))
def test_any_short_record_fails_as_its_row_would(values: dict[str, str | None]) -> None:
    assert record_failures(values, DICTIONARY, EVERY_FIELD) == by_pandera(values, EVERY_FIELD)

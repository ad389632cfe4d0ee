"""Standardizers: table-driven cases and properties (never raise, idempotent).

Phones and e-mails are in test_standardize_contact.py, names in test_standardize_name.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mdm.config.dictionary import load_dictionary
from mdm.standardize import base
from mdm.standardize.address import normalize_postal_code, standardize_city, standardize_country, standardize_region
from mdm.standardize.base import FieldContext, tidy
from mdm.standardize.coded import standardize_coded
from mdm.standardize.date import PLACEHOLDER_DATES, standardize_date
from mdm.standardize.identifier import standardize_identifier
from mdm.standardize.text import standardize_text

DICTIONARY = load_dictionary()
AS_OF = dt.date(2026, 11, 1)


def ctx(field: str, value_format: str | None = None, country: str = "US") -> FieldContext:
    return FieldContext(DICTIONARY.field(field), DICTIONARY, country, value_format, AS_OF)


def test_a_source_of_historical_people_sets_its_own_age_limit() -> None:
    """historical_50k (../shared/benchmarks) holds people born centuries ago: 120 years is no limit for it."""
    raw = pl.Series("birth_date", ["1650-03-04", "0999-01-01"])
    result = standardize_date(
        raw, FieldContext(DICTIONARY.field("birth_date"), DICTIONARY, "GB", "%Y-%m-%d", AS_OF, 1000)
    )
    assert result.clean.to_list() == [dt.date(1650, 3, 4), None]
    assert result.flags[1].to_list() == ["more than 1000 years before 2026-11-01"]


@pytest.mark.parametrize(
    ("description", "raw", "fmt", "clean", "flag"),
    [
        ("declared US order", "03/04/1980", "%m/%d/%Y", dt.date(1980, 3, 4), None),
        ("declared day-first order", "03.04.1980", "%d.%m.%Y", dt.date(1980, 4, 3), None),
        ("impossible date", "13/45/1980", "%m/%d/%Y", None, "not a date in format %m/%d/%Y: '13/45/1980'"),
        ("zero date", "0000-00-00", "%Y-%m-%d", None, "placeholder date"),
        ("zero date in the declared US form", "00/00/0000", "%m/%d/%Y", None, "placeholder date"),
        (
            "day-month order never swapped to fit",
            "13/04/1980",
            "%m/%d/%Y",
            None,
            "not a date in format %m/%d/%Y: '13/04/1980'",
        ),
        ("leap day", "02/29/2000", "%m/%d/%Y", dt.date(2000, 2, 29), None),
        (
            "no 29 February in a non-leap year",
            "02/29/1999",
            "%m/%d/%Y",
            None,
            "not a date in format %m/%d/%Y: '02/29/1999'",
        ),
        ("text month", "4 Mar 1980", "%d %b %Y", dt.date(1980, 3, 4), None),
        ("Chinese style", "1980年03月04日", "%Y年%m月%d日", dt.date(1980, 3, 4), None),
        ("placeholder", "1900-01-01", "%Y-%m-%d", None, "placeholder date"),
        ("future", "2030-01-01", "%Y-%m-%d", None, "after the as-of date 2026-11-01"),
        ("over 120 years", "1890-05-05", "%Y-%m-%d", None, "more than 120 years before 2026-11-01"),
        ("other format is not guessed", "1980-03-04", "%m/%d/%Y", None, "not a date in format %m/%d/%Y: '1980-03-04'"),
    ],
)
def test_dates(description: str, raw: str, fmt: str, clean: dt.date | None, flag: str | None) -> None:
    result = standardize_date(pl.Series("birth_date", [raw]), ctx("birth_date", fmt))
    assert result.clean[0] == clean, description
    assert result.flags[0].to_list() == ([flag] if flag else []), description


@pytest.mark.parametrize(
    ("description", "raw", "country", "clean"),
    [
        ("US ZIP5", "94110", "US", "94110"),
        ("US ZIP+4 to ZIP5", "02110-1234", "US", "02110"),
        ("US lost leading zero", "2110", "US", None),
        ("Canada", "k1a0b1", "CA", "K1A 0B1"),
        ("UK", "sw1a1aa", "GB", "SW1A 1AA"),
        ("Germany", "10115", "DE", "10115"),
        ("China", "100020", "CN", "100020"),
        ("bad Germany", "1011", "DE", None),
        ("unvalidated country kept", "1010", "AT", "1010"),
    ],
)
def test_postal_codes(description: str, raw: str, country: str, clean: str | None) -> None:
    assert normalize_postal_code(raw, country)[0] == clean, description


@pytest.mark.parametrize(
    ("description", "raw", "clean"),
    [
        ("code", "us", "US"),
        ("name", "United States", "US"),
        ("German name", "Deutschland", "DE"),
        ("alpha-3", "CAN", "CA"),
        ("blank takes the source default", "", "US"),
        ("unknown", "Atlantis", None),
    ],
)
def test_countries(description: str, raw: str, clean: str | None) -> None:
    assert standardize_country(pl.Series("country", [raw]), ctx("country")).clean[0] == clean, description


@pytest.mark.parametrize(
    ("description", "raw", "clean"),
    [
        ("code", "f", "F"),
        ("word", "Female", "F"),
        ("German", "männlich", "M"),
        ("German W", "W", "F"),
        ("Chinese", "女", "F"),
        ("unknown", "unknown", "U"),
        ("not a gender", "blue", None),
    ],
)
def test_gender(description: str, raw: str, clean: str | None) -> None:
    result = standardize_coded(pl.Series("gender", [raw]), ctx("gender"))
    assert result.clean[0] == clean, description
    assert (result.flags[0].to_list() != []) == (clean is None), description


def test_regions_by_country() -> None:
    raw = pl.Series("region", ["Calif.", "massachusetts", "ON", "Bayern", "ZZ"])
    country = pl.Series("country", ["US", "US", "CA", "DE", "US"])
    result = standardize_region(raw, ctx("region"), country)
    assert result.clean.to_list() == ["CA", "MA", "ON", "Bayern", None]
    assert result.flags[4].to_list() == ["unknown US region 'ZZ'"]


text = st.text(max_size=40)


@settings(max_examples=100, deadline=None)
@given(text, st.sampled_from(["US", "CA", "GB", "DE", "CN", None]))
def test_postal_code_never_raises_and_is_idempotent(value: str, country: str | None) -> None:
    clean, _ = normalize_postal_code(value, country)
    if clean is not None:
        assert normalize_postal_code(clean, country)[0] == clean


@settings(max_examples=100, deadline=None)
@given(text)
def test_date_standardizer_never_raises(value: str) -> None:
    standardize_date(pl.Series("d", [value]), ctx("birth_date", "%m/%d/%Y"))


@settings(max_examples=100, deadline=None)
@given(text, st.sampled_from(["US", "CA", "DE", None]))
@example("00ß", "DE")  # three characters that upper-case to four
def test_coded_country_and_region_never_raise_and_are_idempotent(value: str, country: str | None) -> None:
    """Standardizing a clean value again gives the same clean value and key."""
    countries = pl.Series("country", [country], dtype=pl.String)
    once = {
        "gender": standardize_coded(pl.Series("gender", [value]), ctx("gender")),
        "country": standardize_country(pl.Series("country", [value]), ctx("country")),
        "region": standardize_region(pl.Series("region", [value]), ctx("region"), countries),
    }
    for field, result in once.items():
        clean = result.clean[0]
        if clean is None:
            continue
        if field == "gender":
            again = standardize_coded(pl.Series("gender", [clean]), ctx("gender"))
        elif field == "country":
            again = standardize_country(pl.Series("country", [clean]), ctx("country"))
        else:
            again = standardize_region(pl.Series("region", [clean]), ctx("region"), countries)
        assert (again.clean[0], again.key[0]) == (clean, result.key[0]), field
        assert again.flags[0].to_list() == [], field


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1907, 1, 1), max_value=AS_OF), st.sampled_from(["%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"]))
def test_a_clean_date_written_in_the_declared_format_reads_back_the_same(day: dt.date, fmt: str) -> None:
    assume(day not in PLACEHOLDER_DATES)  # 1970-01-01 and the like are nulled on purpose
    first = standardize_date(pl.Series("birth_date", [day.strftime(fmt)]), ctx("birth_date", fmt))
    again = standardize_date(pl.Series("birth_date", [first.clean[0].strftime(fmt)]), ctx("birth_date", fmt))
    assert first.clean[0] == again.clean[0] == day and again.key[0] == day.strftime("%Y%m%d")


@settings(max_examples=100, deadline=None)
@given(text)
def test_city_never_raises_and_is_idempotent(value: str) -> None:
    once = standardize_city(pl.Series("city", [value]), ctx("city"))
    if once.clean[0] is not None:
        again = standardize_city(pl.Series("city", [once.clean[0]]), ctx("city"))
        assert (again.clean[0], again.key[0]) == (once.clean[0], once.key[0])


@pytest.mark.parametrize(
    ("description", "raw", "clean", "flag"),
    [
        ("separators dropped, upper case", "123-45-678x", "12345678X", None),
        ("spaces inside", " 530 4218 ", "5304218", None),
        ("one digit repeated is a placeholder", "000-00-0000", None, "placeholder national_id '000-00-0000'"),
        ("the famous run is a placeholder", "123-45-6789", None, "placeholder national_id '123-45-6789'"),
        ("too short to tell people apart", "A1", None, "national_id 'A1' is shorter than 4 characters"),
        ("blank is missing, not flagged", "   ", None, None),
    ],
)
def test_identifier(description: str, raw: str, clean: str | None, flag: str | None) -> None:
    result = standardize_identifier(pl.Series("national_id", [raw]), ctx("national_id"))
    assert result.clean.to_list() == [clean], description
    assert result.key.to_list() == [clean], description
    assert result.flags.to_list() == [[flag] if flag else []], description


@pytest.mark.parametrize(
    ("raw", "clean", "key"),
    [
        ("  Civil   Engineer ", "Civil Engineer", "civilengineer"),
        ("civil engineer", "civil engineer", "civilengineer"),
        ("Médecin-chef", "Médecin-chef", "medecinchef"),
        ("  ", None, None),
        ("--", "--", None),
    ],
)
def test_text_is_tidied_and_keyed_never_flagged(raw: str, clean: str | None, key: str | None) -> None:
    result = standardize_text(pl.Series("occupation", [raw]), ctx("occupation"))
    assert (result.clean[0], result.key[0]) == (clean, key)
    assert result.flags.to_list() == [[]]


@settings(max_examples=100, deadline=None)
@given(text)
def test_identifier_never_raises_and_is_idempotent(value: str) -> None:
    once = standardize_identifier(pl.Series("national_id", [value]), ctx("national_id")).clean
    again = standardize_identifier(once, ctx("national_id")).clean
    assert again.to_list() == once.to_list()


SPACES = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000\u200b"
SPACED = st.one_of(st.none(), st.text(alphabet=st.sampled_from(SPACES + "ab."), max_size=8))


@settings(max_examples=100, deadline=None)
@given(st.lists(SPACED, max_size=6))
def test_tidy_on_a_few_values_is_polars_tidy(values: list[str | None]) -> None:
    """The real-time API's path (Python, `FEW_VALUES`) against the run's (polars) on every kind of
    space: polars' `\\s` and trim are Unicode White_Space, which Python's are not quite."""
    raw = pl.Series("v", values, dtype=pl.String)
    few = tidy(raw)
    with patch.object(base, "FEW_VALUES", -1):
        many = tidy(raw)
    assert few.name == many.name and few.dtype == many.dtype
    assert few.to_list() == many.to_list()


def _batch(source: str, start: int, rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A standardized batch (with previous_rid) of one e-mail field, and the staged rows it came from."""
    ids = [f"{source}{i}" for i in range(start, start + rows)]
    frame = pl.DataFrame(
        {
            "source": [source] * rows,
            "source_record_id": ids,
            "row_number": list(range(start, start + rows)),
            "trust": [1] * rows,
            "email_raw": [f"{i}@X.de " for i in ids],
            "email": [f"{i}@x.de" for i in ids],
            "email_key": [f"{i}@x.de" for i in ids],
            "email_flags": [[] if i % 3 else ["trimmed"] for i in range(rows)],
            "source_updated_at": [dt.datetime(2026, 1, 1 + i % 28) for i in range(rows)],
            "updated_at_flags": [[] for _ in range(rows)],
            "previous_rid": [None] * rows,
        },
        schema_overrides={"email_flags": pl.List(pl.String), "updated_at_flags": pl.List(pl.String)},
    )
    staged = pl.DataFrame({"updated_at": [str(d.date()) for d in frame["source_updated_at"]]})
    return frame, staged


@pytest.mark.parametrize("held", ["every batch", "the first batch", "none"])
def test_standardized_batches_held_or_spilled_write_the_same_file(tmp_path: Path, held: str) -> None:
    """The records' file is the same whether the batches were held in memory, written to files of
    their own (past the stage's share of the memory budget), or some of each; no batch file is left."""
    import pandera.polars as pa

    from mdm.standardize.stage import DateCounts, _Standardized

    batches = [_batch("crm", 0, 50), _batch("crm", 50, 30), _batch("web", 0, 40)]
    first = int(batches[0][0].drop("previous_rid").estimated_size())
    hold = {"every batch": 10**9, "the first batch": first, "none": 0}[held]
    written = {}
    for name, limit in (("reference", 10**9), (held, hold)):
        work = tmp_path / name
        work.mkdir()
        done = _Standardized(work, pa.DataFrameSchema({"source": pa.Column(str)}), ["email"], [], limit)
        for frame, staged in batches:
            hashes = pl.Series("record_hash", range(frame.height), dtype=pl.UInt64)
            done.keep(frame, staged, hashes, {"email": None, "updated_at": None}, DateCounts(), frame["source"][0])
        spilled = sum(isinstance(part, Path) for part in done.parts)
        assert spilled == {"every batch": 0, "the first batch": 2, "none": 3, "reference": 0}[name]
        assert done.write(work / "standardized.parquet", work / "hashes.parquet", work / "profile.parquet") == 120
        assert not list(work.glob("standardized_*.parquet"))
        written[name] = pl.read_parquet(work / "standardized.parquet")
    assert written[held].equals(written["reference"])
    assert written[held]["rid"].to_list() == list(range(120))


def test_dates_restandardized_as_of_a_new_day_equal_dates_standardized_on_it() -> None:
    """An incremental run re-reads only the carried dates a new as-of day may change (those near the
    future and age limits, or flagged by them): the result equals standardizing every date again."""
    import random

    from mdm.config.sources import load_sources
    from mdm.standardize.source import BY_KIND, _field_columns, as_of_fields, restandardize_as_of
    from tests.conftest import REPO

    dictionary = load_dictionary()
    source = load_sources(REPO / "data" / "sample" / "sources.yaml", dictionary.names).sources[0]
    names = as_of_fields(dictionary)
    first = dt.date(2026, 11, 1)
    rng = random.Random(11)

    def raw_dates(n: int) -> list[str | None]:
        near = [first + dt.timedelta(days=d) for d in range(-5, 40)]
        old = [first.replace(year=first.year - 120) + dt.timedelta(days=d) for d in range(-5, 40)]
        odd = [None, "", "not a date", "0000-00-00", "1900-01-01", "9999-12-31", "2026-02-30"]
        return [rng.choice([*(d.isoformat() for d in near + old), *odd, "1985-06-07"]) for _ in range(n)]

    def standardized(raw: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
        columns: list[pl.Series] = []
        for name in names:
            definition = dictionary.field(name)
            spec = source.fields.get(name)
            ctx = FieldContext(
                definition, dictionary, source.country, None, as_of, spec.max_age_years if spec else None
            )
            value = raw[name].alias(name)
            columns += _field_columns(
                definition, value, BY_KIND[definition.kind](value, ctx).with_policy(value, ctx.policy)
            )
        return pl.DataFrame(columns)

    raw = pl.DataFrame({name: raw_dates(400) for name in names}, schema=dict.fromkeys(names, pl.String))
    carried = standardized(raw, first)
    for later in (first + dt.timedelta(days=1), first + dt.timedelta(days=30), first - dt.timedelta(days=3)):
        again = restandardize_as_of(carried, source, dictionary, {}, later)
        assert again.equals(standardized(raw, later)), later
    # most dates are far from either limit: they were not read again
    assert restandardize_as_of(carried, source, dictionary, {}, first).equals(carried)

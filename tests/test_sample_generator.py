"""The sample generator: deterministic, parses as sources.yaml declares, truth covers every row."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdm.sample import generate_sample
from mdm.sample import generator as gen

REPO = Path(__file__).parent.parent
SOURCES_YAML = REPO / "data" / "sample" / "sources.yaml"
AS_OF = dt.date(2026, 11, 1)
PEOPLE = 300
FILES = ("truth.csv", "sources/crm.csv", "sources/billing.sqlite", "sources/web_signups.jsonl", "sources/clinic.csv")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, int]]]:
    out = {}
    for name, seed in (("a", 20261122), ("b", 20261122), ("other", 7)):
        path = tmp_path_factory.mktemp(name)
        out[name] = (path, generate_sample(path, seed=seed, n_people=PEOPLE, as_of=AS_OF))
    return out


@pytest.fixture(scope="module")
def sample(runs: dict[str, tuple[Path, dict[str, int]]]) -> Path:
    return runs["a"][0]


@pytest.fixture(scope="module")
def declared() -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))["sources"]}


@pytest.fixture(scope="module")
def truth(sample: Path) -> dict[str, list[dict[str, str]]]:
    by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (sample / "truth.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_source[row["source"]].append(row)
    return dict(by_source)


def read_rows(sample: Path, spec: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """(columns, raw rows) as the declared format gives them: csv lists, sqlite dicts, jsonl lines."""
    path = sample / spec["path"]
    if spec["kind"] == "csv":
        encoding = spec.get("encoding", "utf-8")
        data = path.read_bytes()
        if encoding == "utf-8":
            assert data.startswith(codecs.BOM_UTF8), "crm.csv is declared UTF-8 with a BOM"
            encoding = "utf-8-sig"
        rows = list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=spec.get("delimiter", ",")))
        return rows[0], rows[1:]
    if spec["kind"] == "sqlite":
        con = sqlite3.connect(path)
        con.row_factory = sqlite3.Row
        try:
            cursor = con.execute(f'SELECT * FROM "{spec["table"]}"')
            columns = [d[0] for d in cursor.description]
            return columns, [dict(r) for r in cursor]
        finally:
            con.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    keys: dict[str, None] = {}
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
    return list(keys), lines


def declared_columns(spec: dict[str, Any]) -> set[str]:
    cols = {spec["record_id"], spec["updated_at"]["column"]}
    for value in spec["fields"].values():
        if isinstance(value, str):
            cols.add(value)
        elif "column" in value:
            cols.add(value["column"])
        else:
            cols.update(value["columns"])
    return cols


def as_dicts(columns: list[str], spec: dict[str, Any], rows: list[Any]) -> list[dict[str, Any] | None]:
    """Each row as a dict, None where its structure is broken (ragged CSV, bad JSON, not an object)."""
    out: list[dict[str, Any] | None] = []
    for row in rows:
        if spec["kind"] == "csv":
            out.append(dict(zip(columns, row, strict=True)) if len(row) == len(columns) else None)
        elif spec["kind"] == "sqlite":
            out.append(row)
        else:
            try:
                value = json.loads(row)
            except json.JSONDecodeError:
                value = None
            out.append(value if isinstance(value, dict) else None)
    return out


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# ---- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(runs: dict[str, tuple[Path, dict[str, int]]]) -> None:
    (a, counts_a), (b, counts_b) = runs["a"], runs["b"]
    assert counts_a == counts_b
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_other_seed_gives_other_data(runs: dict[str, tuple[Path, dict[str, int]]]) -> None:
    a, other = runs["a"][0], runs["other"][0]
    for name in FILES:
        assert (a / name).read_bytes() != (other / name).read_bytes(), name


def test_module_header_states_the_shape() -> None:
    doc = gen.__doc__ or ""
    for needle in (
        "20261122",
        "1200",
        "2%/month",
        "1%/month",
        "0.5%/month",
        "20% of people",
        "5% of people",
        "2% live abroad",
        "Broken rows",
    ):
        assert needle in doc, needle


def test_default_size_and_cli(tmp_path: Path) -> None:
    counts = generate_sample(tmp_path / "default")
    assert 2500 <= sum(counts.values()) <= 4000, counts
    assert not (tmp_path / "default" / "sources" / "clinic.csv").read_bytes().isascii()  # José, Müller
    web = (tmp_path / "default" / "sources" / "web_signups.jsonl").read_text(encoding="utf-8")
    assert re.search(r"[\u4e00-\u9fff]{2,}", web), "no Chinese names in the web source"
    crm = (tmp_path / "default" / "sources" / "crm.csv").read_text(encoding="utf-8-sig")
    for country in ("Canada", "UK", "Deutschland", "China"):  # spellings drawn per record; all occur
        assert f",{country}," in crm or country in web, country
    assert gen.main(["--out", str(tmp_path / "cli"), "--people", "40", "--seed", "3"]) == 0
    assert all((tmp_path / "cli" / name).exists() for name in FILES)
    assert not list((tmp_path / "cli").glob(".truth-*"))


# ---- files as declared, truth covers every row ------------------------------------------------------


def test_files_parse_as_declared_and_truth_covers_every_row(
    runs: dict[str, tuple[Path, dict[str, int]]],
    sample: Path,
    declared: dict[str, dict[str, Any]],
    truth: dict[str, list[dict[str, str]]],
) -> None:
    counts = runs["a"][1]
    assert set(declared) == set(counts) == set(truth)
    for name, spec in declared.items():
        columns, rows = read_rows(sample, spec)
        assert declared_columns(spec) <= set(columns), name
        assert len(rows) == counts[name] == len(truth[name]), name
        assert [int(t["row_number"]) for t in truth[name]] == list(range(1, len(rows) + 1))
        updated = spec["updated_at"]
        for record, t in zip(as_dicts(columns, spec, rows), truth[name], strict=True):
            structural = t["broken"] in ("ragged_row", "bad_json", "not_object")
            assert (record is None) == structural, (name, t)
            assert t["person_id"].startswith("person_")
            if record is None:
                continue
            assert text(record.get(spec["record_id"])) == t["record_id"], (name, t)
            dt.datetime.strptime(record[updated["column"]], updated["format"])
            dob = spec["fields"]["birth_date"]
            value = text(record.get(dob["column"]))
            if value and t["broken"] != "bad_birth_date":
                born = dt.datetime.strptime(value, dob["format"]).date()
                assert dt.date(1900, 1, 1) < born <= AS_OF, (name, value)  # 1916 for 1961 is a typo


def test_clinic_is_latin1(sample: Path) -> None:
    raw = (sample / "sources" / "clinic.csv").read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8)
    assert raw.splitlines()[0].count(b";") == len(gen.COLUMNS["clinic"]) - 1
    if not raw.isascii():
        with pytest.raises(UnicodeDecodeError):  # Latin-1 accents are not valid UTF-8
            raw.decode("utf-8")


# ---- deliberately broken rows ---------------------------------------------------------------------------

KINDS = {
    "crm": {
        "missing_id",
        "duplicate_id_exact",
        "duplicate_id_conflict",
        "ragged_row",
        "no_identity",
        "bad_birth_date",
        "placeholder_phone",
        "bad_email",
    },
    "billing": {
        "missing_id",
        "duplicate_id_exact",
        "duplicate_id_conflict",
        "no_identity",
        "bad_birth_date",
        "placeholder_phone",
        "bad_email",
    },
    "web": {
        "missing_id",
        "duplicate_id_exact",
        "duplicate_id_conflict",
        "bad_json",
        "not_object",
        "no_identity",
        "bad_birth_date",
        "placeholder_phone",
        "bad_email",
    },
    "clinic": {
        "missing_id",
        "duplicate_id_exact",
        "duplicate_id_conflict",
        "ragged_row",
        "no_identity",
        "bad_birth_date",
        "placeholder_phone",
        "bad_email",
    },
}
IDENTITY = {
    "crm": ("first_name", "middle_initial", "last_name", "birth_date", "email", "mobile_phone", "home_phone"),
    "billing": ("full_name", "dob", "phone", "email"),
    "web": ("name", "email", "phone", "birthday"),
    "clinic": ("first_name", "surname", "dob", "tel", "email"),
}


def test_every_broken_kind_is_present_and_looks_broken(
    sample: Path, declared: dict[str, dict[str, Any]], truth: dict[str, list[dict[str, str]]]
) -> None:
    for name, spec in declared.items():
        kinds = Counter(t["broken"] for t in truth[name] if t["broken"])
        assert set(kinds) == KINDS[name], name
        assert min(kinds.values()) >= 2, (name, kinds)
        columns, rows = read_rows(sample, spec)
        records = as_dicts(columns, spec, rows)
        seen: dict[str, Any] = {}
        dob = spec["fields"]["birth_date"]
        for raw, record, t in zip(rows, records, truth[name], strict=True):
            kind = t["broken"]
            if kind == "ragged_row":
                assert len(raw) != len(columns)
            elif kind == "bad_json":
                with pytest.raises(json.JSONDecodeError):
                    json.loads(raw)
            elif kind == "not_object":
                assert isinstance(json.loads(raw), list)
            assert record is not None or kind in ("ragged_row", "bad_json", "not_object")
            if record is None:
                continue
            rid = t["record_id"]
            if kind == "missing_id":
                assert rid == "" and text(record.get(spec["record_id"])) == ""
            elif kind == "duplicate_id_exact":
                assert raw == seen[rid]
            elif kind == "duplicate_id_conflict":
                assert rid in seen and raw != seen[rid]
            elif kind == "no_identity":
                assert all(text(record.get(c)) == "" for c in IDENTITY[name])
            elif kind == "placeholder_phone":
                assert text(record.get(gen.PHONE[name])) in ("000-000-0000", "555-0100")
            elif kind == "bad_email":
                assert "@" not in text(record.get("email"))
            elif kind == "bad_birth_date":
                value = text(record.get(dob["column"]))
                try:
                    born = dt.datetime.strptime(value, dob["format"]).date()
                except ValueError:
                    continue
                assert born == dt.date(1900, 1, 1) or born > AS_OF, value
            if rid and kind not in ("duplicate_id_exact", "duplicate_id_conflict"):
                assert rid not in seen, (name, rid)
                seen[rid] = raw


def test_real_phones_avoid_fictional_ranges(
    sample: Path, declared: dict[str, dict[str, Any]], truth: dict[str, list[dict[str, str]]]
) -> None:
    for name, spec in declared.items():
        columns, rows = read_rows(sample, spec)
        phone = spec["fields"]["phone"]
        phone_cols = [phone] if isinstance(phone, str) else phone["columns"]
        for record, t in zip(as_dicts(columns, spec, rows), truth[name], strict=True):
            if record is None or t["broken"] == "placeholder_phone":
                continue
            for col in phone_cols:
                value = text(record.get(col)).split(" ext")[0].split(" x")[0].split(" #")[0]
                if re.match(r"^\+(?!1)|^00|^1[3-9]\d ?\d{4} ?\d{4}$", value):  # abroad: +44, 0049, 13812345678
                    continue
                digits = re.sub(r"\D", "", value)
                if len(digits) == 11 and digits.startswith("1"):
                    digits = digits[1:]
                if len(digits) == 10 and not digits.startswith(("0", "1")):
                    assert digits[3:6] != "555", (name, record.get(col))
                    assert digits[0] in "23456789" and digits[3] in "23456789", (name, record.get(col))


# ---- the shape: households, duplicates, staleness --------------------------------------------------


def test_households_duplicates_and_staleness(truth: dict[str, list[dict[str, str]]]) -> None:
    rows = [t for ts in truth.values() for t in ts]
    people = {t["person_id"] for t in rows}
    assert len(people) == PEOPLE
    households: dict[str, set[str]] = defaultdict(set)
    for t in rows:
        if t["household_id"]:
            households[t["household_id"]].add(t["person_id"])
    members = {p for ps in households.values() for p in ps}
    assert len(households) >= 5 and all(len(ps) >= 1 for ps in households.values())
    assert 0.08 <= len(members) / len(people) <= 0.4  # 20% expected; 300 people vary
    sources: dict[str, set[str]] = defaultdict(set)
    same_source: Counter[tuple[str, str]] = Counter()
    for t in rows:
        sources[t["person_id"]].add(t["source"])
        if not t["broken"].startswith("duplicate_id"):
            same_source[(t["source"], t["person_id"])] += 1
    spread = Counter(len(s) for s in sources.values())
    assert spread[1] > 0 and spread[4] > 0
    assert 0.5 <= sum(n for k, n in spread.items() if k >= 2) / len(people) <= 0.85
    assert sum(1 for n in same_source.values() if n >= 2) >= 5  # within-source duplicates
    for flag in ("address_is_current", "phone_is_current", "email_is_current"):
        values = Counter(t[flag] for t in rows)
        assert set(values) <= {"", "0", "1"}
        assert values["1"] > values["0"] > 0, (flag, values)


def test_generator_internals_have_twins_and_juniors() -> None:
    g = gen.Generator(20261122, AS_OF)
    people = g.population(3000)
    by_household: dict[str, list[gen.Person]] = defaultdict(list)
    for p in people:
        if p.hh.hid:
            by_household[p.hh.hid].append(p)
    twins = [(a, b) for ms in by_household.values() for a in ms for b in ms if a.pid < b.pid and a.birth == b.birth]
    assert twins and all(a.given != b.given and a.family == b.family for a, b in twins)
    pairs = [
        (father, son)
        for ms in by_household.values()
        for father in ms
        for son in ms
        if son.suffix == "Jr" and father is not son and father.given == son.given
    ]
    assert pairs and all(f.birth < s.birth and f.family == s.family for f, s in pairs)
    assert 0.01 <= sum(p.hh.country != "US" for p in people) / len(people) <= 0.04
    assert all(0 <= p.age(AS_OF) <= 95 for p in people)

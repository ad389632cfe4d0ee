"""Survivorship rules (rules/survivorship.yaml, mdm/golden/survivorship.py) on clusters small
enough to check by eye."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from mdm.config.dictionary import load_dictionary
from mdm.config.errors import ConfigError
from mdm.config.rules import DEFAULT_RULES_DIR
from mdm.config.survivorship import SurvivorshipRules, load_survivorship_rules
from mdm.golden import build_golden

DEFAULT = DEFAULT_RULES_DIR / "survivorship.yaml"
FIELDS = [f.name for f in load_dictionary().published_fields]


def records(*rows: dict[str, Any]) -> pl.DataFrame:
    """Standardized records of golden customer G1 unless a row says otherwise; every published
    field (and its _key/_flags) present, null unless given."""
    columns: dict[str, Any] = {
        "golden_id": pl.String,
        "source": pl.String,
        "source_record_id": pl.String,
        "trust": pl.Int64,
        "source_updated_at": pl.Datetime("us"),
        "birth_date": pl.Date,
        "member_since": pl.Date,
        "phone_is_valid": pl.Boolean,
    }
    for f in FIELDS:
        columns.setdefault(f, pl.String)
        columns[f"{f}_flags"] = pl.List(pl.String)
        columns.setdefault(f"{f}_key", pl.String)
    for extra in ("email_domain", "phone_key", "phone_type", "phone_extension", "address_key"):
        columns[extra] = pl.String
    columns["postal_code_zip4"] = pl.String
    filled = []
    for i, row in enumerate(rows):
        base: dict[str, Any] = {"golden_id": "G1", "source": "crm", "source_record_id": f"R{i + 1}", "trust": 1}
        base.update({f"{f}_flags": [] for f in FIELDS})
        filled.append(base | row)
    return pl.DataFrame(filled, schema=columns)


def golden(*rows: dict[str, Any], rules: SurvivorshipRules | None = None) -> tuple[dict[str, Any], pl.DataFrame]:
    customers, lineage = build_golden(records(*rows), rules or load_survivorship_rules(DEFAULT), FIELDS)
    assert customers.height == 1
    return customers.row(0, named=True), lineage


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def why(lineage: pl.DataFrame, attribute: str) -> tuple[str, str, str]:
    row = lineage.filter(pl.col("attribute") == attribute).row(0, named=True)
    return row["value"], row["source_record_id"], row["rule"]


def test_a_valid_mobile_beats_a_newer_invalid_number() -> None:
    g, lineage = golden(
        {"phone": "+14155550199", "phone_is_valid": False, "source_updated_at": day("2026-05-01")},
        {
            "phone": "+14158672671",
            "phone_is_valid": True,
            "phone_type": "mobile",
            "source_updated_at": day("2025-01-01"),
        },
    )
    assert g["phone"] == "+14158672671"
    assert why(lineage, "phone") == ("+14158672671", "R2", "valid")
    assert g["phones"] == ["+14158672671"]  # the invalid number is not offered as a contact


def test_the_newest_valid_email_wins_and_every_valid_one_is_kept() -> None:
    g, lineage = golden(
        {
            "email": "old@example.org",
            "email_key": "old@example.org",
            "source_updated_at": day("2024-01-01"),
            "trust": 3,
        },
        {"email": "new@example.org", "email_key": "new@example.org", "source_updated_at": day("2026-01-01")},
        {"email": "New@Example.org", "email_key": "new@example.org", "source_updated_at": day("2025-06-01")},
    )
    assert (g["email"], g["email_key"]) == ("new@example.org", "new@example.org")
    assert why(lineage, "email") == ("new@example.org", "R2", "most_recent")
    assert g["emails"] == ["new@example.org", "old@example.org"]  # by key: the case variant is one address
    emails = lineage.filter(pl.col("attribute") == "emails").select("value", "source_record_id", "agreeing").rows()
    assert emails == [("new@example.org", "R2", 2), ("old@example.org", "R1", 1)]  # regression: agreeing was 1
    runner = lineage.filter(pl.col("attribute") == "email").row(0, named=True)
    assert (runner["candidates"], runner["agreeing"], runner["runner_up"]) == (3, 2, "old@example.org")


def test_the_earliest_membership_start_survives() -> None:
    g, lineage = golden(
        {"member_since": dt.date(2021, 3, 1), "source_updated_at": day("2026-01-01"), "trust": 3},
        {"member_since": dt.date(2016, 8, 27), "source_updated_at": day("2024-01-01")},
        {"member_since": dt.date(2019, 1, 1), "source_updated_at": day("2025-01-01")},
    )
    assert g["member_since"] == dt.date(2016, 8, 27)
    assert why(lineage, "member_since") == ("2016-08-27", "R2", "earliest")


def test_an_opt_out_from_any_source_wins_over_a_newer_not_opted_out() -> None:
    g, lineage = golden(
        {"email_opt_out": "N", "source_updated_at": day("2026-06-01"), "trust": 3},
        {"email_opt_out": "Y", "source_updated_at": day("2023-01-01")},
        {"phone_opt_out": "N", "source_updated_at": day("2023-01-01")},
    )
    assert (g["email_opt_out"], g["phone_opt_out"], g["mail_opt_out"]) == ("Y", "N", None)
    assert why(lineage, "email_opt_out") == ("Y", "R2", "prefer email_opt_out Y")


def test_same_day_phones_prefer_the_mobile() -> None:
    g, lineage = golden(
        {
            "phone": "+14155550000",
            "phone_is_valid": True,
            "phone_type": "fixed_line",
            "source_updated_at": day("2026-01-01T08:00"),
        },
        {
            "phone": "+14158672671",
            "phone_is_valid": True,
            "phone_type": "mobile",
            "source_updated_at": day("2026-01-01T07:00"),
        },
    )
    assert why(lineage, "phone") == ("+14158672671", "R2", "prefer phone_type mobile/fixed_line_or_mobile")
    assert g["phones"] == ["+14158672671", "+14155550000"]


def test_a_one_off_name_typo_is_outvoted_even_from_the_most_trusted_source() -> None:
    g, lineage = golden(
        {"given_name": "Jonh", "given_name_key": "JONH", "trust": 5},
        {"given_name": "John", "given_name_key": "JOHN", "source": "web"},
        {"given_name": "JOHN", "given_name_key": "JOHN", "source": "billing"},
    )
    assert g["given_name"] == "JOHN"  # most_frequent, then (equal trust and completeness) billing < web
    assert why(lineage, "given_name") == ("JOHN", "R3", "most_frequent")


def test_the_address_is_taken_whole_from_one_record() -> None:
    """R2 is newer but holds only a postcode: never a street from R1 with the postcode of R2."""
    g, lineage = golden(
        {"address_line1": "12 Oak St", "city": "San Francisco", "region": "CA", "postal_code": "94110",
         "address_key": "12|OAK ST||94110", "source_updated_at": day("2025-01-01")},
        {"postal_code": "10001", "country": "US", "source_updated_at": day("2026-01-01")},
        {"address_line1": "9 Elm Ave", "city": "Boston", "region": "MA", "postal_code": "02110",
         "address_key": "9|ELM AVE||02110", "source_updated_at": day("2024-01-01")},
    )  # fmt: skip
    assert (g["address_line1"], g["city"], g["postal_code"], g["address_key"]) == (
        "12 Oak St",
        "San Francisco",
        "94110",
        "12|OAK ST||94110",
    )
    assert {why(lineage, f)[1:] for f in ("address_line1", "city", "region", "postal_code")} == {("R1", "most_recent")}


def test_a_lone_postcode_is_kept_when_no_record_has_a_street() -> None:
    g, lineage = golden({"postal_code": "10001"}, {"given_name": "Ann"})
    assert g["postal_code"] == "10001" and g["address_line1"] is None
    assert why(lineage, "postal_code") == ("10001", "R1", "only value")


def test_a_flagged_birth_date_loses_to_a_clean_one_and_a_full_tie_is_broken_by_source_then_id() -> None:
    g, lineage = golden(
        {"birth_date": dt.date(1980, 4, 3), "birth_date_flags": ["day and month swapped?"], "source": "a"},
        {"birth_date": dt.date(1980, 3, 4), "source": "z"},
        {"birth_date": dt.date(1981, 3, 4), "source": "b"},
    )
    assert g["birth_date"] == dt.date(1981, 3, 4)
    assert why(lineage, "birth_date") == ("1981-03-04", "R3", "tie: lower source name, then record id")


def test_an_attribute_nobody_carries_stays_null_and_has_no_lineage() -> None:
    g, lineage = golden({"given_name": "Ann"})
    assert g["email"] is None and g["emails"] is None
    assert lineage["attribute"].to_list() == ["given_name"]


def test_each_cluster_gets_its_own_values() -> None:
    customers, _ = build_golden(
        records(
            {"golden_id": "G1", "given_name": "Ann"},
            {"golden_id": "G2", "given_name": "Bob"},
            {"golden_id": "G2", "given_name": "Rob", "source_updated_at": day("2026-01-01")},
        ),
        load_survivorship_rules(DEFAULT),
        FIELDS,
    )
    # Bob and Rob are one vote each (no key given: the values themselves are compared); Rob is newer
    assert customers.select("golden_id", "given_name", "record_count").rows() == [("G1", "Ann", 1), ("G2", "Rob", 2)]


# ---- the rules file ----------------------------------------------------------------------------


def test_the_shipped_rules_cover_every_dictionary_field() -> None:
    load_survivorship_rules(DEFAULT).check_fields(DEFAULT, FIELDS)


def test_load_dump_load_round_trips() -> None:
    rules = load_survivorship_rules(DEFAULT)
    assert SurvivorshipRules.model_validate(yaml.safe_load(yaml.safe_dump(rules.model_dump(mode="json")))) == rules


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "survivorship.yaml"
    path.write_text(text)
    return path


def test_every_problem_is_reported_with_its_line_and_a_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nattributes:\n  given_name:\n    rules: [valid, newest]\n  email:\n    rules: [valid, valid]\n",
    )
    with pytest.raises(ConfigError) as err:
        load_survivorship_rules(path)
    text = str(err.value)
    assert "survivorship.yaml: 2 problem(s)" in text
    assert "line 4: attributes.given_name.rules: unknown rule(s) ['newest']" in text
    rules = "['valid', 'most_trusted', 'most_recent', 'most_frequent', 'most_complete', 'earliest']"
    assert f"the rules are {rules}" in text
    assert "rule(s) ['valid'] listed twice" in text


def test_a_field_in_two_attributes_or_in_none_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "attributes:\n  city:\n    rules: [most_recent]\n  address:\n    fields: [address_line1, city]\n"
        "    rules: [most_recent]\n",
    )
    with pytest.raises(ConfigError, match="field 'city' is in attributes 'city' and 'address'"):
        load_survivorship_rules(path)
    rules = load_survivorship_rules(
        write(tmp_path, "attributes:\n  given_name:\n    rules: [most_recent]\n    carry: [nope]\n")
    )
    with pytest.raises(ConfigError) as err:
        rules.check_fields(tmp_path / "survivorship.yaml", FIELDS, {"given_name"})
    assert "attributes.given_name: no standardized column ['nope']" in str(err.value)
    assert "no survivorship rule for field(s) ['middle_name'," in str(err.value)
    assert "`middle_name: {rules: [valid, most_trusted, most_recent]}`" in str(err.value)


def test_the_staleness_section_is_read_with_the_rest_of_the_file(tmp_path: Path) -> None:
    """One parse of the file: the run's staleness settings are the survivorship rules' section."""
    path = write(tmp_path, "attributes:\n  given_name:\n    rules: [most_recent]\nstaleness:\n  monthly_decay: 2\n")
    with pytest.raises(ConfigError) as err:
        load_survivorship_rules(path)
    assert "line 5: staleness.monthly_decay" in str(err.value) and "fix: monthly_decay: 0.02" in str(err.value)
    assert load_survivorship_rules(DEFAULT).staleness.threshold_stale_probability == 0.25

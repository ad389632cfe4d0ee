"""Staleness (mdm/stale/flags.py): tiny literal frames whose flags can be worked out by eye,
the flags in a published master, and the `staleness:` section of rules/survivorship.yaml."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
import yaml

from mdm.config.errors import ConfigError
from mdm.config.survivorship import AttributeRule, StaleAttributes
from mdm.pipeline import run_pipeline
from mdm.stale.flags import (
    StalenessRules,
    flag_stale,
    load_staleness_rules,
    stale_by_months,
)
from tests.conftest import AS_OF
from tests.conftest import query as q

T = dt.datetime
RULES = StalenessRules()


def frames(rows: list[tuple[str, str, T | None, str | None, str | None, str | None]]) -> pl.DataFrame:
    """Records as (golden_id, source:id, updated, address_key, phone, email_key)."""
    return pl.DataFrame(
        [
            {
                "golden_id": g,
                "source": ref.split(":")[0],
                "source_record_id": ref.split(":")[1],
                "source_updated_at": at,
                "address_key": address,
                "phone": phone,
                "email_key": email,
            }
            for g, ref, at, address, phone, email in rows
        ],
        schema={
            "golden_id": pl.String,
            "source": pl.String,
            "source_record_id": pl.String,
            "source_updated_at": pl.Datetime("us"),
            "address_key": pl.String,
            "phone": pl.String,
            "email_key": pl.String,
        },
    )


def golden_of(records: pl.DataFrame, **values: dict[str, str | None]) -> pl.DataFrame:
    """The golden frame: golden_id -> {address_key, phone, email_key} chosen values."""
    return pl.DataFrame(
        [{"golden_id": g, **v} for g, v in values.items()],
        schema={"golden_id": pl.String, "address_key": pl.String, "phone": pl.String, "email_key": pl.String},
    )


def by_record(flags: pl.DataFrame, column: str) -> dict[str, object]:
    return {f"{s}:{r}": v for s, r, v in flags.select("source", "source_record_id", column).iter_rows()}


# G1 moved from 1|oakst||94110 to 9|elmst||94110 a month ago; the old address was confirmed a
# week before that. G2: one old record, nothing newer.
MOVED = frames(
    [
        ("G1", "crm:C1", T(2026, 9, 20), "1|oakst||94110", "+14155550101", "bob@x.com"),
        ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", "+14155550101", None),
        ("G2", "crm:C2", T(2025, 1, 1), "5|pinest||10001", None, "ann@y.com"),
    ]
)
MOVED_GOLDEN = golden_of(
    MOVED,
    G1={"address_key": "1|oakst||94110", "phone": "+14155550101", "email_key": "bob@x.com"},
    G2={"address_key": "5|pinest||10001", "phone": None, "email_key": "ann@y.com"},
)


def test_a_newer_different_value_supersedes_at_once_however_young() -> None:
    golden, records = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    assert by_record(records, "address_is_stale") == {"crm:C1": True, "web:W1": False, "crm:C2": True}
    assert by_record(records, "stale_reason")["crm:C1"] == "address: superseded by web:W1 (2026-10-01)"
    g1 = golden.row(by_predicate=pl.col("golden_id") == "G1", named=True)
    assert g1["address_is_stale"] is True
    assert g1["address_stale_reason"] == "superseded by web:W1 (2026-10-01)"
    # the old address is only 42 days old: fresh by age, stale by evidence
    assert g1["address_freshness"] > 0.95
    # the phone both records carry is confirmed by the newer one: not stale
    assert g1["phone_is_stale"] is False and g1["phone_last_confirmed"] == T(2026, 10, 1)


def test_an_old_value_nothing_newer_contradicts_is_aged_past_the_threshold() -> None:
    golden, records = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    # 2025-01-01 to 2026-11-01: 669 days = 21.98 months
    assert by_record(records, "stale_reason")["crm:C2"] == (
        "address: aged past threshold: 21 months; email: aged past threshold: 21 months"
    )
    g2 = golden.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2["address_freshness"] == pytest.approx(0.98 ** (669 / 30.4375))
    assert g2["address_stale_reason"] == "aged past threshold: 21 months"


def test_freshness_of_a_known_age() -> None:
    # 365 days = 11.99 months: 0.98 ** 11.99 = 0.7848, just under the 0.80 threshold
    records = frames([("G1", "crm:C1", T(2025, 11, 1, 15, 30), None, "+14155550101", None)])
    golden, flags = flag_stale(records, golden_of(records, G1={"phone": "+14155550101"}), AS_OF, RULES)
    assert golden["phone_freshness"][0] == pytest.approx(0.98 ** (365 / 30.4375))
    assert golden["phone_freshness"][0] == pytest.approx(0.7848, abs=1e-4)
    assert golden["phone_is_stale"][0] is True
    # ten months old: freshness 0.817, not aged
    golden, _ = flag_stale(records, golden_of(records, G1={"phone": "+14155550101"}), dt.date(2026, 9, 1), RULES)
    assert golden["phone_freshness"][0] == pytest.approx(0.98 ** (304 / 30.4375))
    assert golden["phone_is_stale"][0] is False
    assert RULES.stale_after_months == pytest.approx(math.log(0.8) / math.log(0.98))


def test_as_of_changes_the_result_and_the_same_as_of_reproduces_it() -> None:
    early, _ = flag_stale(MOVED, MOVED_GOLDEN, dt.date(2025, 6, 1), RULES)
    again, _ = flag_stale(MOVED, MOVED_GOLDEN, dt.date(2025, 6, 1), RULES)
    late, _ = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    assert early.equals(again)
    g2_early = early.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    g2_late = late.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2_early["address_is_stale"] is False and g2_early["address_freshness"] > 0.9
    assert g2_late["address_is_stale"] is True


def test_null_values_get_no_flag() -> None:
    golden, records = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    assert by_record(records, "email_is_stale")["web:W1"] is None
    assert by_record(records, "phone_is_stale")["crm:C2"] is None
    g2 = golden.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2["phone_is_stale"] is None and g2["phone_freshness"] is None and g2["phone_stale_reason"] is None
    # a record with no contact value at all is not stale and has no reason
    bare = frames([("G9", "crm:C9", T(2020, 1, 1), None, None, None)])
    _, flags = flag_stale(bare, golden_of(bare, G9={}), AS_OF, RULES)
    assert flags.row(0, named=True)["is_stale"] is False and flags.row(0, named=True)["stale_reason"] is None


def test_records_dated_after_as_of_count_as_dated_as_of() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2027, 3, 1), "1|oakst||94110", None, None),
            ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", None, None),
        ]
    )
    golden, flags = flag_stale(records, golden_of(records, G1={"address_key": "1|oakst||94110"}), AS_OF, RULES)
    assert golden["address_last_confirmed"][0] == T(2026, 11, 1)
    assert golden["address_freshness"][0] == 1.0
    assert by_record(flags, "stale_reason") == {"crm:C1": None, "web:W1": "address: superseded by crm:C1 (2026-11-01)"}


def test_values_confirmed_at_the_same_time_supersede_neither() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2026, 10, 1), "1|oakst||94110", None, None),
            ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", None, None),
        ]
    )
    _, flags = flag_stale(records, golden_of(records, G1={"address_key": "1|oakst||94110"}), AS_OF, RULES)
    assert by_record(flags, "address_is_stale") == {"crm:C1": False, "web:W1": False}


def test_a_typo_confirms_and_does_not_supersede() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2024, 1, 1), "288|franklinrd||89101", None, None),
            ("G1", "billing:B1", T(2026, 7, 24), "288|frankliinrd||89101", None, None),
            ("G1", "clinic:P1", T(2026, 8, 1), "290|franklinrd||89101", None, None),  # another number: a move
        ]
    )
    golden = golden_of(records, G1={"address_key": "288|franklinrd||89101"})
    _, flags = flag_stale(records, golden, AS_OF, RULES)
    assert by_record(flags, "stale_reason")["crm:C1"] == "address: superseded by clinic:P1 (2026-08-01)"
    strict = StalenessRules(attributes=StaleAttributes(address=AttributeRule(column="address_key")))
    _, flags = flag_stale(records[:2], golden, AS_OF, strict)
    assert by_record(flags, "address_is_stale") == {"crm:C1": True, "billing:B1": False}
    _, flags = flag_stale(records[:2], golden, AS_OF, RULES)
    # one value written two ways, confirmed three months ago
    assert by_record(flags, "address_is_stale") == {"crm:C1": False, "billing:B1": False}


def test_phones_of_known_different_types_do_not_supersede_each_other() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2026, 5, 1), None, "+447700900123", None),
            ("G1", "web:W1", T(2026, 9, 1), None, "+442079460000", None),
        ]
    ).with_columns(pl.Series("phone_type", ["mobile", "fixed_line"]))
    golden = golden_of(records, G1={"phone": "+447700900123"})
    _, flags = flag_stale(records, golden, AS_OF, RULES)
    assert by_record(flags, "phone_is_stale") == {"crm:C1": False, "web:W1": False}
    _, flags = flag_stale(records, golden, AS_OF, RULES.model_copy(update={"phone_type_column": None}))
    assert by_record(flags, "phone_is_stale") == {"crm:C1": True, "web:W1": False}


def test_report_curve_buckets_records_by_months_since_update() -> None:
    _, flags = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    rows = stale_by_months(MOVED, flags, AS_OF)
    assert [(r["months"], r["records"], r["stale"]) for r in rows] == [("0-3", 2, 0.5), ("12-24", 1, 1.0)]
    assert rows[0]["expected"] == round(1 - 0.98**1.5, 3)


# ---- in the published master ------------------------------------------------------------------


def test_master_carries_the_flags_and_a_far_as_of_ages_everything(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    columns = {r[0] for r in q(master, "DESCRIBE customer_xref")}
    assert {"is_stale", "stale_reason", "address_is_stale", "phone_is_stale", "email_is_stale"} <= columns
    # tiny's records are 5 to 10 months old on 2026-11-01: none aged; C2 and W2 share one e-mail
    assert q(master, "SELECT count(*) FROM customer_xref WHERE is_stale") == [(0,)]
    assert summary.stale.stale_records == 0

    far = run_pipeline(tiny, master, as_of=dt.date(2030, 1, 1))
    rows = q(
        master,
        "SELECT source || ':' || source_record_id, is_stale, stale_reason FROM customer_xref ORDER BY 1",
    )
    assert all(stale for _, stale, _ in rows)
    assert all("aged past threshold" in reason and "superseded" not in reason for _, _, reason in rows)
    assert far.stale.stale_records == 6
    reverify = q(master, "SELECT golden_id, stale_attributes, record_count FROM customers_to_reverify")
    assert len(reverify) == 4
    assert [r[2] for r in reverify] == sorted((r[2] for r in reverify), reverse=True)
    golden_columns = {r[0] for r in q(master, "DESCRIBE golden_customers")}
    assert {"address_last_confirmed", "address_freshness", "address_is_stale", "address_stale_reason"} <= golden_columns


# ---- configuration ----------------------------------------------------------------------------


def test_bad_monthly_decay_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "survivorship.yaml"
    path.write_text("survivorship: {}\nstaleness:\n  monthly_decay: 2\n  stale_below_freshness: 0.8\n")
    with pytest.raises(ConfigError) as caught:
        load_staleness_rules(path)
    message = str(caught.value)
    assert "survivorship.yaml" in message
    assert "line 3: staleness.monthly_decay" in message
    assert "fix: monthly_decay: 0.02" in message


def test_missing_file_or_section_means_defaults(tmp_path: Path) -> None:
    assert load_staleness_rules(tmp_path / "absent.yaml") == StalenessRules()
    path = tmp_path / "survivorship.yaml"
    path.write_text("survivorship: {attributes: []}\n")
    assert load_staleness_rules(path) == StalenessRules()


def test_load_dump_load(tmp_path: Path) -> None:
    rules = load_staleness_rules(Path(__file__).parents[1] / "rules" / "survivorship.yaml")
    assert rules == StalenessRules()
    changed = rules.model_copy(update={"monthly_decay": 0.01, "phone_type_column": None})
    path = tmp_path / "survivorship.yaml"
    path.write_text(yaml.safe_dump({"staleness": changed.model_dump()}))
    assert load_staleness_rules(path) == changed

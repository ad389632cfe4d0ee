"""Staleness (mdm/stale/): tiny literal frames whose probabilities and flags can be worked out by
eye, the columns in a published master, and the `staleness:` section of rules/survivorship.yaml.

Default rules: address decays 2% a month, phone 1%, e-mail 0.5%; superseded_reliability address
0.95, phone 0.55, e-mail 0.95; address household_weight 0.9; threshold 0.25."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
import yaml

from mdm.config.errors import ConfigError
from mdm.config.project import ProjectConfig
from mdm.config.survivorship import AttributeRule, OutcomeRule, StaleAttributes
from mdm.pipeline import run_pipeline
from mdm.stale.evidence import OUTCOME_SCHEMA
from mdm.stale.flags import StalenessRules, flag_stale, load_staleness_rules
from mdm.stale.report import calibration_by_months
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


def prior(days: int, decay: float) -> float:
    return 1 - (1 - decay) ** (days / 30.4375)


def test_a_newer_different_value_supersedes_at_once_however_young() -> None:
    golden, records, _ = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    # the old address is 42 days old: prior 0.027; superseded removes 95% of the rest
    expected = 1 - (1 - prior(42, 0.02)) * 0.05
    assert by_record(records, "address_stale_probability")["crm:C1"] == pytest.approx(expected)
    assert by_record(records, "address_is_stale") == {"crm:C1": True, "web:W1": False, "crm:C2": True}
    assert by_record(records, "stale_reason")["crm:C1"] == (
        "address 0.95: 1 months since crm:C1 (2026-09-20): 0.03; superseded by web:W1 (2026-10-01): 0.95"
    )
    g1 = golden.row(by_predicate=pl.col("golden_id") == "G1", named=True)
    assert g1["address_is_stale"] is True and g1["address_stale_probability"] == pytest.approx(expected)
    assert (
        g1["address_stale_reason"]
        == "1 months since crm:C1 (2026-09-20): 0.03; superseded by web:W1 (2026-10-01): 0.95"
    )
    assert g1["address_freshness"] == pytest.approx(1 - prior(42, 0.02))
    # the phone both records carry is confirmed by the newer one: its prior from 2026-10-01
    assert g1["phone_is_stale"] is False and g1["phone_last_confirmed"] == T(2026, 10, 1)
    assert g1["phone_stale_probability"] == pytest.approx(prior(31, 0.01))
    assert g1["phone_stale_reason"] == "1 months since web:W1 (2026-10-01): 0.01"


def test_an_old_value_nothing_contradicts_has_the_decay_prior() -> None:
    golden, records, _ = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    # 2025-01-01 to 2026-11-01: 669 days = 21.98 months; address 1 - 0.98^21.98 = 0.36 (stale),
    # e-mail 1 - 0.995^21.98 = 0.10 (not stale)
    assert by_record(records, "stale_reason")["crm:C2"] == "address 0.36: 21 months since crm:C2 (2025-01-01): 0.36"
    g2 = golden.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2["address_stale_probability"] == pytest.approx(prior(669, 0.02))
    assert g2["email_stale_probability"] == pytest.approx(prior(669, 0.005))
    assert (g2["address_is_stale"], g2["email_is_stale"]) == (True, False)


def test_the_flag_is_the_probability_against_the_threshold() -> None:
    # 14 months of a phone at 1% a month: 0.131; at 2% a month: 0.246; at 2.5%: 0.297
    records = frames([("G1", "crm:C1", T(2025, 9, 1), None, "+14155550101", None)])
    golden = golden_of(records, G1={"phone": "+14155550101"})
    flags = flag_stale(records, golden, AS_OF, RULES)
    assert flags.golden["phone_stale_probability"][0] == pytest.approx(prior(426, 0.01))
    assert flags.golden["phone_is_stale"][0] is False
    lower = RULES.model_copy(update={"threshold_stale_probability": 0.13})
    assert flag_stale(records, golden, AS_OF, lower).golden["phone_is_stale"][0] is True
    assert RULES.stale_after_months == pytest.approx(math.log(0.75) / math.log(0.98))


def test_as_of_changes_the_result_and_the_same_as_of_reproduces_it() -> None:
    early, _, _ = flag_stale(MOVED, MOVED_GOLDEN, dt.date(2025, 6, 1), RULES)
    again, _, _ = flag_stale(MOVED, MOVED_GOLDEN, dt.date(2025, 6, 1), RULES)
    late, _, _ = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    assert early.equals(again)
    g2_early = early.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    g2_late = late.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2_early["address_is_stale"] is False and g2_early["address_stale_probability"] < 0.1
    assert g2_late["address_is_stale"] is True


def test_null_values_get_no_probability_and_no_flag() -> None:
    golden, records, _ = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    assert by_record(records, "email_is_stale")["web:W1"] is None
    assert by_record(records, "email_stale_probability")["web:W1"] is None
    assert by_record(records, "phone_is_stale")["crm:C2"] is None
    g2 = golden.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2["phone_is_stale"] is None and g2["phone_stale_probability"] is None
    assert g2["phone_stale_reason"] is None
    # a record with no contact value at all is not stale and has no reason
    bare = frames([("G9", "crm:C9", T(2020, 1, 1), None, None, None)])
    _, flags, _ = flag_stale(bare, golden_of(bare, G9={}), AS_OF, RULES)
    assert flags.row(0, named=True)["is_stale"] is False and flags.row(0, named=True)["stale_reason"] is None


def test_an_undated_value_has_no_prior_only_its_evidence() -> None:
    records = frames(
        [
            ("G1", "crm:C1", None, "1|oakst||94110", None, None),
            ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", None, None),
            ("G2", "crm:C2", None, "5|pinest||10001", None, None),
        ]
    )
    _, flags, _ = flag_stale(records, golden_of(records, G1={}, G2={}), AS_OF, RULES)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(0.95)
    assert by_record(flags, "address_stale_probability")["crm:C2"] is None
    assert by_record(flags, "address_is_stale")["crm:C2"] is False


def test_records_dated_after_as_of_count_as_dated_as_of() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2027, 3, 1), "1|oakst||94110", None, None),
            ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", None, None),
        ]
    )
    golden, flags, _ = flag_stale(records, golden_of(records, G1={"address_key": "1|oakst||94110"}), AS_OF, RULES)
    assert golden["address_last_confirmed"][0] == T(2026, 11, 1)
    assert golden["address_freshness"][0] == 1.0 and golden["address_stale_probability"][0] == 0.0
    assert by_record(flags, "address_is_stale") == {"crm:C1": False, "web:W1": True}
    assert by_record(flags, "stale_reason")["web:W1"].endswith("superseded by crm:C1 (2026-11-01): 0.95")


def test_values_confirmed_at_the_same_time_supersede_neither() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2026, 10, 1), "1|oakst||94110", None, None),
            ("G1", "web:W1", T(2026, 10, 1), "9|elmst||94110", None, None),
        ]
    )
    _, flags, _ = flag_stale(records, golden_of(records, G1={"address_key": "1|oakst||94110"}), AS_OF, RULES)
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
    _, flags, _ = flag_stale(records, golden, AS_OF, RULES)
    assert "superseded by clinic:P1 (2026-08-01)" in by_record(flags, "stale_reason")["crm:C1"]
    strict = StalenessRules(attributes=StaleAttributes(address=AttributeRule(column="address_key")))
    _, flags, _ = flag_stale(records[:2], golden, AS_OF, strict)
    assert by_record(flags, "address_is_stale") == {"crm:C1": True, "billing:B1": False}
    _, flags, _ = flag_stale(records[:2], golden, AS_OF, RULES)
    # one value written two ways, confirmed three months ago by the typo
    assert by_record(flags, "address_is_stale") == {"crm:C1": False, "billing:B1": False}
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(prior(100, 0.02))


def test_phones_of_known_different_types_do_not_supersede_each_other() -> None:
    records = frames(
        [
            ("G1", "crm:C1", T(2026, 5, 1), None, "+447700900123", None),
            ("G1", "web:W1", T(2026, 9, 1), None, "+442079460000", None),
        ]
    ).with_columns(pl.Series("phone_type", ["mobile", "fixed_line"]))
    golden = golden_of(records, G1={"phone": "+447700900123"})
    _, flags, _ = flag_stale(records, golden, AS_OF, RULES)
    assert by_record(flags, "phone_is_stale") == {"crm:C1": False, "web:W1": False}
    _, flags, _ = flag_stale(records, golden, AS_OF, RULES.model_copy(update={"phone_type_column": None}))
    # a newer phone of unknown type: only 55% of those are real changes, 0.60 in all
    assert by_record(flags, "phone_stale_probability")["crm:C1"] == pytest.approx(1 - (1 - prior(184, 0.01)) * 0.45)
    assert by_record(flags, "phone_is_stale") == {"crm:C1": True, "web:W1": False}


def test_values_seen_in_turn_are_held_at_once_and_supersede_neither() -> None:
    # a mobile, then a landline, then the mobile again: two numbers in use, not a change of number
    records = frames(
        [
            ("G1", "crm:C1", T(2025, 1, 1), None, "+14155550101", None),
            ("G1", "billing:B1", T(2025, 6, 1), None, "+14155550199", None),
            ("G1", "clinic:P1", T(2026, 1, 1), None, "+14155550101", None),
        ]
    )
    _, flags, _ = flag_stale(records, golden_of(records, G1={"phone": "+14155550101"}), AS_OF, RULES)
    reasons = by_record(flags, "stale_reason")
    assert reasons["billing:B1"] is None or "superseded" not in reasons["billing:B1"]
    assert by_record(flags, "phone_stale_probability")["billing:B1"] == pytest.approx(prior(518, 0.01))


def with_postcodes(records: pl.DataFrame, postcodes: list[str | None]) -> pl.DataFrame:
    return records.with_columns(pl.Series("postal_code", postcodes, dtype=pl.String))


def test_a_newer_record_with_only_a_postcode_supersedes_or_confirms_an_address() -> None:
    old = ("G1", "crm:C1", T(2025, 11, 1), "1|oakst||94110", None, None)
    signup = ("G1", "web:W1", T(2026, 10, 1), None, None, None)  # a ZIP, no street
    golden = golden_of(frames([old]), G1={"address_key": "1|oakst||94110"})
    moved = with_postcodes(frames([old, signup]), ["94110", "10001"])
    _, flags, _ = flag_stale(moved, golden, AS_OF, RULES)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(
        1 - (1 - prior(365, 0.02)) * (1 - 0.9 * 0.95)
    )
    assert "another postcode on web:W1 (2026-10-01)" in by_record(flags, "stale_reason")["crm:C1"]
    stayed = with_postcodes(frames([old, signup]), ["94110", "94110"])
    _, flags, _ = flag_stale(stayed, golden, AS_OF, RULES)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(
        0.9 * prior(31, 0.02) + 0.1 * prior(365, 0.02)
    )
    # without a postal_code column (or with partial_weight 0) the sign-up says nothing
    _, flags, _ = flag_stale(frames([old, signup]), golden, AS_OF, RULES)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(prior(365, 0.02))


# G1 and G2 live at 1|oakst; G2 was seen there again in September, then at 9|elmst in October.
HOUSEHOLD = frames(
    [
        ("G1", "crm:C1", T(2025, 11, 1), "1|oakst||94110", None, None),
        ("G2", "crm:C2", T(2026, 9, 1), "1|oakst||94110", None, None),
        ("G2", "web:W2", T(2026, 10, 1), "9|elmst||94110", None, None),
    ]
)


def test_the_household_confirms_a_shared_value_and_its_move_supersedes_it() -> None:
    golden = golden_of(HOUSEHOLD, G1={"address_key": "1|oakst||94110"}, G2={"address_key": "9|elmst||94110"})
    confirmed = HOUSEHOLD[:2]
    _, flags, _ = flag_stale(confirmed, golden, AS_OF, RULES)
    # G1's own prior (12 months): 0.215; G2 saw it in September (2 months): 0.040; weight 0.9
    mixed = 0.9 * prior(61, 0.02) + 0.1 * prior(365, 0.02)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(mixed)
    g1 = flag_stale(confirmed, golden, AS_OF, RULES).golden.row(0, named=True)
    assert g1["address_stale_reason"] == (
        "11 months since crm:C1 (2025-11-01): 0.22; household confirmed by crm:C2 (2026-09-01): 0.06"
    )
    _, flags, _ = flag_stale(HOUSEHOLD, golden, AS_OF, RULES)
    moved = 1 - (1 - mixed) * (1 - 0.9 * 0.95)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(moved)
    assert "household moved: superseded by web:W2 (2026-10-01)" in by_record(flags, "stale_reason")["crm:C1"]
    alone = RULES.model_copy(
        update={"attributes": StaleAttributes(address=AttributeRule(column="address_key", typo_edits=2))}
    )
    _, flags, _ = flag_stale(HOUSEHOLD, golden, AS_OF, alone)
    assert by_record(flags, "address_stale_probability")["crm:C1"] == pytest.approx(prior(365, 0.02))


def outcomes(rows: list[tuple[str, str, str, T]]) -> pl.DataFrame:
    """(source:record id, attribute, failed|confirmed, when) on mailings:M<n>."""
    return pl.DataFrame(
        [
            {
                "source": ref.split(":")[0],
                "source_record_id": ref.split(":")[1],
                "attribute": attribute,
                "outcome": outcome,
                "event": f"mailings:M{i} {outcome} ({at.date()})",
                "event_time": at,
                "reliability": 0.9,
            }
            for i, (ref, attribute, outcome, at) in enumerate(rows, start=1)
        ],
        schema=OUTCOME_SCHEMA,
    )


def test_returned_mail_after_the_last_confirmation_raises_the_probability() -> None:
    golden = golden_of(MOVED, G2={"address_key": "5|pinest||10001"})
    returned = outcomes([("crm:C2", "address", "failed", T(2026, 3, 1))])
    _, flags, _ = flag_stale(MOVED, golden, AS_OF, RULES, returned)
    assert by_record(flags, "address_stale_probability")["crm:C2"] == pytest.approx(1 - (1 - prior(669, 0.02)) * 0.1)
    assert by_record(flags, "stale_reason")["crm:C2"].endswith("failed: mailings:M1 failed (2026-03-01): 0.94")
    # a delivery in June confirms the address after the return: the prior from June, the return forgotten
    both = outcomes([("crm:C2", "address", "failed", T(2026, 3, 1)), ("crm:C2", "address", "confirmed", T(2026, 6, 1))])
    g2 = flag_stale(MOVED, golden, AS_OF, RULES, both).golden.row(by_predicate=pl.col("golden_id") == "G2", named=True)
    assert g2["address_last_confirmed"] == T(2026, 6, 1)
    assert g2["address_stale_probability"] == pytest.approx(prior(153, 0.02))
    assert g2["address_stale_reason"] == "5 months since mailings:M2 confirmed (2026-06-01) (2026-06-01): 0.1"


def test_calibration_table_sets_predicted_beside_observed_by_evidence() -> None:
    flags = flag_stale(MOVED, MOVED_GOLDEN, AS_OF, RULES)
    rows = calibration_by_months(flags.checks, RULES)
    assert [r["months"] for r in rows] == ["0-3", "12-24"]
    young = rows[0]
    # C1 (address, phone, email) and W1 (address, phone); C1's address was superseded 11 days later,
    # its phone confirmed 11 days later
    assert (young["values"], young["checked"], young["observed"]) == (5, 2, 0.5)
    assert young["flagged"] == 0.2
    assert young["expected"] == round((prior(11, 0.02) + prior(11, 0.01)) / 2, 3)
    assert rows[1]["values"] == 2 and rows[1]["checked"] == 0 and rows[1]["observed"] is None


# ---- in the published master ------------------------------------------------------------------


def test_master_carries_probabilities_and_flags_and_a_far_as_of_ages_everything(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    columns = {r[0] for r in q(master, "DESCRIBE customer_xref")}
    assert {"is_stale", "stale_reason", "address_stale_probability", "phone_stale_probability"} <= columns
    # tiny's records are 5 to 10 months old on 2026-11-01: none is likely stale
    assert q(master, "SELECT count(*) FROM customer_xref WHERE is_stale") == [(0,)]
    assert summary.stale.stale_records == 0
    # the web sign-ups' ISO timestamps (declared with a format here) keep their dates and probabilities
    web = q(
        master,
        "SELECT count(*) FROM customer_xref WHERE source = 'web' AND phone_stale_probability IS NULL"
        " AND phone_is_stale IS NOT NULL",
    )
    assert web == [(0,)]

    far = run_pipeline(tiny, master, as_of=dt.date(2032, 1, 1))  # e-mails age slowest: 0.5% a month
    rows = q(master, "SELECT source || ':' || source_record_id, is_stale, stale_reason FROM customer_xref ORDER BY 1")
    assert all(stale for _, stale, _ in rows)
    assert all("months since" in reason and "superseded" not in reason for _, _, reason in rows)
    assert far.stale.stale_records == 6
    reverify = q(master, "SELECT golden_id, stale_attributes, expected_value FROM customers_to_reverify")
    assert len(reverify) == 4
    assert [r[2] for r in reverify] == sorted((r[2] for r in reverify), reverse=True)
    golden_columns = {r[0] for r in q(master, "DESCRIBE golden_customers")}
    assert {"address_stale_probability", "address_is_stale", "address_stale_reason", "contacts_last_year"} <= (
        golden_columns
    )


def test_a_source_with_iso_timestamps_and_no_declared_format_stays_in_staleness(tiny: Path, tmp_path: Path) -> None:
    """Issue 20: `updated_at` of ISO-8601 timestamps declared without a format was parsed with
    %Y-%m-%d, every record lost its date and the source dropped out of staleness."""
    tiny.write_text(
        tiny.read_text().replace(
            'updated_at: {column: created_at, format: "%Y-%m-%dT%H:%M:%SZ"}', "updated_at: created_at"
        )
    )
    web = tiny.parent / "web.jsonl"
    web.write_text(web.read_text().replace("2026-06-01T10:00:00Z", "2025-08-12T16:03:00Z"))
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    rows = q(
        master,
        "SELECT source_record_id, source_updated_at, phone_stale_probability FROM customer_xref"
        " WHERE source = 'web' ORDER BY 1",
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("W1", T(2025, 8, 12, 16, 3)),
        ("W2", T(2026, 6, 2, 11, 30)),
        ("W5", T(2026, 6, 3, 8, 0)),
    ]
    # W1 (Robert Smith) carries the phone of crm:C1, his record updated on 2026-01-05: 300 days
    assert rows[0][2] == pytest.approx(prior(300, 0.01))
    assert "updated_at" not in summary.standardize.flagged_by_source


def test_returned_mail_from_an_event_source_reaches_the_master(tiny: Path, tmp_path: Path) -> None:
    (tiny.parent / "mailings.csv").write_text("mailing_id,customer_no,sent,outcome\nM1,C6,2026-06-01,Returned\n")
    tiny.write_text(
        tiny.read_text()
        + "events:\n  - name: mailings\n    kind: csv\n    path: mailings.csv\n    record_id: mailing_id\n"
        '    person: {source: crm, record_id: customer_no}\n    event_time: {column: sent, format: "%Y-%m-%d"}\n'
        "    columns: {outcome: outcome}\n"
    )
    rules = tiny.parent / "rules"
    rules.mkdir()
    survivorship = (Path(__file__).parents[1] / "rules" / "survivorship.yaml").read_text()
    (rules / "survivorship.yaml").write_text(
        survivorship.replace(
            "  outcomes: []",
            "  outcomes:\n    - {events: mailings, column: outcome, attribute: address, failed: [returned]}",
        )
    )
    for name in ("match.yaml", "match_model.json", "tags.yaml"):
        (rules / name).write_text((Path(__file__).parents[1] / "rules" / name).read_text())
    tiny.write_text(tiny.read_text().replace("version: 1\n", "version: 1\nrules: rules\n", 1))
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    [(probability, reason)] = q(
        master, "SELECT address_stale_probability, stale_reason FROM customer_xref WHERE source_record_id = 'C6'"
    )
    assert probability > 0.9
    assert "failed: mailings:M1 Returned (2026-06-01)" in reason
    [(golden_id, contacts, attributes)] = q(
        master, "SELECT golden_id, contacts_last_year, stale_attributes FROM customers_to_reverify"
    )
    assert contacts == 1 and attributes == ["address"]


def test_an_outcome_naming_an_unknown_event_source_or_column_is_a_config_error(tiny: Path) -> None:
    rules = tiny.parent / "rules"
    rules.mkdir()
    survivorship = (Path(__file__).parents[1] / "rules" / "survivorship.yaml").read_text()
    (rules / "survivorship.yaml").write_text(
        survivorship.replace(
            "  outcomes: []", "  outcomes:\n    - {events: mailings, column: outcome, attribute: address}"
        )
    )
    tiny.write_text(tiny.read_text().replace("version: 1\n", "version: 1\nrules: rules\n", 1))
    with pytest.raises(ConfigError, match=r"staleness.outcomes\[0\]: no event source 'mailings'"):
        _ = ProjectConfig(tiny).survivorship_rules


# ---- configuration ----------------------------------------------------------------------------


def test_bad_monthly_decay_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "survivorship.yaml"
    path.write_text("survivorship: {}\nstaleness:\n  monthly_decay: 2\n  threshold_stale_probability: 0.3\n")
    with pytest.raises(ConfigError) as caught:
        load_staleness_rules(path)
    message = str(caught.value)
    assert "survivorship.yaml" in message
    assert "line 3: staleness.monthly_decay" in message
    assert "fix: monthly_decay: 0.02" in message


def test_the_replaced_freshness_threshold_says_what_replaced_it(tmp_path: Path) -> None:
    path = tmp_path / "survivorship.yaml"
    path.write_text("staleness:\n  stale_below_freshness: 0.8\n")
    with pytest.raises(ConfigError, match="replaced by threshold_stale_probability"):
        load_staleness_rules(path)


def test_missing_file_or_section_means_defaults(tmp_path: Path) -> None:
    assert load_staleness_rules(tmp_path / "absent.yaml") == StalenessRules()
    path = tmp_path / "survivorship.yaml"
    path.write_text("survivorship: {attributes: []}\n")
    assert load_staleness_rules(path) == StalenessRules()


def test_load_dump_load(tmp_path: Path) -> None:
    rules = load_staleness_rules(Path(__file__).parents[1] / "rules" / "survivorship.yaml")
    assert rules == StalenessRules()
    changed = rules.model_copy(update={"monthly_decay": 0.01, "phone_type_column": None})
    changed.outcomes.append(OutcomeRule(events="mailings", column="outcome", attribute="address", failed=["returned"]))
    path = tmp_path / "survivorship.yaml"
    path.write_text(yaml.safe_dump({"staleness": changed.model_dump()}))
    assert load_staleness_rules(path) == changed

"""CRM views (mdm/publish/views.py) on five hand-made golden customers, checkable by eye.

Household A1 (12 Oak St): Ann Lee (mail opt-out, mobile, birthday 25 Dec), Bob Lee (stale e-mail,
landline, birthday 5 Jan: across the year end) and Cat Lee (birthday on the as-of day, nothing but
an address). A2: Dee Park (invalid e-mail, phone opt-out, member since 21 Dec 2020).
Cy Leap, born 29 February, no contact data. As of 2026-12-20.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from mdm.publish.views import crm_views

AS_OF = dt.date(2026, 12, 20)
COLUMNS = (
    "golden_id VARCHAR, given_name VARCHAR, middle_name VARCHAR, family_name VARCHAR, birth_date DATE,"
    " gender VARCHAR, member_since DATE, email VARCHAR, emails VARCHAR[], phone VARCHAR, phones VARCHAR[],"
    " phone_type VARCHAR, phone_extension VARCHAR, address_line1 VARCHAR, address_line2 VARCHAR, city VARCHAR,"
    " region VARCHAR, postal_code VARCHAR, postal_code_zip4 VARCHAR, country VARCHAR, address_key VARCHAR,"
    " email_opt_out VARCHAR, phone_opt_out VARCHAR, mail_opt_out VARCHAR, address_is_stale BOOLEAN,"
    " phone_is_stale BOOLEAN, email_is_stale BOOLEAN, email_last_confirmed TIMESTAMP, email_freshness DOUBLE,"
    " phone_last_confirmed TIMESTAMP, phone_freshness DOUBLE, address_last_confirmed TIMESTAMP,"
    " record_count INTEGER, sources VARCHAR[]"
)
OAK = ("12 Oak St", None, "Boston", "MA", "02110", None, "US", "A1")
ELM = ("9 Elm Ave", None, "Boston", "MA", "02111", None, "US", "A2")
NO_ADDRESS = (None,) * 8
PEOPLE = [
    # id, given, family, born, member_since, email, emails, phone, phones, type, address, opt-outs e/p/m, stale e/p/a
    ("G1", "Ann", "Lee", "1990-12-25", None, "ann@x.org", ["ann@x.org"], "+16175550001", ["+16175550001"], "mobile",
     OAK, (None, None, "Y"), (False, False, False)),
    ("G2", "Bob", "Lee", "1988-01-05", None, "bob@x.org", ["bob@x.org"], "+16175550002", ["+16175550002"],
     "fixed_line", OAK, ("N", "N", "N"), (True, False, False)),
    ("G3", "Cy", "Leap", "2000-02-29", None, None, [], None, [], None, NO_ADDRESS, (None, None, None), (None,) * 3),
    ("G4", "Dee", "Park", "1960-07-01", "2020-12-21", "dee@x", [], "+16175550004", ["+16175550004"], "mobile",
     ELM, (None, "Y", None), (False, False, False)),
    ("G5", "Cat", "Lee", "1970-12-20", "2026-12-20", None, [], None, [], None, OAK, (None, None, None),
     (None, None, False)),
]  # fmt: skip


def master(as_of: dt.date = AS_OF) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.sql(f"CREATE TABLE golden_customers ({COLUMNS})")
    for gid, given, family, born, since, email, emails, phone, phones, ptype, address, opt, stale in PEOPLE:
        line1, line2, city, region, postal, zip4, country, key = address
        con.execute(
            "INSERT INTO golden_customers VALUES (?, ?, NULL, ?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, 1, ['crm'])",
            [gid, given, family, born, since, email, emails, phone, phones, ptype, line1, line2, city, region,
             postal, zip4, country, key, *opt, stale[2], stale[1], stale[0]],
        )  # fmt: skip
    con.sql(
        "CREATE TABLE customer_xref AS SELECT golden_id, 'crm' AS source, 'C' || golden_id AS source_record_id,"
        " TIMESTAMP '2026-01-01' AS source_updated_at, false AS is_stale, NULL::VARCHAR AS stale_reason"
        " FROM golden_customers"
    )
    con.sql(
        "CREATE TABLE customer_tags AS SELECT * FROM (VALUES ('G1', 'vip', NULL, 'static', 'manual', NULL::DATE,"
        " NULL::DATE, 'set by anna')) t(golden_id, tag, value, category, origin, valid_from, valid_to, evidence)"
    )
    con.sql(
        "CREATE TABLE review_queue AS SELECT 1::BIGINT AS review_rank, 'crm' AS left_source, 'CG1' AS left_record_id,"
        " 'G1' AS left_golden_id, 'crm' AS right_source, 'CG5' AS right_record_id, 'G5' AS right_golden_id,"
        " 0.9 AS match_probability, 'review' AS reason, 'given_name: else' AS evidence"
    )
    con.sql(
        "CREATE TABLE tag_reviews AS SELECT 'G2' AS golden_id, 'vip' AS tag, NULL::VARCHAR AS value,"
        " 'G9' AS other_golden_id, 'G2 split' AS reason, 'anna' AS set_by, '2026-12-01T00:00:00+00:00' AS set_at"
    )
    views, macros = crm_views(as_of)
    for signature, sql in macros.items():
        con.sql(f"CREATE MACRO {signature} AS TABLE {sql}")
    for name, sql in views.items():
        con.sql(f'CREATE VIEW "{name}" AS {sql}')
    return con


def ids(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [r[0] for r in con.sql(sql).fetchall()]


def test_contactable_per_channel_valid_not_stale_not_opted_out() -> None:
    con = master()
    assert ids(con, "SELECT golden_id FROM contactable_email") == ["G1"]  # G2 stale, G4 invalid
    assert ids(con, "SELECT golden_id FROM contactable_phone") == ["G1", "G2"]  # G4 opted out
    assert ids(con, "SELECT golden_id FROM contactable_mail") == ["G2", "G4", "G5"]  # G1 opted out of mail
    assert ids(con, "SELECT golden_id FROM calling_list") == ["G1", "G2"]


def test_upcoming_birthdays_cross_the_year_end_and_count_today() -> None:
    con = master()
    assert con.sql("SELECT golden_id, next_date, days_until, turning FROM upcoming_birthdays").fetchall() == [
        ("G5", dt.date(2026, 12, 20), 0, 56),
        ("G1", dt.date(2026, 12, 25), 5, 36),
        ("G2", dt.date(2027, 1, 5), 16, 39),
    ]
    assert ids(con, "SELECT golden_id FROM upcoming_birthdays(5)") == ["G5"]  # today and the 4 days after
    # Cy's 29 February falls on 28 February 2027, 70 days away
    assert ids(con, "SELECT golden_id FROM upcoming_birthdays(days := 90)") == ["G5", "G1", "G2", "G3"]
    row = con.sql("SELECT can_email, can_call, can_mail FROM upcoming_birthdays WHERE golden_id = 'G1'").fetchall()
    assert row == [(True, True, False)]


@pytest.mark.parametrize(
    ("as_of", "next_date", "days_until"),
    [
        (dt.date(2027, 2, 27), dt.date(2027, 2, 28), 1),  # no 29th in 2027: the 28th
        (dt.date(2027, 2, 28), dt.date(2027, 2, 28), 0),
        (dt.date(2027, 3, 1), dt.date(2028, 2, 29), 365),  # passed: next year's, a leap year
        (dt.date(2028, 2, 28), dt.date(2028, 2, 29), 1),
        (dt.date(2100, 2, 27), dt.date(2100, 2, 28), 1),  # 2100 is not a leap year
    ],
)
def test_a_29_february_birthday(as_of: dt.date, next_date: dt.date, days_until: int) -> None:
    con = master(as_of)
    rows = con.sql("SELECT next_date, days_until FROM upcoming_birthdays(400) WHERE golden_id = 'G3'").fetchall()
    assert rows == [(next_date, days_until)]


def test_membership_anniversaries_skip_the_day_someone_joined() -> None:
    con = master()
    assert con.sql("SELECT golden_id, next_date, years FROM upcoming_membership_anniversaries").fetchall() == [
        ("G4", dt.date(2026, 12, 21), 6)
    ]  # G5 joined today: no anniversary yet


def test_households_get_one_row_per_address() -> None:
    con = master()
    assert con.sql(
        "SELECT address_key, addressee, members, member_names, address_line1 FROM mailing_list_households"
    ).fetchall() == [
        ("A1", "The Lee household", 2, ["Cat Lee", "Bob Lee"], "12 Oak St"),  # oldest first; Ann opted out
        ("A2", "Dee Park", 1, ["Dee Park"], "9 Elm Ave"),
    ]
    assert con.sql("SELECT household, phone, members, golden_ids FROM calling_list_households").fetchall() == [
        ("A1", "+16175550002", 2, ["G2", "G1"]),  # the landline, oldest first
    ]
    assert con.sql("SELECT count(*) FROM mailing_list").fetchall() == [(3,)]


def test_customer_360_and_pending_reviews() -> None:
    con = master()
    rows = con.sql(
        "SELECT golden_id, tag_names, len(records), has_stale_contact, can_email FROM customer_360"
    ).fetchall()
    assert rows[:2] == [("G1", ["vip"], 1, False, True), ("G2", [], 1, True, False)]
    assert len(rows) == 5
    assert con.sql("SELECT kind, golden_id, other_golden_id, subject FROM pending_reviews").fetchall() == [
        ("match", "G1", "G5", "crm:CG1 / crm:CG5"),
        ("tag", "G2", "G9", "tag vip"),
    ]

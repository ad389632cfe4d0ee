"""CRM operational views of the master, created at publish (mdm.publish.atomic.publish_master).

Contactable channels, birthdays and anniversaries, households: docs/architecture.md,
section "mdm/publish/views.py".
"""

from __future__ import annotations

import datetime as dt

CAN_EMAIL = (
    "(g.email IS NOT NULL AND list_contains(g.emails, g.email) AND NOT coalesce(g.email_is_stale, false)"
    " AND coalesce(g.email_opt_out, 'N') <> 'Y')"
)
CAN_CALL = (
    "(g.phone IS NOT NULL AND list_contains(g.phones, g.phone) AND NOT coalesce(g.phone_is_stale, false)"
    " AND coalesce(g.phone_opt_out, 'N') <> 'Y')"
)
CAN_MAIL = (
    "(g.address_line1 IS NOT NULL AND g.address_key IS NOT NULL AND NOT coalesce(g.address_is_stale, false)"
    " AND coalesce(g.mail_opt_out, 'N') <> 'Y')"
)
NAME = "trim(concat_ws(' ', g.given_name, g.family_name))"


def _leap(year: str) -> str:
    return f"(({year}) % 4 = 0 AND (({year}) % 100 <> 0 OR ({year}) % 400 = 0))"


def anniversary(date: str, year: str) -> str:
    """SQL: the anniversary of `date` in `year`; 29 February falls on 28 February in other years."""
    return (
        f"CASE WHEN month({date}) = 2 AND day({date}) = 29 AND NOT {_leap(year)}"
        f" THEN make_date({year}, 2, 28) ELSE make_date({year}, month({date}), day({date})) END"
    )


def next_anniversary(date: str, as_of: dt.date) -> str:
    """SQL: the first anniversary of `date` on or after as_of."""
    day = f"DATE '{as_of.isoformat()}'"
    this_year = anniversary(date, f"year({day})")
    return f"CASE WHEN {this_year} >= {day} THEN {this_year} ELSE {anniversary(date, f'year({day}) + 1')} END"


def _upcoming(date: str, as_of: dt.date, years_name: str, extra_where: str = "") -> str:
    day = f"DATE '{as_of.isoformat()}'"
    return f"""
SELECT * FROM (
  SELECT g.golden_id, g.given_name, g.family_name, g.{date},
    {next_anniversary(f"g.{date}", as_of)} AS next_date,
    CAST(next_date - {day} AS INTEGER) AS days_until,
    year(next_date) - year(g.{date}) AS {years_name},
    g.email, g.phone, {CAN_EMAIL} AS can_email, {CAN_CALL} AS can_call, {CAN_MAIL} AS can_mail
  FROM golden_customers g
  WHERE g.{date} IS NOT NULL{extra_where}
)
WHERE days_until < days
ORDER BY days_until, family_name, given_name, golden_id
"""


def crm_views(as_of: dt.date) -> tuple[dict[str, str], dict[str, str]]:
    """(views name -> SELECT, table macros "name(params)" -> SELECT), in creation order."""
    day = f"DATE '{as_of.isoformat()}'"
    macros = {
        "upcoming_birthdays(days := 30)": _upcoming("birth_date", as_of, "turning"),
        "upcoming_membership_anniversaries(days := 30)": _upcoming(
            "member_since", as_of, "years", f" AND g.member_since < {day}"
        ),
    }
    views = {
        "customer_360": f"""
SELECT g.golden_id, g.given_name, g.middle_name, g.family_name, g.birth_date, g.gender, g.member_since,
  g.email, g.phone, g.address_line1, g.address_line2, g.city, g.region, g.postal_code, g.country,
  {CAN_EMAIL} AS can_email, {CAN_CALL} AS can_call, {CAN_MAIL} AS can_mail,
  g.email_opt_out, g.phone_opt_out, g.mail_opt_out,
  g.address_is_stale, g.phone_is_stale, g.email_is_stale,
  coalesce(g.address_is_stale, false) OR coalesce(g.phone_is_stale, false) OR coalesce(g.email_is_stale, false)
    AS has_stale_contact,
  g.record_count, g.sources, coalesce(r.records, []) AS records,
  coalesce(t.tag_names, []) AS tag_names, coalesce(t.tags, []) AS tags
FROM golden_customers g
LEFT JOIN (
  SELECT golden_id, list({{'source': source, 'record_id': source_record_id, 'updated_at': source_updated_at,
    'is_stale': is_stale, 'stale_reason': stale_reason}} ORDER BY source, source_record_id) AS records
  FROM customer_xref GROUP BY golden_id
) r USING (golden_id)
LEFT JOIN (
  SELECT golden_id, list(tag ORDER BY tag) AS tag_names,
    list({{'tag': tag, 'value': value, 'category': category, 'origin': origin, 'valid_from': valid_from,
      'valid_to': valid_to}} ORDER BY tag) AS tags
  FROM customer_tags GROUP BY golden_id
) t USING (golden_id)
ORDER BY g.golden_id
""",
        "contactable_email": f"""
SELECT g.golden_id, g.given_name, g.family_name, g.email, g.email_last_confirmed, g.email_freshness
FROM golden_customers g WHERE {CAN_EMAIL} ORDER BY g.golden_id
""",
        "contactable_phone": f"""
SELECT g.golden_id, g.given_name, g.family_name, g.phone, g.phone_type, g.phone_extension,
  g.phone_last_confirmed, g.phone_freshness, g.address_key
FROM golden_customers g WHERE {CAN_CALL} ORDER BY g.golden_id
""",
        "contactable_mail": f"""
SELECT g.golden_id, g.given_name, g.family_name, g.birth_date, g.address_line1, g.address_line2, g.city,
  g.region, g.postal_code, g.postal_code_zip4, g.country, g.address_key, g.address_last_confirmed
FROM golden_customers g WHERE {CAN_MAIL} ORDER BY g.golden_id
""",
        "mailing_list": f"""
SELECT g.golden_id, {NAME} AS addressee, g.address_line1, g.address_line2, g.city, g.region, g.postal_code,
  g.postal_code_zip4, g.country
FROM contactable_mail g ORDER BY g.country, g.postal_code, g.address_line1, g.golden_id
""",
        "mailing_list_households": f"""
SELECT g.address_key,
  CASE WHEN count(*) > 1 AND count(DISTINCT g.family_name) = 1
    THEN 'The ' || any_value(g.family_name) || ' household'
    ELSE string_agg({NAME}, ' & ' ORDER BY g.birth_date NULLS LAST, g.golden_id) END AS addressee,
  count(*) AS members,
  list({NAME} ORDER BY g.birth_date NULLS LAST, g.golden_id) AS member_names,
  list(g.golden_id ORDER BY g.birth_date NULLS LAST, g.golden_id) AS golden_ids,
  arg_min(g.address_line1, g.golden_id) AS address_line1, arg_min(g.address_line2, g.golden_id) AS address_line2,
  arg_min(g.city, g.golden_id) AS city, arg_min(g.region, g.golden_id) AS region,
  arg_min(g.postal_code, g.golden_id) AS postal_code, arg_min(g.country, g.golden_id) AS country
FROM contactable_mail g GROUP BY g.address_key
ORDER BY country, postal_code, address_line1, address_key
""",
        "calling_list": f"""
SELECT g.golden_id, {NAME} AS name, g.phone, g.phone_type, g.phone_extension
FROM contactable_phone g ORDER BY g.golden_id
""",
        "calling_list_households": f"""
SELECT coalesce(c.address_key, c.golden_id) AS household,
  (list(c.phone ORDER BY c.phone_type IS DISTINCT FROM 'fixed_line', g.birth_date NULLS LAST, c.golden_id))[1]
    AS phone,
  count(*) AS members,
  list({NAME} ORDER BY g.birth_date NULLS LAST, c.golden_id) AS member_names,
  list(c.golden_id ORDER BY g.birth_date NULLS LAST, c.golden_id) AS golden_ids
FROM contactable_phone c JOIN golden_customers g USING (golden_id)
GROUP BY household ORDER BY household
""",
        "upcoming_birthdays": "SELECT * FROM upcoming_birthdays(30)",
        "upcoming_membership_anniversaries": "SELECT * FROM upcoming_membership_anniversaries(30)",
        "pending_reviews": """
SELECT 'match' AS kind, q.review_rank AS rank, q.left_golden_id AS golden_id, q.right_golden_id AS other_golden_id,
  q.left_source || ':' || q.left_record_id || ' / ' || q.right_source || ':' || q.right_record_id AS subject,
  q.reason, q.evidence, q.match_probability
FROM review_queue q
UNION ALL BY NAME
SELECT 'tag' AS kind, row_number() OVER (ORDER BY r.set_at, r.golden_id, r.tag) AS rank, r.golden_id,
  r.other_golden_id, 'tag ' || r.tag || coalesce(' = ' || r.value, '') AS subject, r.reason,
  'set by ' || r.set_by || ' at ' || r.set_at AS evidence, NULL::DOUBLE AS match_probability
FROM tag_reviews r
ORDER BY kind, rank
""",
    }
    return views, macros

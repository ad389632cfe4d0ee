"""The evidence an incremental night carries over (mdm/stale/delta.py) is the evidence a full run
finds: over random customers whose addresses, phones and e-mails households share, with postcodes,
phone types, contact outcomes and records dated after the as-of day, and a night that edits,
deletes, adds and moves records between customers and changes outcomes."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from mdm.config.survivorship import AttributeRule, StaleAttributes, StalenessRules
from mdm.stale.delta import kept_customers, night_evidence, outcome_changes
from mdm.stale.evidence import OUTCOME_SCHEMA, value_evidence
from mdm.stale.flags import ATTRIBUTES

AS_OF = dt.date(2026, 11, 1)
RECORD = ["golden_id", "source", "source_record_id", "source_updated_at"]
VALUES = ["address_key", "postal_code", "phone", "phone_type", "email_key"]
POOL = 150
"""Distinct values of each kind: 400 records of 200 customers, so a value has a few holders."""
SCHEMA = {**dict.fromkeys(RECORD, pl.String), "source_updated_at": pl.Datetime("us")} | dict.fromkeys(VALUES, pl.String)
# every attribute weighs its household and tolerates typos, so every kind of evidence is exercised
EVERY_KIND = StalenessRules(
    attributes=StaleAttributes(
        address=AttributeRule(
            column="address_key", typo_edits=2, household_weight=0.9, partial_column="postal_code", partial_weight=0.9
        ),
        phone=AttributeRule(column="phone", typo_edits=1, household_weight=0.5, values_at_once=1),
        email=AttributeRule(column="email_key", household_weight=0.7, values_at_once=2),
    )
)


def _value(rng: random.Random, pool: list[str]) -> str | None:
    return None if rng.random() < 0.2 else rng.choice(pool)


def _record(rng: random.Random, golden_id: str, number: int) -> dict[str, object]:
    # values a few customers share (a household), some a typo apart ("1|main st" and "1|main sr")
    street = rng.randrange(POOL)
    updated = dt.datetime(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330))  # some after the as-of days
    return {
        "golden_id": golden_id,
        "source": rng.choice(["crm", "web"]),
        "source_record_id": f"R{number}",
        "source_updated_at": None if rng.random() < 0.1 else updated,
        "address_key": _value(rng, [f"{street}|main st||1{street % 7}", f"{street}|main sr||1{street % 7}"]),
        "postal_code": _value(rng, [f"1{street % 7}", f"1{rng.randrange(7)}"]),
        "phone": _value(rng, [f"+49151{rng.randrange(POOL):07d}", f"+49151{rng.randrange(POOL):07d}0"]),
        "phone_type": rng.choice(["mobile", "fixed_line", None]),
        "email_key": _value(rng, [f"{rng.randrange(POOL)}@x.de"]),
    }


def _outcomes(rng: random.Random, records: pl.DataFrame, count: int) -> pl.DataFrame:
    rows = []
    for number in range(count):
        source, record_id = rng.choice(records.select("source", "source_record_id").rows())
        at = dt.datetime(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 240))
        outcome = rng.choice(["failed", "confirmed"])
        rows.append(
            {
                "source": source,
                "source_record_id": record_id,
                "attribute": rng.choice(list(ATTRIBUTES)),
                "outcome": outcome,
                "event": f"mail:E{number} {outcome} ({at.date()})",
                "event_time": at,
                "reliability": 0.9,
            }
        )
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


def _night(rng: random.Random, records: pl.DataFrame, customers: int) -> pl.DataFrame:
    """The records after a night: some edited, some deleted, some moved to another customer, some added."""
    rows = records.rows(named=True)
    kept = []
    for row in rows:
        roll = rng.random()
        if roll < 0.02:
            continue  # deleted
        if roll < 0.05:
            key = {"source": row["source"], "source_record_id": row["source_record_id"]}
            row = _record(rng, row["golden_id"], 0) | key
        elif roll < 0.06:
            row = row | {"golden_id": f"G{rng.randrange(customers):03d}"}  # a merge or a split moved it
        kept.append(row)
    added = [_record(rng, f"G{rng.randrange(customers + 3):03d}", 10_000 + i) for i in range(len(rows) // 50)]
    return pl.DataFrame(kept + added, schema=SCHEMA)


def _unchanged(before: pl.DataFrame, after: pl.DataFrame) -> pl.Series:
    """The golden ids whose records are exactly the same in both (mdm/golden/delta.py unchanged_customers)."""

    def by_customer(frame: pl.DataFrame) -> dict[str, list[tuple[object, ...]]]:
        grouped: dict[str, list[tuple[object, ...]]] = {}
        for row in frame.rows():
            grouped.setdefault(row[0], []).append(row)
        return {g: sorted(rows, key=repr) for g, rows in grouped.items()}

    old, new = by_customer(before), by_customer(after)
    return pl.Series("golden_id", sorted(g for g, rows in new.items() if old.get(g) == rows), dtype=pl.String)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("golden_id", "value")


@pytest.mark.parametrize("rules", [StalenessRules(), EVERY_KIND], ids=["default rules", "every kind of evidence"])
@pytest.mark.parametrize("seed", range(6))
def test_a_nights_evidence_is_the_full_runs(seed: int, rules: StalenessRules) -> None:
    rng = random.Random(seed)
    customers = 200
    records = pl.DataFrame([_record(rng, f"G{rng.randrange(customers):03d}", n) for n in range(400)], schema=SCHEMA)
    outcomes = _outcomes(rng, records, 60)
    last = {a: value_evidence(records, a, AS_OF, rules, outcomes) for a in ATTRIBUTES}
    today = AS_OF + dt.timedelta(days=rng.choice([1, 1, 30]))
    night = _night(rng, records, customers)
    night_outcomes = pl.concat([outcomes.sample(fraction=0.9, seed=seed), _outcomes(rng, night, 5)])
    changed = outcome_changes(outcomes, night_outcomes)
    kept = kept_customers(_unchanged(records, night), night, changed, min(AS_OF, today))
    evidence, again = night_evidence(night, night_outcomes, today, rules, last, kept)
    for attribute in ATTRIBUTES:
        full = value_evidence(night, attribute, today, rules, night_outcomes)
        assert _sorted(evidence[attribute]).equals(_sorted(full)), f"{attribute}: carried evidence differs"
    # not vacuous: some customers' evidence was carried, some found again
    assert 0 < again < night["golden_id"].n_unique()
    assert kept.len() > 0


def test_outcome_changes_counts_repeats() -> None:
    rng = random.Random(7)
    records = pl.DataFrame([_record(rng, "G000", n) for n in range(5)], schema=SCHEMA)
    outcomes = _outcomes(rng, records, 4)
    assert outcome_changes(outcomes, outcomes).is_empty()
    repeated = pl.concat([outcomes, outcomes.head(1)])
    assert outcome_changes(outcomes, repeated).rows() == outcomes.head(1).select("source", "source_record_id").rows()
    gone = outcomes.slice(1)
    assert outcome_changes(outcomes, gone).rows() == outcomes.head(1).select("source", "source_record_id").rows()

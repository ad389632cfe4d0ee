"""Staleness of an incremental run: the evidence of the customers no change touches is carried over.

The evidence of a customer's contact values (mdm/stale/evidence.py: when each value was last
confirmed, superseded, confirmed or left by the household, seen with another postcode, failed) is a
function of the customer's own records, the contact outcomes on them, the own evidence of the other
customers holding the same value (the household's), and the as-of day only through the records
dated after it (`dated`). The probability, its reason and the flags move with the as-of day: they
are computed from the evidence for every value every run (mdm/stale/probability.py). So a run takes
a customer's evidence of an attribute from the last run when:

- the customer's records are exactly the last run's, under the same golden id
  (mdm/golden/delta.py unchanged_customers), none dated after the earlier of the two as-of days,
  and the contact outcomes on them are the last run's: its own evidence is the last run's;
- and no customer whose own evidence is found afresh holds, or held in the last run, one of its
  values of that attribute: its household evidence is the last run's too.

Every other customer's evidence is found as a full run finds it, the household's from every
customer holding their values (the carried own evidence of those not found afresh).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from mdm.config.survivorship import StalenessRules
from mdm.incremental.carry import (
    STALE_AS_OF,
    STALE_EVIDENCE_FILES,
    STALE_FINGERPRINT,
    STALE_OUTCOMES_FILE,
    CarryOver,
)
from mdm.sensitive import RECORD_SUFFIXES
from mdm.stale.evidence import (
    HOUSEHOLD_COLUMNS,
    OUTCOME_SCHEMA,
    RECORD_KEY,
    household_evidence,
    own_values,
    value_evidence,
)
from mdm.stale.flags import ATTRIBUTES
from mdm.types import ContactAttribute


def stale_fingerprint(rules: StalenessRules) -> str:
    """What the evidence depends on besides the records, the outcomes and the day: the staleness rules."""
    payload = json.dumps({"staleness": rules.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def evidence_carriable(rules: StalenessRules, sensitive: list[str]) -> bool:
    """False when a contact attribute's comparable column holds a sensitive field: its evidence
    would keep the values in clear in the state, so it is found afresh every run."""
    held = {f"{field}{suffix}" for field in sensitive for suffix in RECORD_SUFFIXES}
    return not any(rules.column(a) in held for a in ATTRIBUTES)


@dataclass(frozen=True)
class LastEvidence:
    """What the last run left of staleness: every customer's evidence per attribute, the contact
    outcomes it was found from, and its as-of day."""

    evidence: dict[ContactAttribute, pl.DataFrame]
    outcomes: pl.DataFrame
    as_of: dt.date

    @classmethod
    def read(cls, carry: CarryOver | None, rules: StalenessRules) -> LastEvidence | None:
        """The last run's, or None when it left none under these staleness rules."""
        files = [*STALE_EVIDENCE_FILES.values(), STALE_OUTCOMES_FILE]
        if (
            carry is None
            or STALE_AS_OF not in carry.fingerprints
            or not carry.usable(STALE_FINGERPRINT, stale_fingerprint(rules), files)
        ):
            return None
        evidence = {a: pl.read_parquet(carry.left(name)) for a, name in STALE_EVIDENCE_FILES.items()}
        outcomes = pl.read_parquet(carry.left(STALE_OUTCOMES_FILE))
        return cls(evidence, outcomes, dt.date.fromisoformat(carry.fingerprints[STALE_AS_OF]))


def outcome_changes(last: pl.DataFrame, today: pl.DataFrame) -> pl.DataFrame:
    """RECORD_KEY of the records whose contact outcomes (OUTCOME_SCHEMA) differ between the last
    run's and today's: an outcome added or gone, or found another number of times."""
    columns = list(OUTCOME_SCHEMA)

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(columns).cast(OUTCOME_SCHEMA).group_by(columns).len()  # type: ignore[arg-type]

    both = counted(last).join(counted(today), on=columns, how="full", nulls_equal=True, coalesce=True, suffix="_today")
    return both.filter(pl.col("len").ne_missing(pl.col("len_today"))).select(RECORD_KEY).unique()


def kept_customers(unchanged: pl.Series, records: pl.DataFrame, changed: pl.DataFrame, since: dt.date) -> pl.Series:
    """The golden ids of `unchanged` (records exactly the last run's) whose own evidence is the last
    run's: none of their `records` dated after `since` (the earlier as-of day: `dated` reads such a
    record otherwise on another day) and none among the records whose outcomes `changed`."""
    late = records.filter(pl.col("source_updated_at").dt.date() > since).select("golden_id")
    touched = records.join(changed, on=RECORD_KEY, how="semi").select("golden_id")
    again = pl.concat([late, touched])["golden_id"]
    return unchanged.filter(~unchanged.is_in(again.implode()))


def night_evidence(
    records: pl.DataFrame,
    outcomes: pl.DataFrame,
    as_of: dt.date,
    rules: StalenessRules,
    last: Mapping[ContactAttribute, pl.DataFrame],
    kept: pl.Series,
) -> tuple[dict[ContactAttribute, pl.DataFrame], int]:
    """Per attribute, the evidence of the values of every customer of `records` (the stale inputs
    of all records), equal to value_evidence's from all of them: the `last` run's for the customers
    of `kept` (kept_customers) whose values no other change touches (module docstring), found afresh
    for the others; and the number of customers found afresh for some attribute."""
    ids = records["golden_id"].unique()
    kept = kept.filter(kept.is_in(ids.implode()))
    fresh = ids.filter(~ids.is_in(kept.implode()))
    evidence: dict[ContactAttribute, pl.DataFrame] = {}
    found: list[pl.Series] = [fresh]
    for attribute in ATTRIBUTES:
        column = rules.column(attribute)
        carried = last[attribute].filter(pl.col("golden_id").is_in(kept.implode()))
        # the values a change touches: the fresh customers' today and the last run's customers'
        # not kept (a customer since merged, split, changed or gone)
        touched = pl.concat(
            [
                records.filter(pl.col("golden_id").is_in(fresh.implode()))[column].drop_nulls().cast(pl.String),
                last[attribute].filter(~pl.col("golden_id").is_in(kept.implode()))["value"].cast(pl.String),
            ]
        ).unique()
        holders = carried.filter(pl.col("value").is_in(touched.implode()))["golden_id"]
        again = pl.concat([fresh, holders]).unique()
        found.append(again)
        mine = records.filter(pl.col("golden_id").is_in(again.implode()))
        tried = outcomes.join(mine.select(RECORD_KEY), on=RECORD_KEY, how="semi")
        rest = carried.filter(~pl.col("golden_id").is_in(again.implode()))
        household = None
        if rules.rule(attribute).household_weight > 0:
            # every holder of the values found again: the fresh own evidence beside the carried
            own, _, _ = own_values(mine, attribute, as_of, rules, tried)
            others = rest.filter(pl.col("value").is_in(own["value"].implode())).select(HOUSEHOLD_COLUMNS)
            household = household_evidence(pl.concat([own.select(HOUSEHOLD_COLUMNS), others]).lazy())
        again_evidence = value_evidence(mine, attribute, as_of, rules, tried, household)
        evidence[attribute] = pl.concat([rest, again_evidence.select(rest.columns)])
    return evidence, pl.concat(found).n_unique()

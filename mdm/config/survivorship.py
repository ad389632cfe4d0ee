"""rules/survivorship.yaml, typed: per attribute, the ordered rules that choose the golden value,
the `staleness:` section and the `archive:` policy.

What each rule means and how ties are broken: docs/architecture.md, section "mdm/config/survivorship.py".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mdm.config.errors import ConfigError, parse_model
from mdm.types import ContactAttribute

RuleName = Literal["valid", "most_trusted", "most_recent", "most_frequent", "most_complete", "earliest"]
RULE_NAMES: tuple[str, ...] = ("valid", "most_trusted", "most_recent", "most_frequent", "most_complete", "earliest")


class Prefer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    values: list[str] = Field(min_length=1)


class PreferRule(BaseModel):
    """`{prefer: {column: phone_type, values: [mobile]}}`: listed values first, in their order."""

    model_config = ConfigDict(extra="forbid")
    prefer: Prefer

    @property
    def label(self) -> str:
        return f"prefer {self.prefer.column} {'/'.join(self.prefer.values)}"


Rule = RuleName | PreferRule


def rule_label(rule: Rule) -> str:
    return rule if isinstance(rule, str) else rule.label


class Attribute(BaseModel):
    """One golden attribute: its field(s), the rules that pick the winning record, and what else
    the winning record lends the golden record."""

    model_config = ConfigDict(extra="forbid")
    fields: list[str] | None = Field(
        default=None,
        description="the fields chosen together from one record; default: the attribute's own name",
    )
    rules: list[Rule] = Field(min_length=1, description="ordered tie-breakers, e.g. [valid, most_recent, most_trusted]")
    carry: list[str] = Field(
        default_factory=list,
        description="standardized columns taken from the winning record too (email_key, phone_type, address_key)",
    )
    all_values: str | None = Field(
        default=None,
        description="name of a list column holding every distinct valid value of the cluster, best first"
        " (phones, emails); the single golden value stays first in it",
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if isinstance(value, list):
            unknown = [r for r in value if isinstance(r, str) and r not in RULE_NAMES]
            if unknown:
                raise ValueError(
                    f"unknown rule(s) {unknown}; the rules are {list(RULE_NAMES)} or"
                    " {prefer: {column: phone_type, values: [mobile]}}"
                )
        return value

    @model_validator(mode="after")
    def _distinct_rules(self) -> Attribute:
        labels = [rule_label(r) for r in self.rules]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"rule(s) {repeated} listed twice; list each once, in the order they should decide")
        return self


# ---- staleness (mdm.stale reads it) ---------------------------------------------------


class AttributeRule(BaseModel):
    """How one contact attribute's values are compared, and how much each kind of evidence weighs."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(description="the standardized column holding the comparable value")
    typo_edits: int = Field(
        default=0,
        ge=0,
        description="two values with the same digits and at most this many edits apart are one value written"
        " two ways (a typo confirms, it does not supersede); 0: only equal values are one",
    )
    values_at_once: int = Field(
        default=1,
        ge=1,
        description="how many values a person holds at once: a value is superseded once this many other values"
        " were confirmed after it (2 for phones: a mobile and a landline)",
    )
    monthly_decay: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="share of this attribute's values that go out of date each month; null: the section's"
        " monthly_decay",
    )
    superseded_reliability: float = Field(
        default=0.95,
        ge=0,
        le=1,
        description="share of 'superseded by a newer different value' that are real changes (the rest: a second"
        " valid value, a data-entry error, a wrongly merged record); higher: a superseded value is surer stale",
    )
    household_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="how far another customer holding the same value (a household) speaks for this one: their"
        " newer record with it confirms it, their newer different value supersedes it; 0: ignore them",
    )

    partial_column: str | None = Field(
        default=None,
        description="a coarser standardized column (address: postal_code) read on records that lack the"
        " comparable value: a newer such record showing another one supersedes, the same one confirms"
        " (each weighted by partial_weight); null: not used",
    )
    partial_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="how far a newer record showing only the coarser value speaks for the full value: the"
        " same postcode may hide a move within it, another postcode may be a typo; 0: ignore them",
    )


class StaleAttributes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AttributeRule = Field(
        default_factory=lambda: AttributeRule(
            column="address_key",
            typo_edits=2,
            superseded_reliability=0.95,
            household_weight=0.9,
            partial_column="postal_code",
            partial_weight=0.9,
        ),
        description="number|street|unit|postcode (null when unusable); a street typo is not a move",
    )
    phone: AttributeRule = Field(
        default_factory=lambda: AttributeRule(column="phone", monthly_decay=0.01, superseded_reliability=0.55),
        description="E.164 number",
    )
    email: AttributeRule = Field(
        default_factory=lambda: AttributeRule(column="email_key", monthly_decay=0.005, superseded_reliability=0.95),
        description="provider-aware key (gmail dots and +tags removed)",
    )


class OutcomeRule(BaseModel):
    """A column of an event source (sources.yaml `events:`) saying how a contact attempt went:
    returned mail, a bounced e-mail, a failed call, or a delivery that confirms the value."""

    model_config = ConfigDict(extra="forbid")
    events: str = Field(description="the event source's name (sources.yaml `events:`)")
    column: str = Field(description="its column holding the outcome")
    attribute: ContactAttribute = Field(description="the contact attribute the attempt used: address, phone or email")
    failed: list[str] = Field(default_factory=list, description="outcome values meaning the value failed (returned)")
    confirmed: list[str] = Field(
        default_factory=list, description="outcome values confirming the value on the event's day (delivered)"
    )
    failed_reliability: float = Field(
        default=0.9, ge=0, le=1, description="share of failed attempts that mean the value is out of date"
    )


class StalenessRules(BaseModel):
    """The `staleness:` section of rules/survivorship.yaml.

    Each contact value gets a probability of being out of date: the decay prior
    1 - (1 - monthly_decay) ** months since it was last confirmed, moved by the evidence the master
    holds (docs/architecture.md, "mdm/stale/"). A value is flagged stale when the probability
    reaches `threshold_stale_probability`: lowering it flags more (recall up, precision down).
    """

    model_config = ConfigDict(extra="forbid")
    monthly_decay: float = Field(
        default=0.02,
        gt=0,
        lt=1,
        description="share of contact values that go out of date each month (an attribute may set its own)",
    )
    threshold_stale_probability: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="a value whose probability of being out of date reaches this is flagged stale",
    )
    attributes: StaleAttributes = Field(default_factory=StaleAttributes)
    phone_type_column: str | None = Field(
        default="phone_type",
        description="when both records' types are known and differ (mobile vs fixed_line) a newer phone"
        " does not supersede an older one; null: any newer differing phone supersedes",
    )
    outcomes: list[OutcomeRule] = Field(
        default_factory=list, description="event columns carrying contact outcomes (returned mail, bounces)"
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced_setting(cls, value: Any) -> Any:
        if isinstance(value, dict) and "stale_below_freshness" in value:
            raise ValueError(
                "stale_below_freshness was replaced by threshold_stale_probability (a value is stale when its"
                " probability of being out of date reaches it); remove stale_below_freshness"
            )
        return value

    @property
    def stale_after_months(self) -> float:
        """The age at which the decay prior alone reaches the threshold (no other evidence)."""
        return math.log(1 - self.threshold_stale_probability) / math.log(1 - self.monthly_decay)

    def rule(self, attribute: ContactAttribute) -> AttributeRule:
        return cast(AttributeRule, getattr(self.attributes, attribute))

    def column(self, attribute: ContactAttribute) -> str:
        return self.rule(attribute).column

    def decay(self, attribute: ContactAttribute) -> float:
        """The attribute's monthly decay, else the section's."""
        own = self.rule(attribute).monthly_decay
        return self.monthly_decay if own is None else own


# ---- archive (mdm.archive reads it) -----------------------------------------------------


MAX_INACTIVE_YEARS = 150


class ArchiveRules(BaseModel):
    """The `archive:` section: when a golden customer leaves golden_customers for archived_customers.

    A customer is inactive when none of its source records was updated and none of its events
    happened in the `inactive_years` before the run's --as-of (a steward's restore counts as
    activity on its day). A longer period keeps more lapsed customers in the CRM views; a shorter
    one hides people who merely come rarely. Null (the default) never archives: how long a patient
    may stay away is the organisation's policy, and an upgrade must not hide anyone.
    """

    model_config = ConfigDict(extra="forbid")
    inactive_years: int | None = Field(
        default=None,
        description="whole years without a record update or an event before a customer is archived;"
        " null: never archive",
    )

    @field_validator("inactive_years", mode="before")
    @classmethod
    def _whole_years(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float | str) and not str(value).strip().isdigit()):
            raise ValueError(f"{value!r} is not a whole number of years")
        if value is not None and not 1 <= int(value) <= MAX_INACTIVE_YEARS:
            raise ValueError(f"{value} years: give 1 to {MAX_INACTIVE_YEARS} years, or null to never archive")
        return value

    @property
    def enabled(self) -> bool:
        return self.inactive_years is not None


STALENESS_HINTS = {
    "monthly_decay": "monthly_decay: 0.02  (a share between 0 and 1, not a percentage)",
    "threshold_stale_probability": "threshold_stale_probability: 0.5  (a probability between 0 and 1)",
    "inactive_years": "archive: {inactive_years: 5}  (whole years, at least 1; null: never archive)",
}


class SurvivorshipRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    attributes: dict[str, Attribute] = Field(min_length=1)
    staleness: StalenessRules = Field(
        default_factory=StalenessRules, description="how fast contact data ages (mdm.stale)"
    )
    archive: ArchiveRules = Field(
        default_factory=ArchiveRules, description="when inactive customers move to archived_customers (mdm.archive)"
    )

    @field_validator("staleness", "archive", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _each_field_once(self) -> SurvivorshipRules:
        seen: dict[str, str] = {}
        for name in self.attributes:
            for f in self.fields_of(name):
                if f in seen:
                    raise ValueError(f"field {f!r} is in attributes {seen[f]!r} and {name!r}; put it in one of them")
                seen[f] = name
        return self

    def check_outcomes(self, path: Path, event_columns: dict[str, list[str]]) -> None:
        """Every `staleness.outcomes` entry names a declared event source and one of its columns;
        raises ConfigError listing every problem."""
        problems = []
        for i, outcome in enumerate(self.staleness.outcomes):
            where = f"staleness.outcomes[{i}]"
            if outcome.events not in event_columns:
                declared = sorted(event_columns) or "none"
                problems.append(f"{where}: no event source {outcome.events!r} in sources.yaml (declared: {declared})")
            elif outcome.column not in event_columns[outcome.events]:
                problems.append(
                    f"{where}: event source {outcome.events!r} has no column {outcome.column!r}"
                    f" (its columns: {event_columns[outcome.events]}); declare it under its `columns:`"
                )
        if problems:
            raise ConfigError(path, problems)

    def fields_of(self, attribute: str) -> list[str]:
        return self.attributes[attribute].fields or [attribute]

    def check_fields(self, path: Path, published: list[str], columns: set[str] | None = None) -> None:
        """Every published dictionary field has exactly one attribute and nothing names an unknown
        column; raises ConfigError listing every problem."""
        problems = []
        covered = {f for name in self.attributes for f in self.fields_of(name)}
        for name in self.attributes:
            unknown = [f for f in self.fields_of(name) if f not in published]
            if unknown:
                problems.append(f"attributes.{name}: {unknown} are not fields of the dictionary ({published})")
            if columns is not None:
                attribute = self.attributes[name]
                missing = [c for c in attribute.carry if c not in columns]
                missing += [
                    r.prefer.column
                    for r in attribute.rules
                    if isinstance(r, PreferRule) and r.prefer.column not in columns
                ]
                if missing:
                    problems.append(f"attributes.{name}: no standardized column {missing}")
        missing_fields = [f for f in published if f not in covered]
        if missing_fields:
            problems.append(
                f"no survivorship rule for field(s) {missing_fields}; add e.g."
                f" `{missing_fields[0]}: {{rules: [valid, most_trusted, most_recent]}}` under attributes"
            )
        if problems:
            raise ConfigError(path, problems)


def load_survivorship_rules(path: Path | str) -> SurvivorshipRules:
    return parse_model(SurvivorshipRules, Path(path), STALENESS_HINTS)

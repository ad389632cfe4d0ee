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
    """How one contact attribute's values are compared."""

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


class StaleAttributes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AttributeRule = Field(
        default_factory=lambda: AttributeRule(column="address_key", typo_edits=2),
        description="number|street|unit|postcode (null when unusable); a street typo is not a move",
    )
    phone: AttributeRule = Field(default_factory=lambda: AttributeRule(column="phone"), description="E.164 number")
    email: AttributeRule = Field(
        default_factory=lambda: AttributeRule(column="email_key"),
        description="provider-aware key (gmail dots and +tags removed)",
    )


class StalenessRules(BaseModel):
    """The `staleness:` section of rules/survivorship.yaml.

    A lower `stale_below_freshness` flags fewer aged values (precision up, recall down); a
    superseded value is stale whatever its freshness.
    """

    model_config = ConfigDict(extra="forbid")
    monthly_decay: float = Field(
        default=0.02, gt=0, lt=1, description="share of contact values that go out of date each month"
    )
    stale_below_freshness: float = Field(
        default=0.80,
        gt=0,
        lt=1,
        description="a value whose freshness (1 - monthly_decay) ** months falls below this is aged"
        " (0.80 at 2% a month: about 11 months)",
    )
    attributes: StaleAttributes = Field(default_factory=StaleAttributes)
    phone_type_column: str | None = Field(
        default="phone_type",
        description="when both records' types are known and differ (mobile vs fixed_line) a newer phone"
        " does not supersede an older one; null: any newer differing phone supersedes",
    )

    @property
    def stale_after_months(self) -> float:
        """The age at which an unconfirmed value becomes aged."""
        return math.log(self.stale_below_freshness) / math.log(1 - self.monthly_decay)

    def rule(self, attribute: ContactAttribute) -> AttributeRule:
        return cast(AttributeRule, getattr(self.attributes, attribute))

    def column(self, attribute: ContactAttribute) -> str:
        return self.rule(attribute).column


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
    "stale_below_freshness": "stale_below_freshness: 0.80  (a freshness between 0 and 1)",
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

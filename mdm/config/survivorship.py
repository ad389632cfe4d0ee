"""rules/survivorship.yaml: which source record's value becomes the golden value, per attribute.

Each attribute names one dictionary field, or a group of fields that must come from the same
record (an address is never assembled from one record's street and another's postcode). Its
`rules` rank the cluster's records that carry a value; the first rule that tells the two best
different values apart decides, and that rule is written to golden_attribute_lineage. Ties after
the last rule go to the lower source name, then record id, so the result never depends on
input order.

Rules, each "better first":
- `valid`: the value was standardized without a flag (no corrected typo, no uncertain parse);
  for a phone also `phone_is_valid`.
- `most_trusted`: the higher `trust` of the source in sources.yaml.
- `most_recent`: the later day of `source_updated_at` (two records of one day tie).
- `most_frequent`: the value (compared by its `_key` column where there is one, so case and
  accents do not split the vote) carried by more of the cluster's records.
- `most_complete`: more of the group's fields present, then the longer value (a full middle
  name over its initial).
- `earliest`: the smaller value of a date field (a membership start: the earliest day any
  source knows is when the person became a member; later dates are renewals or re-entries).
- `{prefer: {column: phone_type, values: [mobile, ...]}}`: the listed values of a column in
  that order, before any other value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mdm.config.errors import ConfigError, parse_model

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


class SurvivorshipRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    attributes: dict[str, Attribute] = Field(min_length=1)
    staleness: dict[str, Any] | None = Field(
        default=None, description="read by mdm.golden.stale (monthly_decay, stale_below_freshness)"
    )

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
    return parse_model(SurvivorshipRules, Path(path))

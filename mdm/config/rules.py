"""rules/match.yaml: how records are matched and which links are forbidden."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mdm.config.errors import parse_model

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


class MatchRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    equal: list[str] = Field(min_length=1)

    @field_validator("equal")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        bad = [k for k in value if not k.endswith("_key")]
        if bad:
            raise ValueError(f"{bad} are not matching keys; use standardized key columns, e.g. equal: [email_key]")
        return value


class CannotLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    different_birth_date: bool = True


class MatchRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    rules: list[MatchRule] = Field(min_length=1)
    max_block_size: int = Field(default=50, ge=2)
    cannot_link: CannotLink = Field(default_factory=CannotLink)


def load_match_rules(path: Path | str = DEFAULT_RULES_DIR / "match.yaml") -> MatchRules:
    return parse_model(MatchRules, Path(path))

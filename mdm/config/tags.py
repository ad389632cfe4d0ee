"""rules/tags.yaml: the tag definitions (typed twin TagDef), each checked on its own.

Categories, origins (system, manual, survey) and how a broken tag is reported: docs/architecture.md,
section "mdm/config/tags.py".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mdm.config.errors import ConfigError, format_loc, line_of, read_yaml

TagCategory = Literal["static", "behaviour", "state"]
TagOrigin = Literal["system", "manual", "survey"]
RESERVED_NAMES = ("set", "remove", "log")
"""words of the `mdm tags` command, which a tag cannot be called"""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
HINTS = {
    "category": "category: state   (one of: static, behaviour, state)",
    "origin": "origin: system   (one of: system, manual, survey)",
    "name": "name: rehab_recent   (lower-case letters, digits and _)",
    "description": "description: Had a rehabilitation visit in the last 90 days.",
}


class TagDef(BaseModel):
    """One tag of rules/tags.yaml."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    category: TagCategory
    origin: TagOrigin
    where: str | None = Field(default=None, description="boolean SQL over golden_customers g")
    value: str | None = Field(default=None, description="with `where`: SQL expression giving the tag's value")
    evidence: str | None = Field(default=None, description="with `where`: SQL expression saying why")
    query: str | None = Field(default=None, description="SELECT golden_id[, value, valid_from, valid_to, evidence]")
    events: list[str] = Field(default_factory=list, description="event sources the SQL reads (tables events_<name>)")

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"tag name {value!r} must be lower-case letters, digits and _ (e.g. name: rehab_recent)")
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is a word of the `mdm tags` command; call the tag e.g. {value}_tag")
        return value

    @model_validator(mode="after")
    def _definition_fits_origin(self) -> TagDef:
        if self.where is not None and self.query is not None:
            raise ValueError("give `where` or `query`, not both")
        if (self.value is not None or self.evidence is not None) and self.where is None:
            raise ValueError("`value` and `evidence` go with `where`; a `query` selects them as columns")
        if self.origin == "system" and self.where is None and self.query is None:
            raise ValueError(
                "a system tag needs `where: <boolean SQL over golden_customers g>` or `query: SELECT golden_id ...`"
                " (or origin: manual for a tag people set)"
            )
        if self.origin == "manual" and (self.where is not None or self.query is not None):
            raise ValueError("a manual tag is set with `mdm tags set`; drop `where`/`query` or use origin: system")
        if self.events and self.where is None and self.query is None:
            raise ValueError("`events` lists the event sources a tag's SQL reads; this tag has no SQL")
        return self

    @property
    def computed(self) -> bool:
        return self.where is not None or self.query is not None

    @property
    def storable(self) -> bool:
        """Values may be set per customer with `mdm tags set` (manual and survey tags)."""
        return self.origin in ("manual", "survey")


class TagsFile(BaseModel):
    """The top level of tags.yaml; each tag is checked on its own by load_tags."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    tags: list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class TagsConfig:
    path: Path
    tags: list[TagDef]
    problems: list[dict[str, Any]] = field(default_factory=list)
    """each: tag (name or None), line, problem, fix"""
    lines: dict[str, int] = field(default_factory=dict)
    """tag name -> line of its entry"""

    def by_name(self) -> dict[str, TagDef]:
        return {t.name: t for t in self.tags}

    def messages(self) -> list[str]:
        return [
            f"line {p['line']}: tag {p['tag'] or '?'}: {p['problem']}" + (f" (fix: {p['fix']})" if p["fix"] else "")
            for p in self.problems
        ]

    def check(self) -> None:
        """Raise ConfigError listing every problem (what `mdm check` does)."""
        if self.problems:
            raise ConfigError(self.path, self.messages())


def load_tags(path: Path | str) -> TagsConfig:
    """Load tags.yaml keeping every valid tag; problems of the others are collected, not raised.

    Only a file that is not a tags file at all (bad YAML, no `tags` list) raises ConfigError."""
    path = Path(path)
    data, lines = read_yaml(path)
    try:
        top = TagsFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(
            path, [f"{format_loc(tuple(e['loc']))}: {e['msg']} (fix: tags: [{{name: ..., ...}}])" for e in exc.errors()]
        ) from None
    config = TagsConfig(path, [])
    for i, raw in enumerate(top.tags):
        name = raw.get("name") if isinstance(raw.get("name"), str) else None
        where = line_of(lines, ("tags", i))
        try:
            tag = TagDef.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                config.problems.append(
                    {
                        "tag": name,
                        "line": line_of(lines, ("tags", i, *loc)),
                        "problem": f"tags[{i}]{'.' if loc else ''}{format_loc(loc) if loc else ''}: "
                        + err["msg"].removeprefix("Value error, "),
                        "fix": HINTS.get(str(loc[-1])) if loc else None,
                    }
                )
            continue
        if tag.name in config.lines:
            config.problems.append(
                {
                    "tag": tag.name,
                    "line": where,
                    "problem": f"tags[{i}]: tag {tag.name!r} is defined twice (first on line {config.lines[tag.name]});"
                    " the first definition is used",
                    "fix": "rename or remove one of them",
                }
            )
            continue
        config.tags.append(tag)
        config.lines[tag.name] = where or 0
    return config

"""A project's whole configuration, found from its sources.yaml: the sources, the dictionary, the
match and survivorship rules and the tags. Loaded once, held by the run; `mdm check` loads it on
its own, with no run.

Each part is read on first use; `ProjectConfig.validate()` reads them all, so every error in a
configuration file surfaces before a run writes anything (a broken tag does not raise: the run
reports it and computes the others).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary, load_dictionary
from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules, load_match_rules
from mdm.config.sources import SourcesConfig, load_sources
from mdm.config.survivorship import StalenessRules, SurvivorshipRules, load_survivorship_rules
from mdm.config.tags import TagsConfig, load_tags


class ProjectConfig:
    """The configuration files one sources.yaml names, each with its typed twin."""

    def __init__(self, sources_path: Path | str):
        self.sources_path = Path(sources_path).resolve()

    def validate(self) -> ProjectConfig:
        """Read every file now (ConfigError on the first broken one); returns self."""
        _ = self.sources, self.match_rules, self.survivorship_rules, self.tags_config
        return self

    @cached_property
    def sources(self) -> SourcesConfig:
        return load_sources(self.sources_path, self.dictionary.names)

    @cached_property
    def dictionary(self) -> Dictionary:
        raw = load_sources(self.sources_path)
        return load_dictionary(raw.relative(raw.dictionary) if raw.dictionary else DEFAULT_DICTIONARY)

    @cached_property
    def published_fields(self) -> list[str]:
        """The dictionary fields the master publishes, in dictionary order."""
        return [f.name for f in self.dictionary.published_fields]

    @cached_property
    def sensitive_columns(self) -> dict[str, list[str]]:
        """Each source that maps a sensitive dictionary field -> the source columns holding them
        (their values are encrypted at rest: mdm/sensitive.py)."""
        sensitive = set(self.dictionary.sensitive_fields)
        out: dict[str, list[str]] = {}
        for source in self.sources.sources:
            columns = [c for name, spec in source.fields.items() if name in sensitive for c in spec.source_columns]
            if columns:
                out[source.name] = columns
        return out

    @cached_property
    def rules_dir(self) -> Path:
        return self.sources.relative(self.sources.rules) if self.sources.rules else DEFAULT_RULES_DIR

    @cached_property
    def match_rules(self) -> MatchRules:
        return load_match_rules(self.rules_dir / "match.yaml")

    @cached_property
    def survivorship_path(self) -> Path:
        """The rules directory's survivorship.yaml, else the project's (a rules directory made for
        one benchmark may hold only match.yaml)."""
        own = self.rules_dir / "survivorship.yaml"
        return own if own.exists() else DEFAULT_RULES_DIR / "survivorship.yaml"

    @cached_property
    def survivorship_rules(self) -> SurvivorshipRules:
        rules = load_survivorship_rules(self.survivorship_path)
        rules.check_fields(self.survivorship_path, self.published_fields)
        rules.check_outcomes(self.survivorship_path, {e.name: list(e.columns) for e in self.sources.events})
        return rules

    @property
    def staleness_rules(self) -> StalenessRules:
        return self.survivorship_rules.staleness

    @cached_property
    def tags_path(self) -> Path:
        """sources.yaml's `tags:` file, else the rules directory's tags.yaml, else the project's."""
        if self.sources.tags:
            return self.sources.relative(self.sources.tags)
        own = self.rules_dir / "tags.yaml"
        return own if own.exists() else DEFAULT_RULES_DIR / "tags.yaml"

    @cached_property
    def tags_config(self) -> TagsConfig:
        """Every valid tag; problems of the others are reported by the run, not raised."""
        return load_tags(self.tags_path)

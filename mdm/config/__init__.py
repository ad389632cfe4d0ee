"""Typed twins of the project's YAML files (sources, dictionary, rules) and their loaders."""

from mdm.config.errors import ConfigError
from mdm.config.sources import ColumnSpec, SourceConfig, SourcesConfig, load_sources

__all__ = ["ColumnSpec", "ConfigError", "SourceConfig", "SourcesConfig", "load_sources"]

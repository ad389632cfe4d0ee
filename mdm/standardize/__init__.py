"""standardize: raw source values to clean, comparable values, driven by the dictionary."""

from mdm.standardize.stage import standardize_source, standardized_schema

__all__ = ["standardize_source", "standardized_schema"]

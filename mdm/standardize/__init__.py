"""standardize: raw source values to clean, comparable values, driven by the dictionary."""

from mdm.standardize.base import distinct_values
from mdm.standardize.source import standardize_source, standardized_schema

__all__ = ["distinct_values", "standardize_source", "standardized_schema"]

"""match: candidate pairs of source records that are the same person, with the rule that said so."""

from mdm.match.deterministic import PAIR_SCHEMA, find_pairs

__all__ = ["PAIR_SCHEMA", "find_pairs"]

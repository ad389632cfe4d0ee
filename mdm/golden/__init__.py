"""golden: one golden customer per cluster, with stable ids and the lineage of every value."""

from mdm.golden.ids import IdAssignment, assign_golden_ids
from mdm.golden.survivorship import build_golden

__all__ = ["IdAssignment", "assign_golden_ids", "build_golden"]

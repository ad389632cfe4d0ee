"""stale: how fresh each contact value is and which are stale, per record and per golden customer.

`flags` holds the rules as pure functions over frames; `stage` is the run's stage, after golden.
"""

from mdm.stale.flags import ATTRIBUTES, RECORD_FLAG_COLUMNS, flag_stale, load_staleness_rules

__all__ = ["ATTRIBUTES", "RECORD_FLAG_COLUMNS", "flag_stale", "load_staleness_rules"]

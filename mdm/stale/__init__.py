"""stale: per contact value, the probability that it is out of date, its flag and its reason, per
record and per golden customer.

`evidence` gathers what the master knows about each value, `probability` turns it into a
probability and a reason, `flags` decides and lays the results out per record and per customer,
`report` builds the run report's calibration table; `stage` is the run's stage, after golden.
"""

from mdm.stale.flags import ATTRIBUTES, RECORD_FLAG_COLUMNS, StaleFlags, flag_stale, load_staleness_rules

__all__ = ["ATTRIBUTES", "RECORD_FLAG_COLUMNS", "StaleFlags", "flag_stale", "load_staleness_rules"]

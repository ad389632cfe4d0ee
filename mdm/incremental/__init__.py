"""Incremental runs: what a run carries over from the last published one, and what changed since.

A published run leaves its standardized records in the durable store (`state/records/`, mdm/incremental/carry.py),
each with a hash of the source row it came from. The next run of the same configuration and code
reads every source as usual, compares each accepted row's hash with the stored one and standardizes
only the new and changed rows; unchanged ones are carried over (their dates re-checked against the
new as-of day). Everything after standardization sees the same records a full run would, so the
incremental master equals the `--full` one. docs/architecture.md, section "Incremental runs".
"""

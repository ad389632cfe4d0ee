"""The audit log for the steward modules: the writer and reader of `mdm.state.audit`, re-exported.

Every steward action (service.py), every change to a user (users.py) and every sign-in, sign-out
and lock-out (signin.py, sessions.py) writes one entry in the same transaction as the change. The
writer lives in `mdm.state.audit` so that layers below the steward package (`mdm query`,
`mdm rollback`, the runs) write the same log without importing this package. Purging old entries,
with its retention rule, is a steward action and stays in service.py.
"""

from __future__ import annotations

from mdm.state.audit import AUDIT_RETENTION_DAYS, COLUMNS, audit_entries, now_utc, write_audit

__all__ = ["AUDIT_RETENTION_DAYS", "COLUMNS", "audit_entries", "now_utc", "write_audit"]

"""What a steward saw: the identity values of the records behind a decision, and when they have
changed enough that the decision must be looked at again.

A decision stores, for each of its records, the standardized values below as they were in the
master the steward looked at (`source_records`). Each later run compares them with the records'
values of that run:

- names and birth date (`IDENTITY_COLUMNS`): any difference is material, a value filled in or
  removed included (a birth date that appears may contradict the other record);
- contact values (`CONTACT_COLUMNS`: e-mail, phone, address key): a value that was there and is now
  different or gone is material; one filled in where there was none is not (contact details are
  added all the time, and a new one does not make two records more or less one person).

A decision whose records changed materially is not applied; the pair goes back to the review queue
marked "changed since decision" until a steward decides it again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

IDENTITY_COLUMNS = ["given_name_key", "family_name_key", "birth_date_key"]
CONTACT_COLUMNS = ["email_key", "phone_key", "address_key"]
FINGERPRINT_COLUMNS = IDENTITY_COLUMNS + CONTACT_COLUMNS

Fingerprint = dict[str, str | None]
"""One record's identity values, by column (absent columns count as empty)."""


def record_label(source: str, record_id: str) -> str:
    return f"{source}:{record_id}"


def fingerprint_of(record: Mapping[str, Any]) -> Fingerprint:
    """The fingerprint of one record (a row of source_records or of the run's standardized records)."""
    out: Fingerprint = {}
    for column in FINGERPRINT_COLUMNS:
        value = record.get(column)
        out[column] = None if value is None or value == "" else str(value)
    return out


def material_changes(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> list[str]:
    """The columns whose change from `before` to `after` is material (module docstring), in order."""
    changed = []
    for column in FINGERPRINT_COLUMNS:
        if column not in before:
            continue  # recorded by a version that did not know the column
        old, new = before[column], after.get(column)
        if column in IDENTITY_COLUMNS:
            if old != new:
                changed.append(column)
        elif old is not None and old != new:
            changed.append(column)
    return changed


def dumps(fingerprints: Mapping[str, Fingerprint]) -> str:
    return json.dumps(fingerprints, sort_keys=True)


def loads(text: str | None) -> dict[str, Fingerprint]:
    return json.loads(text) if text else {}

"""A delta extract applied to its source's records as the last published run held them (the base,
mdm/incremental/bases.py): the source's records as a full extract would have delivered them."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mdm.ingest.source import IngestResult, _quarantine_frame
from mdm.ingest.validate import RECORD_ID

UNKNOWN_DELETE = "delete marker for record id {record_id!r}, which is not among the source's records" + (
    " (never delivered, or deleted already)"
)


@dataclass(frozen=True)
class DeltaApplied:
    records: pl.DataFrame
    """The source's records: the base without the deleted ones, each added or changed row in place
    of the base row of its record id, in record id order."""
    deleted: int
    """Deletions applied (a base record removed)."""
    quarantine: pl.DataFrame
    """The delta's quarantined rows, and its deletions of record ids the base does not hold."""


def apply_delta(delta: IngestResult, base: pl.DataFrame | None) -> DeltaApplied:
    """The base (None: none yet, the delta is the first load) with the delta's accepted rows added
    or in place of the base's row of the same record id and its deletions removed. Applying the
    same delta twice gives the same records (the second time, its deletions are quarantined as
    unknown)."""
    staged = delta.staged
    if base is None:
        base = staged.clear()
    base = base.select(pl.col(name).cast(dtype) for name, dtype in staged.schema.items())
    known = delta.deletes[RECORD_ID].is_in(base[RECORD_ID].implode())
    unknown = delta.deletes.filter(~known)
    gone = pl.concat([delta.deletes.filter(known)[RECORD_ID], staged[RECORD_ID]])
    records = pl.concat([base.filter(~pl.col(RECORD_ID).is_in(gone.implode())), staged]).sort(RECORD_ID)
    rejected = _quarantine_frame(
        delta.source,
        [
            (row, record_id, raw, [UNKNOWN_DELETE.format(record_id=record_id)])
            for row, record_id, raw in unknown.iter_rows()
        ],
    )
    quarantine = pl.concat([delta.quarantine, rejected]).sort("row_number")
    return DeltaApplied(records, int(known.sum()), quarantine)

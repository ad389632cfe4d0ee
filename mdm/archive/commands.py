"""What `mdm archive` does, as functions (the CLI is a thin layer over them): list the archived
customers of a master, and restore one (stored in the durable store, audited, applied by the next run)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mdm.errors import MdmError
from mdm.state import StateStore
from mdm.state.archive import restore_archived


class ArchiveCommandError(MdmError, ValueError):
    """An archive command that cannot be done, with what to do instead."""


def list_archived(master: Path, state: Path, limit: int = 50) -> str:
    """The master's archived customers, oldest activity first, each marked when a restore waits
    for the next run."""
    if not master.exists():
        raise ArchiveCommandError(f"no master at {master}; run `mdm run` first or pass --master")
    con = duckdb.connect(str(master), read_only=True)
    try:
        tables = {name for (name,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        if "archived_customers" not in tables:
            raise ArchiveCommandError(f"{master} has no table archived_customers: publish it again with `mdm run`")
        rows = con.sql(
            "SELECT golden_id, trim(concat_ws(' ', given_name, family_name)), last_activity_on, last_activity,"
            " archived_on, archived_run FROM archived_customers ORDER BY last_activity_on NULLS FIRST, golden_id"
        ).fetchall()
    finally:
        con.close()
    pending: dict[str, tuple[str, str]] = {}
    if (state / StateStore.FILENAME).exists():
        with StateStore(state) as store:
            found = store.query(
                "SELECT r.golden_id, r.restored_by, r.restored_at FROM archive_restores r"
                " JOIN archived_ids a USING (golden_id) WHERE r.restored_at >= a.archived_at ORDER BY r.restore_id"
            )
        pending = {g: (by, at) for g, by, at in found}
    header = f"{'golden_id':<12}{'name':<26}{'last activity':<15}{'archived on':<13}what"
    lines = [f"{len(rows)} archived customers in {master}", header, "-" * len(header)]
    for golden_id, name, last_on, last, archived_on, _run in rows[: limit or None]:
        lines.append(
            f"{golden_id:<12}{(name or '')[:25]:<26}{str(last_on or '-'):<15}{str(archived_on):<13}{last or ''}"
        )
        if golden_id in pending:
            by, at = pending[golden_id]
            lines.append(f"{'':<12}restored by {by} at {at}: back in golden_customers after the next run")
    if limit and len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more (--limit 0 shows all)")
    return "\n".join(lines)


def restore(state: Path, golden_id: str, *, by: str, reason: str) -> str:
    """Restore an archived customer (RestoreRefused says why not); the next run publishes it."""
    if not (state / StateStore.FILENAME).exists():
        raise ArchiveCommandError(f"no durable store in {state}; give --state or --master")
    with StateStore(state) as store:
        done = restore_archived(store, golden_id, by=by, reason=reason)
    return (
        f"restored {golden_id} (audit #{done.audit_id}, by {by}): the next run publishes it in golden_customers,"
        f" and archives it again only after archive.inactive_years without activity from {done.restored_at[:10]}"
    )

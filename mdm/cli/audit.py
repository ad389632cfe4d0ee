"""`mdm audit`: read the audit log of the durable store (mdm/state/audit.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from mdm.cli.options import master_option, state_beside, state_option


@click.command("audit")
@master_option("The master whose durable store (state/ beside it) holds the log.")
@state_option("Durable store. Default: state/ beside the master.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Entries at or after this day or time (UTC).",
)
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="ACTION",
    help="Only this action (repeat for several): sign_in, sign_in_failed, sign_in_refused, lockout, unlock,"
    " sign_out, sessions_ended, query, rollback, run_started, run_published, run_failed, run_flow, same,"
    " not_same, skip, merge, split, undo, user_add, user_role, user_password, archive_restore.",
)
@click.option("--user", default=None, help="Entries by this actor, or about this user (user:NAME).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="The newest N entries.")
def audit(
    master: Path, state: Path | None, since: dt.datetime | None, actions: tuple[str, ...], user: str | None, limit: int
) -> None:
    """Show the audit log, newest first: who did what, when (UTC), on what.

    Entries are kept at least 183 days. Failed sign-ins name the user name tried, never the
    password; queries keep their SQL's first 200 characters and its hash, never their results.

    \b
    Example:
      mdm audit --master data/out/master.duckdb --since 2026-11-01 --action sign_in_failed --action lockout
      mdm audit --user ana --limit 20
      mdm audit --action query --user cli:alice
    """
    from mdm.state import StateStore
    from mdm.state.audit import audit_entries, format_entry

    directory = state_beside(master, state)
    if not (directory / StateStore.FILENAME).exists():
        raise click.ClickException(f"no durable store in {directory}; give --state or --master")
    with StateStore(directory) as store:
        entries = audit_entries(store, since=since, actions=actions, user=user, limit=limit)
    for entry in entries:
        click.echo(format_entry(entry))
    if not entries:
        click.echo("no audit entries match", err=True)

"""`mdm archive`: list archived customers and restore one (mdm/archive/commands.py)."""

from __future__ import annotations

from pathlib import Path

import click

from mdm.cli.options import master_option, state_beside, state_option


@click.group("archive")
def archive() -> None:
    """Customers archived by the policy in rules/survivorship.yaml (`archive: {inactive_years: N}`).

    \b
    Example:
      mdm archive list --master data/out/master.duckdb
      mdm archive restore G000000042 --reason "patient called to book a visit" --master data/out/master.duckdb
    """


@archive.command("list")
@master_option()
@state_option("Durable store. Default: state/ beside the master.")
@click.option("--limit", type=int, default=50, show_default=True, help="Customers shown (0: all).")
def archive_list(master: Path, state: Path | None, limit: int) -> None:
    """The archived customers of the master, longest inactive first, and which wait for a restore.

    \b
    Example:
      mdm archive list --master data/out/master.duckdb --limit 0
    """
    from mdm.archive.commands import list_archived

    click.echo(list_archived(master, state_beside(master, state), limit))


@archive.command("restore")
@click.argument("golden_id")
@click.option("--reason", required=True, help="Why the customer comes back (kept in the audit log).")
@master_option()
@state_option("Durable store. Default: state/ beside the master.")
def archive_restore(golden_id: str, reason: str, master: Path, state: Path | None) -> None:
    """Bring an archived customer back: the next run publishes it in golden_customers with its id,
    and archives it again only once it has been inactive for archive.inactive_years from today.
    Audited (action archive_restore, who: cli:<os user>).

    \b
    Example:
      mdm archive restore G000000042 --reason "patient called to book a visit"
    """
    from mdm.archive.commands import restore
    from mdm.state.audit import os_actor

    click.echo(restore(state_beside(master, state), golden_id, by=os_actor("cli"), reason=reason))

"""`mdm tokens create / list / revoke`: bearer tokens of the JSON API (mdm/state/tokens.py)."""

from __future__ import annotations

from pathlib import Path

import click

from mdm.cli.options import master_option, state_beside, state_option

_master = master_option("The published master the API serves (its state/ holds the tokens).")
_state = state_option("Durable store holding the tokens. Default: state/ beside the master.")


def _actor() -> str:
    from mdm.state.audit import os_actor

    return os_actor("cli")


@click.group()
def tokens() -> None:
    """Bearer tokens of the JSON API under /api/ (roles: resolve, read), apart from steward users.

    \b
    Example:
      mdm tokens create front-desk --role resolve --role read --master data/out/master.duckdb
      mdm tokens list
      mdm tokens revoke front-desk
    """


@tokens.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    type=click.Choice(["resolve", "read"]),
    multiple=True,
    default=("resolve",),
    show_default=True,
    help="resolve: POST /api/v1/standardize and /api/v1/resolve; read: GET /api/v1/customers/{id}. Repeat for both.",
)
@_master
@_state
def tokens_create(name: str, roles: tuple[str, ...], master: Path, state: Path | None) -> None:
    """Make a token and print it once (the store keeps only its hash); audited.

    \b
    Example:
      mdm tokens create front-desk --role resolve --role read
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8765/api/v1/customers/G000000001
    """
    from mdm.state import StateStore
    from mdm.state.tokens import create_token

    with StateStore(state_beside(master, state)) as store:
        token = create_token(store, name, roles, by=_actor())
    click.echo(token)
    click.echo(
        f"token {name} ({', '.join(roles)}): shown this once; send it as 'Authorization: Bearer <token>'", err=True
    )


@tokens.command("list")
@_master
@_state
def tokens_list(master: Path, state: Path | None) -> None:
    """List tokens: name, roles, made when and by whom, revoked when and by whom (never the token).

    \b
    Example:
      mdm tokens list --state /srv/mdm/state
    """
    from mdm.state import StateStore
    from mdm.state.tokens import list_tokens

    with StateStore(state_beside(master, state)) as store:
        found = list_tokens(store)
    if not found:
        click.echo("no API tokens (make one with `mdm tokens create NAME`)")
    for t in found:
        revoked = f"  · revoked {t.revoked_at} by {t.revoked_by}" if t.revoked_at else ""
        click.echo(f"{t.name:<24}{','.join(t.roles):<14}{t.created_at}  by {t.created_by}{revoked}")


@tokens.command("revoke")
@click.argument("name")
@_master
@_state
def tokens_revoke(name: str, master: Path, state: Path | None) -> None:
    """Revoke a token at once: its next call gets 401; audited.

    \b
    Example:
      mdm tokens revoke front-desk
    """
    from mdm.state import StateStore
    from mdm.state.tokens import revoke_token

    with StateStore(state_beside(master, state)) as store:
        revoke_token(store, name, by=_actor())
    click.echo(f"revoked {name}")

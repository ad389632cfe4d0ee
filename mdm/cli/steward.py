"""`mdm users`, `mdm review`, `mdm serve`: the steward's commands."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mdm.cli.options import master_option, sources_option, state_beside, state_option

if TYPE_CHECKING:
    from mdm.steward.web.runner import Runner

_master = master_option("The published master the steward reads.")
_state = state_option("Durable store (decisions, users, audit). Default: state/ beside the master.")


@click.group()
def users() -> None:
    """Steward accounts: add users, list them, change roles (viewer, steward, admin), end their
    page sessions, lift a sign-in lock-out.

    \b
    Example:
      mdm users add ana --role admin --master data/out/master.duckdb
      echo 'a long password' | mdm users add ben --role steward --password-stdin
      mdm users list
      mdm users set-role ben viewer
      mdm users sign-out ben
      mdm users unlock ben
    """


def _cli_actor() -> str:
    from mdm.state.audit import os_actor

    return os_actor("cli")


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "steward", "admin"]), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@_master
@_state
def users_add(name: str, role: str, password_stdin: bool, master: Path, state: Path | None) -> None:
    """Add a user (a viewer unless --role says otherwise). Creates the first admin.

    \b
    Example:
      mdm users add ana --role admin
    """
    from mdm.state import StateStore
    from mdm.steward.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with StateStore(state_beside(master, state)) as store:
        user = add_user(store, name, password, role, by=_cli_actor())
    click.echo(f"added {user.username} ({user.role})")


@users.command("list")
@_master
@_state
def users_list(master: Path, state: Path | None) -> None:
    """List users and their roles, with their live page sessions and sign-in lock-outs.

    \b
    Example:
      mdm users list --state /srv/mdm/state
    """
    from mdm.state import StateStore
    from mdm.steward.sessions import live_sessions
    from mdm.steward.signin import waiting
    from mdm.steward.users import list_users

    now = time.time()
    with StateStore(state_beside(master, state)) as store:
        live, held = live_sessions(store, now=now), waiting(store, now=now)
        for name, role, created_at, created_by in list_users(store):
            notes = [f"{live[name]} live session(s)"] if name in live else []
            notes += [f"sign-in held back until {held[name]}"] if name in held else []
            click.echo(f"{name:<24}{role:<10}{created_at}  by {created_by}" + "".join(f"  · {n}" for n in notes))


@users.command("sign-out")
@click.argument("name")
@_master
@_state
def users_sign_out(name: str, master: Path, state: Path | None) -> None:
    """End every page session of a user at once (copied cookies too); audited.

    \b
    Example:
      mdm users sign-out ben
    """
    from mdm.state import StateStore
    from mdm.steward.users import end_sessions

    with StateStore(state_beside(master, state)) as store:
        ended = end_sessions(store, name, by=_cli_actor())
    click.echo(f"ended {ended} session(s) of {name}")


@users.command("unlock")
@click.argument("name")
@_master
@_state
def users_unlock(name: str, master: Path, state: Path | None) -> None:
    """Forget a user name's failed sign-ins (lifts its delay or lock-out at once); audited.

    \b
    Example:
      mdm users unlock ben
    """
    from mdm.state import StateStore
    from mdm.steward.signin import unlock

    with StateStore(state_beside(master, state)) as store:
        cleared = unlock(store, name, by=_cli_actor())
    click.echo(f"{name}: failed sign-ins forgotten" if cleared else f"{name}: no failed sign-ins to forget")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "steward", "admin"]))
@_master
@_state
def users_set_role(name: str, role: str, master: Path, state: Path | None) -> None:
    """Change a user's role.

    \b
    Example:
      mdm users set-role ben steward
    """
    from mdm.state import StateStore
    from mdm.steward.users import set_role

    with StateStore(state_beside(master, state)) as store:
        user = set_role(store, name, role, by=_cli_actor())
    click.echo(f"{user.username} is now a {user.role}")


@click.command()
@_master
@_state
@click.option("--user", "username", required=True, help="Your steward user name (the password is asked).")
@click.option("--source", default=None, help="Only pairs with a record of this source.")
@click.option("--min-probability", type=float, default=None)
@click.option("--max-probability", type=float, default=None)
@click.option("--min-age-days", type=int, default=None, help="Only pairs whose newer record is at least this old.")
@click.option("--max-age-days", type=int, default=None)
@click.option(
    "--order",
    type=click.Choice(["rank", "threshold", "cluster", "value"]),
    default="rank",
    show_default=True,
    help="rank: the master's review_rank (what a decision changes)",
)
def review(
    master: Path,
    state: Path | None,
    username: str,
    source: str | None,
    min_probability: float | None,
    max_probability: float | None,
    min_age_days: int | None,
    max_age_days: int | None,
    order: str,
) -> None:
    """Work through the review queue in the terminal (s same, n not same, k skip, u undo, q quit).

    \b
    Example:
      mdm review --master data/out/master.duckdb --user ana
      mdm review --user ana --source billing --order cluster
    """
    from mdm.steward.desk import StewardDesk
    from mdm.steward.tui import click_reader
    from mdm.steward.tui import review as run_review
    from mdm.steward.views import QueueFilter

    desk = StewardDesk(master, state_beside(master, state))
    password = click.prompt("password", hide_input=True, err=True)
    signed = desk.sign_in(username, password, client=_cli_actor(), now=time.time(), via="terminal")
    if signed.user is None:
        raise click.ClickException(signed.message)
    user = signed.user
    flt = QueueFilter(source, min_probability, max_probability, min_age_days, max_age_days, order)  # type: ignore[arg-type]
    run_review(desk, user, flt, read=click_reader(), echo=click.echo)


@click.command()
@_master
@_state
@click.option("--port", type=int, default=8765, show_default=True)
@sources_option("sources.yaml: lets admins run the flow from the page, in the page's process.", required=False)
@click.option(
    "--deployment",
    envvar="MDM_DEPLOYMENT",
    metavar="FLOW/DEPLOYMENT",
    default=None,
    help="The Prefect deployment of the flow (as `prefect deployment ls` names it, e.g. nightly/nightly):"
    " the page's run now creates a flow run of it on the server at PREFECT_API_URL instead of running"
    " in its own process. Env: MDM_DEPLOYMENT.",
)
@click.option(
    "--behind-tls",
    is_flag=True,
    envvar="MDM_BEHIND_TLS",
    help="A TLS proxy on this machine serves the page: the session cookie is Secure, and the client"
    " address the proxy gives in X-Forwarded-For is trusted (from 127.0.0.1 only). Env: MDM_BEHIND_TLS=1.",
)
def serve(
    master: Path, state: Path | None, port: int, sources: Path | None, deployment: str | None, behind_tls: bool
) -> None:
    """Serve the steward web page on 127.0.0.1 (sign in; viewer, steward and admin roles), and the
    JSON API under /api/v1 (bearer tokens from `mdm tokens create`; docs/api.md).

    \b
    Example:
      mdm users add ana --role admin
      mdm serve --master data/out/master.duckdb --port 8765
      mdm serve --master /srv/mdm/master.duckdb --behind-tls   # nginx on this machine serves https
      PREFECT_API_URL=http://127.0.0.1:4200/api mdm serve --master /srv/mdm/master.duckdb --deployment nightly/nightly
    """
    import uvicorn

    from mdm.steward.web.app import create_app

    state_dir = state_beside(master, state)
    app = create_app(
        master,
        state_dir,
        runner=_runner(master, state_dir, sources, deployment),
        behind_tls=behind_tls,
        sources=sources,
        warm_api=True,
    )
    tls = "; behind TLS: Secure cookies, clients named by X-Forwarded-For" if behind_tls else ""
    click.echo(f"steward page on http://127.0.0.1:{port}/ (Ctrl-C stops{tls})")
    # the proxy's X-Forwarded-For / -Proto are believed only behind TLS, and only from 127.0.0.1
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=behind_tls,
        forwarded_allow_ips="127.0.0.1",
    )


def _runner(master: Path, state_dir: Path, sources: Path | None, deployment: str | None) -> Runner | None:
    """What the page's run now calls: a flow run of the deployment, else the pipeline in the page's
    process (with --sources), else nothing."""
    from mdm.steward.web.runner import FlowRunner

    if deployment is not None:
        if sources is not None:
            raise click.UsageError(
                "give --sources (a run in the page's process) or --deployment / MDM_DEPLOYMENT (a flow run of"
                " the Prefect deployment, with the deployment's sources), not both"
            )
        from mdm.cli.project import prefect_env

        prefect_env(state_dir)
        from pipelines.deployment import DeploymentRunner

        try:
            return DeploymentRunner(deployment)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--deployment") from None
    if sources is None:
        return None
    flow_sources = sources

    def run_flow(by: str) -> str:
        from mdm.pipeline import run_pipeline  # here, not in the page: it never imports the pipeline

        summary = run_pipeline(flow_sources, master, state_dir, started_by=by)
        return f"run {summary.run_id} published in {summary.seconds} s"

    return FlowRunner(run_flow, {"sources": str(sources)})

"""Users, roles and sessions, and running the flow (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.audit import write_audit
from mdm.steward.service import StewardError
from mdm.steward.users import ROLES
from mdm.steward.web.deps import Admin, Posted, SiteObjects, act

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, user: Admin, site: SiteObjects) -> Response:
    users = await run_in_threadpool(site.desk.users)
    sessions = await run_in_threadpool(site.desk.live_sessions, site.clock())
    run_status = await run_in_threadpool(site.runner.status) if site.runner else None  # may ask Prefect
    return site.page(request, "admin.html", users=users, roles=ROLES, run_status=run_status, sessions=sessions)


@router.post("/admin/users")
async def add_user(request: Request, user: Admin, site: SiteObjects, form: Posted) -> Response:
    def add() -> str:
        added = site.desk.add_user(user, form["username"], form["password"], form["role"] or "viewer")
        return f"added {added.username}"

    return await act(request, add, "/admin")


@router.post("/admin/role")
async def set_role(request: Request, user: Admin, site: SiteObjects, form: Posted) -> Response:
    name, role = form["username"], form["role"]
    return await act(request, lambda: f"{site.desk.set_role(user, name, role).username} is now a {role}", "/admin")


@router.post("/admin/sessions")
async def end_sessions(request: Request, user: Admin, site: SiteObjects, form: Posted) -> Response:
    """End every page session of a user (signed out everywhere, copied cookies too); audited."""
    name = form["username"]
    return await act(request, lambda: site.desk.end_sessions(user, name), "/admin")


@router.post("/admin/run")
async def run_flow(request: Request, user: Admin, site: SiteObjects) -> Response:
    runner = site.runner
    if runner is None:
        raise StewardError(
            "running the flow from the page is off (start `mdm serve --sources ...` or `mdm serve --deployment ...`)"
        )

    def start() -> str:
        started = runner.start(user.username)  # RunRefused: a run is still going, or Prefect cannot be reached
        with site.desk.store() as store, store.transaction() as con:
            write_audit(con, user.username, "run_flow", None, None, None, started.audit)
        return started.message

    return await act(request, start, "/admin")

"""The audit log, and undoing an action from it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.web.deps import Posted, SiteObjects, Steward, Viewer, act, safe_next

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request, user: Viewer, site: SiteObjects) -> Response:
    entries = await run_in_threadpool(site.desk.audit, 500)
    return site.page(request, "audit.html", entries=entries)


@router.post("/audit/{audit_id}/undo")
async def undo(request: Request, audit_id: int, user: Steward, site: SiteObjects, form: Posted) -> Response:
    back = safe_next(form["back"]) if form["back"] else "/audit"
    return await act(request, lambda: site.desk.undo(user, audit_id, form["reason"]), back)

"""Signing in and out, and the style sheet (no sign-in needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.web.deps import Posted, Session, SiteObjects, safe_next
from mdm.steward.web.security import new_session

STYLE = (Path(__file__).parent.parent / "templates" / "style.css").read_text(encoding="utf-8")

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, site: SiteObjects, next: str = "/") -> Response:
    return site.page(request, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request, site: SiteObjects, session: Session, form: Posted) -> Response:
    user = await run_in_threadpool(site.desk.authenticate, form["username"], form["password"])
    if user is None:
        return site.page(request, "login.html", status=401, next=safe_next(form["next"]), failed=True)
    new_session(session, user.username)  # a new CSRF token: no session fixation
    return RedirectResponse(safe_next(form["next"]), status_code=303)


@router.post("/logout")
async def logout(session: Session) -> Response:
    new_session(session)
    return RedirectResponse("/login", status_code=303)


@router.get("/style.css")
async def style() -> Response:
    return Response(STYLE, media_type="text/css")

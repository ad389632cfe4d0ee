"""Signing in and out, and the style sheet (no sign-in needed)."""

from __future__ import annotations

import math
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.signin import wait_words
from mdm.steward.web.deps import Posted, Session, SiteObjects, client_of, safe_next
from mdm.steward.web.security import new_session, session_token

STYLE = (Path(__file__).parent.parent / "templates" / "style.css").read_text(encoding="utf-8")
KEYS = (Path(__file__).parent.parent / "templates" / "keys.js").read_text(encoding="utf-8")

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, site: SiteObjects, next: str = "/") -> Response:
    return site.page(request, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request, site: SiteObjects, session: Session, form: Posted) -> Response:
    """Throttled and audited (mdm/steward/signin.py): held back, the answer is 429 whether the
    password is right or wrong."""
    token = session_token()
    previous = session.get("s")
    result = await run_in_threadpool(
        lambda: site.desk.sign_in(
            form["username"],
            form["password"],
            client=client_of(request),
            now=site.clock(),
            session_token=token,
            previous_token=previous if isinstance(previous, str) else None,
        )
    )
    if result.user is None:
        nxt = safe_next(form["next"])
        if result.retry_after > 0:
            page = site.page(request, "login.html", status=429, next=nxt, wait=wait_words(result.retry_after))
            page.headers["Retry-After"] = str(math.ceil(result.retry_after))
            return page
        return site.page(request, "login.html", status=401, next=nxt, failed=True)
    new_session(session, token)  # a new CSRF token: no session fixation
    return RedirectResponse(safe_next(form["next"]), status_code=303)


@router.post("/logout")
async def logout(request: Request, site: SiteObjects, session: Session) -> Response:
    """Ends the server-side session for good (a copy of the cookie no longer signs anyone in)."""
    token = session.get("s")
    if isinstance(token, str):
        await run_in_threadpool(lambda: site.desk.sign_out(token, client=client_of(request), now=site.clock()))
    new_session(session)
    return RedirectResponse("/login", status_code=303)


@router.get("/style.css")
async def style() -> Response:
    return Response(STYLE, media_type="text/css")


@router.get("/keys.js")
async def keys() -> Response:
    """Single-key shortcuts (the page's only script; the CSP allows scripts from here only). Every
    shortcut also works without it, as the element's `accesskey`."""
    return Response(KEYS, media_type="text/javascript")

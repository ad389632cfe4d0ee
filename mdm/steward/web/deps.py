"""What every route of the steward page shares: the site's objects and the FastAPI dependencies
for the session, the signed-in user, the role it needs and the CSRF check of a POST.

A dependency that refuses raises; the handlers in `ERROR_HANDLERS` (wired by `create_app`) turn
that into the page: to /login when not signed in, 403 text for a bad CSRF token, the error page
with its status for a steward error (403 role, 404 missing, 409 conflict, 400 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from mdm.errors import MdmError
from mdm.steward.desk import StewardDesk
from mdm.steward.service import Conflict, Forbidden, NotFound, StewardError
from mdm.steward.users import User, UserError
from mdm.steward.views import MasterMissing
from mdm.steward.web.runner import Runner
from mdm.steward.web.security import csrf_ok, live_session, now
from mdm.types import StewardRole


class SignInNeeded(MdmError):
    """The page needs a signed-in user (the browser is sent to /login)."""

    def __init__(self, path: str):
        super().__init__(f"{path} needs you signed in")
        self.path = path


class CsrfRefused(MdmError):
    """A POST without the session's CSRF token."""

    def __init__(self) -> None:
        super().__init__("403 forbidden: missing or wrong CSRF token; reload the page")


@dataclass(frozen=True)
class Site:
    """The objects every request shares (`app.state.site`)."""

    desk: StewardDesk
    templates: Environment
    runner: Runner | None
    clock: Callable[[], float] = now
    """seconds since the epoch: sessions' ends and sign-in waits (tests move it instead of sleeping)"""

    def page(self, request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """A template rendered for this request: its user (if signed in), CSRF token, one-shot message."""
        session = live_session(request)
        html = self.templates.get_template(name).render(
            user=getattr(request.state, "user", None),
            csrf=session["csrf"],
            flash=session.pop("f", None),
            can_run=self.runner is not None,
            **context,
        )
        return HTMLResponse(html, status_code=status)


def site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


class FormFields:
    """A POSTed form (application/x-www-form-urlencoded), read once."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields

    def __getitem__(self, name: str) -> str:
        """The first value of a field; "" when absent."""
        return (self.fields.get(name) or [""])[0]

    def all(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def fields_first(self) -> dict[str, str]:
        """Every field's first value."""
        return {k: v[0] for k, v in self.fields.items() if v}


async def posted_form(request: Request) -> FormFields:
    if not hasattr(request.state, "form"):
        body = (await request.body()).decode("utf-8", errors="replace")
        request.state.form = FormFields(parse_qs(body, keep_blank_values=True))
    return request.state.form  # type: ignore[no-any-return]


Session = Annotated[dict[str, Any], Depends(live_session)]
SiteObjects = Annotated[Site, Depends(site)]
Posted = Annotated[FormFields, Depends(posted_form)]


async def csrf_checked(request: Request, session: Session) -> None:
    """Every request but GET and HEAD must carry the session's CSRF token (an app-wide
    dependency, so it runs first, before any user or role check)."""
    if request.method not in ("GET", "HEAD") and not csrf_ok(session, (await posted_form(request))["csrf"]):
        raise CsrfRefused()


def client_of(request: Request) -> str:
    """Who a sign-in comes from, for its throttle and audit entry: `web:<address>` (behind
    `mdm serve --behind-tls`, the address the proxy on 127.0.0.1 gives in X-Forwarded-For)."""
    return f"web:{request.client.host if request.client else 'unknown'}"


async def signed_in(request: Request, session: Session, objects: SiteObjects) -> User:
    """The user of the request's live server-side session (sessions.py), else SignInNeeded."""
    token = session.get("s")
    user = (
        await run_in_threadpool(objects.desk.session_user, token, objects.clock()) if isinstance(token, str) else None
    )
    if user is None:
        raise SignInNeeded(request.url.path)
    request.state.user = user
    return user


def role_at_least(role: StewardRole) -> Callable[..., Coroutine[Any, Any, User]]:
    async def user_with_role(user: Annotated[User, Depends(signed_in)]) -> User:
        if not user.can(role):
            raise Forbidden(f"{user.username} is a {user.role}: this needs the {role} role")
        return user

    return user_with_role


Viewer = Annotated[User, Depends(role_at_least("viewer"))]
Steward = Annotated[User, Depends(role_at_least("steward"))]
Admin = Annotated[User, Depends(role_at_least("admin"))]


async def act(request: Request, call: Callable[[], Any], back: str) -> RedirectResponse:
    """Run a steward action off the event loop, show its message on the next page, go `back`.
    Its errors reach the error page through `ERROR_HANDLERS`."""
    result = await run_in_threadpool(call)
    live_session(request)["f"] = getattr(result, "message", str(result))
    return RedirectResponse(back, status_code=303)


def int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return RedirectResponse("/login?" + urlencode({"next": exc.path}), status_code=303)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(str(exc), status_code=403)


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Forbidden, 403),
    (Conflict, 409),
    (NotFound, 404),
    (MasterMissing, 404),
    (StewardError, 400),
    (UserError, 400),
)


async def _error_page(request: Request, exc: Exception) -> Response:
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    return site(request).page(request, "error.html", status=status, message=str(exc))


ERROR_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Coroutine[Any, Any, Response]]] = {
    SignInNeeded: _to_login,
    CsrfRefused: _csrf_refused,
    StewardError: _error_page,
    UserError: _error_page,
    MasterMissing: _error_page,
}

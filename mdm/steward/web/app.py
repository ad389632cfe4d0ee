"""The steward page: server-rendered HTML (FastAPI + Jinja2, autoescape on); one first-party script
(/keys.js: single-key shortcuts, every one also an `accesskey`), so the page works with scripts off.

Routes (role needed), one router each in routes/:
    GET  /login, POST /login, POST /logout          (anyone)
    GET  /                 the review queue: search, filters, order, page as query parameters  (viewer)
    POST /queue/next       claim the first free item of the filtered queue and open it       (steward)
    GET  /pair?left=S:ID&right=S:ID   side by side, the weights' waterfall, golden customers (viewer)
    POST /pair/decide      same / not_same / skip, then the next item                         (steward)
    POST /pair/next, /pair/claim, /pair/release   leave it for the next one; claims       (steward)
    GET  /customers?q=     find a customer by name, phone, e-mail, record or golden id       (viewer)
    GET  /work             my work: a day's actions with undo                                 (viewer)
    GET  /golden/{id}      a golden customer: values with lineage and staleness, records, id history,
                           ?merge_q= to find the customer to merge with                       (viewer)
    POST /golden/{id}/split, POST /golden/{id}/merge                                  (steward)
    GET  /audit, POST /audit/{n}/undo                                   (viewer / steward)
    GET  /admin/throughput  actions per steward and day                                   (admin)
    GET  /admin, POST /admin/users, POST /admin/role, POST /admin/sessions, POST /admin/run  (admin)
    /api/v1/...            the JSON API, bearer tokens instead of sessions (./api.py, docs/api.md)

Every POST needs the session's CSRF token (else 403); not signed in, a page redirects to /login.
Signing in is throttled and audited (mdm/steward/signin.py); sessions are server-side and end for
good at sign-out (mdm/steward/sessions.py). Every response forbids framing and any script but the
app's own files (HEADERS: no inline script, no eval).
`mdm serve` binds 127.0.0.1 only; put a TLS proxy in front to reach it from elsewhere, and say so
(`--behind-tls`, or MDM_BEHIND_TLS=1): the cookie is then Secure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.web.api import API_PREFIX, create_api
from mdm.steward.web.deps import ERROR_HANDLERS, Site, csrf_checked
from mdm.steward.web.routes import ROUTERS
from mdm.steward.web.runner import Runner
from mdm.steward.web.security import SignedSessions, load_secret, now

TEMPLATES = Path(__file__).parent / "templates"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Sets HEADERS on every response: a plain ASGI middleware (`@app.middleware("http")` runs the
    rest of the app in a task of its own, with streams, for every call: the API's too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(HEADERS)
            await send(message)

        await self.app(scope, receive, sending)


def create_app(
    master: Path | str,
    state_dir: Path | str,
    *,
    runner: Runner | None = None,
    behind_tls: bool = False,
    clock: Callable[[], float] = now,
    sources: Path | str | None = None,
    warm_api: bool = False,
) -> FastAPI:
    """The page over `master` and the durable store in `state_dir`. With a `runner` (runner.py: the
    pipeline in a thread, or a Prefect deployment's flow run) admins may start the flow.
    `behind_tls`: a TLS proxy serves the page (Secure cookies). `clock`: seconds since the epoch,
    for sessions and sign-in waits (tests move it). The JSON API is mounted at /api/v1 (./api.py):
    `sources` names the project whose dictionary and rules it uses (else the bundled ones);
    `warm_api` loads its resolver at once, not at the first call."""
    desk = StewardDesk(master, state_dir)
    with StateStore(desk.state_dir):  # create or upgrade the store before the first request
        pass

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        api.state.api.audit.close()  # a mounted app's own lifespan never runs: the API's audit entries

    app = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(csrf_checked)], lifespan=lifespan
    )
    app.state.site = Site(
        desk=desk,
        templates=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True),
        runner=runner,
        clock=clock,
    )
    for router in ROUTERS:
        app.include_router(router)
    # mounted, not included: the page's session and CSRF dependency never apply to bearer-token calls
    api = create_api(
        Path(master), desk.state_dir, sources=Path(sources) if sources is not None else None, warm=warm_api
    )
    app.mount(API_PREFIX, api)
    for kind, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(kind, handler)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(SignedSessions, secret=load_secret(desk.state_dir), secure=behind_tls)
    return app

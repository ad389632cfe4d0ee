"""The steward page: server-rendered HTML (FastAPI + Jinja2, autoescape on), no JavaScript.

Routes (role needed):
    GET  /login, POST /login, POST /logout          (anyone)
    GET  /                 the review queue, filters and order as query parameters   (viewer)
    GET  /pair?left=S:ID&right=S:ID   side by side, evidence, golden customers        (viewer)
    POST /pair/decide      same / not_same / skip                                     (steward)
    GET  /golden/{id}      a golden customer's records                               (viewer)
    POST /golden/{id}/split, POST /golden/{id}/merge                                  (steward)
    GET  /audit, POST /audit/{n}/undo                                   (viewer / steward)
    GET  /admin, POST /admin/users, POST /admin/role, POST /admin/run                   (admin)

Every POST needs the session's CSRF token (else 403); every value is escaped by Jinja2; the
page sends a Content-Security-Policy that allows no script at all. The server binds 127.0.0.1
only (`mdm serve`); put a TLS proxy in front to reach it from elsewhere.

Rolling the master back (admin) belongs to `mdm rollback` (mdm/publish, master versions); the
admin page names it but does not call it yet.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool

from mdm.state import StateStore
from mdm.steward.desk import StewardDesk, parse_record
from mdm.steward.service import Conflict, Forbidden, NotFound, StewardError, write_audit
from mdm.steward.users import ROLES, User, UserError
from mdm.steward.views import ORDERS, MasterMissing, QueueFilter
from mdm.steward.web.security import COOKIE, SESSION_HOURS, csrf_ok, csrf_token, load_secret, new_session, sign, unsign

TEMPLATES = Path(__file__).parent / "templates"
STYLE = (TEMPLATES / "style.css").read_text(encoding="utf-8")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class FlowRunner:
    """Runs the nightly flow in a background thread, one run at a time (admins, `--sources` given)."""

    def __init__(self, sources: Path, master: Path, state_dir: Path):
        self.sources, self.master, self.state_dir = sources, master, state_dir
        self._lock = threading.Lock()
        self.status = "no run started from this page"
        self.thread: threading.Thread | None = None

    def start(self, by: str) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self.status = f"running, started by {by} at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
        self.thread = threading.Thread(target=self._run, name="mdm-flow", daemon=True)
        self.thread.start()
        return True

    def _run(self) -> None:
        from mdm.pipeline import PipelineError, run_pipeline

        try:
            summary = run_pipeline(self.sources, self.master, self.state_dir)
            self.status = f"run {summary.run_id} published in {summary.seconds} s"
        except PipelineError as exc:
            self.status = f"failed: {exc}"
        finally:
            self._lock.release()


def _flat(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def create_app(master: Path | str, state_dir: Path | str, *, sources: Path | str | None = None) -> FastAPI:
    desk = StewardDesk(master, state_dir)
    with StateStore(desk.state_dir):  # create or upgrade the store before the first request
        pass
    secret = load_secret(desk.state_dir)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    runner = FlowRunner(Path(sources), desk.master, desk.state_dir) if sources else None
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def session_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        payload = unsign(secret, request.cookies.get(COOKIE))
        request.state.session = payload or new_session()
        request.state.dirty = payload is None
        response = await call_next(request)
        if request.state.dirty:
            response.set_cookie(
                COOKIE,
                sign(secret, request.state.session),
                max_age=SESSION_HOURS * 3600,
                path="/",
                httponly=True,
                samesite="strict",
            )
        response.headers.update(HEADERS)
        return response

    def session(request: Request) -> dict[str, Any]:
        return request.state.session  # type: ignore[no-any-return]

    def flash(request: Request, message: str) -> None:
        session(request)["f"] = message
        request.state.dirty = True

    def render(request: Request, name: str, user: User | None, status: int = 200, **context: Any) -> HTMLResponse:
        s = session(request)
        message = s.pop("f", None)
        if message:
            request.state.dirty = True
        html = env.get_template(name).render(
            user=user, csrf=csrf_token(secret, s), flash=message, can_run=runner is not None, **context
        )
        return HTMLResponse(html, status_code=status)

    def error(request: Request, user: User | None, status: int, message: str) -> HTMLResponse:
        return render(request, "error.html", user, status=status, message=message)

    async def signed_in(request: Request, role: str) -> User | Response:
        name = session(request).get("u")
        user = await run_in_threadpool(desk.user, name) if name else None
        if user is None:
            return RedirectResponse("/login?" + urlencode({"next": str(request.url.path)}), status_code=303)
        if not user.can(role):  # type: ignore[arg-type]
            return error(request, user, 403, f"{user.username} is a {user.role}: this needs the {role} role")
        return user

    async def posted(request: Request, role: str | None) -> tuple[User | None, dict[str, list[str]]] | Response:
        """The form of a POST after the CSRF check, and its signed-in user (role or above)."""
        body = (await request.body()).decode("utf-8", errors="replace")
        form = parse_qs(body, keep_blank_values=True)
        if not csrf_ok(secret, session(request), _flat(form, "csrf")):
            return PlainTextResponse("403 forbidden: missing or wrong CSRF token; reload the page", status_code=403)
        if role is None:
            return None, form
        user = await signed_in(request, role)
        if isinstance(user, Response):
            return user
        return user, form

    async def act(request: Request, user: User, back: str, call: Callable[[], Any]) -> Response:
        try:
            result = await run_in_threadpool(call)
        except Forbidden as exc:
            return error(request, user, 403, str(exc))
        except Conflict as exc:
            return error(request, user, 409, str(exc))
        except NotFound as exc:
            return error(request, user, 404, str(exc))
        except (StewardError, UserError) as exc:
            return error(request, user, 400, str(exc))
        flash(request, getattr(result, "message", str(result)))
        return RedirectResponse(back, status_code=303)

    # ---- sign in ---------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "/") -> Response:
        return render(request, "login.html", None, next=_safe_next(next))

    @app.post("/login")
    async def login(request: Request) -> Response:
        got = await posted(request, None)
        if isinstance(got, Response):
            return got
        _, form = got
        user = await run_in_threadpool(desk.authenticate, _flat(form, "username"), _flat(form, "password"))
        if user is None:
            return render(request, "login.html", None, status=401, next=_safe_next(_flat(form, "next")), failed=True)
        request.state.session = new_session(user.username)  # a new nonce: no session fixation
        request.state.dirty = True
        return RedirectResponse(_safe_next(_flat(form, "next")), status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        got = await posted(request, None)
        if isinstance(got, Response):
            return got
        request.state.session = new_session()
        request.state.dirty = True
        return RedirectResponse("/login", status_code=303)

    @app.get("/style.css")
    async def style() -> Response:
        return Response(STYLE, media_type="text/css")

    # ---- queue and items -------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    async def queue(request: Request) -> Response:
        user = await signed_in(request, "viewer")
        if isinstance(user, Response):
            return user
        p = request.query_params
        order = p.get("order") or "threshold"
        flt = QueueFilter(
            source=p.get("source") or None,
            min_probability=_float_or_none(p.get("min_p")),
            max_probability=_float_or_none(p.get("max_p")),
            min_age_days=_int_or_none(p.get("min_age")),
            max_age_days=_int_or_none(p.get("max_age")),
            order=order if order in ORDERS else "threshold",  # type: ignore[arg-type]
        )
        try:
            items = await run_in_threadpool(desk.queue, flt)
            sources = await run_in_threadpool(desk.sources)
        except MasterMissing as exc:
            return error(request, user, 404, str(exc))
        return render(request, "queue.html", user, items=items, flt=flt, sources=sources, orders=ORDERS, params=dict(p))

    @app.get("/pair", response_class=HTMLResponse)
    async def pair(request: Request, left: str = "", right: str = "") -> Response:
        user = await signed_in(request, "viewer")
        if isinstance(user, Response):
            return user
        try:
            view = await run_in_threadpool(desk.pair, parse_record(left), parse_record(right))
        except (NotFound, MasterMissing) as exc:
            return error(request, user, 404, str(exc))
        except StewardError as exc:
            return error(request, user, 400, str(exc))
        return render(request, "pair.html", user, view=view, left=left, right=right)

    @app.post("/pair/decide")
    async def decide(request: Request) -> Response:
        got = await posted(request, "steward")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        verdict = _flat(form, "verdict")
        try:
            left, right = parse_record(_flat(form, "left")), parse_record(_flat(form, "right"))
        except StewardError as exc:
            return error(request, user, 400, str(exc))
        return await act(
            request,
            user,
            "/",
            lambda: desk.decide(
                user,
                left,
                right,
                verdict,  # type: ignore[arg-type]
                expected_version=_int_or_none(_flat(form, "version")),
                reason=_flat(form, "reason"),
            ),
        )

    @app.get("/golden/{golden_id}", response_class=HTMLResponse)
    async def golden(request: Request, golden_id: str) -> Response:
        user = await signed_in(request, "viewer")
        if isinstance(user, Response):
            return user
        try:
            view = await run_in_threadpool(desk.golden, golden_id)
        except (NotFound, MasterMissing) as exc:
            return error(request, user, 404, str(exc))
        return render(request, "golden.html", user, view=view)

    @app.post("/golden/{golden_id}/split")
    async def split(request: Request, golden_id: str) -> Response:
        got = await posted(request, "steward")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        try:
            records = [parse_record(r) for r in form.get("record", [])]
        except StewardError as exc:
            return error(request, user, 400, str(exc))
        return await act(
            request,
            user,
            f"/golden/{golden_id}",
            lambda: desk.split(
                user,
                golden_id,
                records,
                expected_version=_int_or_none(_flat(form, "version")),
                reason=_flat(form, "reason"),
            ),
        )

    @app.post("/golden/{golden_id}/merge")
    async def merge(request: Request, golden_id: str) -> Response:
        got = await posted(request, "steward")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        other = _flat(form, "other").strip()
        return await act(
            request,
            user,
            f"/golden/{golden_id}",
            lambda: desk.merge(
                user,
                golden_id,
                other,
                expected_versions={golden_id: _int_or_none(_flat(form, "version"))},
                reason=_flat(form, "reason"),
            ),
        )

    # ---- audit -----------------------------------------------------------------------------
    @app.get("/audit", response_class=HTMLResponse)
    async def audit(request: Request) -> Response:
        user = await signed_in(request, "viewer")
        if isinstance(user, Response):
            return user
        entries = await run_in_threadpool(desk.audit, 500)
        return render(request, "audit.html", user, entries=entries)

    @app.post("/audit/{audit_id}/undo")
    async def undo(request: Request, audit_id: int) -> Response:
        got = await posted(request, "steward")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        return await act(request, user, "/audit", lambda: desk.undo(user, audit_id, _flat(form, "reason")))

    # ---- admin -----------------------------------------------------------------------------
    @app.get("/admin", response_class=HTMLResponse)
    async def admin(request: Request) -> Response:
        user = await signed_in(request, "admin")
        if isinstance(user, Response):
            return user
        users = await run_in_threadpool(desk.users)
        return render(
            request, "admin.html", user, users=users, roles=ROLES, run_status=runner.status if runner else None
        )

    @app.post("/admin/users")
    async def add_user(request: Request) -> Response:
        got = await posted(request, "admin")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        return await act(
            request,
            user,
            "/admin",
            lambda: (
                "added "
                + desk.add_user(
                    user, _flat(form, "username"), _flat(form, "password"), _flat(form, "role") or "viewer"
                ).username
            ),
        )

    @app.post("/admin/role")
    async def set_role(request: Request) -> Response:
        got = await posted(request, "admin")
        if isinstance(got, Response):
            return got
        user, form = got
        assert user is not None
        name, role = _flat(form, "username"), _flat(form, "role")
        return await act(request, user, "/admin", lambda: f"{desk.set_role(user, name, role).username} is now a {role}")

    @app.post("/admin/run")
    async def run_flow(request: Request) -> Response:
        got = await posted(request, "admin")
        if isinstance(got, Response):
            return got
        user, _ = got
        assert user is not None
        if runner is None:
            return error(request, user, 400, "running the flow from the page is off (start `mdm serve --sources ...`)")

        def start() -> str:
            if not runner.start(user.username):
                raise StewardError("a run is already going; wait for it to finish")
            with desk.store() as store, store.transaction() as con:
                write_audit(con, user.username, "run_flow", None, None, None, {"sources": str(runner.sources)})
            return "the flow is running; the queue shows its result when it is published"

        return await act(request, user, "/admin", start)

    return app

"""The JSON API, mounted at /api/v1 in the steward page's app (`mdm serve`); docs/api.md.

    POST /api/v1/standardize         one record -> standardized values, flags and reasons   (resolve)
    POST /api/v1/resolve             one record -> candidate golden customers, decisions      (resolve)
    GET  /api/v1/customers/{id}      the golden customer, records, lineage; 308 for a merged id (read)
    GET  /api/v1/openapi.json        the OpenAPI schema                                      (any token)

Bearer tokens (`mdm tokens`, mdm/state/tokens.py), never the page's sessions or cookies: 401
without a live token, 403 without the route's role. `ApiGate` refuses bodies over MAX_BODY_BYTES,
not JSON or not UTF-8 before any route runs, and audits every call (who, endpoint, status, client;
never what was sent). Nothing the API receives is stored; the master is only read.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary, load_dictionary
from mdm.config.project import ProjectConfig
from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules, load_match_rules
from mdm.realtime.index import LiveIndex, ResolverIndex
from mdm.realtime.record import RecordStandardizer
from mdm.sensitive import FieldCipher, load_data_key
from mdm.state import StateStore
from mdm.state.audit import printable
from mdm.state.audit_writer import AuditWriter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""A request body larger than this is refused (413): one record is a few hundred bytes."""
API_PREFIX = "/api/v1"


@dataclass
class ApiSite:
    """What every API request shares (`app.state.api`)."""

    master: Path
    state_dir: Path
    dictionary: Dictionary
    rules: MatchRules
    standardizer: RecordStandardizer
    index: LiveIndex
    cipher: FieldCipher | None
    audit: AuditWriter
    """Where every call's audit entry goes (committed in the background, in batches)."""

    def __post_init__(self) -> None:
        self._local = threading.local()

    def store(self) -> StateStore:
        """This thread's connection to the durable store (opened once per worker thread)."""
        store: StateStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = StateStore(self.state_dir)
        return store


def error(
    status: int, message: str, problems: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An API error: {"error": what is wrong and how to fix it, "problems": [{"at", "problem"}...]}."""
    body: dict[str, Any] = {"error": message}
    if problems:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


class ApiGate:
    """ASGI middleware of the API: body limit, content type, UTF-8 and JSON checks, and the audit
    entry of every call (handed to the site's AuditWriter once the response is known)."""

    def __init__(self, app: ASGIApp, site: Callable[[], ApiSite]):
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        refused = None
        if scope["method"] == "POST":
            body, refused = await _read_body(scope, receive)
            if refused is None:
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if replayed:
                        return await receive()
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}

                receive = replay
        try:
            if refused is not None:
                await refused(scope, receive, sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            self._audit(scope, status["code"])

    def _audit(self, scope: Scope, status: int) -> None:
        site = self.site()
        state = scope.get("state") or {}
        client = scope.get("client")
        address = client[0] if client else "unknown"
        actor = state.get("api_actor") or f"api:{address}"
        endpoint = f"{scope['method']} {printable(scope['path'], 200)}"  # the whole path, /api/v1 included
        try:
            site.audit.put(actor, "api_call", endpoint, {"status": status, "client": address})
        except Exception:  # noqa: BLE001 - the answer is sent; a lost entry is logged loudly
            log.exception("the audit entry of an API call (%s, %s) could not be written", actor, endpoint)


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, ASGIApp | None]:
    """The whole body, or a response refusing it (413 too large, 415 not JSON, 400 not UTF-8 or not JSON)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", _too_large()
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return body, error(415, f"send the body as JSON with Content-Type: application/json (not {media or 'none'})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return body, error(400, f"the body is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start}")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return body, error(400, f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:  # '[[[[...' within the size limit: the parser's stack, not a server error
        return body, error(400, "the body is JSON nested too deeply: send one record, an object of text fields")
    return body, None


def _too_large() -> ASGIApp:
    return error(413, f"the body is larger than {MAX_BODY_BYTES} bytes: send one record per request")


def _problem(err: dict[str, Any], dictionary: Dictionary) -> dict[str, str]:
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    at = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "extra_forbidden" and loc[:1] == ["record"]:
        message = f"unknown field: not in the dictionary (known: {', '.join(f.name for f in dictionary.fields)})"
    elif kind == "extra_forbidden":
        message = "unknown field (the body holds record, and optionally country, formats and limit)"
    elif at == "body" and kind in ("model_attributes_type", "dict_type", "model_type"):
        message = 'the body is one JSON object holding the record, e.g. {"record": {"family_name": "Lee"}}'
    elif kind == "string_type":
        message = f"must be text (a JSON string), not {type(err.get('input')).__name__}"
    elif kind == "missing":
        message = "required"
    else:
        message = str(err.get("msg", "invalid"))
    return {"at": at, "problem": message}


def create_api(
    master: Path,
    state_dir: Path,
    *,
    sources: Path | None = None,
    warm: bool = False,
    check_seconds: float | None = None,
) -> FastAPI:
    """The API over `master` (read only) and the tokens and audit log of the store in `state_dir`.
    `sources`: the project's sources.yaml (its dictionary and rules); else the bundled ones.
    `warm`: load the resolver's index now, in a thread (`mdm serve`), not at the first call."""
    from mdm.steward.web.routes.api import api_router

    if sources is not None:
        project = ProjectConfig(sources)
        dictionary, rules = project.dictionary, project.match_rules
    else:
        dictionary, rules = load_dictionary(DEFAULT_DICTIONARY), load_match_rules(DEFAULT_RULES_DIR / "match.yaml")
    key = load_data_key([state_dir, master.parent])
    cipher = FieldCipher(key) if key is not None else None

    def load() -> ResolverIndex:
        return ResolverIndex.load(master, rules, dictionary, cipher)

    index = LiveIndex(load, master) if check_seconds is None else LiveIndex(load, master, check_seconds)
    audit = AuditWriter(state_dir)
    site = ApiSite(master, state_dir, dictionary, rules, RecordStandardizer(dictionary), index, cipher, audit)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:  # served alone; mounted, the page's app closes it
        yield
        audit.close()

    api = FastAPI(
        lifespan=lifespan,
        title="mdm customer master API",
        version="1",
        description="Standardize, resolve and look up customers against the published master (docs/api.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        servers=[{"url": API_PREFIX}],
    )
    plain_schema = api.openapi

    def schema_with_bearer() -> dict[str, Any]:
        schema = plain_schema()
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        return schema

    api.openapi = schema_with_bearer  # type: ignore[method-assign]
    api.state.api = site
    api.include_router(api_router(site))

    async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [_problem(dict(e), dictionary) for e in exc.errors()]
        return error(422, "the request does not fit the API's schema (GET /api/v1/openapi.json)", problems)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, str(exc.detail), headers=exc.headers)

    api.add_exception_handler(RequestValidationError, validation_failed)
    api.add_exception_handler(HTTPException, http_error)
    api.add_middleware(ApiGate, site=lambda: site)
    if warm:
        threading.Thread(target=_warm, args=(index,), name="mdm-resolver-load", daemon=True).start()
    return api


def _warm(index: LiveIndex) -> None:
    try:
        index.current()
    except Exception as exc:  # noqa: BLE001 - the first call will try again and answer 503 with the reason
        log.warning("resolver: not loaded at start (%s)", exc)

"""The routes of the JSON API (table in ../api.py); their bodies are built from the dictionary."""

# no `from __future__ import annotations`: the request bodies are classes made at run time from the
# dictionary, and FastAPI reads the routes' annotations as objects
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictInt, create_model

from mdm.errors import MdmError
from mdm.realtime.customers import Retired, golden_customer
from mdm.realtime.index import ResolverIndex
from mdm.realtime.record import RecordOptions, RecordProblem
from mdm.realtime.resolve import resolve_record
from mdm.state.tokens import ApiToken, token_of
from mdm.types import ApiRole, PairClass

if TYPE_CHECKING:
    from mdm.steward.web.api import ApiSite

MAX_CANDIDATES = 20


class ResolveOptions(RecordOptions):
    limit: StrictInt = Field(default=5, ge=1, le=MAX_CANDIDATES, description="most candidates returned (a JSON number)")


class FieldResult(BaseModel):
    raw: Any = Field(description="the value as sent (a sensitive field's masked)")
    value: Any = Field(description="the clean value, as the master would hold it (null: not usable)")
    key: Any = Field(description="the matching key")
    flags: list[str] = Field(description="every flag, each its reason, as in source_records.<field>_flags")
    extra: dict[str, Any] = Field(description="the field kind's further columns (phonetic codes, address parts...)")


class StandardizeResponse(BaseModel):
    accepted: bool = Field(description="false: the nightly run would quarantine this row")
    quarantine_reasons: list[str]
    fields: dict[str, FieldResult]
    address_key: str | None = None


class Comparison(BaseModel):
    comparison: str
    level: str
    weight: float = Field(description="bits of evidence: log2(m/u), term-frequency adjusted where the rules say")


class CandidateOut(BaseModel):
    golden_id: str
    match_probability: float
    match_weight: float
    decision: PairClass = Field(description="what the nightly rules would do with the record and this customer")
    outcome: str = Field(description="as match_pairs.outcome would say it: merged, blocked: <conflict>, review...")
    conflict: str | None = Field(description="a hard conflict (cannot_link) between the record and the customer")
    record: dict[str, str] = Field(description="the customer's record that matched best: source, source_record_id")
    records_compared: int
    blocking_rules: list[str] = Field(description="the blocking rules that made that record a candidate")
    prior_weight: float
    comparisons: list[Comparison]


class ResolveResponse(BaseModel):
    master_run_id: str
    threshold_match_probability: float
    threshold_review_probability: float
    record_pairs_scored: int
    candidates: list[CandidateOut]
    notes: list[str]


class CustomerResponse(BaseModel):
    golden: dict[str, Any]
    source_records: list[dict[str, Any]]
    lineage: list[dict[str, Any]]
    id_events: list[dict[str, Any]]


class MergedResponse(BaseModel):
    golden_id: str
    merged_into: str


def _bearer(site: "ApiSite", role: ApiRole | None) -> Callable[[Request], Awaitable[ApiToken]]:
    # async, so on the event loop: a primary-key read of the store (in WAL mode a read never waits for
    # a writer) costs less than the worker-thread hop a sync dependency takes
    async def check(request: Request) -> ApiToken:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        challenge = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401, "send an API token: 'Authorization: Bearer <token>' (`mdm tokens create`)", challenge
            )
        found = token_of(site.store(), token.strip())
        if found is None:
            raise HTTPException(401, "the API token is unknown or revoked", challenge)
        request.state.api_actor = found.actor
        if role is not None and not found.can(role):
            raise HTTPException(403, f"token {found.name} ({', '.join(found.roles)}) lacks the {role} role")
        return found

    return check


def api_router(site: "ApiSite") -> APIRouter:
    """The routes over `site`; the request bodies carry its dictionary's fields."""
    record = site.standardizer.model
    standardize_body: Any = create_model("StandardizeRequest", __base__=RecordOptions, record=(record, ...))
    resolve_body: Any = create_model("ResolveRequest", __base__=ResolveOptions, record=(record, ...))
    router = APIRouter()
    resolver = Annotated[ApiToken, Depends(_bearer(site, "resolve"))]
    reader = Annotated[ApiToken, Depends(_bearer(site, "read"))]
    anyone = Annotated[ApiToken, Depends(_bearer(site, None))]

    def standardized(body: Any) -> Any:
        try:
            return site.standardizer.standardize(
                body.record, RecordOptions(country=body.country, formats=body.formats), dt.date.today()
            )
        except RecordProblem as exc:
            raise HTTPException(422, str(exc)) from None

    @router.post("/standardize", response_model=StandardizeResponse)
    def standardize(body: standardize_body, token: resolver) -> StandardizeResponse:
        """One record standardized exactly as the nightly run standardizes a source row: values,
        keys, every flag with its reason, and whether the run would quarantine it."""
        result = standardized(body)
        address_key = result.frame["address_key"][0] if "address_key" in result.frame.columns else None
        return StandardizeResponse(
            accepted=not result.quarantine_reasons,
            quarantine_reasons=result.quarantine_reasons,
            fields=site.standardizer.describe(result),  # type: ignore[arg-type]
            address_key=address_key,
        )

    @router.post(
        "/resolve", response_model=ResolveResponse, responses={503: {"description": "no master to resolve against"}}
    )
    def resolve(body: resolve_body, token: resolver) -> ResolveResponse:
        """The golden customers the record may be, most probable first, each with the comparison-
        by-comparison evidence and the decision the nightly rules would take. Writes nothing."""
        result = standardized(body)
        if result.quarantine_reasons:
            raise HTTPException(
                422, "the nightly run would quarantine this record: " + "; ".join(result.quarantine_reasons)
            )
        index = _index(site)
        candidates, scored, notes = resolve_record(index, result.frame, site.rules, site.dictionary, body.limit)
        return ResolveResponse(
            master_run_id=index.run_id,
            threshold_match_probability=index.threshold_match_probability,
            threshold_review_probability=index.threshold_review_probability,
            record_pairs_scored=scored,
            candidates=[
                CandidateOut(
                    golden_id=c.golden_id,
                    match_probability=c.match_probability,
                    match_weight=c.match_weight,
                    decision=c.decision,
                    outcome=c.outcome,
                    conflict=c.conflict,
                    record={"source": c.record[0], "source_record_id": c.record[1]},
                    records_compared=c.records_compared,
                    blocking_rules=c.blocking_rules,
                    prior_weight=c.prior_weight,
                    comparisons=[Comparison(**x) for x in c.comparisons],
                )
                for c in candidates
            ],
            notes=notes,
        )

    @router.get(
        "/customers/{golden_id}",
        response_model=CustomerResponse,
        responses={
            308: {"model": MergedResponse, "description": "a retired id: Location names the id it was merged into"},
            404: {"description": "no such golden id"},
            410: {"description": "retired: its records are gone"},
        },
    )
    def customer(golden_id: str, request: Request, token: reader) -> Any:
        """The golden record (sensitive values masked), its source records, the lineage of its
        values and its id events. A retired id merged into another answers 308 Permanent Redirect
        to the live one (`Location`; the body names it too)."""
        if not site.master.exists():
            raise HTTPException(503, f"no master published at {site.master} yet")
        found = golden_customer(site.master, site.state_dir, golden_id, site.dictionary.sensitive_fields, site.cipher)
        if found is None:
            raise HTTPException(404, f"no golden customer {golden_id!r}")
        if isinstance(found, Retired):
            if found.merged_into is None:
                raise HTTPException(410, f"golden id {golden_id!r} is retired: its records are gone from the sources")
            location = f"{request.scope.get('root_path', '')}/customers/{found.merged_into}"
            return JSONResponse(
                {"golden_id": golden_id, "merged_into": found.merged_into},
                status_code=308,
                headers={"Location": location},
            )
        return found

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request, token: anyone) -> Response:
        return JSONResponse(request.app.openapi())

    return router


def _index(site: "ApiSite") -> ResolverIndex:
    try:
        return site.index.current()
    except (MdmError, OSError) as exc:
        raise HTTPException(503, f"cannot resolve yet: {exc}") from None

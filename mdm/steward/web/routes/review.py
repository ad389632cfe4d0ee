"""The review queue, a pair side by side, and the decision on a pair."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.desk import parse_record
from mdm.steward.views import ORDERS, QueueFilter
from mdm.steward.web.deps import Posted, SiteObjects, Steward, Viewer, act, int_or_none

router = APIRouter()


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
async def queue(request: Request, user: Viewer, site: SiteObjects) -> Response:
    p = request.query_params
    order = p.get("order") or "rank"
    flt = QueueFilter(
        source=p.get("source") or None,
        min_probability=_float_or_none(p.get("min_p")),
        max_probability=_float_or_none(p.get("max_p")),
        min_age_days=int_or_none(p.get("min_age")),
        max_age_days=int_or_none(p.get("max_age")),
        order=order if order in ORDERS else "rank",
    )
    items = await run_in_threadpool(site.desk.queue, flt)
    sources = await run_in_threadpool(site.desk.sources)
    return site.page(request, "queue.html", items=items, flt=flt, sources=sources, orders=ORDERS, params=dict(p))


@router.get("/pair", response_class=HTMLResponse)
async def pair(request: Request, user: Viewer, site: SiteObjects, left: str = "", right: str = "") -> Response:
    view = await run_in_threadpool(site.desk.pair, parse_record(left), parse_record(right))
    return site.page(request, "pair.html", view=view, left=left, right=right)


@router.post("/pair/decide")
async def decide(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    left, right = parse_record(form["left"]), parse_record(form["right"])
    return await act(
        request,
        lambda: site.desk.decide(
            user,
            left,
            right,
            form["verdict"],  # type: ignore[arg-type]
            expected_version=int_or_none(form["version"]),
            reason=form["reason"],
        ),
        "/",
    )

"""A golden customer's records; splitting records out of it, merging another into it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.desk import parse_record
from mdm.steward.web.deps import Posted, SiteObjects, Steward, Viewer, act, int_or_none

router = APIRouter()


@router.get("/golden/{golden_id}", response_class=HTMLResponse)
async def golden(request: Request, golden_id: str, user: Viewer, site: SiteObjects, merge_q: str = "") -> Response:
    """The customer; with `merge_q`, the customers matching it, each with a button to merge it in."""
    view = await run_in_threadpool(site.desk.golden, golden_id)
    merge_q = merge_q.strip()
    hits = await run_in_threadpool(site.desk.find_customers, merge_q) if merge_q else None
    return site.page(request, "golden.html", view=view, merge_q=merge_q, hits=hits)


@router.post("/golden/{golden_id}/split")
async def split(request: Request, golden_id: str, user: Steward, site: SiteObjects, form: Posted) -> Response:
    records = [parse_record(r) for r in form.all("record")]
    return await act(
        request,
        lambda: site.desk.split(
            user, golden_id, records, expected_version=int_or_none(form["version"]), reason=form["reason"]
        ),
        f"/golden/{golden_id}",
    )


@router.post("/golden/{golden_id}/merge")
async def merge(request: Request, golden_id: str, user: Steward, site: SiteObjects, form: Posted) -> Response:
    other = form["other"].strip()
    return await act(
        request,
        lambda: site.desk.merge(
            user,
            golden_id,
            other,
            expected_versions={golden_id: int_or_none(form["version"])},
            reason=form["reason"],
        ),
        f"/golden/{golden_id}",
    )

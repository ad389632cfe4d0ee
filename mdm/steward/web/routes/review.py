"""The review queue (paged, filtered, searched), a pair side by side, deciding and going on to the
next item, and claiming items.

The queue's filter travels with the steward: the queue page's query parameters (FILTER_PARAMS)
ride along on every pair page and in every form on it, so "decide and go to the next" walks the
same filtered, ordered queue the steward chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.match.explain import PairScore
from mdm.steward.desk import parse_record
from mdm.steward.queue import MAX_PAGE_SIZE, PAGE_SIZE
from mdm.steward.service import Record, pair_key
from mdm.steward.views import ORDERS, Order, QueueFilter, QueueItem
from mdm.steward.web.deps import Posted, SiteObjects, Steward, Viewer, int_or_none
from mdm.steward.web.security import live_session

router = APIRouter()

FILTER_PARAMS = ("q", "source", "reason", "changed", "min_p", "max_p", "min_age", "max_age", "order")
ORDER_WORDS: dict[Order, str] = {
    "rank": "what a decision changes",
    "threshold": "closest to the threshold",
    "cluster": "largest cluster effect",
    "value": "most valuable customers",
    "score_high": "highest score",
    "score_low": "lowest score",
    "oldest": "oldest records",
}


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def queue_filter(params: Mapping[str, str]) -> QueueFilter:
    order = params.get("order") or "rank"
    return QueueFilter(
        source=params.get("source") or None,
        min_probability=_float_or_none(params.get("min_p")),
        max_probability=_float_or_none(params.get("max_p")),
        min_age_days=int_or_none(params.get("min_age")),
        max_age_days=int_or_none(params.get("max_age")),
        order=order if order in ORDERS else "rank",
        reason=params.get("reason") or None,
        changed_only=params.get("changed") == "1",
        search=(params.get("q") or "").strip() or None,
    )


def carried(params: Mapping[str, str]) -> dict[str, str]:
    """The filter parameters that are set, to carry from page to page."""
    return {k: params[k] for k in FILTER_PARAMS if params.get(k)}


def pair_url(
    left: Record,
    right: Record,
    keep: Mapping[str, str],
    back: tuple[Record, Record] | None = None,
    position: int | None = None,
) -> str:
    """The pair page, with the queue's filter (`keep`), the item to go back to and the item's place
    in the queue (`pos`: where "decide and go to the next" goes on from)."""
    query = {"left": f"{left[0]}:{left[1]}", "right": f"{right[0]}:{right[1]}", **keep}
    if position is not None:
        query["pos"] = str(position)
    if back is not None:
        query |= {"back_left": f"{back[0][0]}:{back[0][1]}", "back_right": f"{back[1][0]}:{back[1][1]}"}
    return "/pair?" + urlencode(query)


@router.get("/", response_class=HTMLResponse)
async def queue(request: Request, user: Viewer, site: SiteObjects) -> Response:
    p = request.query_params
    flt = queue_filter(p)
    per = min(max(int_or_none(p.get("per")) or PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page_no = max(int_or_none(p.get("page")) or 1, 1)
    page = await run_in_threadpool(site.desk.queue_page, flt, (page_no - 1) * per, per)
    sources = await run_in_threadpool(site.desk.sources)
    keep = carried(p)
    return site.page(
        request,
        "queue.html",
        page=page,
        items=page.items,
        flt=flt,
        sources=sources,
        orders=ORDERS,
        order_words=ORDER_WORDS,
        params=dict(p),
        keep=keep,
        per=per,
        page_url=lambda n: "/?" + urlencode(keep | ({"per": str(per)} if per != PAGE_SIZE else {}) | {"page": n}),
        pair_url=lambda item: pair_url(item.left, item.right, keep, position=item.position),
    )


async def _go_next(
    request: Request,
    site: SiteObjects,
    user: Steward,
    form: Posted,
    *,
    after_position: int,
    exclude: str | None,
    back: tuple[Record, Record] | None,
) -> Response:
    keep = carried(form.fields_first())
    item: QueueItem | None = await run_in_threadpool(
        lambda: site.desk.next_item(user, queue_filter(keep), after_position=after_position, exclude=exclude)
    )
    if item is None:
        session = live_session(request)
        done = "the queue holds nothing more for you with these filters"
        session["f"] = f"{session['f']}; {done}" if session.get("f") else done
        return RedirectResponse("/?" + urlencode(keep), status_code=303)
    return RedirectResponse(pair_url(item.left, item.right, keep, back, item.position), status_code=303)


@router.post("/queue/next")
async def work_the_queue(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    """Claim the first item of the (filtered) queue no one else holds, and open it."""
    return await _go_next(request, site, user, form, after_position=0, exclude=None, back=None)


@router.get("/pair", response_class=HTMLResponse)
async def pair(request: Request, user: Viewer, site: SiteObjects, left: str = "", right: str = "") -> Response:
    a, b = parse_record(left), parse_record(right)
    view = await run_in_threadpool(site.desk.pair, a, b)
    claim = await run_in_threadpool(site.desk.claim_of, a, b)
    p = request.query_params
    back = None
    if p.get("back_left") and p.get("back_right"):
        back = pair_url(parse_record(p["back_left"]), parse_record(p["back_right"]), carried(p))
    return site.page(
        request,
        "pair.html",
        view=view,
        left=left,
        right=right,
        claim=claim,
        keep=carried(p),
        back_url=back,
        position=int_or_none(p.get("pos")),
        queue_url="/?" + urlencode(carried(p)),
        waterfall=waterfall(view.score) if view.score is not None else None,
    )


@router.post("/pair/decide")
async def decide(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    """Decide, then (the default, `then=next`) open the next item of the same filtered queue."""
    left, right = parse_record(form["left"]), parse_record(form["right"])
    keep = carried(form.fields_first())
    position = int_or_none(form["pos"])
    result = await run_in_threadpool(
        lambda: site.desk.decide(
            user,
            left,
            right,
            form["verdict"],  # type: ignore[arg-type]
            expected_version=int_or_none(form["version"]),
            reason=form["reason"],
        )
    )
    live_session(request)["f"] = result.message
    if form["then"] == "queue":
        return RedirectResponse("/?" + urlencode(keep), status_code=303)
    # the decided item has left the queue (a skipped one sank to its end): the next one now stands
    # where it stood. Opened without a place (a link, a search), the next is the first free item.
    after = (position or 1) - 1
    return await _go_next(
        request, site, user, form, after_position=after, exclude=pair_key(left, right), back=(left, right)
    )


@router.post("/pair/next")
async def next_pair(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    """Leave the item as it is (its claim released) and open the one after it."""
    left, right = parse_record(form["left"]), parse_record(form["right"])
    position = int_or_none(form["pos"])
    await run_in_threadpool(site.desk.release, user, left, right)
    return await _go_next(
        request, site, user, form, after_position=position or 0, exclude=pair_key(left, right), back=(left, right)
    )


@router.post("/pair/claim")
async def claim(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    left, right = parse_record(form["left"]), parse_record(form["right"])
    message = await run_in_threadpool(site.desk.claim, user, left, right)
    live_session(request)["f"] = message
    return RedirectResponse(pair_url(left, right, carried(form.fields_first())), status_code=303)


@router.post("/pair/release")
async def release(request: Request, user: Steward, site: SiteObjects, form: Posted) -> Response:
    left, right = parse_record(form["left"]), parse_record(form["right"])
    message = await run_in_threadpool(site.desk.release, user, left, right)
    live_session(request)["f"] = message
    return RedirectResponse("/?" + urlencode(carried(form.fields_first())), status_code=303)


def waterfall(score: PairScore) -> dict[str, Any]:
    """The bars of the weights' waterfall (prior, each comparison, total) as SVG coordinates: each
    bar starts where the running sum stood and ends where the weight takes it."""
    steps: list[tuple[str, str, float]] = [("prior", "", score.prior_weight)]
    steps += [(c.comparison, c.level, c.weight) for c in score.comparisons]
    running, spans = 0.0, []
    for name, level, weight in steps:
        spans.append((name, level, weight, running, running + weight))
        running += weight
    spans.append(("total", "", score.match_weight, 0.0, score.match_weight))
    low = min(0.0, *(min(a, b) for *_, a, b in spans))
    high = max(0.0, *(max(a, b) for *_, a, b in spans))
    width, left_margin, row = 420.0, 210.0, 22
    scale = width / (high - low or 1.0)

    def x(v: float) -> float:
        return round(left_margin + (v - low) * scale, 1)

    bars = [
        {
            "name": name,
            "level": level,
            "weight": weight,
            "x": min(x(a), x(b)),
            "width": max(abs(x(b) - x(a)), 1.0),
            "y": i * row + 4,
            "kind": "total" if name == "total" else ("up" if weight >= 0 else "down"),
        }
        for i, (name, level, weight, a, b) in enumerate(spans)
    ]
    return {
        "bars": bars,
        "zero": x(0.0),
        "height": len(bars) * row + 8,
        "width": left_margin + width + 70,
        "row": row,
        "label_x": left_margin - 6,
    }

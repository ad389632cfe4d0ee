"""Finding a customer, a steward's own day of work, and the team's throughput (admins)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mdm.steward.throughput import Throughput
from mdm.steward.web.deps import Admin, SiteObjects, Viewer, int_or_none

router = APIRouter()
MAX_THROUGHPUT_DAYS = 366


@router.get("/customers", response_class=HTMLResponse)
async def customers(request: Request, user: Viewer, site: SiteObjects, q: str = "") -> Response:
    q = q.strip()
    hits = await run_in_threadpool(site.desk.find_customers, q) if q else None
    return site.page(request, "customers.html", q=q, hits=hits, queue_query=urlencode({"q": q}))


def _day(text: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else dt.datetime.now(dt.UTC).date()
    except ValueError:
        return dt.datetime.now(dt.UTC).date()


def _pair_link(item_key: str | None) -> str | None:
    if not item_key or not item_key.startswith("pair:"):
        return None
    left, _, right = item_key.removeprefix("pair:").partition("|")
    return "/pair?" + urlencode({"left": left, "right": right})


@router.get("/work", response_class=HTMLResponse)
async def my_work(request: Request, user: Viewer, site: SiteObjects, day: str = "") -> Response:
    """The signed-in steward's actions on a day (UTC; today by default), newest first, with undo."""
    on = _day(day)
    entries = await run_in_threadpool(site.desk.my_work, user, on)
    for e in entries:
        e["pair"] = _pair_link(e.get("item_key"))
    today = dt.datetime.now(dt.UTC).date()
    return site.page(
        request,
        "work.html",
        entries=entries,
        day=on.isoformat(),
        prev_day=(on - dt.timedelta(days=1)).isoformat(),
        next_day=(on + dt.timedelta(days=1)).isoformat() if on < today else None,
    )


@router.get("/admin/throughput", response_class=HTMLResponse)
async def throughput(request: Request, user: Admin, site: SiteObjects, days: str = "7") -> Response:
    """Actions per steward and UTC day over the last `days` days, and their totals."""
    span = min(max(int_or_none(days) or 7, 1), MAX_THROUGHPUT_DAYS)
    until = dt.datetime.now(dt.UTC).date()
    since = until - dt.timedelta(days=span - 1)
    rows = await run_in_threadpool(site.desk.throughput, user, since, until)
    totals: dict[str, Throughput] = {}
    for r in rows:
        t = totals.get(r.steward)
        totals[r.steward] = (
            r
            if t is None
            else Throughput(
                r.steward,
                "",
                t.decided + r.decided,
                t.skipped + r.skipped,
                t.merged + r.merged,
                t.split + r.split,
                t.undid + r.undid,
                t.undone + r.undone,
            )
        )
    ranked = sorted(totals.values(), key=lambda t: (-t.decided, t.steward))
    return site.page(
        request,
        "throughput.html",
        rows=rows,
        totals=ranked,
        days=span,
        since=since.isoformat(),
        until=until.isoformat(),
    )

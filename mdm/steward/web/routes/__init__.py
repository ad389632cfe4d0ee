"""The steward page's routes, one router per part of the page (the table is in ../app.py)."""

from __future__ import annotations

from fastapi import APIRouter

from mdm.steward.web.routes import admin, audit, auth, golden, review, work

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    review.router,
    golden.router,
    work.router,
    audit.router,
    admin.router,
)

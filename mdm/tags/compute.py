"""Tags of one run: computed tags (mdm/tags/engine.py) and stored tags (mdm/tags/stored.py)
into customer_tags, with tag_definitions, tag_errors and tag_reviews beside them.

For one customer and tag there is one row: a stored survey answer replaces the computed one
(staff entered it on purpose); a stored value of a system tag is impossible (`mdm tags set`
refuses it).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

from mdm.config.tags import TagsConfig
from mdm.tags.engine import CUSTOMER_TAGS_SCHEMA, evaluate_tags, prepare_connection
from mdm.tags.stored import Split, place_stored_tags
from mdm.types import GoldenId


@dataclass
class ComputedTags:
    customer_tags: pl.DataFrame
    definitions: pl.DataFrame
    errors: pl.DataFrame
    reviews: pl.DataFrame
    not_published: dict[str, int]
    seconds: float


def compute_tags(
    tables: Mapping[str, pl.DataFrame],
    config: TagsConfig,
    as_of: dt.date,
    *,
    event_sources: set[str],
    stored: pl.DataFrame,
    retired: Mapping[GoldenId, GoldenId | None],
    splits: list[Split],
    archived: frozenset[str] = frozenset(),
) -> ComputedTags:
    """tables: golden_customers, customer_xref and events_<name>, as the master will hold them
    (golden_customers without the archived customers, whose ids are `archived`)."""
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        for name, frame in tables.items():
            con.register("_frame", frame)
            con.sql(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
        prepare_connection(con, as_of)
        computed = evaluate_tags(con, config, event_sources=event_sources)
    finally:
        con.close()
    definitions = config.by_name()
    active = set(tables["golden_customers"]["golden_id"].to_list())
    placed = place_stored_tags(stored, definitions, active, retired, splits, archived)
    overridden = computed.tags.join(placed.tags.select("golden_id", "tag"), on=["golden_id", "tag"], how="anti")
    customer_tags = pl.concat([overridden, placed.tags]).sort("tag", "golden_id")
    counts = dict(customer_tags.group_by("tag").len().iter_rows())
    rows = [
        {
            "tag": t.name,
            "description": " ".join(t.description.split()),
            "category": t.category,
            "origin": t.origin,
            "definition": "where" if t.where is not None else "query" if t.query is not None else "stored",
            "sql": t.where if t.where is not None else t.query,
            "events": t.events,
            "status": computed.outcomes[t.name].status,
            "seconds": computed.outcomes[t.name].seconds,
            "customers": counts.get(t.name, 0),
            "line": config.lines.get(t.name),
        }
        for t in config.tags
    ]
    text: list[tuple[str, pl.DataType]] = [
        (n, pl.String()) for n in ("tag", "description", "category", "origin", "definition", "sql")
    ]
    schema = pl.Schema(
        [*text, ("events", pl.List(pl.String)), ("status", pl.String()), ("seconds", pl.Float64()),
         ("customers", pl.Int64()), ("line", pl.Int64())]
    )  # fmt: skip

    return ComputedTags(
        customer_tags.cast(CUSTOMER_TAGS_SCHEMA),
        pl.DataFrame(rows, schema=schema),
        computed.errors,
        placed.reviews,
        placed.not_published,
        round(time.perf_counter() - started, 3),
    )

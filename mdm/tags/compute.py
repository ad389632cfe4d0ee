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
from pathlib import Path

import duckdb
import polars as pl

from mdm.config.tags import TagDef, TagsConfig
from mdm.duck import Table, create_table
from mdm.golden.ids import resolve_retired
from mdm.tags.engine import CUSTOMER_TAGS_SCHEMA, evaluate_each, prepare_connection, tag_rows
from mdm.tags.stored import Split, place_stored_tags
from mdm.types import GoldenId

TAG_BATCH_ROWS = 250_000
"""Rows of a tag's result read from DuckDB at a time: a tag holding every customer is never one frame."""


@dataclass
class ComputedTags:
    customer_tags: pl.LazyFrame
    """customer_tags in (tag, golden_id) order, over the files of the work directory it was written to"""
    customers: int
    definitions: pl.DataFrame
    errors: pl.DataFrame
    reviews: pl.DataFrame
    not_published: dict[str, int]
    seconds: float


def compute_tags(
    tables: Mapping[str, Table],
    config: TagsConfig,
    as_of: dt.date,
    *,
    work_dir: Path,
    event_sources: set[str],
    stored: pl.DataFrame,
    retired: Mapping[GoldenId, GoldenId | None],
    splits: list[Split],
    archived: frozenset[str] = frozenset(),
    memory_limit: str | None = None,
) -> ComputedTags:
    """tables: golden_customers, customer_xref and events_<name>, as the master will hold them
    (golden_customers without the archived customers, whose ids are `archived`): each a frame, a
    parquet file or a SELECT of DuckDB making it (from parquet files). They are loaded into a
    DuckDB database that holds at most `memory_limit` and spills the rest to `work_dir`, and each
    tag's rows are written to files there batch by batch: no table and no tag is ever whole in
    memory. The files stay until the caller has written customer_tags from them."""
    started = time.perf_counter()
    work_dir.mkdir(parents=True, exist_ok=True)
    definitions = config.by_name()
    settings: dict[str, str | bool | int | float | list[str]] = {"temp_directory": str(work_dir / "spill")}
    if memory_limit is not None:
        settings["memory_limit"] = memory_limit
    # in memory up to memory_limit, the rest of the tables spilled to work_dir (faster than a
    # database file, which would write every table whole before a tag runs)
    con = duckdb.connect(config=settings)
    try:
        for name, table in tables.items():
            create_table(con, name, table)
        placed = place_stored_tags(stored, definitions, _active(con, stored, retired), retired, splits, archived)
        prepare_connection(con, as_of)
        written = _TagFiles(work_dir, placed.tags)
        errors, outcomes = evaluate_each(con, config, event_sources=event_sources, rows=written.write)
    finally:
        con.close()
    customer_tags, counts = written.customer_tags()
    rows = [
        {
            "tag": t.name,
            "description": " ".join(t.description.split()),
            "category": t.category,
            "origin": t.origin,
            "definition": "where" if t.where is not None else "query" if t.query is not None else "stored",
            "sql": t.where if t.where is not None else t.query,
            "events": t.events,
            "status": outcomes[t.name].status,
            "seconds": outcomes[t.name].seconds,
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
        customer_tags,
        sum(counts.values()),
        pl.DataFrame(rows, schema=schema),
        errors,
        placed.reviews,
        placed.not_published,
        round(time.perf_counter() - started, 3),
    )


def _active(
    con: duckdb.DuckDBPyConnection, stored: pl.DataFrame, retired: Mapping[GoldenId, GoldenId | None]
) -> set[str]:
    """The golden ids stored tags may land on that are customers of golden_customers: looked up for
    the stored tags' ids only, never a set of every customer."""
    targets = {resolve_retired(GoldenId(g), retired) for g in stored["golden_id"].unique().to_list()}
    wanted = pl.DataFrame({"golden_id": sorted(t for t in targets if t is not None)}, schema={"golden_id": pl.String})
    con.register("_wanted", wanted)
    try:
        found = con.sql("SELECT golden_id FROM golden_customers WHERE golden_id IN (SELECT golden_id FROM _wanted)")
        return {r[0] for r in found.fetchall()}
    finally:
        con.unregister("_wanted")


class _TagFiles:
    """Each computed tag's rows as parquet files of at most TAG_BATCH_ROWS rows, the stored values
    of the tag replacing computed ones (a stored survey answer wins), and customer_tags over them."""

    def __init__(self, directory: Path, placed: pl.DataFrame) -> None:
        self.directory = directory
        self.placed = placed.cast(CUSTOMER_TAGS_SCHEMA)
        self.parts: dict[str, list[Path]] = {}
        self.counts: dict[str, int] = {}

    def write(self, tag: TagDef, rows: duckdb.DuckDBPyRelation) -> None:
        """Write a tag's rows (ordered by golden_id) batch by batch; none if reading them fails."""
        overridden = self.placed.filter(pl.col("tag") == tag.name).select("golden_id")
        parts: list[Path] = []
        count = 0
        try:
            for batch in rows.to_arrow_reader(TAG_BATCH_ROWS):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                kept = tag_rows(tag, frame).join(overridden, on="golden_id", how="anti", maintain_order="left")
                parts.append(self.directory / f"tag_{len(self.parts):04d}_{len(parts):05d}.parquet")
                kept.write_parquet(parts[-1])
                count += kept.height
        except BaseException:
            for part in parts:
                part.unlink()
            raise
        self.parts[tag.name] = parts
        self.counts[tag.name] = count

    def customer_tags(self) -> tuple[pl.LazyFrame, dict[str, int]]:
        """customer_tags in (tag, golden_id) order and the rows per tag: per tag, its computed rows
        (in golden_id order) merged with its stored ones."""
        frames: list[pl.LazyFrame] = []
        counts = dict(self.counts)
        for name in sorted(set(self.parts) | set(self.placed["tag"].to_list())):
            placed = self.placed.filter(pl.col("tag") == name).sort("golden_id")
            computed = [pl.scan_parquet(p) for p in self.parts.get(name, [])]
            counts[name] = counts.get(name, 0) + placed.height
            if not computed:
                frames.append(placed.lazy())
            elif placed.is_empty():
                frames.append(pl.concat(computed))
            else:
                frames.append(pl.concat(computed).merge_sorted(placed.lazy(), key="golden_id"))
        empty = pl.LazyFrame(schema=CUSTOMER_TAGS_SCHEMA)
        return pl.concat([empty, *frames]), {k: v for k, v in counts.items() if v}

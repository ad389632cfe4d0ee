"""What `mdm tags` and `mdm check` do with tags, as functions (the CLI is a thin layer over them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from mdm.config.tags import TagsConfig
from mdm.errors import MdmError
from mdm.golden.ids import resolve_retired
from mdm.state import StateStore
from mdm.tags.engine import TAG_ERRORS_SCHEMA, evaluate_tags, prepare_connection
from mdm.types import GoldenId


class TagCommandError(MdmError, ValueError):
    """A tag command that cannot be done, with what to do instead."""


def _open(master: Path) -> duckdb.DuckDBPyConnection:
    if not master.exists():
        raise TagCommandError(f"no master at {master}; run `mdm run` first or pass --master")
    return duckdb.connect(str(master), read_only=True)


def list_tags(master: Path) -> str:
    """Each tag of the master: category, origin, how it is made, its status and customers."""
    con = _open(master)
    try:
        rows = con.sql(
            "SELECT tag, category, origin, definition, customers, status FROM tag_definitions ORDER BY line, tag"
        ).fetchall()
        errors = con.sql("SELECT tag, line, problem, fix FROM tag_errors ORDER BY line NULLS LAST").fetchall()
    finally:
        con.close()
    header = f"{'tag':<24}{'category':<11}{'origin':<8}{'made by':<9}{'customers':>10}  status"
    lines = [header, "-" * len(header)]
    lines += [f"{t:<24}{c:<11}{o:<8}{d:<9}{n:>10}  {s}" for t, c, o, d, n, s in rows]
    for tag, line, problem, fix in errors:
        lines.append(f"error: tag {tag or '?'} (line {line}): {problem.splitlines()[0]}")
        lines.append(f"       fix: {fix}")
    return "\n".join(lines)


def show_tag(master: Path, tag: str, limit: int = 50) -> str:
    """The customers carrying `tag`: value, validity window and evidence."""
    con = _open(master)
    try:
        known = con.sql("SELECT description FROM tag_definitions WHERE tag = ?", params=[tag]).fetchall()
        if not known:
            names = [r[0] for r in con.sql("SELECT tag FROM tag_definitions ORDER BY tag").fetchall()]
            raise TagCommandError(f"no tag {tag!r} in {master}; the tags are: {', '.join(names)}")
        rows = con.sql(
            "SELECT t.golden_id, trim(concat_ws(' ', g.given_name, g.family_name)), t.value, t.valid_from,"
            " t.valid_to, t.evidence FROM customer_tags t LEFT JOIN golden_customers g USING (golden_id)"
            " WHERE t.tag = ? ORDER BY t.golden_id",
            params=[tag],
        ).fetchall()
    finally:
        con.close()
    lines = [f"{tag}: {known[0][0]} ({len(rows)} customers)"]
    header = f"{'golden_id':<12}{'name':<24}{'value':<24}{'valid_from':<12}{'valid_to':<12}evidence"
    lines += [header, "-" * len(header)]
    for gid, name, value, start, end, evidence in rows[: limit or None]:
        lines.append(
            f"{gid:<12}{(name or '')[:23]:<24}{(value or '')[:23]:<24}{str(start or ''):<12}{str(end or ''):<12}"
            f"{evidence or ''}"
        )
    if limit and len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more (--limit 0 shows all)")
    return "\n".join(lines)


def _storable(config: TagsConfig, tag: str) -> str:
    definition = config.by_name().get(tag)
    if definition is None:
        stored = [t.name for t in config.tags if t.storable]
        raise TagCommandError(
            f"tag {tag!r} is not defined in {config.path}; add it (origin: manual) or use one of: {', '.join(stored)}"
        )
    if not definition.storable:
        raise TagCommandError(
            f"tag {tag!r} is a system tag, computed every run from {config.path}; only manual and survey tags are set"
        )
    return definition.origin


def set_tag(state: Path, config: TagsConfig, golden_id: str, tag: str, value: str | None, by: str) -> str:
    """Store a manual or survey tag (applied by the next run); a merged-away id is followed to its survivor."""
    origin = _storable(config, tag)
    with StateStore(state) as store:
        if not store.golden_id_exists(golden_id):
            raise TagCommandError(f"no golden customer {golden_id!r} in {state}; golden ids are in golden_customers")
        target = resolve_retired(GoldenId(golden_id), store.retired_ids())
        if target is None:
            raise TagCommandError(f"{golden_id} is retired: its source records are gone")
        store.set_tag(target, tag, value, origin=origin, set_by=by)
    moved = f" ({golden_id} was merged into {target})" if target != golden_id else ""
    shown = f" = {value!r}" if value is not None else ""
    return f"set {origin} tag {tag}{shown} on {target}{moved} by {by}; the next run publishes it"


def remove_tag(state: Path, golden_id: str, tag: str, by: str) -> str:
    with StateStore(state) as store:
        target = resolve_retired(GoldenId(golden_id), store.retired_ids()) or golden_id
        removed = [g for g in dict.fromkeys((golden_id, target)) if store.remove_tag(g, tag, removed_by=by)]
    if not removed:
        raise TagCommandError(f"{golden_id} has no stored tag {tag!r}")
    return f"removed tag {tag} from {', '.join(removed)} by {by} (logged); the next run drops it"


def check_tags(config: TagsConfig, master: Path | None, event_sources: set[str]) -> list[str]:
    """Every problem of the tags file, and with a master, every tag whose SQL fails on it."""
    problems = config.messages()
    if master is None:
        return problems
    con = _open(master)
    try:
        prepare_connection(con, dt.date.today())
        results = evaluate_tags(
            con, TagsConfig(config.path, config.tags, [], config.lines), event_sources=event_sources
        )
    finally:
        con.close()
    for row in results.errors.select(list(TAG_ERRORS_SCHEMA)).iter_rows(named=True):
        problems.append(f"line {row['line']}: tag {row['tag']}: {row['problem']} (fix: {row['fix']})")
    return problems

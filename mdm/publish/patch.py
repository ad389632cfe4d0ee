"""Publishing an incremental run by patching the last master's biggest stable tables.

Most rows of `source_records`, `golden_attribute_lineage`, `customer_tags` and the `events_<name>`
tables are the same from night to night (a record unchanged under the same golden id; a customer
whose records did not change; a customer whose tags read the same today; an event row whose
customer did not move). An incremental run (`RunContext.carry`: same configuration and code as the
last published run) therefore starts the new master from a copy of the last one, when it is the
store's last published master, and replaces only the rows of those tables that differ; every other
table is dropped and written again as in a full run. The rows that differ are found by content:
the last run left a hash of each group of rows (a record's row; a customer's lineage rows or tags;
an event row) beside its carried records, and the groups whose hash is new or gone are deleted from
the copy and today's rows of them inserted (a record whose only change is its row number, because a
row before it left the export, has that column updated in place).
So the patched table holds exactly the rows a full run writes (the row order aside: SQL tables have
none), which tests/test_incremental.py checks, and a count check before and after the patch falls
back to writing the table whole if the copy was not what the hashes say.

`match_pairs` is patched by pairs, its hashes compared while its rows are written (`PairsDiff`):
scores stay put for pairs whose records and counts did not move (mdm/match/model.py `in_steps`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from mdm.duck import SqlPatch
from mdm.files import RecordFiles, scan_rows
from mdm.incremental.carry import PREVIOUS_RID, at_rids, row_hash
from mdm.match.blocking import pair_number
from mdm.publish.pairs import fresh_dir, with_record_ids, write_slice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patched:
    """How a patched table's rows group: `keys` make a group; `moved` are columns of a row that
    change without the row changing otherwise (a record's row number, when a row before it was
    deleted from the export), updated in place; `unique`: one row per group."""

    keys: tuple[str, ...]
    moved: tuple[str, ...] = ()
    unique: bool = False


PATCHED_TABLES: dict[str, Patched] = {
    "source_records": Patched(("source", "source_record_id"), moved=("row_number",), unique=True),
    "golden_attribute_lineage": Patched(("golden_id",)),
    "customer_tags": Patched(("golden_id",)),
}
"""The tables an incremental run patches by groups of rows (besides every `events_<name>`)."""
EVENT_ROWS = Patched(("source", "row_number"), unique=True)
"""A table events_<name> as patched: an event row is one row of its source's file, where a night
changes the golden id of the few whose customer moved (and none when the file did not change)."""


def patched_table(name: str) -> Patched:
    """How table `name` of the master is patched by groups of rows (`PATCHED_TABLES`; events_<name>)."""
    return EVENT_ROWS if name.startswith("events_") else PATCHED_TABLES[name]


def group_hashes(rows: Path | RecordFiles | pl.LazyFrame, table: Patched, exclude: Sequence[str] = ()) -> pl.DataFrame:
    """Per group of `rows` (the `keys` columns): a hash of its rows' content (every column but
    `exclude` and the moved ones; the rows in any order: the sum of their hashes), its row count
    `n`, and for a table of one row per group the moved columns' values."""
    scan = scan_rows(rows)
    columns = [c for c in scan.collect_schema().names() if c not in exclude and c not in table.moved]
    hashed = scan.select(*table.keys, *table.moved, row_hash(columns))
    if table.unique:
        return hashed.with_columns(pl.lit(1, pl.UInt32).alias("n")).collect()
    return hashed.group_by(*table.keys).agg(pl.col("hash").sum(), pl.len().cast(pl.UInt32).alias("n")).collect()


@dataclass(frozen=True)
class TablePatch:
    """How to turn the last master's table into today's: delete the groups `removed` (their keys),
    insert `added` (today's rows of the new and changed groups), set the moved columns of the
    rows `moved` (keys and values); `before` and `after`: the table's rows in the last master and
    today."""

    table: Patched
    removed: Path
    added: Path
    """A parquet file, or a glob pattern of several."""
    moved: Path
    before: int
    after: int


def table_patch(
    name: str,
    rows: Path | RecordFiles | pl.LazyFrame,
    exclude: Sequence[str],
    before: pl.DataFrame | None,
    work_dir: Path,
    kept: tuple[pl.DataFrame, Path | pl.LazyFrame] | None = None,
) -> tuple[TablePatch | None, pl.DataFrame]:
    """Today's group hashes of table `name` (made of `rows`, less `exclude`), and the patch from
    the last run's (`before`: the hashes it left; None: no patch, the table is written whole).

    `kept`: (the keys of groups whose rows are the last run's exactly but for the moved columns,
    with today's values of those; the rows of every other group, a file or a query): those groups
    take their hashes from `before` and only the other rows are hashed and searched for the rows
    to insert (the lineage of the customers an incremental night carried over is nine tenths of 6M
    rows: hashing it took 0.6 s, finding the changed rows in it 0.3; the source_records of the
    records a night did not touch, 990k rows of 126 columns, 1.5 s)."""
    table = patched_table(name)
    keys = list(table.keys)
    today = None
    if before is not None and kept is not None:
        carried, rows_of_others = kept
        if table.moved:  # the moved columns as they are today, the hash as it was
            today_moved = carried.select(*keys, *table.moved)
            known = before.drop(*table.moved).join(today_moved, on=keys, how="inner").select(before.columns)
        else:
            known = before.join(carried.select(keys), on=keys, how="semi")
        others = group_hashes(rows_of_others, table, exclude)
        if known.height == carried.height and known.columns == others.columns:  # else: hashed whole
            today, rows = pl.concat([known, others]), rows_of_others
    if today is None:
        today = group_hashes(rows, table, exclude)
    if before is None or before.columns != today.columns:  # none, or left by a run of other code
        return None, today
    renamed = {c: f"_{c}" for c in before.columns if c not in keys}
    compared = today.join(before.rename(renamed), on=keys, how="left")
    changed = compared.filter(pl.col("_hash").is_null() | (pl.col("_hash") != pl.col("hash"))).select(keys)
    moved = compared.filter(
        (pl.col("_hash") == pl.col("hash"))
        & pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"_{c}")) for c in table.moved)
        if table.moved
        else pl.lit(False)
    ).select(*keys, *table.moved)
    gone = before.join(today, on=keys, how="anti").select(keys)
    paths = [work_dir / f"patch_{name}_{part}.parquet" for part in ("removed", "added", "moved")]
    pl.concat([changed, gone]).write_parquet(paths[0])
    (
        scan_rows(rows)
        .join(changed.lazy(), on=keys, how="semi")
        .select(pl.all().exclude(*exclude) if exclude else pl.all())
        .sink_parquet(paths[1])
    )
    moved.write_parquet(paths[2])
    log.info(
        "publish: %s patched: %d groups of rows replaced, %d gone, %d moved",
        name,
        changed.height,
        gone.height,
        moved.height,
    )
    return TablePatch(table, paths[0], paths[1], paths[2], int(before["n"].sum()), int(today["n"].sum())), today


def apply_patch(con: duckdb.DuckDBPyConnection, name: str, patch: TablePatch | SqlPatch) -> bool:
    """Patch table `name` of `con` (a copy of the last master); False, and the table dropped, when
    its rows are not what the last run left or the patch does not hold (then it is written whole)."""
    table = f'"{name}"'
    try:
        before = _count(con, table)
    except duckdb.CatalogException:
        before = -1
    if before != patch.before:
        log.warning("publish: %s in the last master is not as the last run left it; written whole", name)
        con.sql(f"DROP TABLE IF EXISTS {table}")
        return False
    try:
        held = _run_steps(con, table, patch) if isinstance(patch, SqlPatch) else _replace_groups(con, table, patch)
    except duckdb.Error as error:  # today's rows no longer fit the table (a column added since)
        log.warning("publish: %s could not be patched (%s); written whole", name, error)
        held = False
    if not held or _count(con, table) != patch.after:
        log.warning("publish: %s patched does not hold today's rows; written whole", name)
        con.sql(f"DROP TABLE {table}")
        return False
    return True


def _replace_groups(con: duckdb.DuckDBPyConnection, table: str, patch: TablePatch) -> bool:
    match = " AND ".join(f't."{k}" = r."{k}"' for k in patch.table.keys)
    con.execute(f"DELETE FROM {table} AS t USING read_parquet(?) AS r WHERE {match}", [str(patch.removed)])
    if patch.table.moved:
        moved = ", ".join(f'"{c}" = r."{c}"' for c in patch.table.moved)
        con.execute(f"UPDATE {table} AS t SET {moved} FROM read_parquet(?) AS r WHERE {match}", [str(patch.moved)])
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [str(patch.added)])
    return True


_DONE = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}


def _run_steps(con: duckdb.DuckDBPyConnection, table: str, patch: SqlPatch) -> bool:
    changes = []
    for sql, parameters, rows in patch.steps:
        changed = con.execute(sql.format(table=table), list(parameters)).fetchone()
        if rows is not None and (changed is None or changed[0] != rows):
            return False
        changes.append(f"{changed[0] if changed else 0} rows {_DONE[sql.split()[0].upper()]}")
    log.info("publish: %s patched: %s", table.strip('"'), ", ".join(changes))
    return True


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def master_run(master: Path) -> str | None:
    """The run that published `master` (the run id its per-run tables carry), or None when it
    cannot be read."""
    try:
        con = duckdb.connect(str(master), read_only=True)
    except duckdb.Error:
        return None
    try:
        found = con.sql("SELECT DISTINCT run_id FROM field_profile").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return str(found[0][0]) if len(found) == 1 else None


def clear_master(con: duckdb.DuckDBPyConnection, keep: Sequence[str]) -> None:
    """Drop every view, table macro and table of `con` but the tables `keep`, and checkpoint, so
    their blocks are free for the tables written next."""
    for (view,) in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        con.sql(f'DROP VIEW "{view}"')
    macros = con.sql(
        "SELECT DISTINCT function_name, function_type FROM duckdb_functions()"
        " WHERE function_type IN ('macro', 'table_macro') AND NOT internal"
    ).fetchall()
    for macro, kind in macros:
        con.sql(f'DROP MACRO {"TABLE " if kind == "table_macro" else ""}"{macro}"')
    for (table,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall():
        if table not in keep:
            con.sql(f'DROP TABLE "{table}"')
    con.sql("CHECKPOINT")


MATCH_PAIRS = Patched(("left_source", "left_record_id", "right_source", "right_record_id"), unique=True)
"""match_pairs as a patched table: one row per pair of records."""
MOST_CHANGED = 0.5
"""A patch replacing more than this share of a table's rows is not applied: the table is written
whole (a night that moves every score, such as one whose steward labels moved the model)."""


class PairsDiff:
    """The patch of match_pairs from the last run's to today's, found slice by slice while today's
    pairs are hashed (mdm/publish/pairs.py `ScoredPairs`): only the pairs that changed are explained.

    A pair whose records both carried over (`renumbered`: today's `rid` and its `previous_rid`,
    null for a record new or changed) and whose row hash is the one the last run left for that
    pair (`before`: its `left`, `right` rids and `hash`) is kept; every other pair of today is
    inserted, every pair of the last run not kept is deleted, by its records' source ids. Pairs are
    ten times the records and more, so they are matched by rids (numbers), and turned into source
    ids only where they change."""

    def __init__(self, before: pl.DataFrame, renumbered: pl.DataFrame, work_dir: Path) -> None:
        before = before.with_columns(pl.col("left", "right").cast(pl.Int64)).rename(
            {"left": "_left", "right": "_right", "hash": "_hash"}
        )
        key = pair_number(before["_left"], before["_right"])
        if not key.is_sorted():  # the last run's pairs come in order of their rids, unless written by other code
            before = before.sort("_left", "_right")
            key = pair_number(before["_left"], before["_right"])
        self.before, self.key = before, key
        """The last run's pairs (`_left`, `_right`, `_hash`) and each as one number, in order: a
        slice's pairs are found among them by a binary search (a join on the two rids of a range
        of them took twice as long)."""
        self.kept = pl.repeat(False, before.height, eager=True)
        """Per pair of the last run (by position in `before`): kept today."""
        self.previous = at_rids(renumbered["rid"], renumbered[PREVIOUS_RID].cast(pl.Int64))
        """Today's rid -> its previous rid (null: new or changed), looked up by position."""
        self.added = work_dir / "patch_match_pairs_added"
        fresh_dir(self.added)
        self.work_dir = work_dir
        self.removed: list[pl.DataFrame] = []
        self.pairs = self.inserted = self.slices = 0

    @classmethod
    def read(cls, previous: Path, renumbered: pl.DataFrame, work_dir: Path) -> PairsDiff | None:
        """The diff against the hashes the last run left (`previous`), None when there are none."""
        if not previous.exists():
            return None
        before = pl.read_parquet(previous)
        if before.columns != ["left", "right", "hash"]:  # left by a run of other code
            return None
        return cls(before, renumbered, work_dir)

    def add(self, hashes: pl.DataFrame) -> pl.Series:
        """One slice of today's pairs by their `hashes` (`left`, `right`, `hash`, in order): which
        of them changed (new, or not the row the last run published for the pair). Their rows
        go to `insert`."""
        key = pair_number(self.previous.gather(hashes["left"]), self.previous.gather(hashes["right"]))
        if self.key.len():
            at = self.key.search_sorted(key.fill_null(0), side="left").clip(0, self.key.len() - 1)
            same = (self.key.gather(at) == key) & (self.before["_hash"].gather(at) == hashes["hash"])
            same = same.fill_null(False)
            self.kept.scatter(at.filter(same), True)
        else:
            same = pl.repeat(False, hashes.height, eager=True)
        self.pairs += hashes.height
        return ~same

    def insert(self, changed: pl.DataFrame) -> None:
        """The rows of match_pairs (as published) of one slice's changed pairs (`add`)."""
        write_slice(changed, self.added, self.slices)
        self.slices += 1
        self.removed.append(changed.select(MATCH_PAIRS.keys))
        self.inserted += changed.height

    def patch(self, last_records: pl.LazyFrame) -> TablePatch | None:
        """The patch (None when it would replace most of the table, MOST_CHANGED): the pairs
        changed or new today inserted, those and the last run's pairs not kept deleted
        (`last_records`: the last run's records' `rid`, `source`, `source_record_id`)."""
        if self.inserted > MOST_CHANGED * max(self.pairs, 1):
            log.info("publish: match_pairs: %d of %d pairs changed; written whole", self.inserted, self.pairs)
            return None
        gone = self.before.filter(~self.kept).select(pl.col("_left").alias("left"), pl.col("_right").alias("right"))
        paths = [self.work_dir / f"patch_match_pairs_{part}.parquet" for part in ("removed", "moved")]
        gone_keys = with_record_ids(gone.lazy(), last_records).select(MATCH_PAIRS.keys).collect()
        pl.concat([*self.removed, gone_keys]).unique().write_parquet(paths[0])
        pl.DataFrame(schema={key: pl.String for key in MATCH_PAIRS.keys}).write_parquet(paths[1])
        log.info("publish: match_pairs patched: %d pairs inserted, %d deleted", self.inserted, gone.height)
        added = self.added / "*.parquet"
        return TablePatch(MATCH_PAIRS, paths[0], added, paths[1], self.before.height, self.pairs)

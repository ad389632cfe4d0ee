"""golden_customers_history: every version of every golden record, so the master can be read as of
any earlier run (`golden_customers_as_of('<run_id>')`) or time (`golden_customers_as_of_time(ts)`).

Where versions live (store rows + per-run Parquet segments) and what opens one: docs/architecture.md,
section "mdm/golden/history.py".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mdm.duck import SqlPatch, Table
from mdm.files import fsync_path
from mdm.incremental.carry import row_hash
from mdm.state.store import StateStore, VersionChanges

HISTORY_DIRNAME = "history"
UNVERSIONED_SUFFIXES = (
    "_last_confirmed",
    "_freshness",
    "_stale_probability",
    "_is_stale",
    "_stale_reason",
    "contacts_last_year",
)
BOOKKEEPING_COLUMNS = ("golden_id", "run_id")
_HASH_BATCH_ROWS = 100_000

HISTORY_TABLE = "golden_customers_history"
RUNS_TABLE = "published_runs"
AS_OF_MACROS: dict[str, str] = {
    "golden_customers_as_of(as_of_run_id)": f"""
        WITH wanted AS (
            SELECT coalesce(
                (SELECT run_seq FROM {RUNS_TABLE} WHERE run_id = as_of_run_id),
                error('no published run ' || as_of_run_id || ': see table {RUNS_TABLE}')
            ) AS run_seq
        )
        SELECT h.* FROM {HISTORY_TABLE} h
        JOIN {RUNS_TABLE} opened ON opened.run_id = h.valid_from_run
        LEFT JOIN {RUNS_TABLE} closed ON closed.run_id = h.valid_to_run
        CROSS JOIN wanted
        WHERE opened.run_seq <= wanted.run_seq AND (closed.run_seq IS NULL OR closed.run_seq > wanted.run_seq)
    """,
    "golden_customers_as_of_time(as_of_ts)": f"""
        SELECT * FROM {HISTORY_TABLE}
        WHERE valid_from <= CAST(as_of_ts AS TIMESTAMP)
          AND (valid_to IS NULL OR valid_to > CAST(as_of_ts AS TIMESTAMP))
    """,
}
"""Table macros for the master: `SELECT * FROM golden_customers_as_of('<run_id>')`."""


def versioned_columns(columns: list[str]) -> list[str]:
    """The columns a version keeps and hashes: all but the key, bookkeeping and staleness."""
    return [c for c in columns if c not in BOOKKEEPING_COLUMNS and not c.endswith(UNVERSIONED_SUFFIXES)]


def row_hashes(customers: pl.DataFrame) -> pl.Series:
    """One stable hash per golden record over its versioned columns (16 hex digits)."""
    return _hashed(customers.lazy())["row_hash"]


def _hashed(customers: pl.LazyFrame, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """golden_id, `row_hashes` and `content` of each golden record, reading `customers` one batch
    of rows at a time: of a file, only a batch is ever in memory (a hash depends on its own row
    only). `content` is a quick hash of the same columns (mdm/incremental/carry.py `row_hash`);
    a record whose golden_id and content are a row of `known` (these three columns, as an
    earlier call returned them) takes its row hash from there, and only the others are encoded
    and hashed (at 451k golden records of which a night changed 2k: 0.46 s where hashing each
    took 1.9, bench/RESULTS.md)."""
    columns = sorted(versioned_columns(customers.collect_schema().names()))  # sorted: a reordering is no change
    reuse = known.select("golden_id", "content", "row_hash") if known is not None else None
    parts: list[pl.DataFrame] = []
    start = 0
    while True:  # batches: the JSON text stays small
        batch = customers.slice(start, _HASH_BATCH_ROWS).select("golden_id", *columns).collect()
        if batch.height == 0 and start:
            break
        found = batch.select("golden_id", row_hash(columns).alias("content"))
        if reuse is not None:
            found = found.join(reuse, on=["golden_id", "content"], how="left", maintain_order="left")
        else:
            found = found.with_columns(pl.lit(None, dtype=pl.String).alias("row_hash"))
        missing = found["row_hash"].is_null()
        if missing.any():
            texts = batch.filter(missing).select(pl.struct(columns).struct.json_encode()).to_series()
            hashes = [hashlib.blake2b(text.encode(), digest_size=8).hexdigest() for text in texts]
            found = found.with_columns(
                found["row_hash"].scatter(missing.arg_true(), pl.Series(hashes, dtype=pl.String))
            )
        parts.append(found.select("golden_id", "row_hash", "content"))
        if batch.height < _HASH_BATCH_ROWS:
            break
        start += _HASH_BATCH_ROWS
    return pl.concat(parts)


@dataclass
class HistoryUpdate:
    """What a run adds to the history: the store changes (committed with the ids) and the
    master's tables and macros."""

    changes: VersionChanges
    tables: dict[str, Table]
    macros: dict[str, str]
    opened: int
    """versions this run opens (new ids, changed records)"""
    closed: int
    """versions this run closes (changed records, retired ids)"""
    hashes: pl.DataFrame
    """`golden_id`, `row_hash` and `content` of today's golden records: what the next run's
    `prepare_history` takes as `known`."""
    patch: SqlPatch
    """golden_customers_history from the last master's: the closed versions closed, the opened
    added (mdm/publish/patch.py applies it to a copy of the last master; the table's SELECT in
    `tables` writes it whole, reading every run's segment)."""


def history_dir(state_dir: Path) -> Path:
    return state_dir / HISTORY_DIRNAME


def segment_path(state_dir: Path, run_id: str) -> Path:
    """Where a run's new versions are kept: <state>/history/<run_id>.parquet."""
    return history_dir(state_dir) / f"{run_id}.parquet"


def prepare_history(
    store: StateStore,
    run_id: str,
    customers: pl.DataFrame | pl.LazyFrame,
    work_dir: Path,
    published_at: dt.datetime | None = None,
    known: pl.DataFrame | None = None,
    stored: pl.DataFrame | None = None,
) -> HistoryUpdate:
    """Compare this run's golden records with the store's current versions, write this run's
    segment, and build the master's `golden_customers_history` (a SELECT over the segments) and
    `published_runs`. Nothing in the store changes until `store.save_assignments(..., versions=...)`.

    `customers` may be a query (a scan of the published golden records' file): then only a batch
    of them, and their ids and hashes, are in memory at a time. `known`: the `hashes` of an
    earlier update, whose row hashes are taken where a record's content is the same (`_hashed`).
    `stored`: the store's current versions (`golden_id`, `row_hash`) when the caller holds them: the
    `hashes` of the update of the store's last published run, which its save made the current
    versions (only a run's save writes versions); else they are read from the store (451k rows:
    0.36 s)."""
    customers = customers.lazy()
    published_at = (published_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    runs = store.published_runs()
    _remove_abandoned_segments(store, set(runs["run_id"].to_list()), run_id)
    _segments(store.directory, store.golden_version_runs())  # every night, patched or not: a damaged store fails loudly
    current = _hashed(customers, known)
    previous = (stored if stored is not None else store.current_golden_versions()).select(
        "golden_id", previous_hash="row_hash"
    )
    compared = current.join(previous, on="golden_id", how="full", coalesce=True)
    opened = compared.filter(
        pl.col("row_hash").is_not_null() & (pl.col("row_hash") != pl.col("previous_hash")).fill_null(True)
    )
    closed = compared.filter(
        pl.col("previous_hash").is_not_null() & (pl.col("previous_hash") != pl.col("row_hash")).fill_null(True)
    )
    if opened.height:
        contents = customers.join(opened.select("golden_id").lazy(), on="golden_id", how="semi").select(
            "golden_id",
            pl.lit(run_id, dtype=pl.String).alias("valid_from_run"),
            *versioned_columns(customers.collect_schema().names()),
        )
        _write_durably(contents, segment_path(store.directory, run_id))

    all_runs = pl.concat(
        [
            runs,
            pl.DataFrame(
                {
                    "run_seq": [int(runs.select(pl.col("run_seq").max().fill_null(0)).item()) + 1],
                    "run_id": [run_id],
                    "published_at": [published_at.isoformat()],
                },
                schema=runs.schema,
            ),
        ]
    ).with_columns(
        pl.col("published_at").str.to_datetime(time_zone="UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
    )

    def whole() -> pl.DataFrame | str:
        """The table from every version the store holds (read only when the table is written whole)."""
        versions = store.golden_versions()
        closing = pl.col("golden_id").is_in(closed["golden_id"].implode()) & pl.col("valid_to_run").is_null()
        all_versions = pl.concat(
            [
                versions.with_columns(
                    pl.when(closing).then(pl.lit(run_id)).otherwise("valid_to_run").alias("valid_to_run")
                ),
                opened.select(
                    "golden_id",
                    pl.lit(run_id, dtype=pl.String).alias("valid_from_run"),
                    pl.lit(None, dtype=pl.String).alias("valid_to_run"),
                    "row_hash",
                ),
            ]
        )
        times = all_runs.select("run_id", "published_at")
        all_versions = (
            all_versions.join(
                times.rename({"run_id": "valid_from_run", "published_at": "valid_from"}),
                on="valid_from_run",
                how="left",
            )
            .join(times.rename({"run_id": "valid_to_run", "published_at": "valid_to"}), on="valid_to_run", how="left")
            .drop("row_hash")
        )
        return _history_table(store, all_versions, customers, work_dir)

    at = all_runs["published_at"][-1]
    return HistoryUpdate(
        changes=VersionChanges(
            published_at=published_at,
            opened=opened.select("golden_id", "row_hash").iter_rows(),
            closed=(g for (g,) in closed.select("golden_id").iter_rows()),
        ),
        tables={HISTORY_TABLE: whole, RUNS_TABLE: all_runs},
        macros=AS_OF_MACROS,
        opened=opened.height,
        closed=closed.height,
        hashes=current,
        patch=_history_patch(
            run_id, at, store.golden_version_count(), opened.height, closed, store.directory, work_dir
        ),
    )


def _history_patch(
    run_id: str, at: dt.datetime, before: int, opened: int, closed: pl.DataFrame, state_dir: Path, work_dir: Path
) -> SqlPatch:
    """The last master's golden_customers_history made today's: the `closed` golden ids' current
    versions closed at this run (published `at`), this run's segment's `opened` versions added.
    The whole table reads every run's segment, so its cost grows with the nights published; the
    patch's with the versions this run opens and closes."""
    closed_ids = work_dir / "golden_versions_closed.parquet"
    closed.select("golden_id").write_parquet(closed_ids)
    steps: list[tuple[str, tuple[object, ...], int | None]] = [
        (
            "UPDATE {table} AS t SET valid_to_run = ?, valid_to = ? FROM read_parquet(?) AS c"
            " WHERE t.golden_id = c.golden_id AND t.valid_to_run IS NULL",
            (run_id, at, str(closed_ids)),
            closed.height,
        )
    ]
    if opened:
        steps.append(
            (
                "INSERT INTO {table} BY NAME SELECT golden_id, valid_from_run, NULL::VARCHAR AS valid_to_run,"
                " ?::TIMESTAMP AS valid_from, NULL::TIMESTAMP AS valid_to, * EXCLUDE (golden_id, valid_from_run)"
                " FROM read_parquet(?)",
                (at, str(segment_path(state_dir, run_id))),
                opened,
            )
        )
    return SqlPatch(tuple(steps), before, before + opened)


def _history_table(
    store: StateStore, versions: pl.DataFrame, customers: pl.LazyFrame, work_dir: Path
) -> pl.DataFrame | str:
    """All versions joined with their rows in the segments: a SELECT DuckDB runs itself."""
    key = ["golden_id", "valid_from_run", "valid_to_run", "valid_from", "valid_to"]
    runs = sorted(set(versions["valid_from_run"].to_list()))
    segments = _segments(store.directory, runs)
    if not runs:
        return (
            customers.head(0)
            .select(
                "golden_id",
                *[pl.lit(None, dtype=versions.schema[c]).alias(c) for c in key[1:]],
                *versioned_columns(customers.collect_schema().names()),
            )
            .collect()
        )
    versions_file = work_dir / "golden_versions.parquet"
    versions.select(key).write_parquet(versions_file)
    files = ", ".join(_quote(str(s)) for s in segments)
    return (
        f"SELECT v.golden_id, v.valid_from_run, v.valid_to_run, v.valid_from, v.valid_to,"
        f" s.* EXCLUDE (golden_id, valid_from_run)"
        f" FROM read_parquet({_quote(str(versions_file))}) v"
        f" JOIN read_parquet([{files}], union_by_name = true) s USING (golden_id, valid_from_run)"
        f" ORDER BY v.golden_id, v.valid_from"
    )


def _segments(state_dir: Path, runs: list[str]) -> list[Path]:
    """The history segments of `runs` (the runs that opened the versions the store holds); raises
    when one is missing: the store is damaged, and a history written whole would lack its rows."""
    segments = [segment_path(state_dir, r) for r in runs]
    missing = [str(s) for s in segments if not s.exists()]
    if missing:
        raise FileNotFoundError(
            f"golden history segments missing for committed versions: {missing[:3]} ({len(missing)} in all);"
            " restore them from the backup of the state directory"
        )
    return segments


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_durably(frame: pl.LazyFrame, target: Path) -> None:
    """Write to a temporary name, fsync, rename, fsync the directory: after return the segment survives a crash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    frame.sink_parquet(tmp)
    fsync_path(tmp)
    os.replace(tmp, target)
    fsync_path(target.parent)


def _remove_abandoned_segments(store: StateStore, committed: set[str], run_id: str) -> None:
    """Segments (and temporary files) of runs that failed or are unknown to the store never
    committed: remove them. A run still marked running may be another live run: left alone."""
    directory = history_dir(store.directory)
    if not directory.exists():
        return
    status = {r["run_id"]: r["status"] for r in store.runs()}
    for path in directory.iterdir():
        run = path.name.split(".", 1)[0]
        if run == run_id or run in committed:
            continue
        if status.get(run) in (None, "failed"):
            path.unlink(missing_ok=True)

"""What every field standardizer shares: its context, its result, and distinct-value mapping."""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.config.dictionary import Dictionary, FieldDef
from mdm.executor import Partitions
from mdm.ingest.validate import UNICODE_WHITESPACE
from mdm.types import BadValuePolicy

FLAGS = pl.List(pl.String)


@dataclass(frozen=True)
class FieldContext:
    """What a standardizer may know besides the values: the field, the source, the run."""

    field: FieldDef
    dictionary: Dictionary
    source_country: str
    value_format: str | None
    as_of: dt.date
    max_age_years: int | None = None
    """The source's own age limit for a date field (sources.yaml), else the dictionary's applies."""

    @property
    def age_limit_years(self) -> int | None:
        return self.max_age_years or self.field.max_age_years

    @property
    def policy(self) -> BadValuePolicy:
        return self.field.on_invalid


@dataclass
class Standardized:
    """One field of one batch: clean values, a matching key, and the flags of each value.

    `extra` holds further columns of the field, written as `<field>_<name>`: more matching
    keys (`phonetic`, `canonical`) or parts kept apart (`extension`, `type`, `unit`).
    """

    clean: pl.Series
    key: pl.Series
    flags: pl.Series
    extra: dict[str, pl.Series] = field(default_factory=dict)

    def with_policy(self, raw: pl.Series, policy: BadValuePolicy) -> Standardized:
        """`keep` puts the trimmed raw value back where a flagged value was nulled."""
        if policy == "set_null":
            return self
        restored = pl.select(
            pl.when(self.clean.is_null() & (self.flags.list.len() > 0)).then(tidy(raw)).otherwise(self.clean)
        ).to_series()
        return Standardized(restored.alias(self.clean.name), self.key, self.flags, self.extra)


FEW_VALUES = 64
"""Up to this many values (the real-time API's one record), `map_distinct` and `tidy` work in
Python: a polars call costs more than the values."""
_SPACES = re.compile(f"[{re.escape(UNICODE_WHITESPACE)}]+")
"""polars' `\\s+`: Unicode White_Space (Python's `\\s` matches U+001C-U+001F too)."""


def tidy(raw: pl.Series) -> pl.Series:
    """Trim, collapse inner white space, blank -> null. Never raises."""
    if len(raw) <= FEW_VALUES:  # the API's one record: the same in Python (tests/test_standardize.py)
        tidied = [None if v is None else _SPACES.sub(" ", v).strip(UNICODE_WHITESPACE) for v in raw.to_list()]
        return pl.Series(raw.name, [v or None for v in tidied], dtype=pl.String)
    out = raw.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.select(pl.when(out != "").then(out)).to_series().alias(raw.name)


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """Lower-case, no diacritics, letters and digits only: the form names and streets match in."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]", "")
    )


def fold_series(values: pl.Series) -> pl.Series:
    out = pl.select(fold_expr(pl.lit(values))).to_series()
    return pl.select(pl.when(out != "").then(out)).to_series()


def map_distinct(
    values: pl.Series, fn: Callable[..., tuple[Any, ...]], dtypes: list[Any], extra: pl.Series | None = None
) -> list[pl.Series]:
    """Apply fn once per distinct non-null value (or (value, extra) pair) and spread the
    results back to every row. fn returns a tuple, one element per output dtype.

    Inside `distinct_values()` the work is shared: a value a module-level fn already did for an
    earlier source is not done again, and large batches are spread over worker processes.
    """
    run = _RUN.get()
    if run is None and len(values) <= FEW_VALUES:
        return _map_few(values, fn, dtypes, extra)
    frame = pl.DataFrame(
        {"v": values, "x": extra if extra is not None else pl.repeat(None, len(values), dtype=pl.String, eager=True)}
    ).with_columns(pl.col("v").cast(pl.String), pl.col("x").cast(pl.String))
    distinct = frame.filter(pl.col("v").is_not_null()).unique()
    if run is not None:
        table = run.results(fn, distinct, dtypes, extra is not None)
    else:
        table = _results_frame(fn, distinct["v"].to_list(), distinct["x"].to_list(), extra is not None, dtypes)
    joined = frame.join(table, on=["v", "x"], how="left", maintain_order="left", nulls_equal=True)
    return [joined[f"r{i}"] for i in range(len(dtypes))]


def _map_few(
    values: pl.Series, fn: Callable[..., tuple[Any, ...]], dtypes: list[Any], extra: pl.Series | None
) -> list[pl.Series]:
    """`map_distinct` outside a run, on a few values: the same results, dtypes and names."""
    texts = values.cast(pl.String).to_list()
    extras = extra.cast(pl.String).to_list() if extra is not None else [None] * len(texts)
    results: dict[tuple[str, str | None], tuple[Any, ...]] = {}
    for v, x in zip(texts, extras, strict=True):
        if v is not None and (v, x) not in results:
            results[(v, x)] = fn(v, x) if extra is not None else fn(v)
    rows = [None if v is None else results[(v, x)] for v, x in zip(texts, extras, strict=True)]
    # each column built as `_results_frame` builds it, a null where the value is
    return [
        pl.Series(f"r{i}", [None if r is None else r[i] for r in rows], dtype=dtype) for i, dtype in enumerate(dtypes)
    ]


def vectorized_distinct(values: pl.Series, fn: Callable[[pl.Series], list[pl.Series]]) -> list[pl.Series]:
    """A vectorised fn run over the distinct values only, its result columns spread back to every
    row: for work (Unicode normalisation, many regex passes) worth doing once per value."""
    distinct = values.unique().alias("v")
    table = pl.DataFrame([distinct, *(c.alias(f"r{i}") for i, c in enumerate(fn(distinct)))])
    joined = values.alias("v").to_frame().join(table, on="v", how="left", maintain_order="left", nulls_equal=True)
    return [joined[c] for c in table.columns[1:]]


def _results_frame(
    fn: Callable[..., tuple[Any, ...]],
    values: list[str],
    extras: list[str | None],
    with_extra: bool,
    dtypes: list[Any],
) -> pl.DataFrame:
    """`v`, `x` and fn's results as columns `r0..`: built column-wise, so a worker process sends
    back one Arrow frame rather than a pickled tuple per value."""
    results = [fn(v, x) for v, x in zip(values, extras, strict=True)] if with_extra else [fn(v) for v in values]
    columns = {"v": pl.Series(values, dtype=pl.String), "x": pl.Series(extras, dtype=pl.String)}
    for i, dtype in enumerate(dtypes):
        columns[f"r{i}"] = pl.Series([r[i] for r in results], dtype=dtype)
    return pl.DataFrame(columns)


def _importable(fn: Callable[..., Any]) -> bool:
    """Whether a worker process can find fn by name (a module-level function, or a partial of one)."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    qualname = getattr(target, "__qualname__", "<locals>")
    return "<locals>" not in qualname and "<lambda>" not in qualname and target.__module__ not in (None, "__main__")


def _memo_key(fn: Callable[..., Any]) -> Any:
    """A function, or a partial of one by its function and arguments when those are hashable, so
    the partial a standardizer makes anew for each source shares the results of the last one;
    None (not kept) for a closure, which is made anew per call and never seen again."""
    if not _importable(fn):
        return None
    if isinstance(fn, functools.partial):
        key = (fn.func, fn.args, tuple(sorted(fn.keywords.items())))
        try:
            hash(key)
        except TypeError:
            return None
        return key
    return fn


@dataclass
class _DistinctRun:
    """Results shared by the map_distinct calls of one standardize stage, and its worker pool."""

    workers: int
    min_parallel_values: int
    partitions: Partitions | None = None
    """A cluster the batches go to instead of the worker pool (mdm/executor.py)."""
    memo: dict[Any, pl.DataFrame] = field(default_factory=dict)
    pool: ProcessPoolExecutor | None = None
    parallel_batches: int = 0

    def results(
        self, fn: Callable[..., tuple[Any, ...]], distinct: pl.DataFrame, dtypes: list[Any], with_extra: bool
    ) -> pl.DataFrame:
        key = _memo_key(fn)
        known = self.memo.get(key) if key is not None else None
        missing = distinct if known is None else distinct.join(known, on=["v", "x"], how="anti", nulls_equal=True)
        computed = self._compute(fn, missing, dtypes, with_extra)
        table = computed if known is None else pl.concat([known, computed])
        if key is not None:
            self.memo[key] = table
        return table

    def _compute(
        self, fn: Callable[..., tuple[Any, ...]], pairs: pl.DataFrame, dtypes: list[Any], with_extra: bool
    ) -> pl.DataFrame:
        values, extras = pairs["v"].to_list(), pairs["x"].to_list()
        cluster = self.partitions is not None and self.partitions.distributed
        # a cluster's workers are running already: a batch costs milliseconds there, not a process start
        least = min(self.min_parallel_values, MIN_CLUSTER_VALUES) if cluster else self.min_parallel_values
        if (not cluster and self.workers < 2) or len(values) < least or not _importable(fn):
            return _results_frame(fn, values, extras, with_extra, dtypes)
        size = -(-len(values) // (self.workers * 4))
        starts = range(0, len(values), size)
        batches = (
            [fn] * len(starts),
            [values[i : i + size] for i in starts],
            [extras[i : i + size] for i in starts],
            [with_extra] * len(starts),
            [dtypes] * len(starts),
        )
        self.parallel_batches += 1
        if self.partitions is not None and cluster:
            return pl.concat(self.partitions.map(_results_frame, *batches))
        if self.pool is None:
            # spawn, not fork: the parent holds polars' and Prefect's threads, which a fork would copy mid-lock
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return pl.concat(list(self.pool.map(_results_frame, *batches)))


MIN_CLUSTER_VALUES = 1_000
"""Distinct values from which a batch goes to a Dask cluster's workers (mdm/executor.py)."""

_RUN: ContextVar[_DistinctRun | None] = ContextVar("mdm_distinct_run", default=None)


@contextmanager
def distinct_values(
    workers: int | None = None, min_parallel_values: int = 50_000, partitions: Partitions | None = None
) -> Iterator[_DistinctRun]:
    """Share per-value work across the sources of one stage and spread big batches over processes.

    Each distinct value is analysed once per stage, not once per source (the same phone or
    e-mail appears in several sources). Batches of at least `min_parallel_values` new values of
    a module-level function go to `workers` processes (default: one per core); smaller
    batches stay in this process, where starting a worker would cost more than it saves.
    The results are held, as Arrow frames, until the block ends: memory grows with the number
    of distinct values of the module-level functions (closures keep nothing).

    Workers are spawned, so a script that runs the pipeline on large data must guard its entry
    point with `if __name__ == "__main__":`, as multiprocessing requires (the `mdm` command and
    the Prefect flow do). With `partitions` on a cluster (mdm/executor.py), the batches go to its
    workers instead (as many batches as with the pool).
    """
    run = _DistinctRun(workers if workers is not None else (os.cpu_count() or 1), min_parallel_values, partitions)
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)
        if run.pool is not None:
            run.pool.shutdown(cancel_futures=True)


def no_flags(n: int) -> pl.Series:
    return pl.Series([[]], dtype=FLAGS).new_from_index(0, n) if n else pl.Series([], dtype=FLAGS)


def flag_when(condition: pl.Series, message: pl.Series | str) -> pl.Series:
    """A flags column holding `message` where condition holds, else empty."""
    msg = pl.lit(message)
    return pl.select(
        pl.when(pl.lit(condition).fill_null(False))
        .then(pl.concat_list(msg.cast(pl.String)))
        .otherwise(pl.lit([], FLAGS))
    ).to_series()


def merge_flags(*columns: pl.Series) -> pl.Series:
    return pl.select(pl.concat_list([pl.lit(c) for c in columns])).to_series()


def flags_from(messages: pl.Series) -> pl.Series:
    """A flags column from a column of optional messages (null = no flag)."""
    return flag_when(messages.is_not_null(), messages)

"""What every field standardizer shares: its context, its result, and distinct-value mapping."""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.config.dictionary import Dictionary, FieldDef
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


def tidy(raw: pl.Series) -> pl.Series:
    """Trim, collapse inner white space, blank -> null. Never raises."""
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

    Inside `distinct_values()` the work is shared: a value already done for an earlier source
    is not done again, and large batches of a module-level fn are spread over worker processes.
    """
    frame = pl.DataFrame(
        {"v": values, "x": extra if extra is not None else pl.repeat(None, len(values), dtype=pl.String, eager=True)}
    )
    distinct = frame.filter(pl.col("v").is_not_null()).unique()
    pairs = list(distinct.iter_rows())
    run = _RUN.get()
    results = run.results(fn, pairs, extra is not None) if run else _apply(fn, pairs, extra is not None)
    names = [f"r{i}" for i in range(len(dtypes))]
    table = distinct.with_columns(
        pl.Series(name, [r[i] for r in results], dtype=dtype)
        for i, (name, dtype) in enumerate(zip(names, dtypes, strict=True))
    )
    joined = frame.join(table, on=["v", "x"], how="left", maintain_order="left", nulls_equal=True)
    return [joined[name] for name in names]


def _apply(fn: Callable[..., tuple[Any, ...]], pairs: list[tuple[Any, Any]], with_extra: bool) -> list[tuple[Any, ...]]:
    if with_extra:
        return [fn(v, x) for v, x in pairs]
    return [fn(v) for v, _ in pairs]


def _importable(fn: Callable[..., Any]) -> bool:
    """Whether a worker process can find fn by name (a module-level function, or a partial of one)."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    return "<locals>" not in getattr(target, "__qualname__", "<locals>") and getattr(
        target, "__module__", None
    ) not in (
        None,
        "__main__",
    )


def _memo_key(fn: Callable[..., Any]) -> Any:
    """A function, or a partial of one by its function and arguments when those are hashable, so
    the partial a standardizer makes anew for each source shares the results of the last one."""
    if isinstance(fn, functools.partial):
        key = (fn.func, fn.args, tuple(sorted(fn.keywords.items())))
        try:
            hash(key)
        except TypeError:
            return fn
        return key
    return fn


@dataclass
class _DistinctRun:
    """Results shared by the map_distinct calls of one standardize stage, and its worker pool."""

    workers: int
    min_parallel_values: int
    memo: dict[Any, dict[tuple[Any, Any], tuple[Any, ...]]] = field(default_factory=dict)
    pool: ProcessPoolExecutor | None = None
    parallel_batches: int = 0

    def results(
        self, fn: Callable[..., tuple[Any, ...]], pairs: list[tuple[Any, Any]], with_extra: bool
    ) -> list[tuple[Any, ...]]:
        memo = self.memo.setdefault(_memo_key(fn), {})
        missing = [p for p in pairs if p not in memo]
        memo.update(zip(missing, self._compute(fn, missing, with_extra), strict=True))
        return [memo[p] for p in pairs]

    def _compute(
        self, fn: Callable[..., tuple[Any, ...]], pairs: list[tuple[Any, Any]], with_extra: bool
    ) -> list[tuple[Any, ...]]:
        if self.workers < 2 or len(pairs) < self.min_parallel_values or not _importable(fn):
            return _apply(fn, pairs, with_extra)
        if self.pool is None:
            # spawn, not fork: the parent holds polars' and Prefect's threads, which a fork would copy mid-lock
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        size = -(-len(pairs) // (self.workers * 4))
        chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
        self.parallel_batches += 1
        out: list[tuple[Any, ...]] = []
        for part in self.pool.map(_apply, [fn] * len(chunks), chunks, [with_extra] * len(chunks)):
            out.extend(part)
        return out


_RUN: ContextVar[_DistinctRun | None] = ContextVar("mdm_distinct_run", default=None)


@contextmanager
def distinct_values(workers: int | None = None, min_parallel_values: int = 50_000) -> Iterator[_DistinctRun]:
    """Share per-value work across the sources of one stage and spread big batches over processes.

    Each distinct value is analysed once per stage, not once per source (the same phone or
    e-mail appears in several sources). Batches of at least `min_parallel_values` new values of
    a module-level function go to `workers` processes (default: one per core); smaller
    batches stay in this process, where starting a worker would cost more than it saves.
    The results are held until the block ends: memory grows with the number of distinct values.
    """
    run = _DistinctRun(workers if workers is not None else (os.cpu_count() or 1), min_parallel_values)
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)
        if run.pool is not None:
            run.pool.shutdown(cancel_futures=True)


def no_flags(n: int) -> pl.Series:
    return pl.Series([[] for _ in range(n)], dtype=FLAGS) if n else pl.Series([], dtype=FLAGS)


def flag_when(condition: pl.Series, message: pl.Series | str) -> pl.Series:
    """A flags column holding `message` where condition holds, else empty."""
    msg = pl.lit(message) if isinstance(message, str) else pl.lit(message)
    return pl.select(
        pl.when(condition.fill_null(False)).then(pl.concat_list(msg.cast(pl.String))).otherwise(pl.lit([], FLAGS))
    ).to_series()


def merge_flags(*columns: pl.Series) -> pl.Series:
    return pl.select(pl.concat_list([pl.lit(c) for c in columns])).to_series()


def flags_from(messages: pl.Series) -> pl.Series:
    """A flags column from a column of optional messages (null = no flag)."""
    return flag_when(messages.is_not_null(), messages)

"""What the resolver holds in memory from one published master, and its reload when a new one is
published.

`ResolverIndex.load` reads, once per master: the model beside it (`<master>.model.json`, checked
against the master's own `match_model` table so a half-finished publish is never paired with the
wrong model), the thresholds the run classified with, the columns scoring, blocking and conflicts
read of every source record (sorted by golden id; sensitive tokens decrypted when the data key is
set), each blocking rule's keys as sorted 64-bit hashes beside the records' row numbers, and the
term frequencies. `LiveIndex` serves the current index and swaps in a new one, built in a thread,
when the master file changes; requests keep the old one meanwhile.
"""

from __future__ import annotations

import bisect
import functools
import logging
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from mdm.cluster.conflicts import PROFILE_COLUMNS
from mdm.config.dictionary import Dictionary
from mdm.config.rules import BlockingRule, KeyPart, MatchRules
from mdm.errors import MdmError
from mdm.match.blocking import key_part
from mdm.match.model import MatchModel, load_model
from mdm.match.score import term_frequencies, tf_columns
from mdm.publish.versions import model_path
from mdm.sensitive import TOKEN_PREFIX, FieldCipher, reveal_frame

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
"""How often (at most) a request looks whether a new master was published."""
HASH_SEED = 20261204
NEAR_ROWS = 16
"""Rows either side of a record in which `golden_rows` looks for the rest of its customer's records."""


class MasterUnavailable(MdmError):
    """No master (or no model beside it) to resolve against, or the two do not belong together."""


@dataclass(frozen=True)
class KeyIndex:
    """One side of one blocking rule: the sorted key hashes of the master's records and their rows,
    as plain arrays searched with `bisect` (a polars `search_sorted` call costs ~100 us of overhead,
    a bisect of a million hashes ~2 us; a call looks up some thirty keys)."""

    hashes: array[int]
    rows: array[int]

    @classmethod
    def build(cls, records: pl.DataFrame, parts: list[KeyPart]) -> KeyIndex:
        keyed = (
            records.select(key_hash(parts).alias("h"), pl.int_range(pl.len(), dtype=pl.Int64).alias("row"))
            .drop_nulls("h")
            .sort("h")
        )
        return cls(_array(keyed["h"], "Q"), _array(keyed["row"], "q"))

    def lookup(self, value: int, limit: int) -> list[int] | None:
        """The rows whose key hashes to `value` (two binary searches); None when they are more than
        `limit` - 1 (with the record looked up, a block the run skips as too big)."""
        start = bisect.bisect_left(self.hashes, value)
        end = bisect.bisect_right(self.hashes, value, lo=start)
        if end - start + 1 > limit:
            return None
        return self.rows[start:end].tolist()


def _array(values: pl.Series, typecode: str) -> array[int]:
    """A null-free 64-bit integer Series as an array: a copy of its Arrow data buffer, no Python int
    made per value."""
    arrow = values.rechunk().to_arrow()
    out = array(typecode)
    out.frombytes(arrow.buffers()[1])
    return out[arrow.offset : arrow.offset + len(arrow)]


def key_hash(parts: list[KeyPart]) -> pl.Expr:
    """A blocking key as one 64-bit hash (null when a part is missing): equal keys, equal hashes;
    a collision only adds a candidate, which is then scored like any other."""
    return pl.concat_str([key_part(p) for p in parts], separator="\x1f").hash(seed=HASH_SEED)


@dataclass(frozen=True)
class RuleIndex:
    rule: BlockingRule
    limit: int
    keys: KeyIndex
    others: KeyIndex | None


@dataclass(frozen=True)
class MasterStamp:
    """What changes when a master is published over another (the file is renamed in: a new inode)."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> MasterStamp | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class ResolverIndex:
    master: Path
    stamp: MasterStamp
    run_id: str
    model: MatchModel
    threshold_match_probability: float
    threshold_review_probability: float
    records: pl.DataFrame
    """The master's source records (scored, blocked and profiled columns), sorted by golden_id."""
    rules: list[RuleIndex]
    frequencies: dict[str, dict[Any, float]]
    """Per term-frequency adjusted column: value -> its `term_frequencies` among the master's records
    (a dict: a call looks up one value, where a join with the whole table would cost milliseconds)."""
    encrypted: list[str] = field(default_factory=list)
    """Columns holding tokens the index could not decrypt (no data key): not compared."""
    loaded_seconds: float = 0.0

    @property
    def record_count(self) -> int:
        return self.records.height

    @functools.cached_property
    def lookups(self) -> tuple[list[tuple[RuleIndex, KeyIndex]], list[pl.Expr]]:
        """([(rule, the master's side a record's key is looked up in)], the record's keys as hashes,
        one expression each, built once): a rule with another key looks its key up among the
        others' and its other key among the keys."""
        sides: list[tuple[RuleIndex, KeyIndex]] = []
        expressions: list[pl.Expr] = []
        for ri in self.rules:
            sides.append((ri, ri.others if ri.others is not None else ri.keys))
            expressions.append(key_hash(ri.rule.key))
            if ri.rule.other_key is not None:
                sides.append((ri, ri.keys))
                expressions.append(key_hash(ri.rule.other_key))
        return sides, [e.alias(str(i)) for i, e in enumerate(expressions)]

    def golden_rows(self, golden_id: str, row: int) -> tuple[int, int]:
        """(start, end) rows of a golden customer's records, one of which is at `row`."""
        return customer_rows(self.records["golden_id"], golden_id, row)

    @classmethod
    def load(cls, master: Path, rules: MatchRules, dictionary: Dictionary, cipher: FieldCipher | None) -> ResolverIndex:
        started = time.perf_counter()
        stamp = MasterStamp.of(master)
        model_file = model_path(master)
        if stamp is None:
            raise MasterUnavailable(f"no master at {master}: publish one with `mdm run`")
        if not model_file.exists():
            raise MasterUnavailable(f"no match model beside the master ({model_file}); run `mdm run` to publish one")
        model = load_model(model_file)
        con = duckdb.connect(str(master), read_only=True)
        try:
            present = {row[0] for row in con.sql("DESCRIBE source_records").fetchall()}
            parameters = con.sql(
                "SELECT comparison, level, m_probability, threshold_match_probability, threshold_review_probability,"
                " run_id FROM match_model"
            ).fetchall()
            comparisons = [t.comparison for t in model.comparisons]
            wanted = [
                "source",
                "source_record_id",
                "golden_id",
                *PROFILE_COLUMNS,
                *dictionary.strong_ids,
                *(c for comparison in comparisons for c in comparison.required_columns),
                *(c for rule in rules.blocking for c in rule.columns),
            ]
            columns = ", ".join(f'"{c}"' for c in dict.fromkeys(wanted) if c in present)
            records = con.sql(f"SELECT {columns} FROM source_records ORDER BY golden_id, source, source_record_id").pl()
        finally:
            con.close()
        _check_model(model, parameters, model_file)
        records = records.with_columns(pl.col(pl.Categorical).cast(pl.String))
        tokens = [
            c for c, t in records.schema.items() if t == pl.String and records[c].str.starts_with(TOKEN_PREFIX).any()
        ]
        encrypted: list[str] = []
        if tokens and cipher is not None:  # compared in clear, as the run compares them (typo levels too)
            records = reveal_frame(records, cipher)
        elif tokens:
            encrypted = tokens
        indexed = []
        for rule in rules.blocking:
            if any(c not in records.columns for c in rule.columns):
                continue  # the run skips it too (with a warning)
            others = KeyIndex.build(records, rule.other_key) if rule.other_key is not None else None
            indexed.append(
                RuleIndex(rule, rule.max_block_size or rules.max_block_size, KeyIndex.build(records, rule.key), others)
            )
        frequencies = {
            c: dict(term_frequencies(records, c).iter_rows()) for c in tf_columns(comparisons) if c in records.columns
        }
        row = parameters[0]
        index = cls(
            master=master,
            stamp=stamp,
            run_id=str(row[5]),
            model=model,
            threshold_match_probability=float(str(row[3])),
            threshold_review_probability=float(str(row[4])),
            records=records,
            rules=indexed,
            frequencies=frequencies,
            encrypted=encrypted,
            loaded_seconds=round(time.perf_counter() - started, 3),
        )
        log.info(
            "resolver: %s (run %s, %d records) loaded in %.1f s",
            master,
            index.run_id,
            records.height,
            index.loaded_seconds,
        )
        return index


def customer_rows(ids: pl.Series, golden_id: str, row: int) -> tuple[int, int]:
    """(start, end) of the run of `golden_id` in sorted `ids` that holds `row`: read from the rows
    around it (a customer has a few records), else found by two binary searches."""
    first = max(0, row - NEAR_ROWS)
    near = ids.slice(first, 2 * NEAR_ROWS + 1).to_list()
    start = end = row - first
    while start > 0 and near[start - 1] == golden_id:
        start -= 1
    while end < len(near) and near[end] == golden_id:
        end += 1
    if (start == 0 and first > 0) or (end == len(near) and first + end < ids.len()):  # it runs past them
        return int(ids.search_sorted(golden_id, side="left")), int(ids.search_sorted(golden_id, side="right"))
    return first + start, first + end


def _check_model(model: MatchModel, parameters: list[tuple[object, ...]], path: Path) -> None:
    """The model file is the one the master was scored with (publish writes it just after the master)."""
    published = {(str(c), str(level)): m for c, level, m, *_ in parameters}
    mine = {(t.comparison.name, lv.label): lv.m_probability for t in model.comparisons for lv in t.levels}
    if (
        not parameters
        or published.keys() != mine.keys()
        or any(abs(float(str(m or 0)) - float(mine[k] or 0)) > 1e-9 for k, m in published.items())
    ):
        raise MasterUnavailable(f"{path} is not the model of the master beside it (a publish under way?)")


class LiveIndex:
    """The current ResolverIndex of a master; a new one is built in a thread when the master file
    changes, and swapped in whole (one reference assignment), so no request waits for a reload or
    sees half of one. Only the first request ever waits, for the first load."""

    def __init__(self, load: Callable[[], ResolverIndex], master: Path, check_seconds: float = CHECK_SECONDS):
        self._load = load
        self.master = master
        self.check_seconds = check_seconds
        self._index: ResolverIndex | None = None
        self._first = threading.Lock()
        self._loading = threading.Lock()
        self._checked = 0.0
        self.reloads = 0
        self.last_error: str | None = None

    def current(self) -> ResolverIndex:
        index = self._index
        if index is None:
            with self._first:
                if self._index is None:
                    self._index = self._load()
                return self._index
        now = time.monotonic()
        if now - self._checked >= self.check_seconds:
            self._checked = now
            if MasterStamp.of(self.master) not in (None, index.stamp) and self._loading.acquire(blocking=False):
                threading.Thread(target=self._reload, name="mdm-resolver-reload", daemon=True).start()
        return index

    def _reload(self) -> None:
        try:
            index = self._index
            if index is not None and MasterStamp.of(self.master) == index.stamp:
                return  # a reload that finished after this thread's check already loaded this master
            self._index = self._load()
            self.reloads += 1
            self.last_error = None
        except (MdmError, OSError, duckdb.Error) as exc:  # the old index serves on; tried again at the next check
            self.last_error = str(exc)
            log.warning("resolver: the new master is not loaded yet (%s); the previous one serves", exc)
        finally:
            self._loading.release()

    def wait_for_reload(self, timeout: float = 60.0) -> None:
        """Block until a reload under way has finished (tests, benchmarks)."""
        if self._loading.acquire(timeout=timeout):
            self._loading.release()

"""Audit entries written in the background, in batches (the real-time API's one per call).

A call hands its entry over (`AuditWriter.put`, which never blocks) with the time of the call, and
one writer thread commits whatever has queued meanwhile in one transaction of the durable store: a
synchronous commit (an fsync) per call would cost the call milliseconds, and a run holding the
store's write lock would hold every call up to the store's 30 s timeout.

What is kept: every entry, once `flush` or `close` has returned (a clean shutdown of `mdm serve`
closes the writer; so does the interpreter's exit). A batch the store refuses (locked past its
timeout, disk full) is tried again every RETRY_SECONDS until it is written or the writer is
closed, and is never dropped silently: what cannot be written at close is logged with its count.
What a crash loses (kill -9, power cut): the entries handed over but not yet committed, normally
those of the last few milliseconds, longer while the store is locked. Each entry keeps the time of
its call, not of its commit.
"""

from __future__ import annotations

import atexit
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdm.state.audit import now_utc, write_audit
from mdm.state.store import StateStore

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
"""How long the writer waits before trying a refused batch again."""
BATCH_ENTRIES = 1000
"""Most entries committed in one transaction."""


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    item_key: str | None
    after: Any
    at: str


_CLOSE = object()


class AuditWriter:
    """One writer thread per state directory and process user of it (started at the first entry)."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False

    def put(self, actor: str, action: str, item_key: str | None, after: Any) -> None:
        """Queue one entry (stamped now); it is committed in the background."""
        entry = AuditEntry(actor, action, item_key, after, now_utc())
        if self._closed:  # a call answered during shutdown: written at once
            with StateStore(self.state_dir) as store:
                self._commit(store, [entry], closing=True)
            return
        self._started()
        self._queue.put(entry)

    def flush(self) -> None:
        """Return once every entry queued so far is committed (or, after close, given up and logged)."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Commit what is queued, then stop the thread (idempotent)."""
        self._closed = True
        with self._start:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_CLOSE)
            thread.join()

    def _started(self) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="mdm-audit-writer", daemon=True)
                    self._thread.start()
                    atexit.register(self.close)

    def _run(self) -> None:
        store: StateStore | None = None
        closing = False
        while not closing:
            batch = [self._queue.get()]
            while len(batch) < BATCH_ENTRIES:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            closing = any(entry is _CLOSE for entry in batch)
            entries = [entry for entry in batch if entry is not _CLOSE]
            while entries:
                try:
                    store = store or StateStore(self.state_dir)
                    self._commit(store, entries, closing)
                    break
                except (sqlite3.Error, OSError):
                    if closing or self._closed:
                        log.exception("%d audit entries could not be written at close; they are lost", len(entries))
                        break
                    log.exception("%d audit entries could not be written; trying again", len(entries))
                    time.sleep(RETRY_SECONDS)
                except Exception:  # noqa: BLE001 - never retried (a value JSON cannot hold); the thread lives on
                    log.exception("%d audit entries could not be written; they are lost", len(entries))
                    break
            for _ in batch:
                self._queue.task_done()
        if store is not None:
            store.close()

    @staticmethod
    def _commit(store: StateStore, entries: list[AuditEntry], closing: bool) -> None:
        with store.transaction() as con:
            for e in entries:
                write_audit(con, e.actor, e.action, e.item_key, None, None, e.after, at=e.at)

"""Peak memory of a process and all its descendants (worker processes included), sampled from /proc.

`ru_maxrss` is no good for workers: a child started by fork + exec inherits the parent's
high-water mark, so a small worker reports the parent's size. This samples the real resident
set of the whole tree every `interval_seconds` and keeps the largest sum.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def tree_rss_bytes(root: int) -> int:
    """Resident bytes of root and every descendant right now (processes that vanish count 0)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        stack += _children(pid)
    return total


class PeakTreeRss:
    """`with PeakTreeRss() as peak: ...` then `peak.mib`: the largest tree RSS seen meanwhile."""

    def __init__(self, root: int | None = None, interval_seconds: float = 0.1):
        self.root = root if root is not None else os.getpid()
        self.interval_seconds = interval_seconds
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self.root))
            self._stop.wait(self.interval_seconds)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> int:
        return round(self.peak_bytes / 2**20)


class RssTimeline(PeakTreeRss):
    """`PeakTreeRss` that also keeps every sample as (time.monotonic(), bytes): the peak of any
    window, such as one stage of a run in a child process that reports its stages' start and end
    on the same clock (CLOCK_MONOTONIC is one clock for the whole machine)."""

    def __init__(self, root: int | None = None, interval_seconds: float = 0.1):
        super().__init__(root, interval_seconds)
        self.samples: list[tuple[float, int]] = []

    def _sample(self) -> None:
        while not self._stop.is_set():
            now = tree_rss_bytes(self.root)
            self.samples.append((time.monotonic(), now))
            self.peak_bytes = max(self.peak_bytes, now)
            self._stop.wait(self.interval_seconds)

    def peak_mib_between(self, start: float, end: float) -> int:
        seen = [b for t, b in self.samples if start <= t <= end]
        return round(max(seen, default=0) / 2**20)

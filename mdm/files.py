"""File-system helpers that every layer may use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077
"""Files the product creates are its owner's only (0600 files, 0700 directories): masters, their
versions, the durable store and work files all hold personal data."""


@contextmanager
def private_files() -> Iterator[None]:
    """Create files inside with PRIVATE_UMASK (the process's umask, restored on exit)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') writes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

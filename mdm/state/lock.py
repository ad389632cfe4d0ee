"""One run at a time per durable store and per master: an OS file lock held for the whole run.

The lock is `flock` on a file (`state/run.lock`, and `.<master>.lock` beside the master), so the
kernel releases it when the holding process ends in any way, kill -9 included: a crashed run
never leaves a lock that needs clearing by hand. The file records who holds it (run id, pid,
host, start time) for the error the second run prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from mdm.errors import MdmError


class RunLocked(MdmError):
    """Another run holds the store's or the master's lock."""


def state_lock_path(state_dir: Path) -> Path:
    return state_dir / "run.lock"


def master_lock_path(master: Path) -> Path:
    return master.with_name(f".{master.name}.lock")


@contextmanager
def _flock(path: Path, run_id: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"another run ({_holder(fd)}) holds the lock {path}; wait for it to finish"
                " (the lock goes with its process, however it ends)"
            ) from None
        holder = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "run unknown"
    where = f"pid {holder.get('pid')} on {holder.get('host')}"
    return f"run {holder.get('run_id')}, {where}, started {holder.get('started_at')}"


@contextmanager
def run_lock(state_dir: Path, master: Path, run_id: str) -> Iterator[None]:
    """Hold the store's lock and the master's for the duration; RunLocked at once if either is held."""
    with ExitStack() as locks:
        locks.enter_context(_flock(state_lock_path(state_dir), run_id))
        locks.enter_context(_flock(master_lock_path(master), run_id))
        yield

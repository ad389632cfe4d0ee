"""The resolver's live index: a master published over the old one is loaded once, however many
requests saw the change before the reload finished."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from mdm.realtime.index import LiveIndex, MasterStamp


def _live(master: Path) -> tuple[LiveIndex, list[Any]]:
    loads: list[Any] = []

    def load() -> Any:
        index = SimpleNamespace(stamp=MasterStamp.of(master))
        loads.append(index)
        return index

    return LiveIndex(cast(Any, load), master, check_seconds=0.0), loads


def _publish(master: Path, content: bytes) -> None:
    fresh = master.with_name("fresh.duckdb")
    fresh.write_bytes(content)
    os.replace(fresh, master)


def test_two_checks_that_saw_one_new_master_load_it_once(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    master.write_bytes(b"night 1")
    live, loads = _live(master)
    assert live.current() is loads[0]
    _publish(master, b"night 2")
    # two requests both saw the new master; the first one's reload finishes before the second's starts
    for _ in range(2):
        assert live._loading.acquire(blocking=False)
        live._reload()
    assert len(loads) == 2 and live.reloads == 1 and live.last_error is None
    assert live.current() is loads[1]


def test_a_master_published_after_a_reload_is_loaded_again(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    master.write_bytes(b"night 1")
    live, loads = _live(master)
    live.current()
    for night in (b"night 2", b"night 3!"):
        _publish(master, night)
        live.current()  # starts the reload in a thread
        live.wait_for_reload()
    assert len(loads) == 3 and live.reloads == 2
    assert live.current() is loads[2]

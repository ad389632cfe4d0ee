"""`mdm review`: a quick pass through the review queue in a terminal, keyboard driven.

Plain lines on stdin and stdout (no curses), so it works over SSH, in tmux, and under a test's
CliRunner. Each item shows both records side by side, the evidence per comparison and the
golden customers they belong to; one key then a line break decides:

    s  same person          n  not the same         k  skip (later)
    u  undo my last action  q  quit

Text after the key is the reason (`n twins, different birth certificates`). The calls are the
web page's calls (mdm.steward.desk): same versions, same audit, same rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from mdm.state.fingerprint import record_label
from mdm.steward.desk import StewardDesk
from mdm.steward.service import ActionResult, StewardError
from mdm.steward.users import User
from mdm.steward.views import QueueFilter, QueueItem
from mdm.types import Verdict

KEYS: dict[str, Verdict] = {"s": "same", "n": "not_same", "k": "skip"}
HELP = 's same · n not same · k skip · u undo my last · q quit   (a reason may follow the key: "n twins")'


def show_item(desk: StewardDesk, item: QueueItem, position: int, total: int, echo: Callable[[str], None]) -> None:
    view = desk.pair(item.left, item.right)
    p = "-" if item.match_probability is None else f"{item.match_probability:.6f}"
    flag = "  CHANGED SINCE DECISION" if item.changed_since_decision else ""
    echo("")
    echo(f"[{position}/{total}] {record_label(*item.left)} ~ {record_label(*item.right)}   p={p}{flag}")
    echo(f"  why: {item.reason}")
    if item.record_pairs > 1:
        echo(f"  item: {item.record_pairs} record pairs between these customers ({item.reasons})")
    echo(f"  cluster effect {item.cluster_effect} records · value {item.value} · version {item.version}")
    width = max(16, *(len(a) + 2 for _, a, _ in view.fields))
    echo(f"  {'':<16}{record_label(*item.left):<{width}}{record_label(*item.right)}")
    for name, a, b in view.fields:
        mark = " " if a == b or not a or not b else "≠"
        echo(f"{mark} {name:<16}{a:<{width}}{b}")
    if view.evidence:
        echo("  evidence: " + ", ".join(f"{n} {lvl} {w:+.2f}" for n, lvl, w in view.evidence if w is not None))
    for golden_id, members in view.goldens.items():
        names = ", ".join(f"{m['source']}:{m['source_record_id']}" for m in members)
        echo(f"  {golden_id}: {names}")


def review(
    desk: StewardDesk,
    user: User,
    flt: QueueFilter,
    *,
    read: Callable[[], str | None],
    echo: Callable[[str], None],
) -> list[ActionResult]:
    """Walk the queue; returns the actions taken (undone ones included). `read` returns None at
    end of input, which quits."""
    items = desk.queue(flt)
    if not items:
        echo("the review queue is empty")
        return []
    echo(HELP)
    done: list[ActionResult] = []
    taken: list[tuple[ActionResult, QueueItem]] = []
    i = 0
    while i < len(items):
        item = items[i]
        show_item(desk, item, i + 1, len(items), echo)
        line = read()
        if line is None:
            break
        key, _, reason = line.strip().partition(" ")
        key = key.lower()
        if key == "q":
            break
        if key == "u":
            if not taken:
                echo("nothing of yours to undo in this session")
                continue
            last, last_item = taken.pop()
            try:
                done.append(desk.undo(user, last.audit_id))
                echo(f"undone: #{last.audit_id}")
                last_item.version += 1
                items.insert(i, last_item)  # decide it again now
            except StewardError as exc:
                echo(f"cannot undo: {exc}")
            continue
        if key not in KEYS:
            echo(f"unknown key {key!r}: {HELP}")
            continue
        try:
            result = desk.decide(
                user, item.left, item.right, KEYS[key], expected_version=item.version, reason=reason or None
            )
        except StewardError as exc:
            echo(f"not written: {exc}")
            i += 1
            continue
        echo(result.message)
        done.append(result)
        if KEYS[key] != "skip":
            item.version = result.item_version
            taken.append((result, item))
        i += 1
    decided = sum(1 for r in done if not r.message.startswith(("skipped", "undid")))
    echo(
        f"done: {decided} decided, {sum(1 for r in done if r.message.startswith('skipped'))} skipped; "
        "decisions apply on the next run"
    )
    return done


def click_reader() -> Callable[[], str | None]:
    def read() -> str | None:
        click.echo("> ", nl=False)
        line = sys.stdin.readline()  # CliRunner swaps sys.stdin for its input
        return None if line == "" else line

    return read

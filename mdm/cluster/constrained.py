"""Constrained clustering: union-find that refuses any merge joining two conflicting records.

Conflicts (mdm.cluster.conflicts) are checked between whole clusters, so a third record never
chains two records that may not be together (a parent and child sharing a phone, twins sharing
an address). Pairs are taken strongest first, so where links compete the surest one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from mdm.cluster.conflicts import Profile, assess, outweighed
from mdm.config.rules import CannotLink

STEWARD_OUTCOME_SCHEMA = {"left": pl.Int64, "right": pl.Int64, "outcome": pl.String}


class _Clusters:
    """Union-find over record indexes. A root's records' profiles are `profiles[root]` until it
    takes another cluster in, then `members[root]`; steward cannot-links sit in `forbidden`,
    by root, for the few records that have one."""

    def __init__(self, profiles: Sequence[Profile], rules: CannotLink):
        self.rules = rules
        self.parent = list(range(len(profiles)))
        self.profiles = profiles
        self.members: dict[int, list[Profile]] = {}
        self.forbidden: dict[int, set[int]] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def profiles_of(self, root: int) -> list[Profile]:
        return self.members.get(root) or [self.profiles[root]]

    def forbid(self, a: int, b: int) -> None:
        self.forbidden.setdefault(a, set()).add(b)
        self.forbidden.setdefault(b, set()).add(a)

    def conflict(self, a: int, b: int, check_facts: bool) -> tuple[str | None, str | None]:
        """(why roots a and b may not merge, or None; the conflict a shared strong id outweighs, as
        the merge's outcome, or None)."""
        if self.forbidden and (
            any(self.find(x) == b for x in self.forbidden.get(a, ()))
            or any(self.find(x) == a for x in self.forbidden.get(b, ()))
        ):
            return "steward: not the same", None
        if check_facts:
            reason, strong_id = assess(self.profiles_of(a), self.profiles_of(b), self.rules)
            if reason is not None and strong_id is not None:
                return None, outweighed(reason, strong_id)
            return reason, None
        return None, None

    def union(self, a: int, b: int) -> None:
        if len(self.members.get(a, ())) < len(self.members.get(b, ())):
            a, b = b, a
        self.parent[b] = a
        self.members[a] = self.profiles_of(a) + self.profiles_of(b)
        self.members.pop(b, None)
        if b in self.forbidden:
            self.forbidden.setdefault(a, set()).update(self.forbidden.pop(b))

    def judge(self, a: int, b: int) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return "same cluster"
        reason, _ = self.conflict(ra, rb, check_facts=True)
        return f"blocked: {reason}" if reason else "review"

    def try_merge(self, a: int, b: int, check_facts: bool = True) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return "merged"
        reason, merged = self.conflict(ra, rb, check_facts)
        if reason:
            return f"blocked: {reason}"
        self.union(ra, rb)
        return merged or "merged"


@dataclass
class Clustering:
    """labels: cluster label per record (its smallest member index); outcomes: per link, `merged`,
    `merged (the same <strong id> outweighs: <reason>)` or `blocked: <reason>`; review_outcomes:
    per pair to review, `review`, `same cluster` or `blocked: <reason>` (a conflict no steward
    needs to look at); steward: per must-link."""

    labels: list[int]
    outcomes: list[str]
    review_outcomes: list[str]
    steward: pl.DataFrame


def cluster_records(
    profiles: Sequence[Profile],
    pairs: pl.DataFrame,
    rules: CannotLink,
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    review_pairs: pl.DataFrame | None = None,
) -> Clustering:
    """Join the linked `pairs` (`left`, `right` record indexes) into clusters.

    Links are applied in the order given: pass them strongest first. Steward must-links are
    applied first and always, unless they contradict a steward cannot-link (then they are
    reported blocked); a steward link is not held back by the data's conflicts, since the
    steward has seen them. `review_pairs` are not merged, only judged against the final clusters.
    """
    clusters = _Clusters(profiles, rules)
    for a, b in cannot_link:
        clusters.forbid(a, b)
    steward = [(a, b, clusters.try_merge(a, b, check_facts=False)) for a, b in must_link]
    outcomes = [clusters.try_merge(a, b) for a, b in pairs.select("left", "right").iter_rows()]
    review = (
        []
        if review_pairs is None
        else [clusters.judge(a, b) for a, b in review_pairs.select("left", "right").iter_rows()]
    )
    roots = [clusters.find(i) for i in range(len(profiles))]
    smallest: dict[int, int] = {}
    for i, root in enumerate(roots):
        smallest.setdefault(root, i)
    labels = [smallest[r] for r in roots]
    return Clustering(labels, outcomes, review, pl.DataFrame(steward, schema=STEWARD_OUTCOME_SCHEMA, orient="row"))

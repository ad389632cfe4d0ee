"""Constrained clustering: union-find that refuses any merge joining two conflicting records.

Conflicts are checked between whole clusters, so a third record never chains two records
that may not be together (a parent and child sharing a phone, twins sharing an address).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl


class _Clusters:
    def __init__(self, n: int, birth_dates: list[object]):
        self.parent = list(range(n))
        self.dates: list[set[object]] = [{d} if d is not None else set() for d in birth_dates]
        self.forbidden: list[set[int]] = [set() for _ in range(n)]

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def conflict(self, a: int, b: int, check_dates: bool) -> str | None:
        if check_dates and len(self.dates[a] | self.dates[b]) > 1:
            return "different birth dates"
        if any(self.find(x) == b for x in self.forbidden[a]) or any(self.find(x) == a for x in self.forbidden[b]):
            return "steward: not the same"
        return None

    def union(self, a: int, b: int) -> None:
        if len(self.forbidden[a]) + len(self.dates[a]) < len(self.forbidden[b]) + len(self.dates[b]):
            a, b = b, a
        self.parent[b] = a
        self.dates[a] |= self.dates[b]
        self.forbidden[a] |= self.forbidden[b]


def cluster_records(
    n: int,
    pairs: pl.DataFrame,
    birth_dates: list[object],
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    check_birth_dates: bool = True,
) -> tuple[list[int], pl.DataFrame]:
    """Cluster label per record (the smallest member index), and the pairs with their outcome.

    Steward must-links are applied first and always; a must-link that contradicts a
    cannot-link is not applied and is reported.
    """
    clusters = _Clusters(n, birth_dates)
    for a, b in cannot_link:
        clusters.forbidden[a].add(b)
        clusters.forbidden[b].add(a)
    outcomes: list[tuple[int, int, str, str]] = []
    for a, b in must_link:
        ra, rb = clusters.find(a), clusters.find(b)
        if ra != rb:
            reason = clusters.conflict(ra, rb, check_dates=False)
            if reason:
                outcomes.append((a, b, "steward", f"blocked: {reason}"))
            else:
                clusters.union(ra, rb)
                outcomes.append((a, b, "steward", "merged"))
    for a, b, rule in pairs.select("left", "right", "rule").iter_rows():
        ra, rb = clusters.find(a), clusters.find(b)
        if ra == rb:
            outcomes.append((a, b, rule, "merged"))
            continue
        reason = clusters.conflict(ra, rb, check_birth_dates)
        if reason:
            outcomes.append((a, b, rule, f"blocked: {reason}"))
        else:
            clusters.union(ra, rb)
            outcomes.append((a, b, rule, "merged"))
    roots = [clusters.find(i) for i in range(n)]
    smallest: dict[int, int] = {}
    for i, root in enumerate(roots):
        smallest.setdefault(root, i)
    labels = [smallest[r] for r in roots]
    result = pl.DataFrame(
        outcomes, schema={"left": pl.Int64, "right": pl.Int64, "rule": pl.String, "outcome": pl.String}, orient="row"
    )
    return labels, result

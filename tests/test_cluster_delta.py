"""Incremental clustering (mdm/cluster/delta.py): taking the clean components from the last run and
clustering the others again reaches what clustering every record reaches: the same labels, link
outcomes, review outcomes and steward outcomes, in the same order, over random nights of records
new, changed, deleted and moved, links gained, lost and reordered, and steward links and pairs to
review changed."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.cluster import Profile, cluster_records
from mdm.cluster.constrained import Clustering
from mdm.cluster.delta import carried_clustering, cluster_changed, leave_clustering
from mdm.cluster.partitioned import components, pairs_frame
from tests.test_cluster import RULES, pairs, person
from tests.test_cluster_partitioned import BIRTHS, FAMILIES, GIVENS

Pairs = list[tuple[int, int]]
KINDS = ("links", "must", "cannot", "review")


@dataclass
class Run:
    profiles: list[Profile]
    links: Pairs
    must: Pairs
    cannot: Pairs
    review: Pairs

    def cluster(self) -> Clustering:
        return cluster_records(
            self.profiles,
            pairs(*self.links),
            RULES,
            must_link=self.must,
            cannot_link=self.cannot,
            review_pairs=pairs(*self.review),
        )

    def component(self) -> pl.Series:
        edges = pairs_frame(self.links + self.must)
        return components(edges["left"], edges["right"], len(self.profiles))

    def left(self, result: Clustering) -> tuple[pl.DataFrame, pl.DataFrame]:
        """What this run leaves for the next (as the cluster stage leaves it)."""
        return leave_clustering(
            self.component(),
            pl.Series(result.labels, dtype=pl.Int64),
            pairs_frame(self.must),
            pairs(*self.links),
            pairs(*self.review),
            pairs_frame(self.cannot),
            pl.Series(result.outcomes, dtype=pl.String),
            pl.Series(result.review_outcomes, dtype=pl.String),
            result.steward["outcome"],
        )


def profile(draw: st.DrawFn) -> Profile:
    return person(
        draw(st.sampled_from(BIRTHS)),
        draw(st.sampled_from(GIVENS)),
        draw(st.sampled_from(FAMILIES)),
        **({"nid": draw(st.sampled_from(["123456789", "123456780"]))} if draw(st.booleans()) else {}),
    )


def pair_lists(draw: st.DrawFn, n: int, sizes: dict[str, int]) -> dict[str, Pairs]:
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    return {kind: draw(st.lists(pair, max_size=size)) for kind, size in sizes.items()}


@st.composite
def nights(draw: st.DrawFn) -> tuple[Run, Run, list[int | None]]:
    """A last run, tonight's run, and each of tonight's records' rid in the last run (None: new or
    changed)."""
    n = draw(st.integers(2, 24))
    before = Run([profile(draw) for _ in range(n)], **_named(pair_lists(draw, n, _sizes(n))))
    fate = draw(st.lists(st.sampled_from(["kept", "kept", "kept", "changed", "deleted"]), min_size=n, max_size=n))
    added = draw(st.integers(0, 3))
    # tonight's records: the survivors and the new ones, in an order that mostly keeps the old one
    old_rows: list[int | None] = [i for i in range(n) if fate[i] != "deleted"] + [None] * added
    if draw(st.booleans()):
        old_rows = draw(st.permutations(old_rows))
    m = len(old_rows)
    if m < 2:
        old_rows += [None] * (2 - m)
        m = 2
    today_of = {old: i for i, old in enumerate(old_rows) if old is not None}
    profiles = [profile(draw) if old is None or fate[old] == "changed" else before.profiles[old] for old in old_rows]
    previous = [old if old is not None and fate[old] == "kept" else None for old in old_rows]
    lists: dict[str, Pairs] = {}
    extra = pair_lists(draw, m, {kind: 3 for kind in KINDS})
    for kind in KINDS:
        mapped = [(today_of[a], today_of[b]) for a, b in getattr(before, kind) if a in today_of and b in today_of]
        dropped = draw(st.sets(st.integers(0, max(len(mapped) - 1, 0)), max_size=2))
        kept = [p for i, p in enumerate(mapped) if i not in dropped]
        for p in extra[kind]:  # gained, anywhere in the order
            kept.insert(draw(st.integers(0, len(kept))), p)
        if len(kept) > 1 and draw(st.booleans()):  # two links change places (a probability moved)
            i = draw(st.integers(0, len(kept) - 2))
            kept[i], kept[i + 1] = kept[i + 1], kept[i]
        lists[kind] = kept
    return before, Run(profiles, **_named(lists)), previous


def _sizes(n: int) -> dict[str, int]:
    return {"links": 2 * n, "must": 4, "cannot": 4, "review": n}


def _named(lists: dict[str, Pairs]) -> dict[str, Pairs]:
    return {kind: lists[kind] for kind in KINDS}


def incremental(before: Run, today: Run, previous: list[int | None]) -> tuple[Clustering, int]:
    """Tonight's clustering from the last run's as the cluster stage makes it; and the records in
    clean components."""
    before_records, before_pairs = before.left(before.cluster())
    carried = carried_clustering(
        pl.Series(previous, dtype=pl.Int64),
        today.component(),
        pairs_frame(today.must),
        pairs(*today.links),
        pairs(*today.review),
        pairs_frame(today.cannot),
        before_records,
        before_pairs,
    )
    result = cluster_changed(
        lambda rids: [today.profiles[i] for i in rids],
        pairs(*today.links),
        RULES,
        lambda records: 2,
        carried,
        must_link=today.must,
        cannot_link=today.cannot,
        review_pairs=pairs(*today.review),
    )
    return result, int(carried.clean.sum())


def assert_same(result: Clustering, expected: Clustering) -> None:
    assert result.labels == expected.labels
    assert result.outcomes == expected.outcomes
    assert result.review_outcomes == expected.review_outcomes
    assert result.steward.rows() == expected.steward.rows()


@settings(max_examples=400, deadline=None)
@given(nights())
def test_incremental_clustering_reaches_what_clustering_every_record_reaches(
    night: tuple[Run, Run, list[int | None]],
) -> None:
    before, today, previous = night
    result, _ = incremental(before, today, previous)
    assert_same(result, today.cluster())


def test_an_unchanged_component_is_carried_and_a_changed_one_clustered_again() -> None:
    """Ann (0, 1, 2) linked in a chain and Bo (3, 4); tonight a record is added before them (rids
    move up by one), Bo's second record changed to a conflicting birth date, and the order of
    Ann's two links swaps: Ann's component is dirty (its links changed order), Bo's dirty (a record
    changed); a lone record stays clean."""
    ann = [person("19800304", "ann"), person(None, "ann"), person("19800304", "anne")]
    bo = [person("19700101", "bo", "lee"), person("19700101", "bo", "lee")]
    lone = person("20110704", "j", "lee")
    before = Run([*ann, *bo, lone], [(0, 1), (1, 2), (3, 4)], [], [], [(2, 5)])
    new = person("19800403", "ann", "smyth")
    changed = person("19711111", "bo", "lee")
    today = Run([new, *ann, bo[0], changed, lone], [(1, 2), (2, 3), (4, 5)], [], [], [(3, 6)])
    result, clean = incremental(before, today, [None, 0, 1, 2, 3, None, 5])
    assert_same(result, today.cluster())
    assert clean == 4  # Ann's three records and the lone one: Bo's component holds a changed record
    assert result.outcomes[2].startswith("blocked")
    swapped = Run(today.profiles, [(2, 3), (1, 2), (4, 5)], [], [], [(3, 6)])
    result, clean = incremental(before, swapped, [None, 0, 1, 2, 3, None, 5])
    assert_same(result, swapped.cluster())
    assert clean == 1  # only the lone record: Ann's links were applied in another order


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_night_without_changes_carries_every_component(data: st.DataObject) -> None:
    before, _, _ = data.draw(nights())
    result, clean = incremental(before, before, list(range(len(before.profiles))))
    assert_same(result, before.cluster())
    assert clean == len(before.profiles)

"""Clustering in partitions of connected components (mdm/cluster/partitioned.py) reaches what
clustering all records at once reaches: the same labels, link outcomes, review outcomes and
steward outcomes, in the same order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.cluster import Profile, cluster_records
from mdm.cluster.partitioned import cluster_in_partitions, components
from tests.test_cluster import RULES, pairs, person


def test_components_label_each_record_with_the_smallest_record_of_its_component() -> None:
    # a path given from its far end (20 - 19 - ... - 3), a triangle, two lone records
    path = [(i, i - 1) for i in range(20, 3, -1)]
    edges = pairs(*path, (0, 2), (2, 1), (1, 0))
    labels = components(edges["left"], edges["right"], 23)
    assert labels.to_list() == [0, 0, 0, 3] + [3] * 17 + [21, 22]
    assert components(pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64), 3).to_list() == [0, 1, 2]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    )
)
def test_components_are_union_finds(graph: tuple[int, list[tuple[int, int]]]) -> None:
    """Any graph (self-loops, repeated edges, chains given backwards): each record's label is the
    smallest record a plain union-find puts in its set."""
    records, edges = graph
    parent = list(range(records))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    left = pl.Series([a for a, _ in edges], dtype=pl.Int64)
    right = pl.Series([b for _, b in edges], dtype=pl.Int64)
    assert components(left, right, records).to_list() == [root(i) for i in range(records)]


BIRTHS = [None, "19800304", "19800403", "20110704"]
GIVENS = [None, "ann", "anne", "bo", "j"]
FAMILIES = ["smith", "smyth", "lee"]


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[Profile], list[tuple[int, int]], dict[str, list[tuple[int, int]]]]:
    n = draw(st.integers(2, 30))
    profiles = [
        person(
            draw(st.sampled_from(BIRTHS)),
            draw(st.sampled_from(GIVENS)),
            draw(st.sampled_from(FAMILIES)),
            **({"nid": draw(st.sampled_from(["123456789", "123456780"]))} if draw(st.booleans()) else {}),
        )
        for _ in range(n)
    ]
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    links = draw(st.lists(pair, max_size=2 * n))
    steward = {kind: draw(st.lists(pair, max_size=4)) for kind in ("must", "cannot")}
    steward["review"] = draw(st.lists(pair, max_size=n))
    return profiles, links, steward


@settings(max_examples=300, deadline=None)
@given(problems(), st.integers(2, 6))
def test_clustering_in_partitions_reaches_what_clustering_at_once_reaches(
    problem: tuple[list[Profile], list[tuple[int, int]], dict[str, list[tuple[int, int]]]], partitions: int
) -> None:
    profiles, links, steward = problem

    def read_profiles(rids: pl.Series) -> list[Profile]:
        return [profiles[i] for i in rids]

    at_once = cluster_records(
        profiles,
        pairs(*links),
        RULES,
        must_link=steward["must"],
        cannot_link=steward["cannot"],
        review_pairs=pairs(*steward["review"]),
    )
    parted = cluster_in_partitions(
        read_profiles,
        len(profiles),
        pairs(*links),
        RULES,
        partitions,
        must_link=steward["must"],
        cannot_link=steward["cannot"],
        review_pairs=pairs(*steward["review"]),
    )
    assert parted.labels == at_once.labels
    assert parted.outcomes == at_once.outcomes
    assert parted.review_outcomes == at_once.review_outcomes
    assert parted.steward.rows() == at_once.steward.rows()


def test_a_pair_to_review_across_partitions_is_judged_between_the_final_clusters() -> None:
    """Ann (0, 1) and Ann (2, 3) are two clusters in two partitions; a steward said 1 and 3 are not
    the same, so a pair to review between 0 and 2 is no question for a steward; Bo (4) conflicts
    with neither by birth date but shares no name with Ann (5)."""
    profiles = [person("19800304", "ann"), person(None, "ann"), person("19800304", "ann"), person(None, "ann")]
    profiles += [person("19700101", "bo", "lee"), person("19700101", "ann", "smith")]
    links = pairs((0, 1), (2, 3))
    review = pairs((0, 2), (4, 5), (1, 0))
    at_once = cluster_records(profiles, links, RULES, cannot_link=[(1, 3)], review_pairs=review)
    parted = cluster_in_partitions(
        lambda rids: [profiles[i] for i in rids],
        6,
        links,
        RULES,
        3,
        must_link=[],
        cannot_link=[(1, 3)],
        review_pairs=review,
    )
    assert at_once.review_outcomes == ["blocked: steward: not the same", "blocked: no name in common", "same cluster"]
    assert parted.review_outcomes == at_once.review_outcomes
    assert parted.labels == at_once.labels == [0, 0, 2, 2, 4, 5]

"""Clustering: hard conflicts stop a merge and stop chaining through a third record."""

from __future__ import annotations

import polars as pl
import pytest

from mdm.cluster import Profile, cluster_records, conflict
from mdm.config.rules import CannotLink

RULES = CannotLink()


def person(birth: str | None = None, given: str | None = None, family: str | None = "smith", **kw: object) -> Profile:
    canonicals = kw.get("canonicals", "")
    return Profile(
        birth_date=birth,
        given=given,
        given_canonicals=frozenset(str(canonicals).split("|")) if canonicals else frozenset(),
        middle=kw.get("middle"),  # type: ignore[arg-type]
        family=family,
    )


@pytest.mark.parametrize(
    ("description", "left", "right", "expected"),
    [
        ("same facts", person("19800304", "robert"), person("19800304", "robert"), None),
        ("one birth date missing", person("19800304", "robert"), person(None, "robert"), None),
        ("day and month swapped is a typo", person("19800304", "ann"), person("19800403", "ann"), None),
        ("one digit typed wrong is a typo", person("19800304", "ann"), person("19810304", "ann"), None),
        ("two digits transposed is a typo", person("19800304", "ann"), person("19080304", "ann"), None),
        (
            "clearly different birth dates",
            person("19800304", "ann"),
            person("20110704", "ann"),
            "different birth dates",
        ),
        (
            "twins: same date, same family, other given name",
            person("20110704", "jane"),
            person("20110704", "john"),
            "different given names, same family name",
        ),
        ("nicknames of one name", person(given="bob", canonicals="robert"), person(given="robert"), None),
        ("an initial", person(given="r"), person(given="robert"), None),
        ("goes by the middle name", person(given="michael"), person(given="john", middle="michael"), None),
        ("a spelling variant", person(given="katharine"), person(given="katherine"), None),
        ("different given names, different family names", person(given="ann", family="lee"), person(given="bo"), None),
        ("a given name missing", person(given=None), person(given="ann"), None),
    ],
)
def test_conflicts(description: str, left: Profile, right: Profile, expected: str | None) -> None:
    assert conflict([left], [right], RULES) == expected, description
    assert conflict([right], [left], RULES) == expected, description


def test_two_typed_copies_of_one_birth_date_are_not_a_conflict() -> None:
    """1971-06-24 typed as 1971-05-24 in one record and 1971-06-25 in another: two digits apart
    from each other, one from the truth; a cluster holding the truth takes both."""
    truth, typo_month, typo_day = person("19710624", "rob"), person("19710524", "rob"), person("19710625", "rob")
    assert conflict([truth, typo_month], [typo_day], RULES) is None
    assert conflict([typo_month], [typo_day], RULES) == "different birth dates"  # alone they are two days
    father, son = person("19550101", "john"), person("19870612", "john")
    assert conflict([father, person(None, "john")], [son], RULES) == "different birth dates"


def test_conflicts_can_be_switched_off() -> None:
    twins = [person("20110704", "jane")], [person("20110704", "john")]
    assert conflict(*twins, CannotLink(different_given_name=False)) is None
    assert conflict([person("19800304")], [person("20110704")], CannotLink(different_birth_date=False)) is None


def pairs(*links: tuple[int, int]) -> pl.DataFrame:
    return pl.DataFrame(links, schema={"left": pl.Int64, "right": pl.Int64}, orient="row")


def test_a_third_record_never_chains_two_conflicting_records() -> None:
    """Father (0) and son (2) share a phone with a record (1) that has no birth date: 1 may join
    one of them, never both."""
    profiles = [person("19550101", "john"), person(None, "john"), person("19870612", "john")]
    result = cluster_records(profiles, pairs((0, 1), (1, 2)), RULES)
    labels, outcomes = result.labels, result.outcomes
    assert labels == [0, 0, 2]
    assert outcomes == ["merged", "blocked: different birth dates"]


def test_pairs_are_taken_in_the_order_given_so_the_strongest_link_wins() -> None:
    profiles = [person("19550101", "john"), person(None, "john"), person("19870612", "john")]
    assert cluster_records(profiles, pairs((1, 2), (0, 1)), RULES).labels == [0, 1, 1]


def test_steward_links_come_first_and_a_not_same_is_never_crossed() -> None:
    profiles = [person("19800304", "ann"), person("19800304", "ann"), person("19800304", "ann")]
    result = cluster_records(profiles, pairs((0, 1), (1, 2)), RULES, must_link=[(0, 2)], cannot_link=[(1, 2)])
    labels, outcomes, steward = result.labels, result.outcomes, result.steward
    assert steward.rows() == [(0, 2, "merged")]
    assert labels == [0, 1, 0]
    assert outcomes == ["blocked: steward: not the same", "blocked: steward: not the same"]


def test_a_steward_must_link_overrides_the_data_conflicts() -> None:
    """The steward has seen the two birth dates and says they are one person (a wrong date in a source)."""
    profiles = [person("19800304", "ann"), person("20110704", "ann")]
    result = cluster_records(profiles, pairs((0, 1)), RULES, must_link=[(0, 1)])
    assert result.labels == [0, 0] and result.steward.rows() == [(0, 1, "merged")] and result.outcomes == ["merged"]


def test_pairs_to_review_are_judged_not_merged() -> None:
    """Mary (0) and her son (1) share a phone: scored for review, but their dates conflict, so
    no steward is asked; Ann (2, 3) is asked about; 4 and 5 are already one cluster."""
    profiles = [
        person("19820708", "mary"),
        person("20110909", "tom"),
        person("19800304", "ann"),
        person(None, "ann"),
        person("19700101", "bo"),
        person("19700101", "bo"),
    ]
    result = cluster_records(profiles, pairs((4, 5)), RULES, review_pairs=pairs((0, 1), (2, 3), (4, 5)))
    assert result.review_outcomes == ["blocked: different birth dates", "review", "same cluster"]
    assert result.labels == [0, 1, 2, 3, 4, 4]

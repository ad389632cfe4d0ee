"""Clustering: hard conflicts stop a merge and stop chaining through a third record."""

from __future__ import annotations

import polars as pl
import pytest

from mdm.cluster import Profile, StrongId, cluster_records, conflict, profiles_of
from mdm.cluster.conflicts import BIRTH_DATES, GIVEN_NAMES, NAMES
from mdm.config.dictionary import load_dictionary
from mdm.config.rules import CannotLink

RULES = CannotLink()


def person(birth: str | None = None, given: str | None = None, family: str | None = "smith", **kw: object) -> Profile:
    """A record's profile; `nid=` a national id (typos tolerated), `email=` an e-mail marked unique per person."""
    canonicals = kw.get("canonicals", "")
    ids = [StrongId("national_id", str(kw["nid"]), True)] if "nid" in kw else []
    ids += [StrongId("email", str(kw["email"]), False)] if "email" in kw else []
    return Profile(
        birth_date=birth,
        given=given,
        given_canonicals=frozenset(str(canonicals).split("|")) if canonicals else frozenset(),
        middle=kw.get("middle"),  # type: ignore[arg-type]
        family=family,
        ids=tuple(ids),
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
        (
            "different given names, different family names: no name in common",
            person(given="ann", family="lee"),
            person(given="bo"),
            "no name in common",
        ),
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


# ---- issue 14: the five failure classes ------------------------------------------------------
# Each table row is (description, one cluster's records, the other cluster's records, the
# conflict expected between them); single records are clusters of one.

JOHN = person("19800304", "john", canonicals="john")
JONH = person("19800304", "jonh")  # a typo: in no nickname list
JACK = person("19800304", "jack", canonicals="john")
JANE = person("20110704", "jane")
TWIN_JOHN = person("20110704", "john", canonicals="john")

CLASS_CASES: list[tuple[str, list[Profile], list[Profile], str | None]] = [
    # 1. a strong id (a field marked unique_per_person) outweighs the birth-date and name conflicts
    (
        "1: equal national ids outweigh different birth dates",
        [person("19410622", "ethan", nid="3559862")],
        [person("19881222", "ethan", nid="3559862")],
        None,
    ),
    (
        "1: equal national ids outweigh a replaced given name",
        [person("19600904", "daniella", nid="7721398")],
        [person("19600904", "mia", nid="7721398")],
        None,
    ),
    (
        "1: national ids one typo apart (two neighbours swapped) are one id",
        [person("19410622", "ethan", nid="3559862")],
        [person("19881222", "ethan", nid="3559682")],
        None,
    ),
    (
        "1: national ids one digit apart are one id",
        [person("20110704", "jane", nid="518203947")],
        [person("20110704", "john", nid="518203941")],
        None,
    ),
    (
        "1: ids two typos apart are not one id: the conflict stands",
        [person("19410622", "ethan", nid="3559862")],
        [person("19881222", "ethan", nid="3556982")],
        BIRTH_DATES,
    ),
    (
        "1: consecutive numbers are twins registered together, not a typo",
        [person("20110704", "jane", nid="518203947")],
        [person("20110704", "john", nid="518203948")],
        GIVEN_NAMES,
    ),
    (
        "1: different ids are no conflict of their own (only evidence against, in the score)",
        [person("19800304", "ann", nid="518203947")],
        [person("19800304", "ann", nid="702215530")],
        None,
    ),
    (
        "1: an e-mail marked unique per person outweighs when equal",
        [person("19800304", "ann", email="ann.lee@x.com")],
        [person("19920101", "ann", email="ann.lee@x.com")],
        None,
    ),
    (
        "1: ... but not one typo apart (only identifiers tolerate typos)",
        [person("19800304", "ann", email="ann.lee@x.com")],
        [person("19920101", "ann", email="ann.lea@x.com")],
        BIRTH_DATES,
    ),
    (
        "1: one member's id speaks for its cluster",
        [person("19410622", "ethan", nid="3559862"), person("19410622", "ethan")],
        [person("19881222", "ethan", nid="3559862")],
        None,
    ),
    # 2. between clusters, given names conflict only if no pair of full given names agrees
    ("2: one member's typo does not keep John from Jack", [JOHN, JONH], [JACK], None),
    ("2: the typo alone against Jack still conflicts", [JONH], [JACK], GIVEN_NAMES),
    ("2: an initial does not bridge twins", [JANE, person("20110704", "j")], [TWIN_JOHN], GIVEN_NAMES),
    ("2: nor a record without a given name", [JANE, person("20110704", None)], [TWIN_JOHN], GIVEN_NAMES),
    ("2: nor one under another family name", [JANE, person("20110704", "jane", "doe")], [TWIN_JOHN], GIVEN_NAMES),
    # 3. the given-name conflict applies to near-equal family names too
    ("3: twins, the family name misspelt in one record", [JANE], [person("20110704", "john", "smyth")], GIVEN_NAMES),
    (
        "3: twins, a letter swapped in the family name",
        [JANE],
        [person("20110704", "john", "smtih")],
        GIVEN_NAMES,
    ),
    ("3: a family name missing: no conflict", [JANE], [person("20110704", "john", None)], None),
    # 5. no cluster holds two records whose names share nothing
    ("5: names share nothing", [person(None, "ann", "lee")], [person(None, "bo", "chen")], NAMES),
    ("5: married: the given name is kept", [person(None, "ann", "lee")], [person(None, "ann", "chen")], None),
    (
        "5: a nickname under another family name",
        [person(None, "bob", "lee", canonicals="robert")],
        [person(None, "robert", "chen")],
        None,
    ),
    ("5: names written in the other order", [person(None, "lee", "ann")], [person(None, "ann", "lee")], None),
    (
        "5: a middle name is a name too",
        [person(None, "john", "murray", middle="stuart")],
        [person(None, "ian", "steuart")],
        None,
    ),
    ("5: one name missing: nothing to compare", [person(None, "ann", None)], [person(None, "bo", "chen")], None),
    (
        "5: any record of one cluster against any of the other",
        [person(None, "ann", "lee"), person(None, None, None)],
        [person(None, "bo", "chen")],
        NAMES,
    ),
    (
        "5: a strong id outweighs it",
        [person(None, "ann", "lee", nid="518203947")],
        [person(None, "bo", "chen", nid="518203947")],
        None,
    ),
]


@pytest.mark.parametrize(("description", "left", "right", "expected"), CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_failure_classes_of_issue_14(
    description: str, left: list[Profile], right: list[Profile], expected: str | None
) -> None:
    assert conflict(left, right, RULES) == expected, description
    assert conflict(right, left, RULES) == expected, description


def test_class_1_strong_ids_come_from_the_fields_the_dictionary_marks() -> None:
    """national_id is marked unique_per_person, with typos tolerated; e-mail and phone are not
    (households share them): equal e-mails do not outweigh a conflict unless a dictionary says so."""
    strong = load_dictionary().strong_ids
    assert strong == {"national_id_key": True}
    records = pl.DataFrame(
        {
            "given_name_key": ["ann", "ann"],
            "family_name_key": ["lee", "lee"],
            "birth_date_key": ["19800304", "19920101"],
            "email_key": ["ann.lee@x.com", "ann.lee@x.com"],
            "national_id_key": [None, "518203947"],
        }
    )
    a, b = profiles_of(records, strong)
    assert (a.ids, b.ids) == ((), (StrongId("national_id", "518203947", True),))
    assert conflict([a], [b], RULES) == BIRTH_DATES
    verified = profiles_of(records, {"email_key": False})
    assert conflict(verified[:1], verified[1:], RULES) is None


def test_class_1_a_merge_a_strong_id_allowed_says_so() -> None:
    profiles = [person("19410622", "ethan", nid="3559862"), person("19881222", "ethan", nid="3559682")]
    result = cluster_records(profiles, pairs((0, 1)), RULES)
    assert result.labels == [0, 0]
    assert result.outcomes == ["merged (the same national_id outweighs: different birth dates)"]


def test_class_2_a_nickname_joins_a_cluster_holding_a_typo() -> None:
    """John (0) and Jonh (1) are one person; Jack (2), a nickname of John, links to Jonh."""
    result = cluster_records([JOHN, JONH, JACK], pairs((0, 1), (1, 2)), RULES)
    assert result.labels == [0, 0, 0] and result.outcomes == ["merged", "merged"]


def test_class_3_twins_with_a_misspelt_family_name_stay_apart() -> None:
    """Jane (0) and John (1) Smith, twins; John's second record (2) says Smyth and shares the phone."""
    twins = [JANE, TWIN_JOHN, person("20110704", "john", "smyth", canonicals="john")]
    result = cluster_records(twins, pairs((0, 2), (1, 2)), RULES)
    assert result.labels == [0, 1, 1]
    assert result.outcomes == [f"blocked: {GIVEN_NAMES}", "merged"]


def test_class_5_a_chain_never_joins_two_records_whose_names_share_nothing() -> None:
    """Ann Lee (0) and Bo Chen (2) each link to a record without names (1) sharing their phone
    and e-mail: 1 joins one of them, never both; a strong id or a steward may join them."""
    chain = [person(None, "ann", "lee"), person(None, None, None), person(None, "bo", "chen")]
    result = cluster_records(chain, pairs((0, 1), (1, 2)), RULES)
    assert result.labels == [0, 0, 2]
    assert result.outcomes == ["merged", f"blocked: {NAMES}"]
    same_id = [chain[0]._replace(ids=(StrongId("national_id", "518203947", True),)), chain[1], chain[2]]
    same_id[2] = same_id[2]._replace(ids=same_id[0].ids)
    assert cluster_records(same_id, pairs((0, 1), (1, 2)), RULES).labels == [0, 0, 0]
    steward = cluster_records(chain, pairs((0, 1), (1, 2)), RULES, must_link=[(0, 2)])
    assert steward.labels == [0, 0, 0]

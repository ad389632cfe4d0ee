"""A review queue long enough to page through and to work item after item: the steward fixture
(tests/fixtures/steward, its 4 items and its C7 / W7 pair to merge by hand) plus `people` more
people, each once in crm and once in web with the same name, e-mail and phone but birth dates a
year and three months apart, so each is one review item `blocked: different birth dates`.

Deterministic (no randomness): person i (0-based) is `Given<i> Family<i>` spelled from the lists
below, crm id `C1<i:02>`, web id `W1<i:02>`, phone (617) 294-12<i:02>, e-mail
`<given>.<family>@example.net`, born 05/06/(1950 + i) in crm and (1951 + i)-08-16 in web. Beside
each, a person the data merges (`<Family> <Given>son`, crm `C2<i:02>` and web `W2<i:02>` agreeing
on everything, phone (857) 366-12<i:02>). With 25 people: 116 records, 88 golden customers, 29
review items (rank 1 to 29).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import FIXTURES

GIVEN = ["Alma", "Boris", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Katja", "Luca"]
FAMILY = [
    "Abbott",
    "Brandt",
    "Castillo",
    "Dunne",
    "Eriksen",
    "Fontaine",
    "Gallo",
    "Hayes",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Oyelaran",
    "Pereira",
    "Quinlan",
    "Rossi",
    "Sato",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zanetti",
    "Almeida",
    "Bakker",
    "Cohen",
    "Dahl",
]


def person(i: int) -> dict[str, str]:
    given, family = GIVEN[i % len(GIVEN)], FAMILY[i % len(FAMILY)]
    return {
        "crm": f"C1{i:02}",
        "web": f"W1{i:02}",
        "given": given,
        "family": family,
        "phone": f"(617) 294-12{i:02}",
        "email": f"{given.lower()}.{family.lower()}@example.net",
    }


def write_queue_fixture(directory: Path, people: int = 25) -> Path:
    """Write the sources into `directory`; returns its sources.yaml."""
    assert people <= len(FAMILY), "names must stay unique"
    shutil.copytree(FIXTURES / "steward", directory)
    with (
        (directory / "crm.csv").open("a", encoding="utf-8") as crm,
        (directory / "web.jsonl").open("a", encoding="utf-8") as web,
    ):
        for i in range(people):
            p = person(i)
            crm.write(
                f"{p['crm']},{p['given']},{p['family']},05/06/{1950 + i},F,{p['email']},{p['phone']},"
                f"{i + 1} Main St,Boston,MA,02110,2026-03-01\n"
            )
            row = {
                "signup_id": p["web"],
                "name": f"{p['given']} {p['family']}",
                "email": p["email"],
                "phone": p["phone"].replace("(", "").replace(") ", "-"),
                "birthday": f"{1951 + i}-08-16",
                "created_at": "2026-06-03T08:00:00Z",
            }
            web.write(json.dumps(row) + "\n")
            # and a person whose two records agree (merged by the data): without customers of two
            # records being common, the queue's evidence (mdm/cluster/review.py `size_bits`) would
            # count two single-record customers as unlikely to be one person
            twin = {**row, "signup_id": f"W2{i:02}", "name": f"{p['family']} {p['given']}son"}
            twin |= {"email": f"twin{i}@example.org", "phone": f"(857) 366-12{i:02}", "birthday": f"{1960 + i}-01-02"}
            web.write(json.dumps(twin) + "\n")
            crm.write(
                f"C2{i:02},{p['family']},{p['given']}son,01/02/{1960 + i},M,twin{i}@example.org,(857) 366-12{i:02},"
                f"{i + 1} Side St,Boston,MA,02110,2026-03-01\n"
            )
    return directory / "sources.yaml"

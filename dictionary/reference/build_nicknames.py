"""Regenerate nicknames.csv from the `nicknames` package (Apache-2.0, Carlton Northern and
Nick Crews) plus the hand-written preferences below (CC0). Not run by the product:
    python3 -m venv /tmp/v && /tmp/v/bin/pip install nicknames==1.0.1 rapidfuzz && /tmp/v/bin/python build_nicknames.py

The package lists `name1,has_nickname,name2` relations; some are listed both ways round
("bill has_nickname william" and "william has_nickname bill") and some are loose (bill <->
robert). A relation listed one way is an edge from the nickname (name2) to the formal name
(name1); one listed both ways is an edge from the shorter name to the longer, or dropped when
both are as long, unless listed in EQUAL_LENGTH below. A name listed one way with at least two
nicknames (jane: janie, jean, jennie, jessie) is a formal name and has no edge, unless PREFERRED
below names its canonical name (bill, bob).
A name's canonical names are the nearest names reachable along edges that have no edge of
their own; a name with no edge is canonical itself and is not listed.
"""

import csv
from collections import defaultdict
from pathlib import Path

from nicknames import name_triplets
from rapidfuzz.distance import LCSseq

# Relations between names of equal length kept, nickname -> formal name.
EQUAL_LENGTH = {
    "jack": "john", "robbie": "robert", "bobbie": "robert", "hank": "henry", "ned": "edward", "nell": "eleanor",
}
# Where a nickname has several canonical names, the one most people mean (ties otherwise go to
# the nearest, then the most letters in common, then alphabetical order).
PREFERRED = {
    "bill": "william", "billy": "william", "will": "william", "willie": "william", "willy": "william",
    "bob": "robert", "bobby": "robert", "rob": "robert", "robby": "robert", "robbie": "robert",
    "jack": "john", "johnny": "john", "jim": "james", "jimmy": "james", "jimmie": "james",
    "ted": "edward", "teddy": "edward", "ed": "edward", "eddie": "edward", "eddy": "edward",
    "peggy": "margaret", "peg": "margaret", "meg": "margaret", "maggie": "margaret",
    "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth", "betsy": "elizabeth", "lizzie": "elizabeth",
    "kate": "katherine", "katie": "katherine", "hank": "henry", "kathy": "katherine", "cathy": "catherine",
    "al": "alexander", "alex": "alexander", "sandy": "alexander", "tony": "anthony", "chris": "christopher",
    "dick": "richard", "rick": "richard", "ricky": "richard", "rich": "richard", "harry": "henry",
    "tom": "thomas", "tommy": "thomas", "mike": "michael", "mickey": "michael", "nick": "nicholas",
    "sam": "samuel", "sammy": "samuel", "dan": "daniel", "danny": "daniel", "joe": "joseph", "joey": "joseph",
    "steve": "stephen", "jenny": "jennifer", "jen": "jennifer", "sue": "susan", "susie": "susan",
    "pat": "patricia", "patty": "patricia", "ron": "ronald", "ronnie": "ronald", "don": "donald",
    "greg": "gregory", "matt": "matthew", "andy": "andrew", "drew": "andrew", "fred": "frederick",
    "larry": "lawrence", "jerry": "gerald", "terry": "terence", "polly": "mary", "molly": "mary",
}


def main() -> None:
    relations = [(a.strip().lower(), b.strip().lower()) for a, _, b in name_triplets()]
    relations = [(a, b) for a, b in relations if a and b and a != b]
    listed = set(relations)
    nickname_count: dict[str, int] = defaultdict(int)
    for a, b in relations:
        nickname_count[a] += (b, a) not in listed
    formal = {name for name, count in nickname_count.items() if count >= 2 and name not in PREFERRED}
    edges: dict[str, set[str]] = defaultdict(set)
    for a, b in relations:
        if (b, a) not in listed:
            nickname, name = b, a
        elif len(a) != len(b):
            nickname, name = (a, b) if len(a) < len(b) else (b, a)
        else:
            continue
        if nickname not in formal:
            edges[nickname].add(name)
    for short, long_ in EQUAL_LENGTH.items():
        edges[short].add(long_)
    rows = []
    for name in sorted(edges):
        distance = {name: 0}
        frontier = [name]
        while frontier:
            nxt = []
            for node in frontier:
                for other in edges.get(node, ()):
                    if other not in distance:
                        distance[other] = distance[node] + 1
                        nxt.append(other)
            frontier = nxt
        every_root = [n for n in distance if n != name and not edges.get(n)]
        if not every_root:
            continue
        roots = [n for n in every_root if distance[n] == min(distance[r] for r in every_root)]
        if name in PREFERRED and PREFERRED[name] not in roots:  # hand-written: trusted
            roots.append(PREFERRED[name])
        best = PREFERRED.get(name)
        if best not in roots:
            best = min(roots, key=lambda r: (-LCSseq.similarity(name, r), r))
        rows += [(name, root, int(root == best)) for root in sorted(roots)]
    out = Path(__file__).with_name("nicknames.csv")
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["nickname", "canonical", "preferred"])
        writer.writerows(rows)
    print(f"{out}: {len(rows)} rows, {len({r[0] for r in rows})} nicknames")


if __name__ == "__main__":
    main()

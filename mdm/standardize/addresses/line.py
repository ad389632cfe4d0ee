"""One address line to its parts, its display form and its matching key (USPS Publication 28 for US
and Canadian lines; house number, unit and street elsewhere).

How lines are read and keyed: docs/architecture.md, section "mdm/standardize/addresses/line.py".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from mdm.standardize.addresses.tables import AddressTables, Designator

USPS_COUNTRIES = frozenset({"US", "CA", "PR", "VI", "GU", "AS", "MP", "UM", "FM", "MH", "PW"})
ENGLISH_COUNTRIES = frozenset({"GB", "IE", "AU", "NZ", "ZA"})  # key folds Road/Rd, Street/St
GERMAN_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU"})  # key folds Straße/Str./Strasse
UNIT_BEFORE_NUMBER = {"CA": "-", "AU": "/", "NZ": "/"}  # "5-123 Main St", "3/45 Smith St"

NO_TEXT_FLAG = "no letters or digits in address line '{}'"
NO_STREET_FLAG = "no street name in address line '{}'"

_SEPARATORS = str.maketrans({",": " ", ";": " ", ".": " ", "#": " # ", "(": " ", ")": " ", "\u2013": "-"})
_DOTTED_DIRECTIONAL = re.compile(r"\b([NnSs])\.\s?([EeWw])\.")
_NUMBER = re.compile(r"^(?:\d+[A-Z]?|\d+[A-Z]?-\d+[A-Z]?|[NSEW]\d+[NSEW]\d+[A-Z]?)$")  # 12, 12A, 45-12, N6W23001
_FRACTION = re.compile(r"^\d/\d{1,2}$")
_ORDINAL = re.compile(r"^\d+(?:ST|ND|RD|TH)$")
_OTHER_NUMBER = re.compile(r"^\d+[A-Z]?(?:[-/]\d+[A-Z]?)?$")
_FRENCH_REPEAT = frozenset({"BIS", "TER", "QUATER"})
_UNIT_ATTACHED = re.compile(r"^(APT|STE|UNIT|RM|FL|BLDG|SUITE|FLAT)(\d+[A-Z]?)$")
_PO_BOX = re.compile(
    r"^(?:P ?O ?B(?:OX)?|POST OFFICE BOX|POST BOX|BOX|P ?O ?DRAWER|DRAWER) ?(?:# )?([A-Z]?\d[\w-]*) ?(.*)$"
)
_RURAL = re.compile(
    r"^(RR|R R|RURAL ROUTE|RURAL RTE|RT|RTE|HC|HCR|HIGHWAY CONTRACT|STAR ROUTE) ?(\d+) BOX ?(?:# )?([\w-]+) ?(.*)$"
)
_RURAL_ROUTE = {"HC": "HC", "HCR": "HC", "HIGHWAY CONTRACT": "HC", "STAR ROUTE": "HC"}
# Publication 28 section 232: highways keep their number and are written out in full.
HIGHWAYS = {
    ("COUNTY", "ROAD"): "COUNTY ROAD",
    ("COUNTY", "RD"): "COUNTY ROAD",
    ("CO", "RD"): "COUNTY ROAD",
    ("CR",): "COUNTY ROAD",
    ("COUNTY", "HIGHWAY"): "COUNTY HIGHWAY",
    ("COUNTY", "HWY"): "COUNTY HIGHWAY",
    ("CO", "HWY"): "COUNTY HIGHWAY",
    ("STATE", "ROUTE"): "STATE ROUTE",
    ("STATE", "RTE"): "STATE ROUTE",
    ("SR",): "STATE ROUTE",
    ("STATE", "ROAD"): "STATE ROAD",
    ("STATE", "RD"): "STATE ROAD",
    ("STATE", "HIGHWAY"): "STATE HIGHWAY",
    ("STATE", "HWY"): "STATE HIGHWAY",
    ("US", "HIGHWAY"): "US HIGHWAY",
    ("US", "HWY"): "US HIGHWAY",
    ("US",): "US HIGHWAY",
    ("HIGHWAY",): "HIGHWAY",
    ("HWY",): "HIGHWAY",
    ("ROUTE",): "ROUTE",
    ("RTE",): "ROUTE",
    ("INTERSTATE",): "INTERSTATE",
    ("FM",): "FM",
    ("FARM", "TO", "MARKET", "ROAD"): "FM",
    ("RANCH", "ROAD"): "RANCH ROAD",
}
_ORDINAL_WORDS = {
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
    "eleventh": "11th",
    "twelfth": "12th",
    "thirteenth": "13th",
    "fourteenth": "14th",
    "fifteenth": "15th",
    "sixteenth": "16th",
    "seventeenth": "17th",
    "eighteenth": "18th",
    "nineteenth": "19th",
    "twentieth": "20th",
    "saint": "st",
}
_LOWER_PARTICLES = frozenset({"de", "la", "le", "les", "du", "des", "d", "l", "von", "der", "den", "van", "di", "da"})
_GERMAN_STREET = re.compile(r"(?:strasse|str)$")
_FIRST_LETTERS = re.compile(r"(?<![^\W_])[^\W\d_]")  # a letter at the start or after a non-letter, non-digit
_NOT_KEY = re.compile(r"[\W_]")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
_SPECIAL_STARTS = frozenset(
    {"P", "PO", "POB", "POBOX", "POST", "BOX", "DRAWER", "RR", "R", "RURAL", "RT", "RTE", "HC", "HCR", "HIGHWAY"}
    | {"STAR"}
)


class LineParts(NamedTuple):
    """A parsed address line. Parts are upper-case standard forms (`N`, `ST`, `APT 4`), but
    `street`, which is in display case ("Oak", "Martin Luther King Jr")."""

    clean: str | None
    key: str | None
    number: str | None = None
    pre_directional: str | None = None
    street: str | None = None
    street_type: str | None = None
    post_directional: str | None = None
    unit: str | None = None
    po_box: str | None = None
    flag: str | None = None


# ---------------------------------------------------------------- small helpers


@lru_cache(maxsize=1 << 16)
def _key_part(text: str) -> str:
    """Lower-case ASCII letters and digits; other scripts keep their letters."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))
    return _NOT_KEY.sub("", text.lower())


@lru_cache(maxsize=1 << 16)
def _title(word: str) -> str:
    """Proper case: a capital at the start and after an apostrophe or hyphen, not after a digit (3rd)."""
    return _FIRST_LETTERS.sub(lambda m: m.group(0).title(), word.lower())


def _shouting(text: str) -> bool:
    return text == text.upper() or text == text.lower()


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """(tokens as written, the same upper-case): commas and dots are spaces, `#` stands alone,
    a lone dash ("Unit 5 - 123 Main St") is dropped."""
    if "." in text:
        text = _DOTTED_DIRECTIONAL.sub(r"\1\2", text)
    split = [t for t in text.translate(_SEPARATORS).split() if t.strip("-")]
    last = len(split) - 1  # a pound sign with no number after it says nothing
    written = [t for i, t in enumerate(split) if t != "#" or (i < last and split[i + 1][0].isalnum())]
    return written, [t.upper() for t in written]


def _is_unit_id(token: str, tables: AddressTables) -> bool:
    """Can this token follow a designator as its number: 4, 4B, B, A1, 2ND (floor)?"""
    if not token[0].isalnum():
        return False
    if _DIGIT.search(token):
        return True
    if token in tables.units:
        return False
    return len(token) == 1 or (len(token) <= 3 and token not in tables.suffixes and token not in tables.directionals)


def _take_units(
    upper: list[str], designators: dict[str, Designator], tables: AddressTables
) -> tuple[list[int], list[tuple[str, str | None]]]:
    """(indices of the tokens that are not a unit, units as (designator, identifier)). Scanned
    again on what is left while that finds more, so a designator word left in the street never
    meets a number in the display form that it did not meet in the raw line."""
    kept, units = _scan_units(list(range(len(upper))), upper, designators, tables)
    while units and any(upper[i] in designators for i in kept):
        kept, more = _scan_units(kept, upper, designators, tables)
        if not more:
            break
        units += more
    return kept, units


def _scan_units(
    indices: list[int], upper: list[str], designators: dict[str, Designator], tables: AddressTables
) -> tuple[list[int], list[tuple[str, str | None]]]:
    kept: list[int] = []
    units: list[tuple[str, str | None]] = []
    n = len(indices)
    i = 0
    while i < n:
        token = upper[indices[i]]
        designator = designators.get(token)
        following = upper[indices[i + 1]] if i + 1 < n else None
        if designator is None:
            attached = _UNIT_ATTACHED.match(token) if i > 0 and token[0] in "ABFRSU" else None
            if attached and attached.group(1) in designators:
                units.append((designators[attached.group(1)].standard, attached.group(2)))
            elif token != "#":  # a pound sign with no number after it says nothing
                kept.append(indices[i])
            i += 1
            continue
        if following == "#" and token != "#" and i + 2 < n:  # "Apt #4"
            after = upper[indices[i + 2]]
            if _is_unit_id(after, tables) and (designator.requires_range or _DIGIT.search(after)):
                following = after
                i += 1
        if (
            following is not None
            and _is_unit_id(following, tables)
            and (designator.requires_range or _DIGIT.search(following))
        ):
            if designator.standard == "FL" and _ORDINAL.match(following):  # Floor 2nd
                following = following[:-2]
            units.append((designator.standard, following))
            i += 2
        elif not designator.requires_range and following is None and len(kept) >= 2:  # "12 Main St Rear"
            units.append((designator.standard, None))
            i += 1
        elif token in ("FLOOR", "FL", "FLR") and kept and _ORDINAL.match(upper[kept[-1]]):  # "2nd Floor"
            units.append(("FL", upper[kept.pop()][:-2]))
            i += 1
        elif token != "#":
            kept.append(indices[i])
            i += 1
        else:
            i += 1
    return kept, units


def _unit_text(units: list[tuple[str, str | None]]) -> tuple[str | None, str, str]:
    """(unit extra "APT 4", display "Apt 4", key "4") of the units found."""
    if not units:
        return None, "", ""
    extra = " ".join(d if ident is None else f"{d} {ident}" for d, ident in units)
    shown = " ".join((d if d == "#" else d.title()) + ("" if ident is None else f" {ident}") for d, ident in units)
    key = "-".join(_key_part(ident if ident is not None else d) for d, ident in units)
    return extra, shown, key


# ---------------------------------------------------------------- special lines


def _po_box_or_route(joined: str, value: str) -> LineParts | None:
    match = _PO_BOX.match(joined)
    if match:
        box, rest = match.group(1), match.group(2)
        clean = f"PO Box {box}" + (f" {_title(rest)}" if rest else "")
        return LineParts(clean, f"|pobox{_key_part(box)}{_key_part(rest)}|", po_box=box, street=_title(rest) or None)
    match = _RURAL.match(joined)
    if match:
        route = f"{_RURAL_ROUTE.get(match.group(1), 'RR')} {match.group(2)}"
        box, rest = match.group(3), match.group(4)
        clean = f"{route} Box {box}" + (f" {_title(rest)}" if rest else "")
        return LineParts(clean, f"|{_key_part(route)}box{_key_part(box)}{_key_part(rest)}|", street=route, po_box=box)
    return None


# ---------------------------------------------------------------- US and Canada


def _parse_usps(value: str, country: str, tables: AddressTables, depth: int = 0) -> LineParts:
    written, upper = _tokens(value)
    if not upper:
        return LineParts(value, None, flag=NO_TEXT_FLAG.format(value))
    special = _po_box_or_route(" ".join(upper), value) if upper[0] in _SPECIAL_STARTS else None
    if special is not None:
        return special
    kept, units = _take_units(upper, tables.units, tables)
    words = [upper[i] for i in kept]
    shown = [written[i] for i in kept]
    number = None
    if words and _NUMBER.match(words[0]) and not _ORDINAL.match(words[0]):
        number = words[0]
        if UNIT_BEFORE_NUMBER.get(country) == "-" and "-" in number and not units:  # Canadian "5-123"
            unit_id, number = number.split("-", 1)
            units.append(("UNIT", unit_id))
        del words[0], shown[0]
        if words and _FRACTION.match(words[0]):
            number = f"{number} {words[0]}"
            del words[0], shown[0]
    pre = post = street_type = None
    highway = HIGHWAYS.get(tuple(words[:-1])) if len(words) >= 2 and _DIGIT.search(words[-1]) else None
    if highway is not None:  # shown as Publication 28 writes it, in proper case: "County Road 12", "US Highway 1"
        words = [*highway.split(), words[-1]]
        shown = [w if w in ("US", "FM") else w.title() for w in words]
    else:
        # not "Avenue N", nor "... Rear N" (read back, that would be a unit)
        post_fits = (len(words) >= 3 or (len(words) == 2 and words[0] not in tables.suffixes)) and (
            len(words) >= 2 and words[-2] not in tables.units
        )
        if post_fits and words[-1] in tables.directionals:
            post = tables.directionals[words[-1]]
            del words[-1], shown[-1]
        if len(words) >= 2 and words[-1] in tables.suffixes:
            street_type = tables.suffixes[words[-1]]
            del words[-1], shown[-1]
        elif (
            len(words) >= 3 and words[-2] in tables.suffixes and _DIGIT.search(words[-1]) and post is None
        ):  # "12 Oak St 4": a bare number after the street type is the unit
            units.append(("#", words[-1]))
            street_type = tables.suffixes[words[-2]]
            del words[-2:], shown[-2:]
        if len(words) >= 2 and words[0] in tables.directionals:
            pre = tables.directionals[words[0]]
            del words[0], shown[0]
    unit, unit_shown, unit_key = _unit_text(units)
    title = _shouting(" ".join(shown))  # the name as written, not the parts rewritten in upper case
    street = " ".join(_title(w) if title and highway is None else w for w in shown) or None
    if street is None and street_type is not None:  # "12 Street": the type was the name
        street, street_type = street_type.title(), None
    display = [
        number or "",
        pre or "",
        street or "",
        street_type.title() if street_type else "",
        post or "",
        unit_shown,
    ]
    clean = " ".join(p for p in display if p)
    street_key = "".join(
        [
            _key_part(pre or ""),
            *(_ORDINAL_WORDS.get(k, k) for k in map(_key_part, words)),
            (street_type or "").lower(),
            (post or "").lower(),
        ]
    )
    number_key = (number or "").lower().replace(" ", "")
    flag = NO_STREET_FLAG.format(value) if not _LETTER.search(value) and not unit else None
    key = f"{number_key}|{street_key}|{unit_key}" if (number_key or street_key or unit_key) else None
    read_again = words and (words[0] in _SPECIAL_STARTS or any(w in tables.units for w in words))
    if depth < 3 and read_again and clean != value:
        # A designator word kept in the street ("Apt" in "#0 Apt", "Box" in "#0 Box") may meet the
        # unit in the display form and be read with it: read the display form until it stays as it is.
        return _parse_usps(clean, country, tables, depth + 1)
    return LineParts(clean or value, key, number, pre, street, street_type, post, unit, None, flag)


# ---------------------------------------------------------------- other countries


def _display_other(value: str) -> str:
    text = re.sub(r"\s*,\s*", ", ", value).strip(", ") or value
    if not _shouting(text):
        return text
    words = text.split(" ")
    return " ".join(w.lower() if i and w.lower() in _LOWER_PARTICLES else _title(w) for i, w in enumerate(words))


def _parse_other(value: str, country: str, tables: AddressTables) -> LineParts:
    written, upper = _tokens(value)
    if not upper:
        return LineParts(value, None, flag=NO_TEXT_FLAG.format(value))
    if country in ENGLISH_COUNTRIES and upper[0] in _SPECIAL_STARTS:
        special = _po_box_or_route(" ".join(upper), value)
        if special is not None:
            return special._replace(clean=_display_other(value))
    kept, units = _take_units(upper, tables.units_outside_us, tables)
    words = [upper[i] for i in kept]
    shown = [written[i] for i in kept]
    number = None
    if words and UNIT_BEFORE_NUMBER.get(country) == "/" and "/" in words[0]:
        unit_id, _, civic = words[0].partition("/")
        if civic and _OTHER_NUMBER.match(civic):
            words[0] = shown[0] = civic
            units.append(("UNIT", unit_id))
    if units and units[-1][1] and "/" in (units[-1][1] or "") and country in ("AU", "NZ"):  # "Unit 3/45 Smith St"
        designator, ident = units.pop()
        unit_id, _, civic = (ident or "").partition("/")
        units.append((designator, unit_id))
        words.insert(0, civic)
        shown.insert(0, civic)
    if words and _OTHER_NUMBER.match(words[0]) and len(words) > 1:
        number = words[0]
        del words[0], shown[0]
        if words and words[0] in _FRENCH_REPEAT:
            number = f"{number} {words[0]}"
            del words[0], shown[0]
    elif words and _OTHER_NUMBER.match(words[-1]) and len(words) > 1:
        number = words[-1]
        del words[-1], shown[-1]
    unit, _unit_shown, unit_key = _unit_text(units)
    keys = [_key_part(w) for w in words]
    if country in GERMAN_COUNTRIES:
        keys = [_GERMAN_STREET.sub("strasse", k) for k in keys]
    elif country in ENGLISH_COUNTRIES and len(words) >= 2 and words[-1] in tables.suffixes:
        keys[-1] = tables.suffixes[words[-1]].lower()
    street_key = "".join(keys)
    title = _shouting(value)
    street = " ".join(_title(w) if title else w for w in shown) or None
    number_key = (number or "").lower().replace(" ", "")
    flag = NO_STREET_FLAG.format(value) if not _LETTER.search(value) and not unit else None
    key = f"{number_key}|{street_key}|{unit_key}" if (number_key or street_key or unit_key) else None
    return LineParts(_display_other(value), key, number, None, street, None, None, unit, None, flag)


def parse_address_line(value: str, country: str | None, tables: AddressTables) -> LineParts:
    """Parse one tidied line (no leading, trailing or double spaces) of the given country."""
    if (country or "US") in USPS_COUNTRIES:
        return _parse_usps(value, country or "US", tables)
    return _parse_other(value, country or "", tables)

"""Name vocabulary (honorifics, suffixes, particles) and display casing of name tokens."""

from __future__ import annotations

import re

# folded spelling -> display form
HONORIFICS = {
    "mr": "Mr",
    "mister": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "doctor": "Dr",
    "prof": "Prof",
    "professor": "Prof",
    "rev": "Rev",
    "revd": "Rev",
    "reverend": "Rev",
    "fr": "Fr",
    "sir": "Sir",
    "dame": "Dame",
    "lady": "Lady",
    "lord": "Lord",
    "herr": "Herr",
    "frau": "Frau",
    "fraulein": "Fräulein",
    "mme": "Mme",
    "madame": "Mme",
    "mlle": "Mlle",
    "mademoiselle": "Mlle",
    "m": "M",
    "monsieur": "M",
    "sr": "Sr",
    "sra": "Sra",
    "srta": "Srta",
    "don": "Don",
    "dona": "Doña",
    "dott": "Dott",
    "sig": "Sig",
    "hon": "Hon",
    "capt": "Capt",
    "col": "Col",
    "gen": "Gen",
    "lt": "Lt",
    "sgt": "Sgt",
    "rabbi": "Rabbi",
    "imam": "Imam",
    "sheikh": "Sheikh",
    "shaikh": "Sheikh",
}
# Honorifics that are also given names or suffixes: only taken as titles when written with a
# dot or followed by more of the name (never the last word left).
AMBIGUOUS_HONORIFICS = {"m", "sr", "don", "lady", "lord", "dame", "sir", "hon", "col", "gen"}
SUFFIXES = {
    "jr": "Jr",
    "jnr": "Jr",
    "junior": "Jr",
    "sr": "Sr",
    "snr": "Sr",
    "senior": "Sr",
    "ii": "II",
    "iii": "III",
    "iv": "IV",
    "phd": "PhD",
    "md": "MD",
    "esq": "Esq",
    "dds": "DDS",
    "dmd": "DMD",
    "cpa": "CPA",
    "mba": "MBA",
    "jd": "JD",
    "rn": "RN",
    "qc": "QC",
    "kc": "KC",
    "obe": "OBE",
    "mbe": "MBE",
}
# Words that start a family name and attach it to what follows ("van der Berg", "bin Salman").
PARTICLES = {
    "van",
    "von",
    "de",
    "del",
    "della",
    "dei",
    "degli",
    "di",
    "da",
    "das",
    "dos",
    "do",
    "du",
    "la",
    "le",
    "les",
    "der",
    "den",
    "ter",
    "ten",
    "te",
    "het",
    "'t",
    "zu",
    "zur",
    "am",
    "im",
    "al",
    "el",
    "bin",
    "ben",
    "ibn",
    "bint",
    "ap",
    "av",
    "st",
    "ste",
    "y",
    "e",
    "vander",
    "vanden",
    "vom",
}
# Arabic article-like prefixes written with a hyphen, lower-case in a family name (al-Hassan).
_HYPHEN_PARTICLES = {"al", "el", "ul", "ad", "as", "ash", "at", "az", "an", "ar", "ibn", "bin", "abu"}
# "Mac" is a prefix only before these stems (MacArthur but Mack, Macey, Machado).
MAC_STEMS = {
    "allister",
    "alpine",
    "arthur",
    "aulay",
    "bean",
    "beth",
    "bride",
    "cabe",
    "callum",
    "carthy",
    "cormack",
    "crae",
    "culloch",
    "diarmid",
    "donald",
    "dougall",
    "dowell",
    "duff",
    "eachern",
    "ewan",
    "farlane",
    "gill",
    "gillivray",
    "gowan",
    "gregor",
    "guire",
    "innes",
    "intosh",
    "intyre",
    "iver",
    "kay",
    "kenna",
    "kenzie",
    "kinnon",
    "kinlay",
    "lachlan",
    "laren",
    "lean",
    "lellan",
    "lennan",
    "leod",
    "mahon",
    "millan",
    "namara",
    "naughton",
    "neil",
    "nicol",
    "pherson",
    "quarrie",
    "queen",
    "rae",
    "ritchie",
    "sween",
    "tavish",
    "vicar",
    "whirter",
}

_SEGMENT = re.compile(r"([\-'’])")


def plain(token: str) -> str:
    """A token as looked up in the tables above: lower-case, without dots and commas."""
    return token.replace(".", "").replace(",", "").lower()


def _cap(word: str) -> str:
    first = word[:1].upper()
    if len(first) != 1:  # ß -> SS would not read back the same
        first = word[:1]
    return first + word[1:].lower()


def _case_segment(segment: str) -> str:
    low = segment.lower()
    if low.startswith("mc") and len(low) > 2:
        return "Mc" + _cap(low[2:])
    if low.startswith("mac") and low[3:] in MAC_STEMS:
        return "Mac" + _cap(low[3:])
    return _cap(low)


def case_token(token: str, *, particle_lower: bool, family: bool = False) -> str:
    """Proper case of one all-upper or all-lower token: O'Brien, D'Angelo, McDonald,
    García-López, al-Hassan; particles lower-case where they do not start the full name."""
    low = token.lower()
    if particle_lower and low in PARTICLES:
        return low
    parts = _SEGMENT.split(token)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1 or not part:
            out.append(part)
            continue
        following = parts[i + 1] if i + 1 < len(parts) else ""
        if following == "-" and part.lower() in _HYPHEN_PARTICLES and i == 0 and family:
            out.append(part.lower())
        else:
            out.append(_case_segment(part))
    return "".join(out)


def display_case(value: str, *, family: bool) -> str:
    """Proper case for names written all upper or all lower; mixed case is kept as written."""
    if value != value.upper() and value != value.lower():
        return value
    tokens = value.split(" ")
    return " ".join(
        case_token(t, particle_lower=family and i < len(tokens) - 1, family=family) for i, t in enumerate(tokens)
    )

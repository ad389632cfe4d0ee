"""Which script a name is written in, and its romanisation for matching keys.

Chinese (Han characters without kana or hangul): pinyin from pypinyin (MIT) with the surname
readings of `dictionary/reference/chinese_surnames.csv` (pypinyin reads 单 as dan, 曾 as ceng).
Korean (hangul): Revised Romanization by anyascii (ISC), with the customary spellings of
common family names (김 Kim, 이 Lee, 박 Park) so that romanised records match. Japanese kana:
anyascii's Hepburn-like romaji. Japanese names in kanji only cannot be told from Chinese and
are read as Chinese; kanji mixed with kana are romanised character by character (Chinese
readings) and flagged. Every other script (Cyrillic, Greek, Arabic, Thai, ...) goes through
anyascii, character by character.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Literal

from anyascii import anyascii
from pypinyin import lazy_pinyin

from mdm.config.dictionary import DEFAULT_DICTIONARY

Script = Literal["latin", "han", "hangul", "kana", "other"]
SURNAMES_CSV = DEFAULT_DICTIONARY.parent / "reference" / "chinese_surnames.csv"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")

# Customary spellings of common Korean family names (Revised Romanization would give Gim, I,
# Bak); compound family names are split off a whole name before its given name.
KOREAN_SURNAMES = {
    "김": "kim",
    "이": "lee",
    "박": "park",
    "최": "choi",
    "정": "jung",
    "강": "kang",
    "조": "cho",
    "윤": "yoon",
    "장": "jang",
    "임": "lim",
    "한": "han",
    "오": "oh",
    "서": "seo",
    "신": "shin",
    "권": "kwon",
    "황": "hwang",
    "안": "ahn",
    "송": "song",
    "류": "ryu",
    "유": "yoo",
    "홍": "hong",
    "전": "jeon",
    "고": "ko",
    "문": "moon",
    "양": "yang",
    "손": "son",
    "배": "bae",
    "백": "baek",
    "허": "heo",
    "노": "noh",
    "남": "nam",
    "심": "shim",
    "곽": "kwak",
    "성": "sung",
    "차": "cha",
    "주": "joo",
    "우": "woo",
    "구": "koo",
    "진": "jin",
    "엄": "um",
    "채": "chae",
    "천": "chun",
    "변": "byun",
    "추": "choo",
    "석": "seok",
    "선": "sun",
    "설": "seol",
    "제갈": "jegal",
    "남궁": "namgung",
    "황보": "hwangbo",
    "선우": "sunwoo",
    "독고": "dokgo",
    "사공": "sagong",
    "서문": "seomun",
}


def script_of(text: str) -> Script:
    if _HANGUL.search(text):
        return "hangul"
    if _KANA.search(text):
        return "kana"
    if _HAN.search(text):
        return "han"
    if _NON_LATIN_LETTER.search(text):
        return "other"
    return "latin"


@cache
def chinese_surnames() -> dict[str, str]:
    """surname (simplified or traditional, 1 or 2 characters) -> pinyin."""
    with Path(SURNAMES_CSV).open(encoding="utf-8", newline="") as fh:
        return {row["surname"]: row["pinyin"] for row in csv.DictReader(fh)}


def compound_surname_length(text: str, script: Script) -> int:
    """How many leading characters of a name written without spaces are its family name."""
    table = chinese_surnames() if script == "han" else KOREAN_SURNAMES
    return 2 if len(text) > 2 and text[:2] in table else 1


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, errors=lambda chars: anyascii(chars)))


def romanise(text: str, script: Script, *, family: bool) -> str:
    """Romanisation of one name part, lower-case words joined without spaces per word.

    A family name has its surname reading: the whole part if it is in the surname table, else
    its leading one or two characters."""
    words = text.split()
    out = []
    for word in words:
        if script == "han":
            table = chinese_surnames()
            head = word if word in table else word[:2] if word[:2] in table else word[:1]
            if family and head in table:
                out.append(table[head] + _pinyin(word[len(head) :]))
            else:
                out.append(_pinyin(word))
        elif script == "hangul":
            head = word if word in KOREAN_SURNAMES else word[:2] if word[:2] in KOREAN_SURNAMES else word[:1]
            if family and head in KOREAN_SURNAMES:
                out.append(KOREAN_SURNAMES[head] + anyascii(word[len(head) :]).lower())
            else:
                out.append(anyascii(word).lower())
        else:
            out.append(anyascii(word).lower())
    return " ".join(out)

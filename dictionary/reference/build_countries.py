"""Regenerate countries.csv from pycountry (Debian iso-codes data, LGPL-2.1-or-later) plus the
hand-written synonyms below (CC0). Not run by the product, and pycountry is not a dependency of it:

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install pycountry
    /tmp/refvenv/bin/python dictionary/reference/build_countries.py

Columns: alpha2, alpha3, numeric, name, synonyms. `synonyms` is `|`-separated and lower-case:
pycountry's official and common names, then the spellings below. The script stops if any spelling
(compared the way the product compares them: case-folded, accents stripped) would name two countries.
"""

import csv
import sys
import unicodedata
from pathlib import Path

import pycountry

# Spellings a source system may hold, per ISO alpha-2 code. Lower-case; order is kept.
SYNONYMS = {
    # North America
    "US": "usa|u.s.a.|u.s.a|u.s.|us of a|united states of america|america|the united states"
          "|vereinigte staaten|vereinigte staaten von amerika|estados unidos|estados unidos de américa"
          "|états-unis|etats-unis|美国|美國|アメリカ",
    "CA": "canada|kanada|加拿大",
    "MX": "mexico|méxico|mexiko|mexique|estados unidos mexicanos|墨西哥",
    "PR": "puerto rico",
    # Europe
    "GB": "uk|u.k.|great britain|britain|england|scotland|wales|northern ireland|united kingdom"
          "|grossbritannien|großbritannien|vereinigtes königreich|royaume-uni|reino unido|英国|イギリス",
    "DE": "deutschland|germany|allemagne|alemania|germania|brd|ger|bundesrepublik deutschland|德国|ドイツ",
    "FR": "france|frankreich|francia|république française|法国|フランス",
    "ES": "spain|españa|espana|spanien|espagne|西班牙",
    "IT": "italy|italia|italien|italie|意大利",
    "NL": "netherlands|the netherlands|holland|nederland|niederlande|pays-bas|países bajos|荷兰",
    "BE": "belgium|belgië|belgique|belgien",
    "LU": "luxemburg|lëtzebuerg",
    "IE": "ireland|eire|éire|republic of ireland|irland",
    "CH": "switzerland|schweiz|suisse|svizzera|swiss confederation|瑞士",
    "AT": "austria|österreich|oesterreich|autriche",
    "SE": "sweden|sverige|schweden|suède",
    "NO": "norway|norge|norwegen|norvège",
    "DK": "denmark|danmark|dänemark|danemark",
    "FI": "finland|suomi|finnland|finlande",
    "IS": "iceland|ísland|island",
    "PL": "poland|polska|polen|pologne",
    "PT": "portugal",
    "GR": "greece|ελλάδα|hellas|griechenland|grèce",
    "CZ": "czech republic|czechia|česko|česká republika|tschechien",
    "SK": "slovakia|slovensko|slowakei",
    "HU": "hungary|magyarország|ungarn",
    "RO": "romania|românia|rumänien",
    "HR": "croatia|hrvatska|kroatien",
    "MK": "macedonia|fyrom|former yugoslav republic of macedonia",
    "UA": "ukraine|україна",
    "RU": "russia|russian federation|россия|российская федерация|russland|俄罗斯",
    "TR": "turkey|türkiye|turkiye|türkei|republic of turkey",
    "VA": "vatican|vatican city|vatican city state|holy see",
    # Asia and Oceania
    "CN": "china|prc|p.r.c.|p.r. china|people's republic of china|中国|中华人民共和国|中國|chine",
    "JP": "japan|日本|nippon|nihon|japon",
    "KR": "south korea|korea|republic of korea|korea, south|대한민국|한국|韩国|韓國|rok",
    "KP": "north korea|dprk|korea, north",
    "TW": "taiwan|台湾|臺灣|republic of china|roc|chinese taipei",
    "HK": "hong kong|香港|hongkong|hk sar|hong kong sar",
    "MO": "macau|macao|澳门|澳門",
    "SG": "singapore|新加坡",
    "IN": "india|bharat|भारत|印度",
    "PH": "philippines|pilipinas|菲律宾",
    "VN": "vietnam|viet nam|việt nam|越南",
    "TH": "thailand|ประเทศไทย|泰国",
    "MY": "malaysia|马来西亚",
    "ID": "indonesia",
    "MM": "burma",
    "BN": "brunei",
    "TL": "east timor",
    "AU": "australia|aussie|澳大利亚",
    "NZ": "new zealand|aotearoa|新西兰",
    "FM": "micronesia",
    # Middle East and Africa
    "IL": "israel|ישראל",
    "PS": "palestine",
    "AE": "uae|u.a.e.|emirates|united arab emirates",
    "SA": "saudi arabia|ksa|saudi",
    "EG": "egypt|مصر|ägypten|égypte",
    "ZA": "south africa|rsa|suid-afrika",
    "CI": "ivory coast|cote d'ivoire",
    "CV": "cape verde",
    "SZ": "swaziland",
    "CD": "dr congo|drc|democratic republic of the congo|congo-kinshasa|zaire",
    "CG": "republic of the congo|congo-brazzaville",
    "GM": "the gambia",
    # South America and the Caribbean
    "BR": "brazil|brasil|brasilien|巴西",
    "AR": "argentina",
    "CO": "colombia",
    "CL": "chile",
    "PE": "peru|perú",
    "BS": "the bahamas",
    "VG": "bvi",
    "VI": "us virgin islands|u.s. virgin islands|usvi",
    "KN": "st kitts and nevis|st. kitts and nevis|st kitts|st. kitts",
    "LC": "st lucia|st. lucia",
    "VC": "st vincent and the grenadines|st. vincent and the grenadines|st vincent|st. vincent",
    "MF": "saint martin|saint-martin|st. martin",
    "SX": "sint maarten|st. maarten",
    "FK": "falkland islands|falklands|islas malvinas",
    "SH": "saint helena|st helena|st. helena",
}


def fold(text: str) -> str:
    """Same as mdm.config.dictionary.fold (copied so this script needs only pycountry)."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def main(out: Path) -> None:
    unknown = set(SYNONYMS) - {c.alpha_2 for c in pycountry.countries}
    if unknown:
        raise SystemExit(f"synonyms for codes pycountry does not know: {sorted(unknown)}")
    seen: dict[str, str] = {}
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        spellings = [getattr(c, "official_name", ""), getattr(c, "common_name", "")]
        spellings += SYNONYMS.get(c.alpha_2, "").split("|")
        unique: list[str] = []
        for s in spellings:
            s = s.strip().lower()
            if "|" in s:
                raise SystemExit(f"{c.alpha_2}: spelling {s!r} contains the separator")
            if s and s not in unique and s != c.name.lower():
                unique.append(s)
        for s in [c.alpha_2, c.alpha_3, c.name, *unique]:
            key = fold(s)
            if seen.get(key, c.alpha_2) != c.alpha_2:
                raise SystemExit(f"{s!r} would name both {seen[key]} and {c.alpha_2}")
            seen[key] = c.alpha_2
        rows.append([c.alpha_2, c.alpha_3, c.numeric, c.name, "|".join(unique)])
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["alpha2", "alpha3", "numeric", "name", "synonyms"])
        writer.writerows(rows)
    print(f"{out}: {len(rows)} countries from pycountry {pycountry_version()}")


def pycountry_version() -> str:
    from importlib.metadata import version

    return version("pycountry")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("countries.csv"))

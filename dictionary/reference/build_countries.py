"""Regenerate countries.csv from pycountry (Debian iso-codes data, LGPL-2.1-or-later) plus the
hand-written synonyms below (CC0). Not run by the product:
    python3 -m venv /tmp/v && /tmp/v/bin/pip install pycountry && /tmp/v/bin/python build_countries.py
"""

import csv
import sys
from pathlib import Path

import pycountry

SYNONYMS = {
    "US": "usa|u.s.a.|u.s.|us of a|united states of america|america|vereinigte staaten|estados unidos|états-unis|etats-unis|美国|美國",
    "GB": "uk|u.k.|great britain|britain|england|scotland|wales|northern ireland|united kingdom|grossbritannien|großbritannien|royaume-uni|reino unido|英国",
    "DE": "deutschland|germany|allemagne|alemania|germania|brd|bundesrepublik deutschland|德国|ドイツ",
    "CN": "china|prc|p.r.c.|p.r. china|people's republic of china|中国|中华人民共和国|中國|chine",
    "CA": "canada|kanada|加拿大",
    "MX": "mexico|méxico|mexiko|mexique|墨西哥",
    "FR": "france|frankreich|francia|法国|république française",
    "ES": "spain|españa|espana|spanien|espagne|西班牙",
    "IT": "italy|italia|italien|italie|意大利",
    "NL": "netherlands|the netherlands|holland|nederland|niederlande|pays-bas|荷兰",
    "BE": "belgium|belgië|belgique|belgien",
    "JP": "japan|日本|nippon|nihon|japon",
    "KR": "south korea|korea|republic of korea|korea, south|대한민국|한국|韩国|韓國|rok",
    "KP": "north korea|dprk|korea, north",
    "TW": "taiwan|台湾|臺灣|republic of china|roc|chinese taipei",
    "HK": "hong kong|香港|hongkong|hk sar",
    "MO": "macau|macao|澳门|澳門",
    "SG": "singapore|新加坡",
    "IN": "india|bharat|भारत|印度",
    "AU": "australia|aussie|澳大利亚",
    "NZ": "new zealand|aotearoa|新西兰",
    "IE": "ireland|eire|éire|republic of ireland|irland",
    "CH": "switzerland|schweiz|suisse|svizzera|swiss confederation|瑞士",
    "AT": "austria|österreich|oesterreich|autriche",
    "BR": "brazil|brasil|brasilien|巴西",
    "RU": "russia|russian federation|россия|российская федерация|russland|俄罗斯",
    "SE": "sweden|sverige|schweden|suède",
    "NO": "norway|norge|norwegen|norvège",
    "DK": "denmark|danmark|dänemark|danemark",
    "FI": "finland|suomi|finnland|finlande",
    "PL": "poland|polska|polen|pologne",
    "PT": "portugal",
    "GR": "greece|ελλάδα|hellas|griechenland|grèce",
    "TR": "turkey|türkiye|turkiye|türkei",
    "IL": "israel|ישראל",
    "AE": "uae|u.a.e.|emirates|united arab emirates",
    "SA": "saudi arabia|ksa|saudi",
    "ZA": "south africa|rsa|suid-afrika",
    "PH": "philippines|pilipinas|菲律宾",
    "VN": "vietnam|viet nam|việt nam|越南",
    "TH": "thailand|ประเทศไทย|泰国",
    "MY": "malaysia|马来西亚",
    "ID": "indonesia",
    "AR": "argentina",
    "CO": "colombia",
    "CL": "chile",
    "PE": "peru|perú",
    "PR": "puerto rico",
    "CZ": "czech republic|czechia|česko|tschechien",
    "UA": "ukraine|україна",
}


def main(out: Path) -> None:
    seen: dict[str, str] = {}
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        spellings = [c.name, getattr(c, "official_name", ""), getattr(c, "common_name", "")]
        spellings += SYNONYMS.get(c.alpha_2, "").split("|")
        unique = []
        for s in spellings:
            s = s.strip().lower()
            if s and s not in unique and s != c.name.lower():
                unique.append(s)
        for s in [c.alpha_2.lower(), c.alpha_3.lower(), c.name.lower(), *unique]:
            if seen.get(s, c.alpha_2) != c.alpha_2:
                raise SystemExit(f"{s!r} would name both {seen[s]} and {c.alpha_2}")
            seen[s] = c.alpha_2
        rows.append([c.alpha_2, c.alpha_3, c.numeric, c.name, "|".join(unique)])
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["alpha2", "alpha3", "numeric", "name", "synonyms"])
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("countries.csv"))

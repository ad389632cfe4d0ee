"""Sample generator: four messy source systems of one fictional US hospital-membership
organisation, plus the ground truth saying which records are the same person.

    python -m mdm.sample.generator --out data/sample                 # the bundled sample
    python -m mdm.sample.generator --out /tmp/big --people 1000000   # benchmark volume

Defaults: seed 20261122, n_people 1200, as_of 2026-11-01 (about 2,700 rows in all).
Same seed and parameters => byte-identical files: one random.Random(seed), no clock, no
dependence on set or hash order. Rows are produced in blocks of 20,000 people, shuffled within
the block and streamed out, so memory stays flat (300,000 people take well under a minute).

Shape of the data (every rate below is a constant in this module):

People (n_people)
  - Names by rank weight (weight = rank ** -0.5, so Smith, Johnson, James, Mary, Maria lead);
    15% of US family names come from a synthetic long tail, 1% carry particles (van der Berg,
    De La Cruz, O'Malley); 35% of names that have an accented form use it (José, García,
    Müller); 12% of Hispanic family names are compound (García-López). 70% have a middle name.
  - Ages 0-95 (adults triangular 18-95, mode 50; 4% of single people are minors).
  - 20% of people live in households of 2-5 (7.8% of units are households): shared address,
    landline (60% of households) and family name (30% of spouses keep their own). 15% of
    households with 2+ children have twins (same birth date, different given names); 25% of
    father-and-son households have a Jr/Sr pair with the same given and middle name.
  - 2% live abroad: Canada 35%, UK 25%, Germany 20%, China 20% of those (Chinese characters
    for the name in 70% of their web sign-ups); the first four units of a run are one each from
    CA, GB, DE and CN, so that even small samples have them.
  - E-mail: 90% of adults (50% of teens, 60% over 80), 10% of spouses share the household's;
    mobile: 92% of adults, 60% of teens, 70% over 80. Minors without a mobile give the household landline
    or the parent's mobile.
  - History over the 4 years before as_of: households move 2%/month (60% within the city; the
    landline changes with every move to another city and half the others, 20% drop it),
    mobiles change 1%/month, e-mails 0.5%/month.
  - Phones: the city's real area codes, exchanges 200-999 without 555 and N11 (15% of mobiles
    keep another city's area code); +1 Canada, +44, +49, +86 (13x/15x/18x) mobiles and
    landlines that libphonenumber accepts as valid.

Records
  - Sources per person: 1: 30%, 2: 30%, 3: 25%, 4: 15%, drawn by weight crm 4, clinic 3,
    billing 2.5, web 2.5 (x4 for people abroad; people under 16 only in crm and clinic).
    5% of people appear twice in one source (a second record at another date).
  - Each record's date is triangular over the last 4 years (mode: as_of) and never before the
    birth date; it shows the address, phone and e-mail valid on that date, so old records
    carry old addresses.
  - Per record: nickname 12% (when one is known), typo in given name 4%, family name 4%,
    street 2%, city 1% (one substitution, transposition, deletion or doubled letter); accents
    dropped 50%; variant spelling of a particle/compound family name 35%; ALL CAPS (crm 4%,
    billing 30%, web 3%, clinic surnames 20%), lower case (web 6%); stray spaces 3%; suffix
    (Jr, III) shown 50%, title "Dr." (3% of adults) web 50%, crm 10%; birth date day/month swapped 2%,
    year digits swapped 1%, off by one day 1%; e-mail case 6%, padded 3%, gmail dots 5% and
    +tag 3%, domain typo 1.5% (gmial.com, hotmial.com, yaho.com); phone formats per source,
    extension 1.5%; ZIP+4 16%, leading zero lost from 4% of 0xxxx ZIPs (crm, clinic).
  - Record ids: crm C000001, billing 100001 (integer), web W-00001, clinic P10001, in file
    order with a gap of 1-19 numbers before 3% of them.
  - Missing: birth date crm 10%, billing 20%, web 35%, clinic 2%; e-mail crm 15%, billing 25%,
    web 1%, clinic 55%; phone crm 20%, billing 15%, web 40%, clinic 5%; address crm 4%,
    billing 2%, web zip 20%, clinic 5%.

Broken rows: each kind 0.125% of a source's rows, at least 2 (4 for bad_birth_date) in every
source whose format allows it; about 1% of rows in all at scale, ~2.7% at the default size.
  missing_id, duplicate_id_exact (whole row repeated), duplicate_id_conflict (a later row with
  another person's data reusing an id), ragged_row (csv: one field too many or three too few),
  bad_json (truncated line or trailing comma), not_object (JSON array), no_identity (names,
  e-mail, phones, birth date all empty), bad_birth_date (13/45/1980, 0000-00-00, 1900-01-01,
  a date after as_of), placeholder_phone (000-000-0000, 555-0100), bad_email (no "@").

truth.csv: source, record_id, row_number (1-based data row, every row), person_id,
household_id (empty for people living alone), broken (the tag above or empty),
address_is_current / phone_is_current / email_is_current: 1 if the underlying value equals the
person's value as of as_of (web: the zip stands for the address; phone: crm's first non-empty
of mobile_phone, home_phone; a phone counts when it is the person's mobile, the household
landline or, for a minor, the parent's mobile), 0 if outdated, empty if the record has none.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any, Generic, NamedTuple, TextIO, TypeVar

from mdm.sample import names as N

DEFAULT_SEED = 20261122
DEFAULT_PEOPLE = 1200
DEFAULT_AS_OF = date(2026, 11, 1)

BLOCK_PEOPLE = 20_000
HISTORY_DAYS = 1461  # 4 years
DAYS_PER_MONTH = 30.436875
MOVE_RATE, PHONE_RATE, EMAIL_RATE = 0.02, 0.01, 0.005  # per month
SAME_CITY_MOVE = 0.60
HOUSEHOLD_UNIT_SHARE = 0.078  # => ~20% of people in households of 2-5
FOREIGN_SHARE = 0.02
WITHIN_SOURCE_DUPLICATE = 0.05
BROKEN_RATE = 0.00125  # per kind and source
BROKEN_MIN = 2

SOURCES = ("crm", "billing", "web", "clinic")
FILES = {"crm": "crm.csv", "billing": "billing.sqlite", "web": "web_signups.jsonl", "clinic": "clinic.csv"}
COLUMNS: dict[str, tuple[str, ...]] = {
    "crm": (
        "customer_no",
        "first_name",
        "middle_initial",
        "last_name",
        "birth_date",
        "gender",
        "email",
        "mobile_phone",
        "home_phone",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip",
        "country",
        "updated_at",
        "member_since",
        "opt_out_email",
    ),
    "billing": (
        "account_id",
        "full_name",
        "dob",
        "phone",
        "email",
        "street",
        "city",
        "state",
        "postcode",
        "last_invoice_date",
        "plan",
    ),
    "web": ("signup_id", "name", "email", "phone", "birthday", "zip", "country", "created_at"),
    "clinic": (
        "patient_id",
        "first_name",
        "surname",
        "dob",
        "sex",
        "tel",
        "email",
        "street",
        "postcode",
        "town",
        "country",
        "last_visit",
    ),
}
IDENTITY: dict[str, tuple[str, ...]] = {
    "crm": ("first_name", "middle_initial", "last_name", "birth_date", "email", "mobile_phone", "home_phone"),
    "billing": ("full_name", "dob", "phone", "email"),
    "web": ("name", "email", "phone", "birthday"),
    "clinic": ("first_name", "surname", "dob", "tel", "email"),
}
DOB = {"crm": "birth_date", "billing": "dob", "web": "birthday", "clinic": "dob"}
PHONE = {"crm": "mobile_phone", "billing": "phone", "web": "phone", "clinic": "tel"}
STREET = {"crm": "address_line1", "clinic": "street"}  # where a ragged row splits
BROKEN_KINDS: dict[str, tuple[str, ...]] = {
    "crm": ("missing_id", "no_identity", "bad_birth_date", "placeholder_phone", "bad_email", "ragged_row"),
    "billing": ("missing_id", "no_identity", "bad_birth_date", "placeholder_phone", "bad_email"),
    "web": ("missing_id", "no_identity", "bad_birth_date", "placeholder_phone", "bad_email", "bad_json", "not_object"),
    "clinic": ("missing_id", "no_identity", "bad_birth_date", "placeholder_phone", "bad_email", "ragged_row"),
}
BAD_DATES = {  # "{y}" is the person's birth year; the fourth kind is a date after as_of
    "crm": ("13/45/{y}", "00/00/0000", "01/01/1900"),
    "billing": ("{y}-13-45", "0000-00-00", "1900-01-01"),
    "web": ("{y}-02-30", "0000-00-00", "1900-01-01"),
    "clinic": ("45.13.{y}", "00.00.0000", "01.01.1900"),
}
DATE_FORMATS = {"crm": "%m/%d/%Y", "billing": "%Y-%m-%d", "web": "%Y-%m-%d", "clinic": "%d.%m.%Y"}
TRUTH_COLUMNS = (
    "source",
    "record_id",
    "row_number",
    "person_id",
    "household_id",
    "broken",
    "address_is_current",
    "phone_is_current",
    "email_is_current",
)

T = TypeVar("T")


class Weighted(Generic[T]):
    """Fast weighted choice from fixed values (bisect on cumulative weights)."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        self.values: list[T] = []
        self.cum: list[float] = []
        total = 0.0
        for value, weight in pairs:
            total += weight
            self.values.append(value)
            self.cum.append(total)
        self.total = total

    def pick(self, rng: Random) -> T:
        return self.values[min(bisect(self.cum, rng.random() * self.total), len(self.values) - 1)]


def by_rank(values: Sequence[T]) -> Weighted[T]:
    return Weighted((v, (i + 1) ** -0.5) for i, v in enumerate(values))


# ---- text noise -----------------------------------------------------------------------------------

_FOLD: dict[str, str] = {}


def fold(text: str) -> str:
    """Drop diacritics: José -> Jose, Müller -> Muller."""
    if text.isascii():
        return text
    out = _FOLD.get(text)
    if out is None:
        out = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        out = out.replace("ß", "ss").replace("ø", "o").replace("\u2019", "'")
        _FOLD[text] = out
    return out


def translit(text: str) -> str:
    """German-style transliteration: Müller -> Mueller, Straße -> Strasse."""
    for a, b in N.TRANSLIT.items():
        text = text.replace(a, b)
    return fold(text)


def latin1(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return fold(text).encode("latin-1", "replace").decode("latin-1")


def typo(text: str, rng: Random) -> str:
    """One keyboard slip after the first letter: substitution, transposition, deletion, doubling."""
    n = len(text)
    if n < 3:
        return text
    i = rng.randrange(1, n)
    c = text[i]
    r = rng.random()
    if r < 0.4 and c.lower() in N.KEYBOARD:
        sub = rng.choice(N.KEYBOARD[c.lower()])
        return text[:i] + (sub.upper() if c.isupper() else sub) + text[i + 1 :]
    if r < 0.7 and i < n - 1 and text[i + 1] != c:
        return text[:i] + text[i + 1] + c + text[i + 2 :]
    if r < 0.9:
        return text[:i] + text[i + 1 :]
    return text[:i] + c + text[i:]


def family_variant(name: str, rng: Random) -> str:
    """How systems mangle compound, particle, apostrophe and Mc/Mac names."""
    if "-" in name:
        return rng.choice((name.replace("-", " "), name.split("-")[0], name.replace("-", "")))
    if " " in name:
        return rng.choice((name.replace(" ", ""), name.title(), name.split(" ")[-1], name.lower().capitalize()))
    if "'" in name:
        return rng.choice((name.replace("'", ""), name.replace("'", " "), name.replace("'", "\u2019")))
    if name.startswith("Mc") or name.startswith("Mac"):
        return rng.choice((name.capitalize(), name.replace("Mc", "Mc ", 1), name.replace("Mc", "Mac", 1)))
    return name


# ---- people ---------------------------------------------------------------------------------------


class Phone(NamedTuple):
    cc: str
    area: str
    sub: str


@dataclass(frozen=True, slots=True)
class Address:
    country: str
    city: N.City
    number: str
    predir: str
    street: str
    stype: str
    unit_kind: str
    unit: str
    postcode: str
    plus4: str


@dataclass(slots=True)
class Household:
    hid: str  # "" for people living alone
    country: str
    addresses: list[tuple[date, Address]]
    landlines: list[tuple[date, Phone | None]]


@dataclass(slots=True)
class Person:
    pid: str
    hh: Household
    gender: str  # M / F
    given: str
    middle: str
    family: str
    birth: date
    culture: str  # us, ca_fr, gb, de, cn
    cn_name: str = ""
    suffix: str = ""
    title: str = ""
    emails: list[tuple[date, str | None]] = field(default_factory=list)
    mobiles: list[tuple[date, Phone | None]] = field(default_factory=list)
    guardian: Person | None = None

    def age(self, on: date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


def digits(rng: Random, n: int, first: str = "0123456789") -> str:
    """n random digits, the first one of `first`."""
    return rng.choice(first) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def at(history: list[tuple[date, T]], day: date) -> T:
    for start, value in reversed(history):
        if start <= day:
            return value
    return history[0][1]


@dataclass(slots=True)
class Meta:
    person: Person
    address_cur: str
    phone_cur: str
    email_cur: str
    broken: str = ""


Row = list[Any]
Record = tuple[Row, Meta]


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()  # a web sign-up key left out of the JSON object altogether

US_PHONE_STYLES = (
    "({a}) {x}-{l}",
    "{a}-{x}-{l}",
    "{a}.{x}.{l}",
    "{a}{x}{l}",
    "+1 {a} {x} {l}",
    "+1-{a}-{x}-{l}",
    "1 ({a}) {x}-{l}",
    "{a} {x} {l}",
    "+1{a}{x}{l}",
    "1-{a}-{x}-{l}",
)
PHONE_STYLE_WEIGHTS = {
    "crm": ((0, 50), (1, 25), (2, 5), (3, 5), (4, 5), (7, 5), (6, 3), (9, 2)),
    "billing": ((3, 55), (1, 20), (0, 15), (8, 10)),
    "web": ((0, 25), (1, 20), (2, 12), (3, 15), (4, 10), (5, 5), (7, 8), (8, 5)),
    "clinic": ((7, 30), (1, 25), (0, 20), (4, 15), (2, 10)),
}
CROSS_CULTURE = {"US": "us", "CA": "ca", "GB": "gb", "DE": "de", "CN": "cn"}
FOREIGN = Weighted((("CA", 35), ("GB", 25), ("DE", 20), ("CN", 20)))
CITIES = {"US": N.US_CITIES, "CA": N.CA_CITIES, "GB": N.GB_CITIES, "DE": N.DE_CITIES, "CN": N.CN_CITIES}
SOURCE_WEIGHTS = {"crm": 4.0, "clinic": 3.0, "billing": 2.5, "web": 2.5}
UNIT_KINDS: Weighted[str] = Weighted((("Apt", 60), ("Unit", 20), ("Suite", 20)))
CN_MOBILE = tuple(f"1{a}{b}" for a in "358" for b in range(10) if (a, b) != ("5", 4))
CN_FAMILY_CHARS = {pinyin: chars for chars, pinyin in N.CN_FAMILY}
MISSING = {  # source -> (birth date, e-mail, phone, address)
    "crm": (0.10, 0.15, 0.20, 0.04),
    "billing": (0.20, 0.25, 0.15, 0.02),
    "web": (0.35, 0.01, 0.40, 0.20),
    "clinic": (0.02, 0.55, 0.05, 0.05),
}


class Generator:
    """All randomness flows through one Random; call order is the only state that matters."""

    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = Random(seed)
        self.as_of = as_of
        self.start = as_of - timedelta(days=HISTORY_DAYS)
        self.as_of_dt = datetime.combine(as_of, time())
        self.people_made = 0
        self.households_made = 0
        self.used: set[str] = set()  # e-mails and phones handed out (unique per person)
        self.male = by_rank(N.MALE_GIVEN)
        self.female = by_rank(N.FEMALE_GIVEN)
        self.family = by_rank(N.FAMILY)
        self.tail = list(dict.fromkeys(p + s for p in N.TAIL_PREFIXES for s in N.TAIL_SUFFIXES))
        self.hispanic = [f for f in N.FAMILY if f in N.HISPANIC_FAMILY]
        self.cities = {c: Weighted((city, city.weight) for city in cs) for c, cs in CITIES.items()}
        self.stypes = Weighted((t, w) for t, (w, _) in N.STREET_TYPES.items())
        self.stype_forms = {t: Weighted(forms) for t, (_, forms) in N.STREET_TYPES.items()}
        self.domains = {c: Weighted(d) for c, d in N.EMAIL_DOMAINS.items()}
        self.countries = {c: Weighted(s) for c, s in N.COUNTRY_SPELLINGS.items()}
        self.phone_styles = {s: Weighted(w) for s, w in PHONE_STYLE_WEIGHTS.items()}
        self.sizes = Weighted(((2, 45), (3, 25), (4, 20), (5, 10)))
        self.per_person = Weighted(((1, 30), (2, 30), (3, 25), (4, 15)))
        self.next_id = {"crm": 1, "billing": 100001, "web": 1, "clinic": 10001}
        self.render: dict[str, Callable[[Person, datetime], Record]] = {
            "crm": self.crm,
            "billing": self.billing,
            "web": self.web,
            "clinic": self.clinic,
        }

    # -- histories --

    def process(self, first: T, rate: float, make: Callable[[T], T]) -> list[tuple[date, T]]:
        """Value at the window start, then a change at each event of a Poisson process."""
        history = [(self.start, first)]
        t = 0.0
        while True:
            t += self.rng.expovariate(rate) * DAYS_PER_MONTH
            if t >= HISTORY_DAYS:
                return history
            history.append((self.start + timedelta(days=int(t)), make(history[-1][1])))

    def address(self, country: str, city: N.City | None = None) -> Address:
        rng = self.rng
        city = city or self.cities[country].pick(rng)
        number = str(
            int(10 ** rng.uniform(0.3, 4.0))
            if country in ("US", "CA")
            else rng.randint(1, 999 if country == "CN" else 150)
        )
        predir, stype, street = "", "", ""
        if country in ("US", "CA"):
            street, stype = rng.choice(N.STREETS), self.stypes.pick(rng)
            predir = rng.choice("NSEW") if rng.random() < 0.1 else ""
        elif country == "GB":
            street = rng.choice(N.GB_STREETS)
        elif country == "DE":
            street, stype = rng.choice(N.DE_STREETS), rng.choice(("straße", "straße", "weg", "allee"))
        else:
            street = rng.choice(N.CN_STREETS)
        unit_kind, unit = "", ""
        if rng.random() < 0.22 and country != "DE":
            unit_kind = UNIT_KINDS.pick(rng)
            unit = (
                str(rng.randint(100, 900))
                if unit_kind == "Suite"
                else rng.choice(
                    (str(rng.randint(1, 30)), f"{rng.randint(1, 12)}{rng.choice('ABCD')}", rng.choice("ABCDEF"))
                )
            )
        postcode, plus4 = self.postcode(country, city), ""
        if country == "US":
            plus4 = f"{rng.randint(1, 9999):04d}"
        return Address(country, city, number, predir, street, stype, unit_kind, unit, postcode, plus4)

    def postcode(self, country: str, city: N.City) -> str:
        rng = self.rng
        code = rng.choice(city.postcodes)
        if country == "US":
            return code
        if country in ("DE", "CN"):
            lo, hi = code.split("-")
            return f"{rng.randint(int(lo), int(hi)):0{len(lo)}d}"
        letters = "ABEHJLMNPRSTVWXYZ" if country == "CA" else "ABDEFGHJLNPQRSTUWXYZ"
        inward = (
            f"{rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
            if country == "CA"
            else f"{rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        )
        return f"{code} {inward}"

    def move(self, old: Address) -> Address:
        if self.rng.random() < SAME_CITY_MOVE:
            return self.address(old.country, old.city)
        return self.address(old.country)

    def phone(self, country: str, city: N.City, mobile: bool) -> Phone:
        rng = self.rng
        while True:
            if country in ("US", "CA"):
                exchange = rng.randint(200, 999)
                if exchange == 555 or exchange % 100 == 11:
                    continue
                number = Phone("1", rng.choice(city.area_codes), f"{exchange}{rng.randint(0, 9999):04d}")
            elif country == "GB":  # national numbers have 10 digits
                area = f"7{rng.choice('45')}{rng.randint(10, 99)}" if mobile else city.area_codes[0]
                number = Phone("44", area, digits(rng, 10 - len(area), "378" if area == "20" else "234567"))
            elif country == "DE":
                area = rng.choice(("151", "152", "157", "160", "170", "171", "176")) if mobile else city.area_codes[0]
                number = Phone("49", area, digits(rng, 8 if area.startswith("15") else 7, "23456789"))
            else:
                number = (
                    Phone("86", rng.choice(CN_MOBILE), f"{rng.randint(0, 99999999):08d}")
                    if mobile
                    else Phone("86", city.area_codes[0], f"{rng.randint(20000000, 89999999)}")
                )
            key = f"+{number.cc}{number.area}{number.sub}"
            if key not in self.used:
                self.used.add(key)
                return number

    def household(self, hid: str, country: str, landline: float) -> Household:
        addresses = self.process(self.address(country), MOVE_RATE, self.move)
        landlines: list[tuple[date, Phone | None]] = []
        phone: Phone | None = None
        if self.rng.random() < landline:
            phone = self.phone(country, addresses[0][1].city, mobile=False)
        landlines.append((addresses[0][0], phone))
        for (day, addr), (_, prev) in zip(addresses[1:], addresses, strict=False):
            if phone is not None and (addr.city != prev.city or self.rng.random() < 0.5):
                phone = None if self.rng.random() < 0.2 else self.phone(country, addr.city, mobile=False)
                landlines.append((day, phone))
        return Household(hid, country, addresses, landlines)

    # -- names --

    def family_name(self, culture: str) -> str:
        rng = self.rng
        if culture == "de":
            return rng.choice(N.DE_FAMILY)
        if culture == "ca_fr":
            return rng.choice(N.FR_CA_FAMILY)
        if culture == "gb":
            return rng.choice(N.GB_FAMILY)
        r = rng.random()
        name = (
            rng.choice(self.tail) if r < 0.15 else rng.choice(N.PARTICLE_FAMILY) if r < 0.16 else self.family.pick(rng)
        )
        if name in N.HISPANIC_FAMILY and rng.random() < 0.12:
            other = rng.choice(self.hispanic)
            if other != name:
                name = f"{self.accent(name)}-{self.accent(other)}"
        return self.accent(name)

    def accent(self, name: str) -> str:
        return N.ACCENTED[name] if name in N.ACCENTED and self.rng.random() < 0.35 else name

    def given_name(self, culture: str, gender: str) -> str:
        rng = self.rng
        if culture == "de":
            return rng.choice(N.DE_MALE if gender == "M" else N.DE_FEMALE)
        if culture == "ca_fr":
            return rng.choice(N.FR_CA_MALE if gender == "M" else N.FR_CA_FEMALE)
        return self.accent((self.male if gender == "M" else self.female).pick(rng))

    def person(
        self, hh: Household, gender: str, age: float, family: str | None = None, culture: str | None = None
    ) -> Person:
        rng = self.rng
        self.people_made += 1
        culture = culture or self.culture(hh.country)
        birth = self.as_of - timedelta(days=max(1, int(age * 365.2425)))
        if culture == "cn":
            fam_cn, fam = (CN_FAMILY_CHARS[family], family) if family else rng.choice(N.CN_FAMILY)
            giv_cn, giv = rng.choice(N.CN_MALE if gender == "M" else N.CN_FEMALE)
            p = Person(f"person_{self.people_made:07d}", hh, gender, giv, "", fam, birth, culture, fam_cn + giv_cn)
        else:
            middle = ""
            if rng.random() < 0.7 and culture != "de":
                pool = N.MIDDLE_MALE if gender == "M" else N.MIDDLE_FEMALE
                middle = rng.choice(pool) if rng.random() < 0.8 else self.given_name("us", gender)
            p = Person(
                f"person_{self.people_made:07d}",
                hh,
                gender,
                self.given_name(culture, gender),
                middle,
                family or self.family_name(culture),
                birth,
                culture,
            )
        years = p.age(self.as_of)
        if years >= 28 and rng.random() < 0.03:
            p.title = "Dr."
        if gender == "M" and years >= 18 and rng.random() < 0.015:
            p.suffix = rng.choice(("Jr", "II", "III"))
        email_p = 0.0 if years < 13 else 0.5 if years < 18 else 0.6 if years > 80 else 0.9
        mobile_p = 0.0 if years < 12 else 0.6 if years < 18 else 0.7 if years > 80 else 0.92
        first_email = self.email(p) if rng.random() < email_p else None
        p.emails = self.process(first_email, EMAIL_RATE, lambda old: self.email(p) if old else None)
        first_city = hh.addresses[0][1].city
        if rng.random() >= 0.85 and hh.country == "US":  # a mobile kept from a previous city
            first_city = self.cities["US"].pick(rng)
        first_mobile = self.phone(hh.country, first_city, mobile=True) if rng.random() < mobile_p else None
        p.mobiles = self.process(
            first_mobile, PHONE_RATE, lambda old: self.phone(hh.country, first_city, True) if old else None
        )
        return p

    def culture(self, country: str) -> str:
        if country == "CA":
            return "ca_fr" if self.rng.random() < 0.3 else "us"
        return CROSS_CULTURE[country]

    def email(self, p: Person) -> str:
        rng = self.rng
        g = "".join(ch for ch in fold(p.given).lower() if ch.isalnum()) or "x"
        f = "".join(ch for ch in fold(p.family).lower() if ch.isalnum()) or "x"
        yy, n = f"{p.birth.year % 100:02d}", str(rng.randint(1, 999))
        local = rng.choice(
            (
                f"{g}.{f}",
                f"{g}{f}",
                f"{g[0]}{f}",
                f"{g}_{f}",
                f"{g}{f[0]}",
                f"{f}.{g}",
                f"{g}.{f}{yy}",
                f"{g}{f}{n}",
                f"{f}{g[0]}{n}",
                f"{g}{p.birth.year}",
            )
        )
        domain = rng.choice(N.COMPANY_DOMAINS) if rng.random() < 0.08 else self.domains[p.hh.country].pick(rng)
        address = f"{local}@{domain}"
        while address in self.used:
            address = f"{local}{rng.randint(1, 9999)}@{domain}"
        self.used.add(address)
        return address

    # -- population --

    def population(self, count: int) -> list[Person]:
        rng = self.rng
        people: list[Person] = []
        forced = ["CA", "GB", "DE", "CN"] if self.people_made == 0 else []  # even tiny samples have them
        while len(people) < count:
            left = count - len(people)
            country = forced.pop(0) if forced else "US" if rng.random() >= FOREIGN_SHARE else FOREIGN.pick(rng)
            if left >= 2 and rng.random() < HOUSEHOLD_UNIT_SHARE:
                people += self.family_unit(min(left, self.sizes.pick(rng)), country)
            else:
                hh = self.household("", country, landline=0.2)
                age = rng.uniform(0, 18) if rng.random() < 0.04 else rng.triangular(18, 95.99, 50)
                people.append(self.person(hh, rng.choice("MF"), age))
        return people

    def family_unit(self, size: int, country: str) -> list[Person]:
        rng = self.rng
        self.households_made += 1
        hh = self.household(f"household_{self.households_made:06d}", country, landline=0.6)
        culture = self.culture(country)
        head_age = rng.triangular(25, 85, 45)
        head = self.person(hh, rng.choice("MF"), head_age, culture=culture)
        members = [head]
        spouse: Person | None = None
        if size == 2 or rng.random() < 0.8:
            gender = ("F" if head.gender == "M" else "M") if rng.random() < 0.95 else head.gender
            family = head.family if rng.random() < 0.7 else None
            age = min(95.0, max(20.0, head_age + rng.gauss(0, 4)))
            spouse = self.person(hh, gender, age, family, culture=culture)
            members.append(spouse)
            if rng.random() < 0.1 and head.emails[0][1]:
                spouse.emails = head.emails
        twins = size - len(members) >= 2 and rng.random() < 0.15
        junior = head.gender == "M" and rng.random() < 0.25
        max_age = max(0.5, min(30.0, head_age - 18))
        first_child: Person | None = None
        while len(members) < size:
            family = head.family
            if (
                spouse
                and spouse.family != head.family
                and culture != "cn"
                and rng.random() < 0.15
                and " " not in head.family + spouse.family
                and "-" not in head.family + spouse.family
            ):
                family = f"{head.family}-{spouse.family}"
            twin_of = first_child if twins and len(members) == size - 1 else None
            age = (self.as_of - twin_of.birth).days / 365.2425 if twin_of else rng.uniform(0, max_age)
            child = self.person(hh, rng.choice("MF"), age, family, culture=culture)
            if twin_of is not None:
                child.birth, child.family = twin_of.birth, twin_of.family
                while child.given == twin_of.given:
                    child.given = self.given_name(culture, child.gender)
            if junior and child.gender == "M" and culture != "cn":
                junior = False
                child.given, child.middle, child.family, child.suffix = head.given, head.middle, head.family, "Jr"
                if rng.random() < 0.6:
                    head.suffix = "Sr"
            if child.age(self.as_of) < 18:
                child.guardian = head
            first_child = first_child or child
            members.append(child)
        return members

    # -- record parts --

    def when(self, p: Person) -> datetime:
        earliest = max(self.start, p.birth + timedelta(days=1))
        span = max(1.0, float((self.as_of - earliest).days))
        return (self.as_of_dt - timedelta(days=self.rng.triangular(0.0, span, 0.0))).replace(microsecond=0)

    def given_for(self, p: Person) -> str:
        rng = self.rng
        g = p.given
        nick = N.NICKNAMES.get(fold(g))
        if nick and rng.random() < 0.12:
            g = rng.choice(nick)
        if not g.isascii() and rng.random() < 0.5:
            g = fold(g)
        return typo(g, rng) if rng.random() < 0.04 else g

    def family_for(self, p: Person) -> str:
        rng = self.rng
        f = p.family
        if rng.random() < 0.35:
            f = family_variant(f, rng)
        if not f.isascii() and rng.random() < 0.5:
            f = translit(f) if rng.random() < 0.3 else fold(f)
        return typo(f, rng) if rng.random() < 0.04 else f

    def suffix_for(self, p: Person) -> str:
        return self.rng.choice(N.SUFFIX_FORMS[p.suffix]) if p.suffix and self.rng.random() < 0.5 else ""

    def dob(self, p: Person, src: str) -> str | None:
        rng = self.rng
        if rng.random() < MISSING[src][0]:
            return None
        b = p.birth
        r = rng.random()
        if r < 0.02 and b.day <= 12 and b.day != b.month:
            b = date(b.year, b.day, b.month)
        elif r < 0.03:
            y = str(b.year)
            swapped = int(y[:2] + y[3] + y[2])
            if 1900 < swapped < self.as_of.year and not (b.month == 2 and b.day == 29):
                b = b.replace(year=swapped)
        elif r < 0.04:
            b += timedelta(days=rng.choice((-1, 1)))
        if src == "crm":
            return f"{b.month}/{b.day}/{b.year}" if rng.random() < 0.12 else f"{b.month:02d}/{b.day:02d}/{b.year}"
        if src == "clinic":
            return f"{b.day:02d}.{b.month:02d}.{b.year}"
        return b.isoformat()

    def email_for(self, p: Person, day: date, src: str) -> tuple[str | None, str]:
        rng = self.rng
        e = at(p.emails, day)
        if e is None or rng.random() < MISSING[src][1]:
            return None, ""
        current = "1" if e == p.emails[-1][1] else "0"
        local, _, domain = e.partition("@")
        if domain == "gmail.com":
            r = rng.random()
            if r < 0.05:
                i = rng.randrange(1, len(local)) if len(local) > 1 else 1
                local = local.replace(".", "") if "." in local else local[:i] + "." + local[i:]
            elif r < 0.08:
                local = f"{local}+{rng.choice(N.PLUS_TAGS)}"
        if domain in N.DOMAIN_TYPOS and rng.random() < 0.015:
            domain = rng.choice(N.DOMAIN_TYPOS[domain])
        text = f"{local}@{domain}"
        r = rng.random()
        if r < 0.04:
            text = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()
        elif r < 0.06:
            text = text.upper()
        if rng.random() < 0.03:
            text = f" {text}" if rng.random() < 0.5 else f"{text}  "
        return text, current

    def contacts(self, p: Person, day: date) -> tuple[Phone | None, Phone | None]:
        """(mobile, landline) on a day; a minor without a mobile may give the parent's."""
        mobile = at(p.mobiles, day)
        if mobile is None and p.guardian is not None and self.rng.random() < 0.5:
            mobile = at(p.guardian.mobiles, day)
        return mobile, at(p.hh.landlines, day)

    def phone_current(self, p: Person, number: Phone | None) -> str:
        if number is None:
            return ""
        now = (p.mobiles[-1][1], p.hh.landlines[-1][1], p.guardian.mobiles[-1][1] if p.guardian else None)
        return "1" if number in now else "0"

    def phone_text(self, number: Phone, src: str) -> str:
        rng = self.rng
        if number.cc == "1":
            style = US_PHONE_STYLES[self.phone_styles[src].pick(rng)]
            text = style.format(a=number.area, x=number.sub[:3], l=number.sub[3:])
        else:
            sub = number.sub if len(number.sub) <= 6 else f"{number.sub[:-4]} {number.sub[-4:]}"
            r = rng.random()
            if r < 0.45:
                text = f"+{number.cc} {number.area} {sub}"
            elif r < 0.65:
                text = f"+{number.cc}{number.area}{number.sub}"
            elif r < 0.85:
                trunk = "" if number.cc == "86" and len(number.area) == 3 and number.area[0] == "1" else "0"
                text = f"{trunk}{number.area} {sub}"
            else:
                text = f"00{number.cc} {number.area} {number.sub}"
        if rng.random() < 0.015:
            text += rng.choice((" ext. ", " x", " ext ", " #")) + str(rng.randint(1, 999))
        return text

    def street_for(self, a: Address) -> tuple[str, str]:
        """(line 1, unit) as one system would print them."""
        rng = self.rng
        if a.country in ("US", "CA"):
            street = a.street
            if street in N.NUMBER_WORDS and rng.random() < 0.2:
                street = N.NUMBER_WORDS[street]
            elif rng.random() < 0.02:
                street = typo(street, rng)
            predir = rng.choice(N.DIRECTIONS[a.predir]) + " " if a.predir else ""
            line = f"{a.number} {predir}{street} {self.stype_forms[a.stype].pick(rng)}"
        elif a.country == "GB":
            street = a.street
            if rng.random() < 0.3:
                street = street.replace(" Street", " St").replace(" Road", " Rd").replace(" Lane", " Ln")
            line = f"{a.number} {street}"
        elif a.country == "DE":
            kind = a.stype
            if kind == "straße":
                kind = rng.choice(("straße", "straße", "str.", "strasse"))
            line = f"{a.street}{kind} {a.number}"
        else:
            line = f"{a.number} {a.street} {rng.choice(('Road', 'Rd', 'Lu'))}"
        unit = rng.choice(N.UNIT_FORMS[a.unit_kind]).format(a.unit) if a.unit else ""
        return line, unit

    def city_for(self, a: Address) -> str:
        rng = self.rng
        name = a.city.name
        r = rng.random()
        if r < 0.06 and name in N.CITY_VARIANTS:
            name = rng.choice(N.CITY_VARIANTS[name])
        elif r < 0.10:
            name = name.upper()
        elif r < 0.11:
            name = typo(name, rng)
        return fold(name) if not name.isascii() and rng.random() < 0.4 else name

    def region_for(self, a: Address) -> str:
        rng = self.rng
        code = a.city.region
        if a.country != "US":
            return code if rng.random() < 0.6 else ""
        full, ap = N.STATES[code]
        r = rng.random()
        return code if r < 0.78 else full if r < 0.86 else ap if r < 0.90 else code.lower() if r < 0.94 else ""

    def postcode_for(self, a: Address, src: str) -> str:
        rng = self.rng
        code = a.postcode
        r = rng.random()
        if a.country == "US":
            if r < 0.14:
                return f"{code}-{a.plus4}"
            if r < 0.16:
                return code + a.plus4
            if r < 0.20 and code.startswith("0") and src in ("crm", "clinic"):
                return code[1:]
            return code
        if a.country in ("CA", "GB"):
            return code.replace(" ", "") if r < 0.25 else code.lower() if r < 0.32 else code
        if a.country == "DE" and r < 0.08:
            return "D-" + code
        return code

    def country_for(self, country: str, src: str) -> str:
        if country == "CN" and src == "web" and self.rng.random() < 0.15:
            return "中国"
        return self.countries[country].pick(self.rng)

    def pick_phone(self, p: Person, day: date, src: str) -> Phone | None:
        if self.rng.random() < MISSING[src][2]:
            return None
        mobile, landline = self.contacts(p, day)
        if mobile and landline:
            return mobile if self.rng.random() < 0.7 else landline
        return mobile or landline

    def names_case(self, values: list[str], upper: float, lower: float = 0.0) -> list[str]:
        r = self.rng.random()
        if r < upper:
            return [v.upper() for v in values]
        if r < upper + lower:
            return [v.lower() for v in values]
        if r < upper + lower + 0.03:
            i = self.rng.randrange(len(values))
            values = list(values)
            values[i] = self.rng.choice((" {}", "{} ", "{}  ")).format(values[i]) if values[i] else values[i]
        return values

    # -- one record per source --

    def crm(self, p: Person, when: datetime) -> Record:
        rng, day = self.rng, when.date()
        given, family = self.given_for(p), self.family_for(p)
        if p.culture == "cn" and rng.random() < 0.25:
            given, family = family, given
        middle = ""
        if p.middle and rng.random() < 0.8:
            r = rng.random()
            middle = p.middle if r < 0.1 else p.middle[0] + "." if r < 0.2 else p.middle[0]
        suffix = self.suffix_for(p)
        if suffix:
            family = f"{family} {suffix}" if rng.random() < 0.5 else f"{family}, {suffix}"
        if p.title and rng.random() < 0.1:
            given = f"{p.title} {given}"
        given, middle, family = self.names_case([given, middle, family], 0.04, 0.01)
        r = rng.random()
        gender = (
            p.gender
            if r < 0.70
            else {"M": "male", "F": "female"}[p.gender]
            if r < 0.80
            else {"M": "Male", "F": "Female"}[p.gender]
            if r < 0.90
            else ""
            if r < 0.97
            else rng.choice(("U", "unknown"))
        )
        email, email_cur = self.email_for(p, day, "crm")
        mobile, landline = self.contacts(p, day)
        mobile = mobile if rng.random() >= MISSING["crm"][2] else None
        landline = landline if rng.random() >= 0.3 else None
        primary = mobile or landline
        line1 = line2 = city = state = zip_ = ""
        addr_cur = ""
        if rng.random() >= MISSING["crm"][3]:
            a = at(p.hh.addresses, day)
            addr_cur = "1" if a == p.hh.addresses[-1][1] else "0"
            line1, unit = self.street_for(a)
            if unit and rng.random() < 0.15:
                line1, unit = f"{line1}{rng.choice((' ', ', '))}{unit}", ""
            line2, city, state, zip_ = unit, self.city_for(a), self.region_for(a), self.postcode_for(a, "crm")
        since = max(p.birth, day - timedelta(days=int(rng.triangular(0, 5500, 200))))
        row: Row = [
            None,
            given,
            middle,
            family,
            self.dob(p, "crm"),
            gender,
            email,
            self.phone_text(mobile, "crm") if mobile else None,
            self.phone_text(landline, "crm") if landline else None,
            line1,
            line2,
            city,
            state,
            zip_,
            self.country_for(p.hh.country, "crm"),
            when.strftime("%Y-%m-%d %H:%M:%S"),
            f"{since.month:02d}/{since.day:02d}/{since.year}",
            "Y" if rng.random() < 0.15 else "N" if rng.random() < 0.95 else "",
        ]
        return row, Meta(p, addr_cur, self.phone_current(p, primary), email_cur)

    def billing(self, p: Person, when: datetime) -> Record:
        rng, day = self.rng, when.date()
        given, family = self.given_for(p), self.family_for(p)
        middle = p.middle[0] if p.middle and rng.random() < 0.6 else ""
        suffix = self.suffix_for(p)
        if p.title and rng.random() < 0.05:
            given = f"{p.title} {given}"
        first = f"{given} {middle}" if middle else given
        last = f"{family} {suffix}" if suffix else family
        r = rng.random()
        full = f"{first} {last}" if r < 0.04 else f"{last},{first}" if r < 0.06 else f"{last}, {first}"
        full = self.names_case([full], 0.30)[0]
        phone = self.pick_phone(p, day, "billing")
        email, email_cur = self.email_for(p, day, "billing")
        street = city = state = postcode = ""
        addr_cur = ""
        if rng.random() >= MISSING["billing"][3]:
            a = at(p.hh.addresses, day)
            addr_cur = "1" if a == p.hh.addresses[-1][1] else "0"
            line1, unit = self.street_for(a)
            street = f"{line1} {unit}" if unit else line1
            if rng.random() < 0.3:
                street = street.upper()
            city, state, postcode = self.city_for(a), self.region_for(a), self.postcode_for(a, "billing")
        years = p.age(day)
        plan = (
            "Family"
            if p.hh.hid and rng.random() < 0.8
            else "Senior"
            if years >= 65
            else "Student"
            if years < 25
            else rng.choice(("Individual", "Individual", "Premium"))
        )
        row: Row = [
            None,
            full,
            self.dob(p, "billing"),
            self.phone_text(phone, "billing") if phone else None,
            email,
            street,
            city,
            state,
            postcode,
            day.isoformat(),
            plan,
        ]
        return row, Meta(p, addr_cur, self.phone_current(p, phone), email_cur)

    def web(self, p: Person, when: datetime) -> Record:
        rng, day = self.rng, when.date()
        if p.cn_name and rng.random() < 0.7:
            name = p.cn_name
        else:
            given, family = self.given_for(p), self.family_for(p)
            r = rng.random()
            middle = "" if not p.middle or r < 0.5 else p.middle[0] + rng.choice((".", "")) if r < 0.8 else p.middle
            suffix = self.suffix_for(p)
            title = (
                p.title
                if p.title and rng.random() < 0.5
                else (rng.choice(("Mr.", "Mrs.", "Ms.")) if rng.random() < 0.02 and p.age(day) >= 18 else "")
            )
            if title in ("Mrs.", "Ms.") and p.gender == "M" or title == "Mr." and p.gender == "F":
                title = ""
            if rng.random() < 0.03:
                name = f"{family}, {given}"
            else:
                name = " ".join(x for x in (title, given, middle, family, suffix) if x)
            name = self.names_case([name], 0.03, 0.06)[0]
        email, email_cur = self.email_for(p, day, "web")
        phone = self.pick_phone(p, day, "web")
        zip_: str | None = None
        addr_cur = ""
        if rng.random() >= MISSING["web"][3]:
            a = at(p.hh.addresses, day)
            addr_cur = "1" if a == p.hh.addresses[-1][1] else "0"
            zip_ = self.postcode_for(a, "web")
        country = self.country_for(p.hh.country, "web")
        row: Row = [
            None,
            name,
            email,
            self.phone_text(phone, "web") if phone else None,
            self.dob(p, "web"),
            zip_,
            country or None,
            when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ]
        return row, Meta(p, addr_cur, self.phone_current(p, phone), email_cur)

    def clinic(self, p: Person, when: datetime) -> Record:
        rng, day = self.rng, when.date()
        given, family = self.given_for(p), self.family_for(p)
        suffix = self.suffix_for(p)
        if suffix:
            family = f"{family} {suffix}"
        given, family = self.names_case([given, family], 0.02)
        if rng.random() < 0.20:
            family = family.upper()
        r = rng.random()
        sex = (
            p.gender
            if r < 0.60
            else p.gender.lower()
            if r < 0.70
            else ("W" if p.gender == "F" else "M")
            if r < 0.78
            else {"M": "Male", "F": "Female"}[p.gender]
            if r < 0.92
            else ""
            if r < 0.97
            else "unknown"
        )
        phone = self.pick_phone(p, day, "clinic")
        email, email_cur = self.email_for(p, day, "clinic")
        street = postcode = town = ""
        addr_cur = ""
        if rng.random() >= MISSING["clinic"][3]:
            a = at(p.hh.addresses, day)
            addr_cur = "1" if a == p.hh.addresses[-1][1] else "0"
            line1, unit = self.street_for(a)
            street = f"{line1}{rng.choice((', ', ' '))}{unit}" if unit else line1
            postcode, town = self.postcode_for(a, "clinic"), self.city_for(a)
        country = "" if p.hh.country == "US" and rng.random() < 0.6 else self.country_for(p.hh.country, "clinic")
        row: Row = [
            None,
            latin1(given),
            latin1(family),
            self.dob(p, "clinic"),
            sex,
            self.phone_text(phone, "clinic") if phone else None,
            email and latin1(email),
            latin1(street),
            postcode,
            latin1(town),
            latin1(country),
            f"{day:%d.%m.%Y}",
        ]
        return row, Meta(p, addr_cur, self.phone_current(p, phone), email_cur)

    # -- a block of people -> shuffled, partly broken rows per source --

    def sources_for(self, p: Person) -> list[str]:
        rng = self.rng
        pool = ["crm", "clinic"] if p.age(self.as_of) < 16 else ["crm", "clinic", "billing", "web"]
        weights = [SOURCE_WEIGHTS[s] * (4 if s == "web" and p.hh.country != "US" else 1) for s in pool]
        chosen: list[str] = []
        for _ in range(min(self.per_person.pick(rng), len(pool))):
            i = min(
                bisect([sum(weights[: k + 1]) for k in range(len(weights))], rng.random() * sum(weights)), len(pool) - 1
            )
            chosen.append(pool.pop(i))
            weights.pop(i)
        return chosen

    def block(self, people: list[Person], first: bool) -> dict[str, list[Record]]:
        rng = self.rng
        out: dict[str, list[Record]] = {s: [] for s in SOURCES}
        for p in people:
            sources = self.sources_for(p)
            if rng.random() < WITHIN_SOURCE_DUPLICATE:
                sources.append(rng.choice(sources))
            for src in sources:
                out[src].append(self.record(src, p))
        for src in SOURCES:
            self.break_rows(src, out[src], people, first)
        return out

    def record(self, src: str, p: Person) -> Record:
        row, meta = self.render[src](p, self.when(p))
        return [row[0]] + [self.blank(src) if v is None else v for v in row[1:]], meta

    def blank(self, src: str) -> Any:
        """How a source spells a missing value: billing NULL or '', web null, '' or no key."""
        if src == "billing":
            return None if self.rng.random() < 0.7 else ""
        if src == "web":
            r = self.rng.random()
            return None if r < 0.5 else OMIT if r < 0.8 else ""
        return None

    def break_rows(self, src: str, rows: list[Record], people: list[Person], first: bool) -> None:
        rng = self.rng
        rng.shuffle(rows)
        n_rows = len(rows)
        if not rows:
            return

        def count(kind: str) -> int:
            n = round(n_rows * BROKEN_RATE)
            return max(n, 4 if kind == "bad_birth_date" else BROKEN_MIN) if first else n

        plan = [(kind, k) for kind in BROKEN_KINDS[src] for k in range(count(kind))]
        for i, (kind, k) in zip(rng.sample(range(len(rows)), min(len(plan), len(rows))), plan, strict=False):
            self.spoil(src, *rows[i], kind, k)
        for row, meta in rows:
            row[0] = self.blank(src) if meta.broken == "missing_id" else self.new_id(src)
        adults = [p for p in people if p.age(self.as_of) >= 16] or people
        for kind in ("duplicate_id_exact", "duplicate_id_conflict"):
            for _ in range(count(kind)):
                for _attempt in range(100):
                    j = rng.randrange(len(rows))
                    if not rows[j][1].broken:
                        break
                else:
                    break
                row, meta = rows[j]
                if kind == "duplicate_id_exact":
                    twin: Record = (list(row), replace(meta, broken=kind))
                else:
                    other = rng.choice(adults)
                    twin = self.record(src, other)
                    twin[0][0] = row[0]
                    twin[1].broken = kind
                rows.insert(rng.randint(j + 1, len(rows)), twin)

    def new_id(self, src: str) -> str | int:
        n = self.next_id[src]
        self.next_id[src] = n + (1 if self.rng.random() >= 0.03 else self.rng.randint(2, 20))
        if src == "billing":
            return n
        return f"C{n:06d}" if src == "crm" else f"W-{n:05d}" if src == "web" else f"P{n:05d}"

    def spoil(self, src: str, row: Row, meta: Meta, kind: str, k: int) -> None:
        cols = COLUMNS[src]
        meta.broken = kind
        if kind == "no_identity":
            for c in IDENTITY[src]:
                row[cols.index(c)] = self.blank(src)
            meta.phone_cur = meta.email_cur = ""
        elif kind == "bad_birth_date":
            if k % 4 < 3:
                row[cols.index(DOB[src])] = BAD_DATES[src][k % 4].format(y=meta.person.birth.year)
            else:
                future = self.as_of + timedelta(days=self.rng.randint(30, 3000))
                row[cols.index(DOB[src])] = future.strftime(DATE_FORMATS[src])
        elif kind == "placeholder_phone":
            row[cols.index(PHONE[src])] = ("000-000-0000", "555-0100")[k % 2]
            meta.phone_cur = ""
        elif kind == "bad_email":
            i = cols.index("email")
            e = (
                (row[i] if isinstance(row[i], str) else "")
                or meta.person.emails[-1][1]
                or f"{fold(meta.person.given).lower()}.{fold(meta.person.family).lower()}@gmail.com"
            ).strip()
            row[i] = e.replace("@", "") if k % 2 == 0 else e.replace("@", " at ")
            meta.email_cur = ""


# ---- writing ------------------------------------------------------------------------------------


class Sinks:
    """The five output files, written block by block."""

    def __init__(self, out_dir: Path) -> None:
        src_dir = out_dir / "sources"
        src_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.crm = (src_dir / FILES["crm"]).open("w", encoding="utf-8-sig", newline="")
        self.clinic = (src_dir / FILES["clinic"]).open("w", encoding="latin-1", newline="")
        self.web = (src_dir / FILES["web"]).open("w", encoding="utf-8", newline="\n")
        self.crm_csv = csv.writer(self.crm, lineterminator="\r\n")
        self.clinic_csv = csv.writer(self.clinic, delimiter=";", lineterminator="\n")
        self.crm_csv.writerow(COLUMNS["crm"])
        self.clinic_csv.writerow(COLUMNS["clinic"])
        db = src_dir / FILES["billing"]
        for stale in (db, db.with_name(db.name + "-journal")):
            stale.unlink(missing_ok=True)
        self.db = sqlite3.connect(db)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute(
            "CREATE TABLE accounts (account_id INTEGER, full_name TEXT, dob TEXT, phone TEXT, "
            "email TEXT, street TEXT, city TEXT, state TEXT, postcode TEXT, "
            "last_invoice_date TEXT, plan TEXT)"
        )
        self.truth_parts = {s: (out_dir / f".truth-{s}.part").open("w", encoding="utf-8", newline="") for s in SOURCES}
        self.truth_csv = {s: csv.writer(f, lineterminator="\n") for s, f in self.truth_parts.items()}
        self.counts = dict.fromkeys(SOURCES, 0)
        self.spoiled = dict.fromkeys(("ragged_row", "bad_json"), 0)

    def write(self, src: str, rows: list[Record]) -> None:
        if src == "billing":
            self.db.executemany("INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?,?,?,?)", [r for r, _ in rows])
            self.db.commit()
        for row, meta in rows:
            if src == "crm":
                self.crm_csv.writerow(self.ragged(src, row, meta))
            elif src == "clinic":
                self.clinic_csv.writerow(self.ragged(src, row, meta))
            elif src == "web":
                self.web.write(self.json_line(row, meta) + "\n")
            self.counts[src] += 1
            p = meta.person
            record_id = row[0] if isinstance(row[0], (int, str)) else ""
            self.truth_csv[src].writerow(
                (
                    src,
                    record_id,
                    self.counts[src],
                    p.pid,
                    p.hh.hid,
                    meta.broken,
                    meta.address_cur,
                    meta.phone_cur,
                    meta.email_cur,
                )
            )

    def ragged(self, src: str, row: Row, meta: Meta) -> list[Any]:
        values = ["" if v is None else v for v in row]
        if meta.broken != "ragged_row":
            return values
        self.spoiled["ragged_row"] += 1
        if self.spoiled["ragged_row"] % 2:
            i = COLUMNS[src].index(STREET[src])
            line, _, unit = str(values[i]).partition(", ")
            return values[:i] + [line, unit] + values[i + 1 :]  # an unquoted comma split the street
        return values[:-3]  # a truncated export line

    def json_line(self, row: Row, meta: Meta) -> str:
        if meta.broken == "not_object":
            return json.dumps([None if v is OMIT else v for v in row], ensure_ascii=False)
        obj = {name: value for name, value in zip(COLUMNS["web"], row, strict=True) if value is not OMIT}
        line = json.dumps(obj, ensure_ascii=False)
        if meta.broken == "bad_json":
            self.spoiled["bad_json"] += 1
            return line[: len(line) * 2 // 3] if self.spoiled["bad_json"] % 2 else line[:-1] + ", }"
        return line

    def close(self) -> None:
        for f in (self.crm, self.clinic, self.web, *self.truth_parts.values()):
            f.close()
        self.db.close()
        with (self.out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(TRUTH_COLUMNS) + "\n")
            for src in SOURCES:
                part = self.out_dir / f".truth-{src}.part"
                with part.open(encoding="utf-8", newline="") as f:
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
                part.unlink()


def generate_sample(
    out_dir: Path, *, seed: int = DEFAULT_SEED, n_people: int = DEFAULT_PEOPLE, as_of: date = DEFAULT_AS_OF
) -> dict[str, int]:
    """Write out_dir/sources/{crm.csv,billing.sqlite,web_signups.jsonl,clinic.csv} and
    out_dir/truth.csv; return the number of data rows written per source."""
    if n_people < 1:
        raise ValueError("n_people must be at least 1")
    out_dir = Path(out_dir)
    gen = Generator(seed, as_of)
    sinks = Sinks(out_dir)
    try:
        done = 0
        while done < n_people:
            people = gen.population(min(BLOCK_PEOPLE, n_people - done))
            rows = gen.block(people, first=done == 0)
            for src in SOURCES:
                sinks.write(src, rows[src])
            done += len(people)
            del people, rows  # let the block go before the next one is built
    finally:
        sinks.close()
    return dict(sinks.counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the messy four-source sample and its truth.csv.")
    parser.add_argument("--out", type=Path, default=Path("data/sample"), help="output directory (default data/sample)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE, help=f"people (default {DEFAULT_PEOPLE})")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=DEFAULT_AS_OF,
        help=f"reference day, YYYY-MM-DD (default {DEFAULT_AS_OF})",
    )
    args = parser.parse_args(argv)
    counts = generate_sample(args.out, seed=args.seed, n_people=args.people, as_of=args.as_of)
    out: TextIO = sys.stdout
    for src, n in counts.items():
        out.write(f"{src:<8} {n:>9} rows  {args.out / 'sources' / FILES[src]}\n")
    out.write(f"{'total':<8} {sum(counts.values()):>9} rows  truth: {args.out / 'truth.csv'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

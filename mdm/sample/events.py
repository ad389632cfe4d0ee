"""Sample event sources of the hospital-membership sample, keyed to its person records.

    python -m mdm.sample.events --sample data/sample      # after mdm.sample.generator; `mdm sample` runs both

Seed 20261122, as_of 2026-11-01 (the generator's defaults); byte-identical output for the same
inputs and seed. What each file holds: docs/architecture.md, section "mdm/sample/events.py".
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random

from mdm.sample.generator import DEFAULT_AS_OF, DEFAULT_SEED

FEMALE = {"f", "female", "w"}
PACKAGES = (
    ("health_checkup_basic", 189.0, 30),
    ("health_checkup_premium", 549.0, 12),
    ("dental_care", 240.0, 15),
    ("rehab_10_sessions", 690.0, 8),
    ("senior_wellness", 320.0, 10),
    ("pediatric_vaccines", 150.0, 8),
    ("maternity_care", 1450.0, 6),
)
PROCEDURES = ("knee replacement", "hip replacement", "appendectomy", "hernia repair", "spinal fusion", "ACL repair")
VISIT_TIMES = (("morning", 40), ("afternoon", 25), ("evening", 20), ("weekend", 15))


@dataclass(frozen=True)
class PersonRecord:
    record_id: str
    gender: str  # "F", "M" or ""
    birth: date | None
    quarantined: bool


def _date(text: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), fmt).date()
    except ValueError:
        return None


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _broken(sample: Path) -> dict[tuple[str, str], str]:
    with (sample / "truth.csv").open(encoding="utf-8", newline="") as fh:
        return {(r["source"], r["record_id"]): r["broken"] for r in csv.DictReader(fh) if r["broken"]}


def _records(
    rows: list[dict[str, str]],
    source: str,
    id_col: str,
    sex_col: str | None,
    dob: tuple[str, str] | None,
    broken: dict[tuple[str, str], str],
) -> list[PersonRecord]:
    """One entry per distinct record id, in file order; `quarantined` for ids the ingest rejects."""
    out: dict[str, PersonRecord] = {}
    for row in rows:
        rid = (row.get(id_col) or "").strip()
        if not rid or rid in out:
            continue
        sex = (row.get(sex_col) or "").strip().lower() if sex_col else ""
        birth = _date(row.get(dob[0]) or "", dob[1]) if dob else None
        bad = broken.get((source, rid), "") in ("no_identity", "duplicate_id_conflict", "ragged_row")
        out[rid] = PersonRecord(rid, "F" if sex in FEMALE else "M" if sex in ("m", "male") else "", birth, bad)
    return list(out.values())


def _weighted(rng: Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _visits(rng: Random, clinic: list[PersonRecord], as_of: date) -> list[list[str]]:
    rows: list[tuple[date, str, str, str, str, str]] = []  # day, patient, department, type, due, note

    def add(day: date, rid: str, dept: str, kind: str, due: date | None = None, note: str = "") -> None:
        if day <= as_of:
            rows.append((day, rid, dept, kind, due.strftime("%d.%m.%Y") if due else "", note))

    for p in (p for p in clinic if not p.quarantined):
        age = _age(p.birth, as_of)
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            day = as_of - timedelta(days=rng.randint(0, 730))
            dept = (
                "pediatrics"
                if age is not None and age < 16
                else _weighted(rng, (("general", 60), ("cardiology", 20), ("dermatology", 20)))
            )
            add(day, p.record_id, dept, "consultation")
        if p.gender == "F" and age is not None and 20 <= age <= 42:
            r = rng.random()
            if r < 0.20:
                due = (
                    as_of + timedelta(days=rng.randint(7, 266))
                    if r < 0.12
                    else as_of - timedelta(days=rng.randint(1, 365))
                )
                conceived = due - timedelta(days=266)
                day = conceived + timedelta(days=rng.randint(42, 84))
                add(day, p.record_id, "obstetrics", "pregnancy_confirmed", due)
                while (day := day + timedelta(days=rng.randint(25, 35))) < min(due, as_of):
                    add(day, p.record_id, "obstetrics", "prenatal_check", due)
                if r >= 0.12:
                    add(due + timedelta(days=rng.randint(-10, 10)), p.record_id, "obstetrics", "delivery")
        if age is not None and age >= 18:
            if rng.random() < 0.04:
                surgery = as_of - timedelta(days=rng.randint(1, 120))
                add(surgery, p.record_id, "surgery", "surgery", note=rng.choice(PROCEDURES))
                if rng.random() < 0.7:
                    day = surgery + timedelta(days=14)
                    for _ in range(10):
                        add(day, p.record_id, "rehabilitation", "rehab_session")
                        day += timedelta(days=7)
            elif rng.random() < 0.03:
                for _ in range(rng.randint(1, 8)):
                    add(as_of - timedelta(days=rng.randint(0, 200)), p.record_id, "rehabilitation", "rehab_session")
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    out = [
        [f"V{i + 1:06d}", rid, day.strftime("%d.%m.%Y"), dept, kind, due, note]
        for i, (day, rid, dept, kind, due, note) in enumerate(rows)
    ]
    bad = next((p.record_id for p in clinic if p.quarantined), None)
    n = len(out)
    out.append([f"V{n + 1:06d}", "P99999", "03.05.2026", "general", "consultation", "", ""])  # unknown patient
    out.append([f"V{n + 2:06d}", out[0][1], "31.02.2026", "general", "consultation", "", ""])  # no such date
    out.append(["", out[1][1], "12.06.2026", "cardiology", "consultation", "", ""])  # no visit id
    out.insert(len(out) // 2, list(out[len(out) // 2]))  # exported twice
    if bad is not None:
        out.append([f"V{n + 3:06d}", bad, "14.07.2026", "general", "consultation", "", ""])
    return out


def _purchases(rng: Random, crm: list[PersonRecord], as_of: date) -> list[list[str]]:
    rows: list[tuple[datetime, str, str, float]] = []
    for p in (p for p in crm if not p.quarantined):
        if rng.random() >= 0.25:
            continue
        age = _age(p.birth, as_of)
        allowed = [
            (name, price, weight)
            for name, price, weight in PACKAGES
            if (name != "senior_wellness" or (age or 0) >= 60)
            and (name != "pediatric_vaccines" or (age is not None and age < 16))
            and (name != "maternity_care" or (p.gender == "F" and age is not None and 20 <= age <= 42))
        ]
        for _ in range(rng.randint(1, 3)):
            name, price, _w = rng.choices(allowed, weights=[w for *_, w in allowed])[0]
            when = datetime.combine(as_of, datetime.min.time()) - timedelta(seconds=rng.randint(3600, 730 * 86400))
            rows.append((when, p.record_id, name, price))
    rows.sort()
    out = [
        [f"O-{i + 1:06d}", rid, when.strftime("%Y-%m-%d %H:%M:%S"), name, f"{price:.2f}"]
        for i, (when, rid, name, price) in enumerate(rows)
    ]
    n = len(out)
    out.append([f"O-{n + 1:06d}", "C999999", "2026-04-02 10:11:12", "dental_care", "240.00"])
    out.append([f"O-{n + 2:06d}", out[0][1], "2026-13-01 09:00:00", "dental_care", "240.00"])
    out.append(["", out[1][1], "2026-03-03 09:00:00", "health_checkup_basic", "189.00"])
    out.insert(len(out) // 2, list(out[len(out) // 2]))
    return out


def _answers(rng: Random, web: list[PersonRecord], as_of: date) -> list[dict[str, str]]:
    rows: list[tuple[datetime, str, str, str]] = []
    for p in (p for p in web if not p.quarantined):
        if rng.random() >= 0.40:
            continue
        rounds = 2 if rng.random() < 0.10 else 1
        for _ in range(rounds):
            when = datetime.combine(as_of, datetime.min.time()) - timedelta(seconds=rng.randint(3600, 600 * 86400))
            km = min(150.0, math.exp(rng.gauss(math.log(8), 0.9)))
            rows.append((when, p.record_id, "distance_to_hospital_km", f"{km:.1f}"))
            rows.append((when, p.record_id, "preferred_visit_time", _weighted(rng, VISIT_TIMES)))
    rows.sort()
    out = [
        {
            "answer_id": f"A{i + 1:06d}",
            "signup_id": rid,
            "answered_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "question": q,
            "answer": a,
        }
        for i, (when, rid, q, a) in enumerate(rows)
    ]
    n = len(out)
    out.append(
        {
            "answer_id": f"A{n + 1:06d}",
            "signup_id": "W-99999",
            "answered_at": "2026-05-05T10:00:00Z",
            "question": "preferred_visit_time",
            "answer": "morning",
        }
    )
    out.append(
        {
            "answer_id": f"A{n + 2:06d}",
            "signup_id": out[0]["signup_id"],
            "answered_at": "yesterday",
            "question": "preferred_visit_time",
            "answer": "evening",
        }
    )
    out.append(
        {
            "signup_id": out[1]["signup_id"],
            "answered_at": "2026-06-06T10:00:00Z",
            "question": "distance_to_hospital_km",
            "answer": "4.0",
        }
    )
    out.insert(len(out) // 2, dict(out[len(out) // 2]))
    return out


def generate_events(sample: Path, *, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF) -> dict[str, int]:
    """Write sample/sources/{visits.csv,purchases.csv,survey_answers.jsonl}; return rows per file."""
    sample = Path(sample)
    src = sample / "sources"
    rng = Random(seed)
    broken = _broken(sample)
    with (src / "clinic.csv").open(encoding="latin-1", newline="") as fh:
        clinic = _records(
            list(csv.DictReader(fh, delimiter=";")), "clinic", "patient_id", "sex", ("dob", "%d.%m.%Y"), broken
        )
    with (src / "crm.csv").open(encoding="utf-8-sig", newline="") as fh:
        crm = _records(list(csv.DictReader(fh)), "crm", "customer_no", "gender", ("birth_date", "%m/%d/%Y"), broken)
    web_rows = []
    with (src / "web_signups.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                web_rows.append({k: "" if v is None else str(v) for k, v in obj.items()})
    web = _records(web_rows, "web", "signup_id", None, None, broken)

    visits = _visits(rng, clinic, as_of)
    with (src / "visits.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n")
        writer.writerow(("visit_id", "patient_id", "visit_date", "department", "visit_type", "due_date", "note"))
        writer.writerows(visits)
    purchases = _purchases(rng, crm, as_of)
    with (src / "purchases.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("order_no", "customer_no", "purchased_at", "package", "amount_usd"))
        writer.writerows(purchases)
    answers = _answers(rng, web, as_of)
    with (src / "survey_answers.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in answers)
    return {"visits": len(visits), "purchases": len(purchases), "survey_answers": len(answers)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the sample's event sources from its person sources.")
    parser.add_argument(
        "--sample", type=Path, default=Path("data/sample"), help="sample directory (default data/sample)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="reference day, YYYY-MM-DD")
    args = parser.parse_args(argv)
    for name, n in generate_events(args.sample, seed=args.seed, as_of=args.as_of).items():
        print(f"{name:<16} {n:>7} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Why two records do or do not match, and why a golden customer holds the records it holds.

Both read a published master and the model beside it (`<master>.model.json`), so an answer
is about exactly what the last run did. Two records are scored afresh with that model, whether
or not blocking ever made them a candidate pair; term frequencies come from all the master's
records, as in the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from mdm.errors import MdmError
from mdm.match.model import MatchModel, load_model
from mdm.match.score import score_pairs
from mdm.sensitive import KEY_FILE_ENV, TOKEN_PREFIX, FieldCipher, is_token, load_data_key, mask, reveal_frame
from mdm.types import ALL_VALUES_RULE

SHOWN_FIELDS = ["given_name", "family_name", "birth_date", "email", "phone", "address_line1", "postal_code"]


class ExplainError(MdmError, LookupError):
    """A record or golden id is not in the master, or the master has no model beside it."""


@dataclass(frozen=True)
class RecordRef:
    source: str
    record_id: str

    @classmethod
    def parse(cls, text: str) -> RecordRef:
        source, sep, record_id = text.partition(":")
        if not sep or not source or not record_id:
            raise ExplainError(f"{text!r} is not SOURCE:RECORD_ID, e.g. crm:C000123")
        return cls(source, record_id)

    def __str__(self) -> str:
        return f"{self.source}:{self.record_id}"


def _connect(master: Path) -> duckdb.DuckDBPyConnection:
    if not master.exists():
        raise ExplainError(f"no master at {master}; run `mdm run` first")
    return duckdb.connect(str(master), read_only=True)


def _model(master: Path) -> MatchModel:
    path = master.with_suffix(".model.json")
    if not path.exists():
        raise ExplainError(f"no match model beside the master ({path}); run `mdm run` to publish one")
    return load_model(path)


def _thresholds(con: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    rows = con.sql(
        "SELECT first(threshold_match_probability), first(threshold_review_probability) FROM match_model"
    ).fetchall()
    if not rows or rows[0][0] is None:
        return 0.95, 0.5
    return float(rows[0][0]), float(rows[0][1])


def _value(value: object) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ComparisonWeight:
    """One comparison's part of a pair's score: the level reached, m and u, and its weight."""

    comparison: str
    level: str
    weight: float
    m_probability: float | None
    u_probability: float | None
    """the level's u; for a term-frequency adjusted level, the agreed value's frequency"""
    term_frequency_adjusted: bool


@dataclass(frozen=True)
class PairScore:
    """A pair scored afresh with the published model: prior + each comparison's weight = total."""

    left: dict[str, object]
    right: dict[str, object]
    comparisons: list[ComparisonWeight]
    prior_weight: float
    match_weight: float
    match_probability: float
    match_class: str
    threshold_match_probability: float
    threshold_review_probability: float
    published_outcome: str | None
    encrypted: list[str]
    """fields compared as encrypted tokens (no data key at hand)"""


def score_pair(master: Path, left: RecordRef, right: RecordRef) -> PairScore:
    """The two records scored with the model beside the master, comparison by comparison."""
    model = _model(master)
    con = _connect(master)
    try:
        # only the columns scoring and the table need: every record is read (term frequencies
        # and the prior come from all of them), but not the ~120 columns of each
        present = {row[0] for row in con.sql("DESCRIBE source_records").fetchall()}
        needed = [
            "source",
            "source_record_id",
            "golden_id",
            *SHOWN_FIELDS,
            *(c for trained in model.comparisons for c in trained.comparison.required_columns),
        ]
        columns = ", ".join(f'"{c}"' for c in dict.fromkeys(needed) if c in present)
        records = (
            con.sql(f"SELECT {columns} FROM source_records")
            .pl()
            .with_row_index("rid")
            .with_columns(pl.col("rid").cast(pl.Int64))
        )
        match_t, review_t = _thresholds(con)
        published = con.sql(
            "SELECT outcome FROM match_pairs WHERE (left_source, left_record_id, right_source, right_record_id)"
            " IN ((?, ?, ?, ?), (?, ?, ?, ?))",
            params=[left.source, left.record_id, right.source, right.record_id]
            + [right.source, right.record_id, left.source, left.record_id],
        ).fetchall()
    finally:
        con.close()
    cipher = _cipher()
    encrypted = [
        c for c, t in records.schema.items() if t == pl.String and records[c].str.starts_with(TOKEN_PREFIX).any()
    ]
    if cipher is not None:  # scored on the clear values, as the run did (typo levels of a national id too)
        records = reveal_frame(records, cipher)
    rids = []
    for ref in (left, right):
        found = records.filter((pl.col("source") == ref.source) & (pl.col("source_record_id") == ref.record_id))
        if found.height == 0:
            raise ExplainError(f"record {ref} is not in the master (quarantined, or no such record)")
        rids.append(int(found["rid"][0]))
    pair = pl.DataFrame({"left": [rids[0]], "right": [rids[1]]})
    scored = score_pairs(
        records, pair, model, threshold_match_probability=match_t, threshold_review_probability=review_t
    )
    row = scored.row(0, named=True)
    parts = []
    for trained in model.comparisons:
        name = trained.comparison.name
        if f"{name}_level" not in row:
            continue
        label = str(row[f"{name}_level"])
        index = [level.label for level in trained.levels].index(label)
        level = trained.levels[index]
        weight = float(row[f"{name}_weight"])
        tf = bool(trained.comparison.levels[index].term_frequency_adjusted)
        m, u = level.m_probability, level.u_probability
        if tf and m is not None:
            u = m / 2.0**weight  # the weight is log2(m / term frequency): the frequency stands for u
        parts.append(ComparisonWeight(name, label, weight, m, u, tf))
    return PairScore(
        records.row(rids[0], named=True),
        records.row(rids[1], named=True),
        parts,
        float(row["prior_weight"]),
        float(row["match_weight"]),
        float(row["match_probability"]),
        str(row["match_class"]),
        match_t,
        review_t,
        str(published[0][0]) if published else None,
        [] if cipher is not None else encrypted,
    )


def explain_pair(master: Path, left: RecordRef, right: RecordRef) -> str:
    """A table, comparison by comparison, of the two records' values, the level they reached
    and its weight, then the total, the class and what clustering did with the pair."""
    return pair_text(score_pair(master, left, right), left, right)


def pair_text(score: PairScore, left: RecordRef, right: RecordRef) -> str:
    """`mdm explain`'s table of a scored pair."""
    a, b = score.left, score.right
    lines = [
        f"{'':<16}{str(left):<34}{str(right):<34}",
        f"{'golden_id':<16}{_value(a['golden_id']):<34}{_value(b['golden_id']):<34}",
    ]
    lines += [f"{name:<16}{_value(a.get(name)):<34}{_value(b.get(name)):<34}" for name in SHOWN_FIELDS if name in a]
    lines += ["", f"{'comparison':<16}{'level':<22}{'weight':>8}"]
    lines += [f"{c.comparison:<16}{c.level:<22}{c.weight:>+8.2f}" for c in score.comparisons]
    lines.append(f"{'prior':<16}{'':<22}{score.prior_weight:>+8.2f}")
    lines.append(f"{'total':<16}{'':<22}{score.match_weight:>+8.2f}")
    lines.append("")
    lines.append(
        f"match probability {score.match_probability:.6f}: {score.match_class}"
        f" (merge at {score.threshold_match_probability}, review at {score.threshold_review_probability})"
    )
    if score.published_outcome is not None:
        lines.append(f"in the last run: {score.published_outcome}")
    else:
        lines.append("in the last run: not a candidate pair (no blocking rule put them together)")
    if a["golden_id"] == b["golden_id"]:
        lines.append(f"both belong to {a['golden_id']}")
    if score.encrypted:
        lines.append(
            f"note: {', '.join(score.encrypted)} compared as encrypted tokens (equal or not, no typo levels):"
            f" set {KEY_FILE_ENV} to score them as the run did"
        )
    return "\n".join(lines)


def _cipher() -> FieldCipher | None:
    key = load_data_key()
    return FieldCipher(key) if key is not None else None


def _masked(value: object, cipher: FieldCipher | None) -> str:
    """A sensitive value masked (`*****6789`) when the key is at hand, else said to be encrypted."""
    if not is_token(value):
        return str(value)
    return mask(cipher.decrypt(str(value))) if cipher is not None else "(encrypted)"


def explain_golden(master: Path, golden_id: str) -> str:
    """The golden customer's records, where each golden value came from and why it won, the links
    that joined the records, and the links refused around it."""
    con = _connect(master)
    try:
        members = con.sql(
            "SELECT source, source_record_id, given_name, family_name, birth_date, email, phone"
            " FROM source_records WHERE golden_id = ? ORDER BY source, source_record_id",
            params=[golden_id],
        ).fetchall()
        if not members:
            raise ExplainError(f"golden id {golden_id!r} is not in the master")
        links = con.sql(
            "SELECT left_source || ':' || left_record_id, right_source || ':' || right_record_id,"
            " match_probability, outcome, blocking_rule FROM match_pairs"
            " WHERE left_golden_id = ? OR right_golden_id = ? ORDER BY match_probability DESC",
            params=[golden_id, golden_id],
        ).fetchall()
        values = con.sql(
            "SELECT attribute, value, source || ':' || source_record_id, rule, runner_up FROM golden_attribute_lineage"
            " WHERE golden_id = ? AND rule <> ? ORDER BY attribute",
            params=[golden_id, ALL_VALUES_RULE],
        ).fetchall()
        events = con.sql(
            "SELECT kind, old_id, new_id, reason FROM id_events WHERE old_id = ? OR new_id = ?",
            params=[golden_id, golden_id],
        ).fetchall()
    finally:
        con.close()
    lines = [f"{golden_id}: {len(members)} record(s)"]
    lines += ["  " + "  ".join(_value(v) for v in (f"{m[0]}:{m[1]}", *m[2:])) for m in members]
    lines.append("golden values (rules/survivorship.yaml):")
    cipher = _cipher()
    lines += [
        f"  {attribute:<14} {_masked(value, cipher)}  from {origin}, {rule}"
        + (f" (over {_masked(runner, cipher)})" if runner else "")
        for attribute, value, origin, rule, runner in values
    ]
    joined = [link for link in links if link[3].startswith("merged") or link[3] == "same cluster"]
    refused = [link for link in links if link not in joined and link[3] != "non_match"]
    lines.append("linked by:" if joined else "linked by: nothing (a record of its own)")
    lines += [
        f"  {a} ~ {b}  p={p:.4f}  {outcome} (candidate through blocking rule {rule})"
        for a, b, p, outcome, rule in joined
    ]
    if refused:
        lines.append("kept apart from:")
        lines += [f"  {a} ~ {b}  p={p:.4f}  {outcome}" for a, b, p, outcome, _ in refused]
    if events:
        lines.append("id events:")
        lines += [f"  {kind}: {_value(old)} -> {_value(new)} ({_value(reason)})" for kind, old, new, reason in events]
    lines.append("explain a pair: mdm explain --master MASTER SOURCE:ID SOURCE:ID")
    return "\n".join(lines)

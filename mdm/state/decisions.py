"""The run's side of steward decisions: which become must-links and cannot-links, and which are
held back because their records changed materially since the decision (mdm/state/fingerprint.py).

Read by the cluster and publish stages on every run, incremental or full: decisions are never rebuilt, only
read. A decision whose records are not in this run (quarantined, deleted at the source) is not
applied and not reported; it applies again when the records come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.state import StateStore
from mdm.state.fingerprint import FINGERPRINT_COLUMNS, fingerprint_of, loads, material_changes, record_label

CHANGED_SCHEMA: dict[str, Any] = {
    "left_source": pl.String,
    "left_record_id": pl.String,
    "right_source": pl.String,
    "right_record_id": pl.String,
    "decision": pl.String,
    "decided_by": pl.String,
    "decided_at": pl.String,
    "changed": pl.String,
}
CHANGED_OUTCOME = "not applied: changed since decision"
CHANGED_REASON = "changed since decision"


@dataclass
class RunLinks:
    """must / cannot: record index pairs for cluster_records; applied: the decisions applied, as
    ((source, id), (source, id), decision); changed: the held-back decisions (CHANGED_SCHEMA)."""

    must: list[tuple[int, int]] = field(default_factory=list)
    cannot: list[tuple[int, int]] = field(default_factory=list)
    applied: list[tuple[tuple[str, str], tuple[str, str], str]] = field(default_factory=list)
    changed: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CHANGED_SCHEMA))


def active_decision_rows(store: StateStore) -> list[dict[str, Any]]:
    """Every decision not revoked, oldest first, with its fingerprint."""
    names = [
        "decision_id",
        "left_source",
        "left_record_id",
        "right_source",
        "right_record_id",
        "decision",
        "decided_by",
        "decided_at",
        "fingerprint",
    ]
    rows = store.query(
        f"SELECT {', '.join(names)} FROM steward_decisions WHERE revoked_at IS NULL ORDER BY decision_id"
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def run_links(state_dir: Any, records: pl.LazyFrame) -> RunLinks:
    """Steward links for a run over `records` (rid, source, source_record_id and whichever
    FINGERPRINT_COLUMNS the run has); only the records a decision names are collected."""
    with StateStore(state_dir) as store:
        decisions = active_decision_rows(store)
    out = RunLinks()
    if not decisions:
        return out
    wanted = {(d["left_source"], d["left_record_id"]) for d in decisions}
    wanted |= {(d["right_source"], d["right_record_id"]) for d in decisions}
    present = records.collect_schema().names()
    columns = ["rid", "source", "source_record_id", *(c for c in FINGERPRINT_COLUMNS if c in present)]
    named = pl.DataFrame(sorted(wanted), schema={"source": pl.String, "source_record_id": pl.String}, orient="row")
    index: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    found = records.select(columns).join(named.lazy(), on=["source", "source_record_id"], how="semi").collect()
    for row in found.iter_rows(named=True):
        key = (row["source"], row["source_record_id"])
        if key in wanted:
            index[key] = (row["rid"], fingerprint_of(row))
    changed_rows = []
    for d in decisions:
        left, right = (d["left_source"], d["left_record_id"]), (d["right_source"], d["right_record_id"])
        if left not in index or right not in index:
            continue
        seen = loads(d["fingerprint"])
        changes = []
        for key in (left, right):
            label = record_label(*key)
            if label in seen:
                changes += [f"{label} {c}" for c in material_changes(seen[label], index[key][1])]
        if changes:
            changed_rows.append(
                {
                    "left_source": left[0],
                    "left_record_id": left[1],
                    "right_source": right[0],
                    "right_record_id": right[1],
                    "decision": d["decision"],
                    "decided_by": d["decided_by"],
                    "decided_at": d["decided_at"],
                    "changed": ", ".join(changes),
                }
            )
            continue
        pair = (index[left][0], index[right][0])
        (out.must if d["decision"] == "same" else out.cannot).append(pair)
        out.applied.append((left, right, d["decision"]))
    out.changed = pl.DataFrame(changed_rows, schema=CHANGED_SCHEMA)
    return out


def requeue_changed(
    queue: pl.DataFrame, changed: pl.DataFrame, pairs: pl.LazyFrame, records: pl.DataFrame
) -> pl.DataFrame:
    """The review queue with the held-back decisions' pairs on top, marked `changed_since_decision`
    (their score and evidence from this run's match_pairs when blocking made them a candidate pair;
    their golden ids from this run). One per pair of golden customers: a requeued pair replaces
    the item of its two customers (and other requeued pairs between them). Every row gets the
    column; review_rank is renumbered."""
    queue = queue.with_columns(pl.lit(False).alias("changed_since_decision"))
    if changed.height == 0:
        return queue
    keys = ["left_source", "left_record_id", "right_source", "right_record_id"]
    changed = changed.unique(subset=keys, keep="last", maintain_order=True)
    gids = records.select("source", "source_record_id", "golden_id")
    swap = {
        "left_source": "right_source",
        "left_record_id": "right_record_id",
        "right_source": "left_source",
        "right_record_id": "left_record_id",
    }
    # only the scored pairs of the held-back decisions, either way round: all of them are millions
    wanted = pl.concat([changed.select(keys), changed.select(keys).rename(swap).select(keys)]).unique()
    scored = pairs.select(*keys, "match_probability").join(wanted.lazy(), on=keys, how="semi").collect()
    swapped = scored.rename(swap).select(keys + ["match_probability"])
    scores = pl.concat([scored, swapped]).unique(subset=keys)
    back = (
        changed.join(scores, on=keys, how="left")
        .join(
            gids.rename({"source": "left_source", "source_record_id": "left_record_id", "golden_id": "left_golden_id"}),
            on=["left_source", "left_record_id"],
            how="left",
        )
        .join(
            gids.rename(
                {"source": "right_source", "source_record_id": "right_record_id", "golden_id": "right_golden_id"}
            ),
            on=["right_source", "right_record_id"],
            how="left",
        )
        .select(
            pl.lit(0, dtype=pl.Int64).alias("review_rank"),
            "left_source",
            "left_record_id",
            "left_golden_id",
            "right_source",
            "right_record_id",
            "right_golden_id",
            "match_probability",
            pl.format(
                "{}: '{}' by {} at {}; {}",
                pl.lit(CHANGED_REASON),
                pl.col("decision"),
                "decided_by",
                "decided_at",
                "changed",
            ).alias("reason"),
            pl.lit("").alias("evidence"),
            pl.lit(True).alias("changed_since_decision"),
        )
        .with_columns(
            pl.min_horizontal("left_golden_id", "right_golden_id").alias("_g1"),
            pl.max_horizontal("left_golden_id", "right_golden_id").alias("_g2"),
        )
        .unique(subset=["_g1", "_g2"], keep="first", maintain_order=True)
    )

    def pair(ls: str, lr: str, rs: str, rr: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(((ls, lr), (rs, rr))))

    done = {pair(*r) for r in back.select(keys).iter_rows()}
    golden = {(a, b) for a, b in back.select("_g1", "_g2").iter_rows() if a is not None and b != a}
    keep = [
        pair(*r[:4]) not in done and tuple(sorted((r[4] or "", r[5] or ""))) not in golden
        for r in queue.select(*keys, "left_golden_id", "right_golden_id").iter_rows()
    ]
    rest = queue.filter(pl.Series(keep, dtype=pl.Boolean))
    back = back.drop("_g1", "_g2")
    back = back.with_columns(
        [pl.lit(None, dtype=dtype).alias(name) for name, dtype in queue.schema.items() if name not in back.columns]
    ).select(queue.columns)
    merged = pl.concat([back.cast(queue.schema), rest], how="vertical")
    return merged.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("review_rank"))


def changed_link_outcomes(changed: pl.DataFrame) -> pl.DataFrame:
    """Rows for the steward_links table: each held-back decision and why it was not applied."""
    return changed.select(
        "left_source",
        "left_record_id",
        "right_source",
        "right_record_id",
        pl.format("{} ({}; was '{}')", pl.lit(CHANGED_OUTCOME), "changed", "decision").alias("outcome"),
    )

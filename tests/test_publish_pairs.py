"""match_pairs' rows from the scored pairs (mdm/publish/pairs.py `ScoredPairs`): the hash that
stands for a pair's explained row, and the pairs the review queue reads, explained without
explaining every pair."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from mdm.cluster.review import review_items
from mdm.config.rules import ReviewSettings
from mdm.publish.pairs import ScoredPairs
from mdm.state.decisions import CHANGED_SCHEMA, requeue_changed

LEVELS = pl.Enum(["else", "close", "exact"])
CLASSES = pl.Enum(["non_match", "review", "match"])
OUTCOMES = ["non_match", "merged", "review", "blocked: dob differs", "blocked: steward: not the same"]
WEIGHTS = [80, 10, 4, 4, 2]


def _files(tmp_path: Path, seed: int, records: int = 120) -> tuple[Path, Path, Path, pl.DataFrame]:
    """Records in customers of 1-4, the pairs blocking might find among them (most between
    customers) with random scores and outcomes, in files as the run leaves them; and the
    records' keys."""
    rng = random.Random(seed)
    golden, customer = [], 0
    while len(golden) < records:
        customer += 1
        golden += [f"G{customer:04d}"] * rng.randint(1, 4)
    keys = pl.DataFrame(
        {
            "rid": list(range(records)),
            "source": [rng.choice(["crm", "web", "billing"]) for _ in range(records)],
            "source_record_id": [f"R{rid}" for rid in range(records)],
            "golden_id": golden[:records],
        }
    )
    pairs = sorted({tuple(sorted(rng.sample(range(records), 2))) for _ in range(records * 6)})
    outcome = rng.choices(OUTCOMES, WEIGHTS, k=len(pairs))
    # weights by class (the thresholds 0.9 and 0.5 are 3.2 and 0 bits); a blocked merge enters
    # the queue when its weight less the conflict's 28 bits reaches the review threshold
    spans = {"non_match": (-20.0, -0.1), "review": (0.0, 3.1)}
    weight = [rng.uniform(*spans.get(o, (3.2, 40.0))) for o in outcome]
    probability = [2**w / (1 + 2**w) for w in weight]
    scored = pl.DataFrame(
        {
            "left": [a for a, _ in pairs],
            "right": [b for _, b in pairs],
            "rule": [rng.choice(["name", "phone"]) for _ in pairs],
            "given_name_level": pl.Series([rng.choice(LEVELS.categories) for _ in pairs], dtype=LEVELS),
            "given_name_weight": [rng.uniform(-3, 3) for _ in pairs],
            "prior_weight": [-4.0] * len(pairs),
            "match_weight": weight,
            "match_probability": probability,
            "match_class": pl.Series([o if o in ("non_match", "review") else "match" for o in outcome], dtype=CLASSES),
        }
    )
    # as the cluster stage leaves them: the outcomes of the matches and reviews (here in any order)
    outcomes = scored.select("left", "right", pl.Series("outcome", outcome)).filter(pl.col("outcome") != "non_match")
    paths = tmp_path / "scored.parquet", tmp_path / "outcomes.parquet", tmp_path / "records.parquet"
    scored.write_parquet(paths[0])
    outcomes.sample(fraction=1.0, shuffle=True, seed=seed).write_parquet(paths[1])  # any order
    keys.write_parquet(paths[2])
    return *paths, keys


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_review_queue_reads_from_the_wanted_pairs_what_it_reads_from_all(tmp_path: Path, seed: int) -> None:
    """Explaining only the pairs `wanted` names gives review_items and requeue_changed what every
    pair explained gives them: the items, their evidence and counts, the requeued decisions' scores."""
    scored, outcomes, records, keys = _files(tmp_path, seed)
    pairs = ScoredPairs(scored, outcomes, records, slice_pairs=50)
    assert len(pairs.starts) > 5
    rng = random.Random(seed)
    # held-back decisions: some between records blocking paired, some not
    chosen = [tuple(rng.sample(range(keys.height), 2)) for _ in range(6)] + [
        (int(a), int(b)) for a, b in pl.read_parquet(scored, columns=["left", "right"]).sample(6, seed=seed).iter_rows()
    ]
    row = keys.rows(named=True)
    changed = pl.DataFrame(
        [
            {
                "left_source": row[a]["source"],
                "left_record_id": row[a]["source_record_id"],
                "right_source": row[b]["source"],
                "right_record_id": row[b]["source_record_id"],
                "decision": "same",
                "decided_by": "ana",
                "decided_at": "2026-12-01",
                "changed": "email",
            }
            for a, b in chosen
        ],
        schema=CHANGED_SCHEMA,
    )
    links = pl.DataFrame({"left": [a for a, _ in chosen], "right": [b for _, b in chosen]})
    hashed = pairs.hash_all(lambda number, piece, hashes: None, tmp_path / "review", links)
    pairs.write_all(tmp_path / "all")
    every = pl.scan_parquet(tmp_path / "all" / "*.parquet")
    # every pair has its outcome: the cluster stage's, or "non_match" for a non-match
    explained = every.collect()
    assert explained.height == hashed.height and explained["outcome"].null_count() == 0
    assert explained["outcome"].eq("non_match").equals(explained["match_class"].eq("non_match"))
    wanted = pl.scan_parquet(tmp_path / "review" / "*.parquet")
    assert 0 < pairs.reviewed == wanted.collect().height < hashed.height / 2
    assert wanted.collect().columns == explained.columns

    def queue(explained: pl.LazyFrame) -> pl.DataFrame:
        golden = keys.select("source", "source_record_id", "golden_id")
        items = review_items(
            explained,
            golden,
            ReviewSettings(),
            threshold_match_probability=0.9,
            threshold_review_probability=0.5,
        )
        return requeue_changed(items, changed, explained, golden)

    theirs = queue(every)
    assert theirs.height > 10 and theirs["changed_since_decision"].sum() > 0
    assert queue(wanted).equals(theirs)


def test_a_pairs_hash_follows_its_explained_row(tmp_path: Path) -> None:
    """The same pairs hash the same from files written in another order and another slicing; a
    pair whose outcome, score, level or record's golden id differs hashes differently, and only it."""
    scored, outcomes, records, keys = _files(tmp_path, 7)
    none = pl.DataFrame(schema={"left": pl.Int64, "right": pl.Int64})

    def hashed(pairs: ScoredPairs) -> pl.DataFrame:
        return pairs.hash_all(lambda *_: None, tmp_path / "review", none)

    first = hashed(ScoredPairs(scored, outcomes, records, slice_pairs=64))
    again = hashed(ScoredPairs(scored, outcomes, records, slice_pairs=1000))
    assert first.equals(again)
    frame, outcome = pl.read_parquet(scored), pl.read_parquet(outcomes)
    # each change made to one pair's row
    at = int(frame["match_class"].ne("non_match").arg_true()[0])  # a pair with an outcome of its own
    one = pl.int_range(pl.len()) == at
    theirs = (pl.col("left") == frame["left"][at]) & (pl.col("right") == frame["right"][at])
    other = "else" if frame["given_name_level"][at] == "exact" else "exact"
    changes = {
        "outcome": (
            frame,
            outcome.with_columns(pl.when(theirs).then(pl.lit("merged?")).otherwise("outcome").alias("outcome")),
        ),
        "score": (
            frame.with_columns(pl.when(one).then(0.123).otherwise("match_probability").alias("match_probability")),
            outcome,
        ),
        "level": (
            frame.with_columns(
                pl.when(one).then(pl.lit(other)).otherwise("given_name_level").cast(LEVELS).alias("given_name_level")
            ),
            outcome,
        ),
    }
    for name, (scored_now, outcomes_now) in changes.items():
        scored_now.write_parquet(tmp_path / "scored_now.parquet")
        outcomes_now.write_parquet(tmp_path / "outcomes_now.parquet")
        now = ScoredPairs(tmp_path / "scored_now.parquet", tmp_path / "outcomes_now.parquet", records, 64)
        differs = hashed(now)["hash"] != first["hash"]
        assert differs.arg_true().to_list() == [at], name
    moved = keys.with_columns(
        pl.when(pl.col("rid") == 5).then(pl.lit("G9999")).otherwise("golden_id").alias("golden_id")
    )
    moved.write_parquet(tmp_path / "moved.parquet")
    now = hashed(ScoredPairs(scored, outcomes, tmp_path / "moved.parquet", 64))
    touching = (first["left"] == 5) | (first["right"] == 5)
    assert ((now["hash"] != first["hash"]) == touching).all() and touching.sum() > 0

"""Stewards' answers as labels (mdm/match/learn.py): what they move in m and the thresholds, that
they are kept in the durable store and outlive their records, and that no labels change nothing.
End-to-end tests use tests/fixtures/queue (see its README)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import polars as pl
import pytest

from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules
from mdm.match.learn import (
    Label,
    blend_m,
    calibration_shift,
    label_levels,
    learn,
    learned_thresholds,
    signature,
)
from mdm.match.model import MatchModel, load_model
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.steward.desk import StewardDesk
from mdm.steward.users import User, add_user
from tests.conftest import AS_OF, FIXTURES, REPO
from tests.conftest import query as q

ANA = User("ana", "steward")
BUNDLED = load_model(DEFAULT_RULES_DIR / "match_model.json")
RECORDS = 1_000


def levels(model: MatchModel, **chosen: str) -> tuple[int, ...]:
    """Level indexes per comparison of the model; comparisons not named are null (missing)."""
    out = []
    for t in model.comparisons:
        label = chosen.get(t.comparison.name)
        out.append(0 if label is None else [lv.label for lv in t.levels].index(label))
    return tuple(out)


def m_of(model: MatchModel, comparison: str, level: str) -> float:
    t = next(t for t in model.comparisons if t.comparison.name == comparison)
    return next(lv.m_probability or 0.0 for lv in t.levels if lv.label == level)


HOUSEHOLD = levels(BUNDLED, given_name="exact", family_name="exact", birth_date="else", phone="exact", address="exact")
"""A father and son: everything agrees but the birth date; the model is sure they are one person."""


def test_no_labels_is_the_model_as_trained() -> None:
    rules = MatchRules()
    learned = learn(BUNDLED, rules, [], RECORDS)
    assert learned.model is BUNDLED and learned.table.height == 0
    assert (learned.threshold_match_probability, learned.threshold_review_probability) == (0.95, 0.5)
    assert blend_m(BUNDLED, [], 0.0, 10.0) is BUNDLED


def test_an_answer_the_model_agreed_with_moves_nothing_a_surprise_moves_m() -> None:
    prior = BUNDLED.prior_weight_for(RECORDS)
    agreed = blend_m(BUNDLED, [Label(1, True, HOUSEHOLD, True)], prior, 100.0)
    assert m_of(agreed, "birth_date", "else") == pytest.approx(m_of(BUNDLED, "birth_date", "else"), abs=1e-9)
    surprised = blend_m(BUNDLED, [Label(1, False, HOUSEHOLD, True)] * 10, prior, 100.0)
    before, after = m_of(BUNDLED, "birth_date", "else"), m_of(surprised, "birth_date", "else")
    # m'[else] = (K m - 10) / (K - 10) for K = 100: ten "not the same" answers the model was sure of
    assert after == pytest.approx((100 * before - 10) / 90, rel=1e-3)
    assert after < before and m_of(surprised, "birth_date", "exact") > m_of(BUNDLED, "birth_date", "exact")
    # every comparison still sums to one over its non-null levels; u is untouched
    for t, t0 in zip(surprised.comparisons, BUNDLED.comparisons, strict=True):
        assert sum(lv.m_probability or 0.0 for lv in t.levels[1:]) == pytest.approx(1.0)
        assert [lv.u_probability for lv in t.levels] == [lv.u_probability for lv in t0.levels]
    # a comparison the labels did not see (national_id: null in both) is untouched
    assert next(t for t in surprised.comparisons if t.comparison.name == "national_id") == next(
        t for t in BUNDLED.comparisons if t.comparison.name == "national_id"
    )
    # the more the model as trained counts for, the less ten answers move it
    firmer = blend_m(BUNDLED, [Label(1, False, HOUSEHOLD, True)] * 10, prior, 10_000.0)
    assert before - m_of(firmer, "birth_date", "else") < (before - after) / 50


def test_the_calibration_shift_is_the_labels_share_shrunk_towards_none() -> None:
    assert calibration_shift([0.0] * 10, [True, False] * 5) == pytest.approx(0.0, abs=1e-9)
    up = calibration_shift([0.0] * 20, [True] * 15 + [False] * 5)
    # without the prior it would be logit(0.75) = 1.10; the N(0, 1) prior shrinks it
    assert 0 < up < math.log(3)
    assert calibration_shift([0.0] * 2000, [True] * 1500 + [False] * 500) == pytest.approx(math.log(3), rel=0.01)
    assert calibration_shift([2.0] * 10, [False] * 10) < 0


def test_thresholds_move_with_the_labels_between_them_but_not_past_them() -> None:
    rules = MatchRules()
    prior = BUNDLED.prior_weight_for(RECORDS)
    # pairs the model puts between the thresholds: the given name exact, the family name near, another city
    band = levels(BUNDLED, given_name="exact", family_name="jaro_winkler_0.88", city="else")
    z = prior + sum(t.levels[i].match_weight for t, i in zip(BUNDLED.comparisons, band, strict=True))
    p = 1 / (1 + 2**-z)
    assert 0.5 <= p < 0.95, p
    same = [Label(i, True, band, True) for i in range(200)]
    match_t, review_t, used = learned_thresholds(BUNDLED, BUNDLED, same, prior, 0.95, 0.5)
    # all of them the same person: the model is too cautious there, both thresholds come down to them
    assert used == 200 and match_t == pytest.approx(p) and review_t <= match_t
    others = [Label(i, False, band, True) for i in range(200)]
    match_t, review_t, _ = learned_thresholds(BUNDLED, BUNDLED, others, prior, 0.95, 0.5)
    # none of them: the review threshold goes up to them, the match threshold stays (no label above)
    assert match_t == 0.95 and review_t == pytest.approx(p)
    # labels outside the band (conflict-blocked items the model was sure of) move no threshold
    assert learned_thresholds(BUNDLED, BUNDLED, [Label(1, False, HOUSEHOLD, True)], prior, 0.95, 0.5)[2] == 0
    learned = learn(BUNDLED, rules, same, RECORDS)
    thresholds = learned.table.filter(pl.col("parameter").str.starts_with("threshold"))
    assert thresholds.select("parameter", "estimate", "labels").rows() == [
        ("threshold_match_probability", 0.95, 200),
        ("threshold_review_probability", 0.5, 200),
    ]
    assert learned.threshold_match_probability < 0.95 and learned.report.band_labels == 200


def test_the_table_says_what_all_labels_and_this_runs_labels_moved() -> None:
    old = [Label(i, False, HOUSEHOLD, False) for i in range(5)]
    new = [Label(10 + i, False, HOUSEHOLD, True) for i in range(5)]
    rules = MatchRules.model_validate({"learning": {"em_weight": 100}})
    learned = learn(BUNDLED, rules, old + new, RECORDS)
    row = learned.table.filter((pl.col("comparison") == "birth_date") & (pl.col("level") == "else")).row(0, named=True)
    assert row["estimate"] == pytest.approx(m_of(BUNDLED, "birth_date", "else"))
    assert row["value"] < row["previous"] < row["estimate"]
    assert row["change"] == pytest.approx(row["value"] - row["estimate"])
    assert row["change_this_run"] == pytest.approx(row["value"] - row["previous"])
    assert (row["labels"], row["new_labels"]) == (10, 5)
    assert learned.report.labels == 10 and learned.report.not_same == 10 and learned.report.new == 5
    top = learned.table.filter(pl.col("parameter") == "m_probability").sort(pl.col("change").abs()).row(-1, named=True)
    assert (
        learned.report.largest_move == f"{top['comparison']} {top['level']} {top['estimate']:.4f} -> {top['value']:.4f}"
    )
    assert learned.model.training["labels"] == {"count": 10, "same": 0, "em_weight": 100}
    # switched off: the model as trained whatever the labels
    off = MatchRules.model_validate({"learning": {"enabled": False}})
    assert learn(BUNDLED, off, old + new, RECORDS).model is BUNDLED


def test_stored_levels_are_used_and_missing_records_make_a_label_unusable_only_without_them() -> None:
    comparisons = [t.comparison for t in BUNDLED.comparisons]
    stored = json.dumps({"birth_date": "else", "given_name": "exact"})
    rows = [
        {"decision_id": 1, "left_source": "crm", "left_record_id": "gone", "right_source": "web",
         "right_record_id": "gone too", "decision": "not_same", "comparisons": signature(comparisons),
         "levels": stored, "first_run": "r1"},
        {"decision_id": 2, "left_source": "crm", "left_record_id": "gone", "right_source": "web",
         "right_record_id": "gone too", "decision": "same", "comparisons": "other comparisons",
         "levels": stored, "first_run": "r1"},
    ]  # fmt: skip
    empty = pl.DataFrame(schema={"rid": pl.Int64, "source": pl.String, "source_record_id": pl.String})
    placed, new_levels, unusable = label_levels(BUNDLED, rows, empty.select("rid"), empty)
    assert [lab.decision_id for lab in placed] == [1] and unusable == 1 and new_levels.height == 0
    assert placed[0].levels == levels(BUNDLED, birth_date="else", given_name="exact")
    assert not placed[0].new and not placed[0].same


# ---- end to end on tests/fixtures/queue -----------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path) -> StewardDesk:
    shutil.copytree(FIXTURES / "queue", tmp_path / "src")
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(tmp_path / "src" / "sources.yaml", master, as_of=AS_OF)
    with StateStore(master.parent / "state") as store:
        add_user(store, "ana", "correct horse", "steward", by="test")
    return StewardDesk(master, master.parent / "state")


def rerun(desk: StewardDesk, allow_shrink: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    sources = desk.master.parent.parent / "src" / "sources.yaml"
    return run_pipeline(sources, desk.master, as_of=AS_OF, allow_shrink=allow_shrink)


def test_a_run_without_labels_scores_with_the_model_as_trained(desk: StewardDesk) -> None:
    beside = load_model(desk.master.with_suffix(".model.json"))
    assert beside.comparisons == BUNDLED.comparisons
    assert q(desk.master, "SELECT count(*) FROM match_learning") == [(0,)]
    assert q(
        desk.master, "SELECT DISTINCT threshold_match_probability, threshold_review_probability FROM match_model"
    ) == [(0.95, 0.5)]


def test_answers_are_labels_kept_in_the_store_that_outlive_their_records(desk: StewardDesk) -> None:
    rules = REPO / "rules" / "match.yaml"
    src = desk.master.parent.parent / "src"
    (src / "rules").mkdir()
    (src / "rules" / "match.yaml").write_text(rules.read_text().replace("em_weight: 10000", "em_weight: 10"))
    (src / "sources.yaml").write_text((src / "sources.yaml").read_text() + "rules: rules\n")
    desk.decide(ANA, ("crm", "C1"), ("shop", "S1"), "not_same", expected_version=0)
    desk.decide(ANA, ("crm", "C2"), ("shop", "S2"), "same", expected_version=0)
    first = rerun(desk).match.learning
    assert (first.labels, first.same, first.not_same, first.new, first.unusable) == (2, 1, 1, 2, 0)
    with desk.store() as store:
        kept = store.query("SELECT decision_id, levels FROM steward_labels ORDER BY 1")
    assert len(kept) == 2 and json.loads(kept[0][1])["birth_date"] == "else"
    moved = q(
        desk.master,
        "SELECT estimate, value, labels, new_labels FROM match_learning"
        " WHERE comparison = 'birth_date' AND level = 'else'",
    )
    assert moved[0][1] < moved[0][0] and moved[0][2:] == (2, 2)  # "not the same" where the model was sure
    m_else = q(desk.master, "SELECT m_probability FROM match_model WHERE comparison = 'birth_date' AND level = 'else'")
    assert m_else == [(moved[0][1],)]  # the run scored with the moved m
    # the shop deletes the son's record: his label still teaches, from the levels the store kept
    shop = src / "shop.csv"
    shop.write_text("\n".join(line for line in shop.read_text().splitlines() if not line.startswith("S1,")) + "\n")
    second = rerun(desk, allow_shrink=("shop",)).match.learning  # 2 -> 1 records: the shop really deleted it
    assert (second.labels, second.new, second.unusable) == (2, 0, 0)
    again = q(
        desk.master,
        "SELECT value, change_this_run FROM match_learning WHERE level = 'else' AND comparison = 'birth_date'",
    )
    assert again == [(pytest.approx(moved[0][1]), pytest.approx(0.0))]
    # an undone answer is no label any more
    last = next(e for e in desk.audit() if not e["action"].startswith("run_"))  # runs are audited too
    assert last["action"] == "same"
    desk.undo(ANA, last["audit_id"])
    assert rerun(desk).match.learning.labels == 1

"""Fellegi-Sunter model: EM recovers known parameters, save -> load, scores explained and summed."""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path

import polars as pl
import pytest

from mdm.config.rules import Comparison, load_match_rules
from mdm.match import block_pairs, load_model, save_model, score, score_pairs, train_model
from mdm.match.comparisons import compare_pairs, usable_comparisons
from mdm.match.model import (
    add_pattern_counts,
    build_model,
    expectation_maximisation,
    in_steps,
    initial_m,
    pattern_counts,
)
from mdm.match.score import term_frequencies

# ---- convergence on pairs generated from known parameters --------------------------------------
# Level 0 of each comparison is the null level (chosen with probability NULL_RATE, match or not);
# the lists below give the probabilities of levels 1.. for matches (m) and non-matches (u).
SEED = 20261122
N_PAIRS = 40_000
TRUE_PRIOR = 0.3
NULL_RATE = 0.1
TRUE_M = {"name": [0.80, 0.15, 0.05], "dob": [0.90, 0.10], "phone": [0.70, 0.20, 0.10]}
TRUE_U = {"name": [0.02, 0.08, 0.90], "dob": [0.05, 0.95], "phone": [0.01, 0.04, 0.95]}
TOLERANCE = 0.02


def _comparison(name: str, levels: int) -> Comparison:
    middle = [{"label": f"level_{i}", "kind": "exact"} for i in range(1, levels - 1)]
    return Comparison.model_validate(
        {
            "name": name,
            "column": name,
            "levels": [{"label": "missing", "kind": "missing"}, *middle, {"label": "else", "kind": "else"}],
        }
    )


def _generated_gammas() -> pl.DataFrame:
    rng = random.Random(SEED)
    rows: dict[str, list[int]] = {name: [] for name in TRUE_M}
    for _ in range(N_PAIRS):
        table = TRUE_M if rng.random() < TRUE_PRIOR else TRUE_U
        for name, probabilities in table.items():
            level = 0 if rng.random() < NULL_RATE else 1 + rng.choices(range(len(probabilities)), probabilities)[0]
            rows[name].append(level)
    return pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.UInt8))


COMPARISONS = [_comparison(name, len(m) + 1) for name, m in TRUE_M.items()]


def _close(estimated: list[float], true: list[float]) -> bool:
    return all(abs(a - b) < TOLERANCE for a, b in zip(estimated[1:], true, strict=True))


def test_em_recovers_m_and_prior_with_u_known() -> None:
    u = {name: [1.0, *p] for name, p in TRUE_U.items()}
    result = expectation_maximisation(
        _generated_gammas(), COMPARISONS, initial_m(COMPARISONS), u, 0.5, max_iterations=200
    )
    assert result.converged
    assert abs(result.prior - TRUE_PRIOR) < TOLERANCE
    for name, m in TRUE_M.items():
        assert _close(result.m[name], m), (name, result.m[name])


def test_em_recovers_m_u_and_prior_from_a_rough_start() -> None:
    flat = {c.name: [1.0, *[1 / (len(c.levels) - 1)] * (len(c.levels) - 1)] for c in COMPARISONS}
    result = expectation_maximisation(
        _generated_gammas(),
        COMPARISONS,
        initial_m(COMPARISONS),
        flat,
        0.5,
        estimate_u=True,
        max_iterations=500,
        tolerance=1e-6,
    )
    assert abs(result.prior - TRUE_PRIOR) < TOLERANCE
    for name in TRUE_M:
        assert _close(result.m[name], TRUE_M[name]), (name, result.m[name])
        assert _close(result.u[name], TRUE_U[name]), (name, result.u[name])


# ---- a small generated population for training and scoring ------------------------------------
# 300 people, each in 1-3 records; a copy may use a nickname, drop its phone or e-mail, carry a
# typo in the family name or swap day and month. Family names repeat (smith is common).
GIVEN = [
    ("robert", "robert", "robert"),
    ("bob", "robert", "robert"),
    ("ann", "ann", "ann"),
    ("james", "james", "james"),
    ("maria", "maria", "maria"),
    ("li", "li", "li"),
    ("omar", "omar", "omar"),
    ("zoe", "zoe", "zoe"),
]
FAMILY = ["smith"] * 6 + [
    "garcia",
    "nguyen",
    "okafor",
    "kowalski",
    "tanaka",
    "oduya",
    "brennan",
    "haddad",
    "ivanova",
    "moreau",
    "lindqvist",
    "papadopoulos",
    "zyxwu",
]


def _population(seed: int = 7, people: int = 300) -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    rng = random.Random(seed)
    rows, person_of = [], []
    for person in range(people):
        given = rng.choice([g for g in GIVEN if g[0] != "bob"])
        family = rng.choice(FAMILY)
        dob = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        phone = f"1{rng.randint(200, 999)}{rng.randint(1000000, 9999999)}"
        email = f"{given[0]}.{family}{person}@mail.test"
        for copy in range(rng.choice([1, 2, 2, 3])):
            g, f, d, p, e = given, family, dob, phone, email
            if copy and g[0] == "robert" and rng.random() < 0.5:
                g = GIVEN[1]
            if copy and rng.random() < 0.2:
                f = f[:-1] + ("x" if f[-1] != "x" else "y")
            if copy and rng.random() < 0.1:
                d = d[:4] + d[6:8] + d[4:6] if int(d[6:8]) <= 12 else d
            p = None if copy and rng.random() < 0.3 else p
            e = None if copy and rng.random() < 0.3 else e
            rows.append(
                {
                    "given_name_key": g[0],
                    "given_name_canonical": g[1],
                    "given_name_canonicals": g[2],
                    "given_name_phonetic": g[0][:2].upper(),
                    "family_name_key": f,
                    "family_name_phonetic": f[:3].upper(),
                    "birth_date_key": d,
                    "phone_key": p,
                    "email_key": e,
                }
            )
            person_of.append(person)
    records = pl.DataFrame(rows).with_row_index("rid").cast({"rid": pl.Int64})
    truth = {(a, b) for a in range(len(rows)) for b in range(a + 1, len(rows)) if person_of[a] == person_of[b]}
    return records, truth


@pytest.fixture(scope="module")
def trained() -> tuple[pl.DataFrame, set[tuple[int, int]], pl.DataFrame, object]:
    rules = load_match_rules()
    rules = rules.model_copy(update={"training": rules.training.model_copy(update={"u_sample_pairs": 50_000})})
    records, truth = _population()
    usable = [b for b in rules.blocking if set(b.columns) <= set(records.columns)]  # no address or postcode here
    blocked = block_pairs(records, usable, rules.max_block_size)
    with pytest.warns(UserWarning, match="'address' skipped"):
        model = train_model(records, rules, blocked)
    scored = score_pairs(
        records, blocked.pairs, model, threshold_match_probability=0.95, threshold_review_probability=0.5
    )
    return records, truth, scored, model


def test_trained_model_separates_the_population(trained: tuple) -> None:
    _, truth, scored, model = trained
    merged = {(a, b) for a, b in scored.filter(pl.col("match_class") == "match").select("left", "right").iter_rows()}
    precision = len(merged & truth) / len(merged)
    recall = len(merged & truth) / len(truth)
    assert precision > 0.97 and recall > 0.9, (precision, recall)
    levels = {(row["comparison"], row["level"]): row["match_weight"] for row in model.parameters().to_dicts()}
    assert (
        levels[("birth_date", "exact")] > levels[("birth_date", "day_month_swapped")] > levels[("birth_date", "else")]
    )
    # the population has none of these
    assert model.training["skipped_comparisons"] == ["national_id", "address", "city", "birth_place", "occupation"]
    # regression: sessions follow the rules blocking actually used (rule_mask bits), not the file's list
    assert "address" not in {session["blocking_rule"] for session in model.training["sessions"]}


def test_explanation_sums_to_the_match_weight(trained: tuple) -> None:
    _, _, scored, model = trained
    weights = [c for c in scored.columns if c.endswith("_weight") and c != "match_weight"]
    assert weights == [
        "given_name_weight",
        "family_name_weight",
        "birth_date_weight",
        "email_weight",
        "phone_weight",
        "prior_weight",
    ]
    total = scored.select((pl.sum_horizontal(weights) - pl.col("match_weight")).abs().max()).item()
    assert total is not None and float(total) < 1e-9  # type: ignore[arg-type]
    row = scored.row(0, named=True)
    assert row["match_probability"] == pytest.approx(2 ** row["match_weight"] / (1 + 2 ** row["match_weight"]))
    assert row["given_name_level"] in [level.label for level in model.comparisons[0].comparison.levels]
    classes = scored.select(
        ((pl.col("match_probability") >= 0.95) == (pl.col("match_class") == "match")).all().alias("match"),
        ((pl.col("match_probability") < 0.5) == (pl.col("match_class") == "non_match")).all().alias("non_match"),
    ).row(0)
    assert classes == (True, True)


def test_rare_family_name_weighs_more_than_a_common_one(trained: tuple) -> None:
    records, _, scored, _ = trained
    family = dict(records.select("rid", "family_name_key").iter_rows())
    exact = scored.filter(pl.col("family_name_level") == "exact").with_columns(
        pl.col("left").replace_strict(family).alias("family")
    )
    smith = exact.filter(pl.col("family") == "smith")["family_name_weight"].max()
    rare = exact.filter(pl.col("family") == "zyxwu")["family_name_weight"].min()
    assert smith is not None and rare is not None and rare > smith  # type: ignore[operator]


def test_a_few_known_frequencies_score_as_a_join_with_them_does(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API scores one record's pairs with the frequencies of its own values (`FEW_TERMS`, an
    expression); the run joins the whole table. Both give the same weights."""
    records, _, _, model = trained
    namesakes = records.filter(pl.col("family_name_key") == records["family_name_key"][0])["rid"].to_list()[1:]
    right = sorted(set(namesakes) | set(range(1, 21)))
    pairs = pl.DataFrame({"left": [0] * len(right), "right": right}, schema={"left": pl.Int64, "right": pl.Int64})
    known = {c: score.term_frequencies(records, c) for c in score.tf_columns([t.comparison for t in model.comparisons])}
    mine = {c: table.filter(pl.col("value") == records[c][0]) for c, table in known.items()}  # the left record's
    assert all(table.height == 1 for table in mine.values())

    def scored() -> pl.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the comparisons this population lacks
            return score_pairs(
                records,
                pairs,
                model,
                threshold_match_probability=0.95,
                threshold_review_probability=0.5,
                frequencies=mine,
                record_count=records.height,
            )

    few = scored()
    monkeypatch.setattr(score, "FEW_TERMS", -1)
    assert few.equals(scored())
    assert few.filter(pl.col("family_name_level") == "exact").height > 0


def test_frequencies_by_rid_score_as_a_join_on_the_left_values_does(trained: tuple) -> None:
    """The run picks each pair's term frequencies by its left rid (`frequencies_by_rid`), from
    pairs compared without their left values; the API and explanations join on the left values.
    Both give the same scores, with rids that are not the records' positions and values missing."""
    records, _, scored, model = trained
    some = records.head(records.height // 2)["rid"]
    records = records.with_columns(  # some records without a given name: no frequency to pick
        pl.when(pl.col("rid").is_in(some.head(40).implode()))
        .then(None)
        .otherwise("given_name_key")
        .alias("given_name_key")
    ).reverse()  # rid no longer the row's position
    pairs = scored.select("left", "right").filter(pl.col("left").is_in(some.implode()))
    usable = usable_comparisons(records.columns, [t.comparison for t in model.comparisons])
    known = {c: term_frequencies(records, c) for c in score.tf_columns(usable)}
    thresholds = {"threshold_match_probability": 0.95, "threshold_review_probability": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the comparisons this population lacks
        joined = score_pairs(records, pairs, model, frequencies=known, **thresholds)
        compared = score.compare_for_scoring(records, pairs, usable, left_values=False)
        assert not [c for c in compared.columns if c.endswith("_l")]
        by_rid = score_pairs(
            records, pairs, model, compared=compared, by_rid=score.frequencies_by_rid(records, known), **thresholds
        )
    assert by_rid.equals(joined)
    exact = joined.filter(pl.col("given_name_level") == "exact")
    assert exact["given_name_weight"].n_unique() > 3  # the frequencies moved the weights


def test_save_load_round_trip(trained: tuple, tmp_path: Path) -> None:
    model = trained[3]
    path = save_model(model, tmp_path / "match_model.json")
    loaded = load_model(path)
    assert loaded == model
    stored = json.loads(path.read_text())
    assert stored["model_version"] == 2 and "trained_at" in stored and 0 < stored["prior_match_probability"] < 1
    assert [level["label"] for level in stored["comparisons"][0]["levels"]][:2] == ["missing", "exact"]
    stored["model_version"] = 99
    path.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="model_version 99; this code reads 2: retrain"):
        load_model(path)


def test_null_level_weighs_nothing() -> None:
    comparison = _comparison("dob", 3)
    model = build_model([comparison], {"dob": [1.0, 0.9, 0.1]}, {"dob": [1.0, 0.01, 0.99]}, 0.25, {})
    levels = model.comparisons[0].levels
    assert levels[0].m_probability is None and levels[0].match_weight == 0
    assert levels[1].match_weight == pytest.approx(math.log2(90))
    assert model.prior_weight == pytest.approx(math.log2(1 / 3))


def test_each_pair_has_its_levels_label_and_weight() -> None:
    """A pair's `<c>_level` is the label of its level and `<c>_weight` that level's weight, whatever
    the level (the null level weighs nothing); a level the model does not have is an error."""
    comparison = _comparison("dob", 3)
    model = build_model([comparison], {"dob": [1.0, 0.9, 0.1]}, {"dob": [1.0, 0.01, 0.99]}, 0.25, {})
    records = pl.DataFrame({"rid": [0, 1, 2, 3, 4], "dob": ["a", "a", "b", None, "c"]}).cast({"rid": pl.Int64})
    pairs = pl.DataFrame({"left": [0, 0, 1, 2, 3], "right": [1, 2, 4, 4, 4]}).cast(pl.Int64)
    compared = pairs.with_columns(pl.Series("dob", [1, 2, 2, 2, 0], dtype=pl.UInt8))
    scored = score_pairs(
        records, pairs, model, threshold_match_probability=0.9, threshold_review_probability=0.5, compared=compared
    )
    assert scored["dob_level"].to_list() == ["level_1", "else", "else", "else", "missing"]
    assert scored["dob_level"].dtype == pl.Enum(["missing", "level_1", "else"])
    weights = [math.log2(90), math.log2(0.1 / 0.99), math.log2(0.1 / 0.99), math.log2(0.1 / 0.99), 0.0]
    assert scored["dob_weight"].to_list() == pytest.approx(weights)
    assert (scored["match_weight"] - scored["prior_weight"]).to_list() == pytest.approx(weights)
    unknown = compared.with_columns(pl.Series("dob", [1, 2, 2, 2, 3], dtype=pl.UInt8))
    with pytest.raises(pl.exceptions.PolarsError):
        score_pairs(
            records, pairs, model, threshold_match_probability=0.9, threshold_review_probability=0.5, compared=unknown
        )


def test_the_prior_is_for_two_random_records_and_scales_with_the_data() -> None:
    """Twice the records, about half the chance that two random ones are one person."""
    comparison = _comparison("dob", 3)
    model = build_model([comparison], {"dob": [1.0, 0.9, 0.1]}, {"dob": [1.0, 0.01, 0.99]}, 0.001, {}, 1001)
    # the record count is read in steps (in_steps): within 1/32 bit of the count itself
    assert model.prior_weight_for(1001) == pytest.approx(math.log2(0.001 / 0.999), abs=1 / 32)
    assert model.prior_weight_for(2001) == pytest.approx(math.log2(0.0005 / 0.9995), abs=1 / 32)
    assert model.prior_weight_for(2) == pytest.approx(0.0)  # capped at even odds


def test_scoring_reads_counts_in_steps_so_a_few_records_more_change_no_score() -> None:
    """A night's few records more or less leave the prior and most term frequencies exactly as they
    were (so an incremental run rewrites only the pairs that changed), never more than 1/32 bit off
    the exact count, and a larger count never reads smaller."""
    steps = [in_steps(n) for n in range(1, 5000)]
    assert all(abs(math.log2(s / n)) <= 1 / 32 + 1e-12 for n, s in enumerate(steps, start=1))
    assert steps == sorted(steps) and in_steps(1) == 1.0
    model = build_model([_comparison("dob", 3)], {"dob": [1.0, 0.9, 0.1]}, {"dob": [1.0, 0.01, 0.99]}, 0.001, {}, 1001)
    assert model.prior_weight_for(990_000) == model.prior_weight_for(990_100)
    assert model.prior_weight_for(990_000) != model.prior_weight_for(1_100_000)
    names = ["smith"] * 1000 + ["jones"] * 500 + [f"rare{i}" for i in range(8500)]
    before = dict(term_frequencies(pl.DataFrame({"name": names}), "name").iter_rows())
    after = dict(term_frequencies(pl.DataFrame({"name": [*names, "smith", "jones", "new"]}), "name").iter_rows())
    assert (after["smith"], after["jones"], after["rare1"]) == (before["smith"], before["jones"], before["rare1"])
    assert before["smith"] == pytest.approx(0.1, rel=2 ** (1 / 16) - 1) and max(before.values()) <= 1.0


def test_training_on_the_pattern_counts_of_partitions_is_training_on_all_pairs(trained: tuple) -> None:
    """The match stage compares its pairs in partitions (mdm/match/partitions.py) and trains on the
    partitions' pattern counts added up: the same counts, so the same model, as all pairs at once."""
    records, _, _, model = trained
    rules = load_match_rules()
    rules = rules.model_copy(update={"training": rules.training.model_copy(update={"u_sample_pairs": 50_000})})
    usable = [b for b in rules.blocking if set(b.columns) <= set(records.columns)]
    blocked = block_pairs(records, usable, rules.max_block_size)
    with pytest.warns(UserWarning, match="'address' skipped"):
        comparisons = usable_comparisons(records.columns, rules.comparisons)
    compared = compare_pairs(records, blocked.pairs, comparisons, keep=["rule_mask"])
    thirds = [
        compared.slice(start, compared.height // 3 + 1) for start in range(0, compared.height, compared.height // 3 + 1)
    ]
    added = add_pattern_counts([pattern_counts(third, comparisons) for third in thirds])
    assert len(thirds) == 3 and added.equals(pattern_counts(compared, comparisons))
    with pytest.warns(UserWarning, match="'address' skipped"):
        from_parts = train_model(records, rules, blocked, patterns=added)
    assert from_parts.parameters().equals(model.parameters())
    assert from_parts.training == model.training

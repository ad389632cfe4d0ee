"""The matching stages inside a run: explained pairs, the review queue, the model's life across runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from tests.conftest import AS_OF, REPO
from tests.conftest import query as q


@pytest.fixture
def trainable(tiny: Path) -> Path:
    """The tiny fixture with its own rules: min_records 2, so a run trains on its six records."""
    rules = tiny.parent / "rules"
    rules.mkdir()
    text = (REPO / "rules" / "match.yaml").read_text()
    (rules / "match.yaml").write_text(text.replace("min_records: 1000", "min_records: 2"))
    tiny.write_text(tiny.read_text() + "rules: rules\n")
    return tiny


def test_every_scored_pair_is_explained_field_by_field(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    assert summary.match.model == "bundled"  # six records are too few to train on
    rows = q(
        master,
        "SELECT left_source || ':' || left_record_id, right_source || ':' || right_record_id, match_weight,"
        " prior_weight + given_name_weight + family_name_weight + birth_date_weight + email_weight + phone_weight"
        " + address_weight + city_weight, match_class, outcome, given_name_level FROM match_pairs",
    )
    by_pair = {frozenset((a, b)): (w, parts, c, o, g) for a, b, w, parts, c, o, g in rows}
    for weight, parts, *_ in by_pair.values():
        assert weight == pytest.approx(parts)  # the total is the prior plus every comparison's weight
    robert = by_pair[frozenset(("crm:C1", "web:W1"))]
    assert robert[2:4] == ("match", "merged") and robert[4] == "exact"
    mary_and_jane = by_pair[frozenset(("crm:C2", "web:W5"))]
    assert mary_and_jane[3] == "blocked: different birth dates"  # a household member, never merged
    model = json.loads(master.with_suffix(".model.json").read_text())
    levels = q(master, "SELECT count(*) FROM match_model")[0][0]
    assert levels == sum(len(c["levels"]) for c in model["comparisons"])


def test_the_model_trained_by_the_first_run_is_reused_until_retrain(trainable: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    first = run_pipeline(trainable, master, as_of=AS_OF)
    assert first.match.model == "trained"
    trained_at = first.match.model_trained_at
    with StateStore(tmp_path / "state") as store:
        assert store.current_model() is not None
    second = run_pipeline(trainable, master, as_of=AS_OF)
    assert second.match.model == "reused"
    assert second.match.model_trained_at == trained_at
    third = run_pipeline(trainable, master, as_of=AS_OF, retrain=True)
    assert third.match.model == "trained"


def test_changed_comparisons_train_a_new_model(trainable: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(trainable, master, as_of=AS_OF)
    rules = trainable.parent / "rules" / "match.yaml"
    rules.write_text(rules.read_text().replace("min_similarity: 0.88", "min_similarity: 0.86"))
    assert run_pipeline(trainable, master, as_of=AS_OF).match.model == "trained"


def test_too_few_records_and_no_model_for_these_comparisons_fails_clearly(tiny: Path, tmp_path: Path) -> None:
    rules = tiny.parent / "rules"
    rules.mkdir()
    text = (REPO / "rules" / "match.yaml").read_text()
    (rules / "match.yaml").write_text(text.replace("min_similarity: 0.88", "min_similarity: 0.86"))
    shutil.copy(REPO / "rules" / "match_model.json", rules / "match_model.json")
    tiny.write_text(tiny.read_text() + "rules: rules\n")
    with pytest.raises(Exception, match="too few to train a match model"):
        run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)
    assert not (tmp_path / "master.duckdb").exists()


def test_household_members_are_neither_merged_nor_queued(tiny: Path, tmp_path: Path) -> None:
    """Robert, Mary and Jane share a phone: the model would merge them, but their birth dates and
    given names differ, so no pair of theirs is merged, nor queued for a steward."""
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    assert q(master, "SELECT count(*) FROM review_queue")[0][0] == 0
    robert_and_mary = q(
        master, "SELECT outcome FROM match_pairs WHERE left_record_id = 'C2' AND right_record_id = 'W1'"
    )
    assert robert_and_mary == [("blocked: different birth dates",)]


def test_explain_a_pair_and_a_golden_customer(tiny: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mdm.cli import main

    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    pair = CliRunner().invoke(main, ["explain", "--master", str(master), "crm:C2", "web:W1"])
    assert pair.exit_code == 0, pair.output
    assert "phone           exact" in pair.output and "given_name      else" in pair.output
    assert "in the last run: blocked: different birth dates" in pair.output
    lines = pair.output.splitlines()
    table = lines[next(i for i, x in enumerate(lines) if x.startswith("comparison")) + 1 :]
    table = table[: next(i for i, x in enumerate(table) if x.startswith("total")) + 1]
    *weights, total = [float(line.split()[-1]) for line in table]
    assert sum(weights) == pytest.approx(total, abs=0.005 * (len(weights) + 1))  # each printed to 0.01

    golden_id = q(master, "SELECT golden_id FROM customer_xref WHERE source_record_id = 'C1'")[0][0]
    golden = CliRunner().invoke(main, ["explain", "--master", str(master), golden_id])
    assert golden.exit_code == 0, golden.output
    assert f"{golden_id}: 2 record(s)" in golden.output
    assert "crm:C1 ~ web:W1" in golden.output and "kept apart from:" in golden.output
    # where each golden value came from and why it won
    assert "  email          robert.smith@gmail.com  from web:W1, all records agree\n" in golden.output
    assert "  address_line1  12 Oak St  from crm:C1, has address_line1 (over -, -, -, -, -, US)\n" in golden.output

    missing = CliRunner().invoke(main, ["explain", "--master", str(master), "crm:C4", "crm:C1"])
    assert missing.exit_code == 1 and "record crm:C4 is not in the master (quarantined" in missing.output


CHAIN_YAML = """\
version: 1
sources:
  - name: crm
    kind: csv
    path: crm.csv
    record_id: id
    country: US
    fields:
      given_name: first_name
      family_name: last_name
      birth_date: {column: dob, format: "%Y-%m-%d"}
      email: email
      phone: phone
      national_id: ssn
"""
# A1 (Ann Lee) and A3 (Bo Chen) each share an e-mail or a phone and the birth date with A2, a
# record without names; B1 and B2 (Mia Jones) carry two birth dates and one national id.
CHAIN_CSV = """\
id,first_name,last_name,dob,email,phone,ssn
A1,Ann,Lee,1990-02-03,ann.lee@gmail.com,(617) 496-2000,
A2,,,1990-02-03,ann.lee@gmail.com,(312) 744-5000,
A3,Bo,Chen,1990-02-03,bo.chen@gmail.com,(312) 744-5000,
B1,Mia,Jones,1970-03-12,mia.jones@gmail.com,(212) 736-5000,518-20-3947
B2,Mia,Jones,1975-08-21,mia.jones@gmail.com,(212) 736-5000,518203947
"""


@pytest.mark.usefixtures("data_key")  # its sources map national_id, kept encrypted
def test_every_merge_holding_a_golden_customer_is_explained(tmp_path: Path) -> None:
    """Issue 14, class 5 end to end: the chain Ann Lee - (no names) - Bo Chen never makes one
    golden customer, and every link that holds a golden customer together is a pair `mdm explain`
    shows as merged, with what outweighed a conflict where one did."""
    from click.testing import CliRunner

    from mdm.cli import main

    (tmp_path / "crm.csv").write_text(CHAIN_CSV)
    (tmp_path / "sources.yaml").write_text(CHAIN_YAML)
    master = tmp_path / "master.duckdb"
    run_pipeline(tmp_path / "sources.yaml", master, as_of=AS_OF)
    golden = dict(q(master, "SELECT source_record_id, golden_id FROM customer_xref"))
    assert golden["A1"] != golden["A3"]
    assert golden["A2"] in (golden["A1"], golden["A3"])
    assert golden["B1"] == golden["B2"]

    def explain(*what: str) -> str:
        result = CliRunner().invoke(main, ["explain", "--master", str(master), *what])
        assert result.exit_code == 0, result.output
        return result.output

    for golden_id in set(golden.values()):
        members = {r for r, g in golden.items() if g == golden_id}
        links = q(
            master,
            "SELECT left_record_id, right_record_id, outcome FROM match_pairs"
            f" WHERE left_golden_id = '{golden_id}' AND right_golden_id = '{golden_id}'"
            " AND starts_with(outcome, 'merged')",
        )
        # the merged links span the golden customer's records
        reached = {min(members)}
        for _ in members:
            reached |= {x for a, b, _ in links for x in (a, b) if a in reached or b in reached}
        assert reached == members, golden_id
        for a, b, outcome in links:
            shown = explain(f"crm:{a}", f"crm:{b}")
            assert f"in the last run: {outcome}" in shown and f"both belong to {golden_id}" in shown
            assert "match probability" in shown and ": match (merge at" in shown
        if len(members) > 1:
            assert "linked by:\n" in explain(golden_id)
    assert "in the last run: merged (the same national_id outweighs: different birth dates)" in explain(
        "crm:B1", "crm:B2"
    )
    apart = "crm:A3" if golden["A2"] == golden["A1"] else "crm:A1"
    assert "in the last run: blocked: no name in common" in explain("crm:A2", apart)

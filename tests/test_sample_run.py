"""The bundled sample end to end, checked against the generator's ground truth."""

from __future__ import annotations

import filecmp
from pathlib import Path

import duckdb
import polars as pl
import pytest

from mdm.config.dictionary import load_dictionary
from mdm.config.rules import DEFAULT_RULES_DIR, load_match_rules
from mdm.evaluate import pairwise_scores
from mdm.pipeline import run_pipeline
from mdm.publish.catalog import MASTER_MACROS, MASTER_TABLES
from mdm.publish.schema import SchemaContext, schema_problems
from mdm.sample import generate_sample
from tests.conftest import AS_OF, REPO

SAMPLE = REPO / "data" / "sample"
ROW_LEVEL = {
    "missing_id",
    "duplicate_id_exact",
    "duplicate_id_conflict",
    "ragged_row",
    "bad_json",
    "not_object",
    "no_identity",
}
VALUE_LEVEL = {"bad_birth_date": "birth_date", "placeholder_phone": "phone", "bad_email": "email"}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    master = tmp_path_factory.mktemp("sample") / "master.duckdb"
    run_pipeline(SAMPLE / "sources.yaml", master, as_of=AS_OF)
    con = duckdb.connect(str(master), read_only=True)
    try:
        return {"_master": pl.DataFrame({"path": [str(master)]})} | {
            name: con.sql(f"SELECT * FROM {name}").pl()
            for name in (
                "customer_xref",
                "quarantine",
                "source_records",
                "run_source_counts",
                "events_visits",
                "events_purchases",
                "events_survey",
            )
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def truth() -> pl.DataFrame:
    return pl.read_csv(SAMPLE / "truth.csv", schema_overrides={"record_id": pl.String})


def test_the_committed_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    generate_sample(tmp_path)
    for name in (
        "truth.csv",
        "sources/crm.csv",
        "sources/web_signups.jsonl",
        "sources/clinic.csv",
        "sources/billing.sqlite",
    ):
        assert filecmp.cmp(tmp_path / name, SAMPLE / name, shallow=False), f"{name} drifted: run `make sample`"


def test_the_sample_master_with_its_event_tables_is_its_documented_schema(
    published: dict[str, pl.DataFrame],
) -> None:
    """The tiny fixture has no event sources; the sample's events_<name> tables are checked here."""
    master = Path(published["_master"]["path"][0])
    context = SchemaContext.of(load_dictionary(), load_match_rules(DEFAULT_RULES_DIR / "match.yaml"))
    problems = schema_problems(master, context, MASTER_TABLES, MASTER_MACROS)
    assert problems == [], "\n".join(problems)


def test_every_event_row_is_published_or_quarantined(published: dict[str, pl.DataFrame]) -> None:
    counts = published["run_source_counts"].filter(pl.col("role") == "events")
    assert sorted(counts["source"]) == ["purchases", "survey", "visits"]
    for source, read in counts.select("source", "rows_read").iter_rows():
        events = published[f"events_{source}"]
        assert events["golden_id"].null_count() == 0
        rejected = published["quarantine"].filter(pl.col("source") == source)
        assert events.height + rejected.height == read
        assert sorted(events["row_number"].to_list() + rejected["row_number"].to_list()) == list(range(1, read + 1))


def test_every_input_row_is_accounted_for(published: dict[str, pl.DataFrame], truth: pl.DataFrame) -> None:
    counts = published["run_source_counts"]
    assert (counts["rows_read"] == counts["rows_accepted"] + counts["rows_quarantined"]).all()
    by_source = dict(truth.group_by("source").len().iter_rows())
    persons = counts.filter(pl.col("role") == "person")
    assert dict(persons.select("source", "rows_read").iter_rows()) == by_source
    seen = pl.concat(
        [
            published["customer_xref"].select("source", "row_number"),
            published["quarantine"].filter(pl.col("source").is_in(list(by_source))).select("source", "row_number"),
        ]
    )
    assert seen.height == truth.height
    assert seen.unique().height == truth.height


def test_broken_rows_land_in_quarantine_with_a_reason(published: dict[str, pl.DataFrame], truth: pl.DataFrame) -> None:
    quarantined = published["quarantine"].select("source", "row_number", "reasons")
    expected = truth.filter(pl.col("broken").is_in(list(ROW_LEVEL))).select("source", "row_number", "broken")
    joined = expected.join(quarantined, on=["source", "row_number"], how="left")
    assert joined.filter(pl.col("reasons").is_null()).is_empty(), "a broken row was accepted"
    assert (joined["reasons"].list.len() > 0).all()


def test_bad_values_are_flagged_and_the_row_kept(published: dict[str, pl.DataFrame], truth: pl.DataFrame) -> None:
    records = published["source_records"]
    for tag, field in VALUE_LEVEL.items():
        rows = truth.filter(pl.col("broken") == tag).select("source", "row_number")
        found = rows.join(records, on=["source", "row_number"], how="inner")
        assert found.height == rows.height, f"{tag} rows must be accepted"
        assert found[field].is_null().all(), f"{tag}: the bad {field} must be nulled"
        assert (found[f"{field}_flags"].list.len() > 0).all(), f"{tag}: the bad {field} must be flagged"


def test_matching_does_not_merge_different_people(published: dict[str, pl.DataFrame], truth: pl.DataFrame) -> None:
    joined = published["customer_xref"].join(
        truth.rename({"record_id": "source_record_id"}).unique(["source", "source_record_id"]),
        on=["source", "source_record_id"],
    )
    scores = pairwise_scores(joined)
    assert scores.precision >= 0.99
    assert scores.true_positive_pairs > 0

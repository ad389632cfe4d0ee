"""The published master as a product: its documented schema (checked both ways), its per-run
quality metrics (tiny fixture, counts from tests/fixtures/tiny/README.md) and `mdm query`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.config.dictionary import load_dictionary
from mdm.config.rules import DEFAULT_RULES_DIR, load_match_rules
from mdm.pipeline import run_pipeline
from mdm.publish.catalog import MASTER_MACROS, MASTER_TABLES
from mdm.publish.schema import Macro, SchemaContext, expand, schema_problems, table
from mdm.state import StateStore
from tests.conftest import AS_OF, FIXTURES
from tests.conftest import query as q


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny fixture published twice (the second run adds nothing new): read-only for the tests here."""
    work = tmp_path_factory.mktemp("published")
    shutil.copytree(FIXTURES / "tiny", work / "tiny")
    master = work / "out" / "master.duckdb"
    run_pipeline(work / "tiny" / "sources.yaml", master, as_of=AS_OF)
    run_pipeline(work / "tiny" / "sources.yaml", master, as_of=AS_OF)
    return master


def project_context() -> SchemaContext:
    return SchemaContext.of(load_dictionary(), load_match_rules(DEFAULT_RULES_DIR / "match.yaml"))


# ---- the documented schema -----------------------------------------------------------------


def test_the_published_master_is_exactly_its_documented_schema(published: Path) -> None:
    problems = schema_problems(published, project_context(), MASTER_TABLES, MASTER_MACROS)
    assert problems == [], "the master and mdm/publish/catalog.py differ:\n" + "\n".join(problems)


def small_context() -> SchemaContext:
    return SchemaContext(
        fields={"given_name": "person_name", "birth_date": "date"},
        field_types={"given_name": "VARCHAR", "birth_date": "DATE", "full_name": "VARCHAR"},
        input_fields=["full_name"],
        comparisons=["given_name"],
        contact_attributes=["email"],
    )


def test_a_pattern_expands_to_one_column_per_value_with_the_field_type() -> None:
    ctx = small_context()
    docs = table("t", "row", "p", [("<field>", "<field type>", "m"), ("<field>_flags", "VARCHAR[]", "m")], section="s")
    assert expand(docs.columns[0], ctx) == {"given_name": "VARCHAR", "birth_date": "DATE"}
    assert expand(docs.columns[1], ctx) == {"given_name_flags": "VARCHAR[]", "birth_date_flags": "VARCHAR[]"}
    with pytest.raises(ValueError, match="one placeholder"):
        expand(table("t", "r", "p", [("<nope>_x", "VARCHAR", "m")], section="s").columns[0], ctx)


def test_the_check_names_every_difference_and_where_to_document_it(tmp_path: Path) -> None:
    master = tmp_path / "m.duckdb"
    con = duckdb.connect(str(master))
    con.sql("CREATE TABLE people (id VARCHAR, given_name VARCHAR, birth_date VARCHAR, given_name_flags VARCHAR[])")
    con.sql("ALTER TABLE people ADD COLUMN surprise_flags VARCHAR[]")  # no field 'surprise': not a pattern match
    con.sql("CREATE TABLE extra (x INTEGER)")
    con.sql("CREATE VIEW v AS SELECT 1 AS one")
    con.sql("CREATE MACRO people_as_of(r) AS TABLE SELECT * FROM people")
    con.close()
    docs = [
        table(
            "people",
            "person",
            "p",
            [
                ("id", "VARCHAR", "id"),
                ("<field>", "<field type>", "value"),
                ("<field>_flags", "VARCHAR[]", "flags"),
                ("gone", "BIGINT", "documented, not published"),
            ],
            section="s",
        ),
        table("v", "one", "p", [("one", "INTEGER", "1")], section="s"),  # a view documented as a table
        table("missing", "none", "p", [("x", "INTEGER", "x")], section="s"),
    ]
    problems = schema_problems(master, small_context(), docs, [Macro("other(x)", "m")])
    assert problems == [
        "table 'extra' (base table) is in the master but not documented: add a table(...) for it to"
        " MASTER_TABLES in mdm/publish/catalog.py",
        "table 'missing' is documented in mdm/publish/catalog.py but not in the master: remove it or publish it",
        "column people.surprise_flags (VARCHAR[]) is not documented: document it in mdm/publish/catalog.py"
        " (table 'people')",
        "column people.birth_date_flags is documented (as '<field>_flags') but not in the master",
        "column people.gone is documented (as 'gone') but not in the master",
        "column people.birth_date is VARCHAR in the master but documented as DATE ('<field>')",
        "'v' is a view in the master but documented as a table",
        "macro 'people_as_of' is not documented: add a Macro to MASTER_MACROS in mdm/publish/catalog.py",
        "macro 'other' is documented but not in the master",
    ]


def test_schema_doc_lists_every_table_and_expands_placeholders() -> None:
    text = (Path(__file__).parent.parent / "docs" / "schema.md").read_text(encoding="utf-8")
    for t in MASTER_TABLES:
        assert f"### {t.name}\n" in text
    assert "| `<contact>` | each contact attribute whose staleness is tracked | `address`, `phone`, `email` |" in text


# ---- quality metrics -----------------------------------------------------------------------


def metric(master: Path, name: str, source: str | None, field: str | None) -> list[tuple]:
    """(numerator, denominator, value) of a metric in every run, oldest first."""
    return q(
        master,
        "SELECT numerator, denominator, round(value, 4) FROM quality_metrics JOIN published_runs USING (run_id)"
        f" WHERE metric = '{name}' AND source IS NOT DISTINCT FROM {'NULL' if source is None else repr(source)}"
        f" AND field IS NOT DISTINCT FROM {'NULL' if field is None else repr(field)} ORDER BY run_seq",
    )


def test_quality_metrics_of_the_tiny_fixture(published: Path) -> None:
    # 6 accepted records in 4 golden customers: 2 duplicates; none within a source
    assert metric(published, "duplicate_rate", None, None) == [(2, 6, 0.3333)] * 2
    assert metric(published, "duplicate_rate", "crm", None) == [(0, 3, 0.0)] * 2
    # C6's birth date 02/30/1990 is no date: 2 of crm's 3 birth dates are valid
    assert metric(published, "validity", "crm", "birth_date") == [(2, 3, 0.6667)] * 2
    # web: W2 has no phone, W5 no e-mail
    assert metric(published, "completeness", "web", "email") == [(2, 3, 0.6667)] * 2
    assert metric(published, "completeness", "web", "phone") == [(2, 3, 0.6667)] * 2
    # no source gives a country (the default fills it): nothing present, validity undefined
    assert metric(published, "completeness", None, "country") == [(0, 6, 0.0)] * 2
    assert metric(published, "validity", None, "country") == [(0, 0, None)] * 2
    # web has no addresses; crm's 3 addresses are all recent (as of 2026-11-01): none stale
    assert metric(published, "stale_share", "web", "address") == [(0, 0, None)] * 2
    assert metric(published, "stale_share", "crm", "address") == [(0, 3, 0.0)] * 2
    assert metric(published, "stale_share", None, None) == [(0, 6, 0.0)] * 2


def test_quality_metrics_of_every_run_are_kept_in_the_store(published: Path) -> None:
    runs = [r for (r,) in q(published, "SELECT run_id FROM published_runs ORDER BY run_seq")]
    per_run = q(published, "SELECT run_id, count(*) FROM quality_metrics GROUP BY run_id ORDER BY run_id")
    assert [r for r, _ in per_run] == sorted(runs) and per_run[0][1] == per_run[1][1]
    with StateStore(published.parent / "state") as store:
        stored = store.quality_metrics()
    assert stored.height == sum(n for _, n in per_run)


def test_a_run_that_fails_to_commit_adds_no_metrics(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(tmp_path / "state") as store:
        before = store.quality_metrics().height

    def refuse(*args: object) -> None:
        raise ValueError("refused inside the transaction")

    monkeypatch.setattr(StateStore, "_check_no_retired_id_assigned", staticmethod(refuse))
    with pytest.raises(Exception, match="refused inside the transaction"):
        run_pipeline(tiny, master, as_of=AS_OF)
    with StateStore(tmp_path / "state") as store:
        assert before > 0 and store.quality_metrics().height == before


# ---- mdm query -----------------------------------------------------------------------------


def run_query(master: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["query", *args, "--master", str(master)])
    return result.exit_code, result.output


def test_query_prints_a_table_csv_or_json(published: Path) -> None:
    sql = "SELECT golden_id, given_name, sources FROM golden_customers ORDER BY golden_id LIMIT 2"
    code, out = run_query(published, sql)
    assert code == 0
    assert "│ G000000001 │ Robert     │ [crm, web] │" in out
    code, out = run_query(published, sql, "--format", "csv")
    assert (code, out) == (
        0,
        "golden_id,given_name,sources\nG000000001,Robert,\"['crm', 'web']\"\nG000000002,Mary,\"['crm', 'web']\"\n",
    )
    code, out = run_query(published, sql, "--format", "json")
    assert code == 0 and json.loads(out) == [
        {"golden_id": "G000000001", "given_name": "Robert", "sources": ["crm", "web"]},
        {"golden_id": "G000000002", "given_name": "Mary", "sources": ["crm", "web"]},
    ]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DELETE FROM golden_customers", "DELETE"),
        ("CREATE TABLE mine AS SELECT * FROM golden_customers", "CREATE"),
        ("UPDATE golden_customers SET given_name = 'X'", "UPDATE"),
        ("COPY golden_customers TO 'out.csv'", "COPY"),
    ],
)
def test_query_refuses_what_is_not_a_query_and_leaves_the_master_unchanged(
    published: Path, sql: str, kind: str
) -> None:
    before = published.read_bytes()
    code, out = run_query(published, sql)
    assert code == 1
    assert f"mdm query is read-only: {kind} statements are refused" in out
    assert published.read_bytes() == before
    assert q(published, "SELECT count(*) FROM golden_customers") == [(4,)]


def test_query_reports_duckdbs_message_on_a_bad_query(published: Path) -> None:
    code, out = run_query(published, "SELECT nope FROM golden_customers")
    assert code == 1 and 'Binder Error: Referenced column "nope" not found' in out
    code, out = run_query(published, "SELECT 1; SELECT 2")
    assert code == 1 and "give exactly one SQL statement, not 2" in out

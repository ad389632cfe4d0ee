"""The tag engine (mdm/tags/): tags.yaml checked tag by tag, SQL tags evaluated one by one,
state windows as of the run's day, stored tags through rebuilds, merges and splits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from mdm.config.errors import ConfigError
from mdm.config.rules import DEFAULT_RULES_DIR
from mdm.config.tags import TagDef
from mdm.pipeline import run_pipeline
from mdm.state import StateStore
from mdm.tags import TagsConfig, evaluate_tags, load_tags
from mdm.tags.commands import TagCommandError, check_tags, set_tag
from mdm.tags.engine import prepare_connection
from tests.conftest import AS_OF, query

SHIPPED = load_tags(DEFAULT_RULES_DIR / "tags.yaml")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tags.yaml"
    path.write_text(text)
    return path


def test_the_shipped_tags_load_without_a_problem() -> None:
    assert SHIPPED.problems == []
    names = [t.name for t in SHIPPED.tags]
    assert {"age_band", "rehab_recent", "pregnant", "postpartum_month", "distance_to_hospital", "vip"} <= set(names)
    assert {t.category for t in SHIPPED.tags} == {"static", "behaviour", "state"}
    assert {t.origin for t in SHIPPED.tags} == {"system", "manual", "survey"}


def test_a_bad_category_or_origin_names_file_line_tag_and_fix_and_keeps_the_other_tags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\n"
        "tags:\n"
        "  - name: adult\n"
        "    description: Adult.\n"
        "    category: static\n"
        "    origin: system\n"
        "    where: g.birth_date < as_of_date() - INTERVAL 18 YEAR\n"
        "  - name: postpartum\n"  # line 8
        "    description: After birth.\n"
        "    category: stat\n"  # line 10
        "    origin: system\n"
        "    where: 'true'\n"
        "  - name: newsletter\n"  # line 13
        "    description: Reads the newsletter.\n"
        "    category: behaviour\n"
        "    origin: imported\n"  # line 16
        "  - name: vip\n"
        "    description: Set by staff.\n"
        "    category: static\n"
        "    origin: manual\n",
    )
    config = load_tags(path)
    assert [t.name for t in config.tags] == ["adult", "vip"]
    messages = config.messages()
    assert len(messages) == 2, messages
    assert messages[0].startswith("line 10: tag postpartum: tags[1].category: Input should be")
    assert "(fix: category: state   (one of: static, behaviour, state))" in messages[0]
    assert messages[1].startswith("line 16: tag newsletter: tags[2].origin:")
    assert "(fix: origin: system   (one of: system, manual, survey))" in messages[1]
    with pytest.raises(ConfigError) as caught:
        config.check()
    assert str(path) in str(caught.value) and "2 problem(s)" in str(caught.value)


@pytest.mark.parametrize(
    ("description", "entry", "expected"),
    [
        ("system tag without SQL", {"origin": "system"}, "a system tag needs `where:"),
        ("manual tag with SQL", {"origin": "manual", "where": "true"}, "a manual tag is set with `mdm tags set`"),
        ("where and query", {"origin": "system", "where": "true", "query": "SELECT 1"}, "give `where` or `query`"),
        ("value without where", {"origin": "system", "query": "SELECT 1", "value": "1"}, "`value` and `evidence` go"),
        ("reserved name", {"name": "set", "origin": "manual"}, "a word of the `mdm tags` command"),
        ("bad name", {"name": "Rehab Recent", "origin": "manual"}, "must be lower-case letters"),
    ],
)
def test_tag_definition_rules(description: str, entry: dict[str, str], expected: str) -> None:
    raw = {"name": "t", "description": "d", "category": "static"} | entry
    with pytest.raises(ValueError, match=None) as caught:
        TagDef.model_validate(raw)
    assert expected in str(caught.value), description


def test_a_tag_defined_twice_keeps_the_first(tmp_path: Path) -> None:
    tag = "  - {name: vip, description: d, category: static, origin: manual}\n"
    config = load_tags(write(tmp_path, "tags:\n" + tag + tag))
    assert [t.name for t in config.tags] == ["vip"]
    assert config.problems[0]["line"] == 3 and "defined twice (first on line 2)" in config.problems[0]["problem"]


# ---- the engine on a hand-made master ---------------------------------------------------------


def connection(as_of: dt.date, visits: list[tuple[str, str, str, str | None]] = ()) -> duckdb.DuckDBPyConnection:
    """golden_customers G1 (born 1990-02-28, F, Boston), G2 (born 2010-06-01, M, no city);
    events_visits rows (golden_id, event_time, visit_type, note)."""
    con = duckdb.connect()
    con.sql(
        "CREATE TABLE golden_customers AS SELECT * FROM (VALUES"
        " ('G1', DATE '1990-02-28', 'F', 'Boston', 'MA'), ('G2', DATE '2010-06-01', 'M', NULL, NULL))"
        " AS g(golden_id, birth_date, gender, city, region)"
    )
    con.sql(
        "CREATE TABLE events_visits (golden_id VARCHAR, event_time DATE, department VARCHAR, visit_type VARCHAR,"
        " due_date DATE, note VARCHAR)"
    )
    for golden_id, day, kind, note in visits:
        dept = {"delivery": "obstetrics", "surgery": "surgery", "rehab_session": "rehabilitation"}.get(kind, "general")
        con.execute("INSERT INTO events_visits VALUES (?, ?, ?, ?, NULL, ?)", [golden_id, day, dept, kind, note])
    prepare_connection(con, as_of)
    return con


def shipped(*names: str) -> TagsConfig:
    wanted = [t for t in SHIPPED.tags if t.name in names]
    return TagsConfig(SHIPPED.path, wanted, [], {t.name: SHIPPED.lines[t.name] for t in wanted})


def test_one_broken_sql_tag_is_reported_and_every_other_tag_is_computed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tags:\n"
        "  - {name: female, description: d, category: static, origin: system, where: \"g.gender = 'F'\"}\n"
        "  - {name: broken, description: d, category: static, origin: system, where: g.shoe_size > 40}\n"
        "  - {name: wrong_columns, description: d, category: static, origin: system, query: SELECT 1 AS x}\n"
        "  - {name: no_table, description: d, category: behaviour, origin: system,"
        " query: SELECT golden_id FROM events_gym}\n"
        "  - {name: in_boston, description: d, category: static, origin: system,"
        " where: \"g.city = 'Boston'\", value: g.region}\n",
    )
    con = connection(dt.date(2026, 11, 1))
    results = evaluate_tags(con, load_tags(path), event_sources={"visits"})
    assert sorted(results.tags.select("tag", "golden_id", "value").iter_rows()) == [
        ("female", "G1", None),
        ("in_boston", "G1", "MA"),
    ]
    errors = {r["tag"]: r for r in results.errors.iter_rows(named=True)}
    assert set(errors) == {"broken", "wrong_columns", "no_table"}
    assert errors["broken"]["line"] == 3 and errors["broken"]["file"] == str(path)
    assert 'does not have a column named "shoe_size"' in errors["broken"]["problem"]
    assert "DESCRIBE golden_customers" in errors["broken"]["fix"]
    assert "returns x" in errors["wrong_columns"]["problem"]
    assert "events_gym" in errors["no_table"]["problem"] and "here: events_visits" in errors["no_table"]["fix"]
    assert {o.status for o in results.outcomes.values()} == {"ok", "error"}


def test_a_tag_reading_an_event_source_this_run_lacks_is_skipped_not_an_error() -> None:
    results = evaluate_tags(connection(dt.date(2026, 11, 1)), shipped("rehab_recent"), event_sources=set())
    assert results.errors.height == 0 and results.tags.height == 0
    assert results.outcomes["rehab_recent"].status == "skipped: no event source visits in sources.yaml"


def test_a_tag_cannot_read_files() -> None:
    config = TagsConfig(
        Path("tags.yaml"),
        [
            TagDef(
                name="sneaky",
                description="d",
                category="static",
                origin="system",
                query="SELECT golden_id FROM read_csv('/etc/passwd')",
            )
        ],
    )
    results = evaluate_tags(connection(dt.date(2026, 11, 1)), config, event_sources=set())
    assert results.tags.height == 0 and "disabled" in results.errors["problem"][0].lower()


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # delivered 31 January: month 2 starts on 28 February (31 January + 1 month, clamped)
        (dt.date(2026, 1, 30), None),  # before the delivery
        (dt.date(2026, 1, 31), ("month 1", dt.date(2026, 1, 31), dt.date(2026, 2, 28))),
        (dt.date(2026, 2, 27), ("month 1", dt.date(2026, 1, 31), dt.date(2026, 2, 28))),
        (dt.date(2026, 2, 28), ("month 2", dt.date(2026, 2, 28), dt.date(2026, 3, 31))),
        (dt.date(2026, 3, 31), ("month 3", dt.date(2026, 3, 31), dt.date(2026, 4, 30))),
        (dt.date(2027, 1, 30), ("month 12", dt.date(2026, 12, 31), dt.date(2027, 1, 31))),
        (dt.date(2027, 1, 31), None),  # a year after: no longer postpartum
    ],
)
def test_postpartum_month_windows_follow_the_as_of_day(
    as_of: dt.date, expected: tuple[str, dt.date, dt.date] | None
) -> None:
    con = connection(as_of, [("G1", "2026-01-31", "delivery", None)])
    rows = evaluate_tags(con, shipped("postpartum_month"), event_sources={"visits"}).tags
    got = [(r["value"], r["valid_from"], r["valid_to"]) for r in rows.iter_rows(named=True)]
    assert got == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("days_after", "stage"),
    [(0, "acute"), (13, "acute"), (14, "early recovery"), (41, "early recovery"), (42, "late recovery"), (90, None)],
)
def test_post_op_stage_by_days_since_the_surgery(days_after: int, stage: str | None) -> None:
    surgery = dt.date(2026, 9, 1)
    con = connection(surgery + dt.timedelta(days=days_after), [("G2", "2026-09-01", "surgery", "knee replacement")])
    rows = evaluate_tags(con, shipped("post_op_stage"), event_sources={"visits"}).tags
    assert rows["value"].to_list() == ([stage] if stage else [])
    if stage:
        assert rows["evidence"][0] == "knee replacement on 2026-09-01"


def test_age_band_and_rehab_are_computed_as_of_the_run_day() -> None:
    visits = [("G2", "2026-08-01", "rehab_session", None), ("G2", "2026-10-20", "rehab_session", None)]
    con = connection(dt.date(2026, 11, 1), visits)
    rows = evaluate_tags(con, shipped("age_band", "rehab_recent"), event_sources={"visits"}).tags
    got = sorted(rows.select("tag", "golden_id", "value", "valid_to").iter_rows())
    # 2026-08-01 is more than 90 days before 1 November; the tag holds until 90 days after the last visit
    assert got == [
        ("age_band", "G1", "30-44", None),
        ("age_band", "G2", "0-17", None),
        ("rehab_recent", "G2", "1", dt.date(2027, 1, 18)),
    ]


# ---- stored tags through runs -----------------------------------------------------------------


def golden_of(master: Path, source: str, record_id: str) -> str:
    return query(
        master, f"SELECT golden_id FROM customer_xref WHERE source = '{source}' AND source_record_id = '{record_id}'"
    )[0][0]


def tags_of(master: Path, tag: str) -> list[tuple]:
    return query(master, f"SELECT golden_id, value, origin, evidence FROM customer_tags WHERE tag = '{tag}' ORDER BY 1")


def test_a_manual_tag_survives_a_rebuild_from_scratch(tiny: Path, tmp_path: Path) -> None:
    master, state = tmp_path / "out" / "master.duckdb", tmp_path / "state"
    run_pipeline(tiny, master, state, as_of=AS_OF)
    ann = golden_of(master, "crm", "C6")
    set_tag(state, SHIPPED, ann, "interpreter_needed", "Korean", "anna")
    master.unlink()  # the master is rebuilt from the sources and the durable store
    run_pipeline(tiny, master, state, as_of=AS_OF)
    [(golden_id, value, origin, evidence)] = tags_of(master, "interpreter_needed")
    assert (golden_id, value, origin) == (ann, "Korean", "manual")
    assert evidence.startswith("set by anna at ")
    # her birth date (02/30/1990) was nulled, so no age band
    assert query(master, f"SELECT tag_names FROM customer_360 WHERE golden_id = '{ann}'")[0][0] == [
        "city",
        "gender",
        "interpreter_needed",
    ]
    with pytest.raises(TagCommandError, match="system tag"):
        set_tag(state, SHIPPED, ann, "age_band", "x", "anna")
    with pytest.raises(TagCommandError, match="no golden customer"):
        set_tag(state, SHIPPED, "G999999999", "vip", None, "anna")


def test_the_surviving_id_of_a_merge_inherits_the_tag(tiny: Path, tmp_path: Path) -> None:
    master, state = tmp_path / "out" / "master.duckdb", tmp_path / "state"
    run_pipeline(tiny, master, state, as_of=AS_OF)
    ann, jane = golden_of(master, "crm", "C6"), golden_of(master, "web", "W5")
    set_tag(state, SHIPPED, ann, "vip", None, "anna")
    set_tag(state, SHIPPED, jane, "vip", None, "ben")
    with StateStore(state) as store:
        store.add_decision(("crm", "C6"), ("web", "W5"), "same", decided_by="steward")
    run_pipeline(tiny, master, state, as_of=AS_OF)
    [(kind, old, new)] = query(master, "SELECT kind, old_id, new_id FROM id_events WHERE kind = 'merged'")
    assert {old, new} == {ann, jane}
    [(golden_id, _, _, evidence)] = tags_of(master, "vip")
    assert golden_id == new
    assert "ben" in evidence  # set last; the same value on both, so nothing to review
    assert query(master, "SELECT count(*) FROM tag_reviews")[0][0] == 0
    # the id it was set on is retired: setting a tag there lands on the survivor
    assert f"on {new} ({old} was merged into {new})" in set_tag(state, SHIPPED, old, "interpreter_needed", "Thai", "c")


def test_a_split_keeps_the_tag_on_the_id_that_kept_the_name_and_flags_it_for_review(tiny: Path, tmp_path: Path) -> None:
    master, state = tmp_path / "out" / "master.duckdb", tmp_path / "state"
    run_pipeline(tiny, master, state, as_of=AS_OF)
    robert = golden_of(master, "crm", "C1")
    set_tag(state, SHIPPED, robert, "interpreter_needed", "Spanish", "anna")
    with StateStore(state) as store:
        store.add_decision(("crm", "C1"), ("web", "W1"), "not_same", decided_by="steward")
    run_pipeline(tiny, master, state, as_of=AS_OF)
    [(kind, old, new)] = query(master, "SELECT kind, old_id, new_id FROM id_events WHERE kind = 'split'")
    assert old == robert
    assert [r[0] for r in tags_of(master, "interpreter_needed")] == [robert]
    [(golden_id, other, reason)] = query(master, "SELECT golden_id, other_golden_id, reason FROM tag_reviews")
    assert (golden_id, other) == (robert, new) and "split in this run" in reason
    assert query(master, "SELECT subject FROM pending_reviews WHERE kind = 'tag'") == [
        ("tag interpreter_needed = Spanish",)
    ]
    run_pipeline(tiny, master, state, as_of=AS_OF)  # still to review in the next run
    assert "split in run" in query(master, "SELECT reason FROM tag_reviews")[0][0]
    set_tag(state, SHIPPED, robert, "interpreter_needed", "Spanish", "anna")  # confirmed after the split
    run_pipeline(tiny, master, state, as_of=AS_OF)
    assert query(master, "SELECT count(*) FROM tag_reviews")[0][0] == 0


def test_removal_is_logged_and_the_next_run_drops_the_tag(tiny: Path, tmp_path: Path) -> None:
    master, state = tmp_path / "out" / "master.duckdb", tmp_path / "state"
    run_pipeline(tiny, master, state, as_of=AS_OF)
    ann = golden_of(master, "crm", "C6")
    set_tag(state, SHIPPED, ann, "vip", None, "anna")
    with StateStore(state) as store:
        assert store.remove_tag(ann, "vip", removed_by="ben")
        assert not store.remove_tag(ann, "vip", removed_by="ben")
        log = store.tag_log()
    assert log.select("golden_id", "tag", "action", "done_by").rows() == [
        (ann, "vip", "set", "anna"),
        (ann, "vip", "removed", "ben"),
    ]
    run_pipeline(tiny, master, state, as_of=AS_OF)
    assert tags_of(master, "vip") == []


def test_a_broken_tag_does_not_fail_the_run_but_fails_check(tiny: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tags.yaml").write_text(
        "tags:\n"
        "  - {name: female, description: d, category: static, origin: system, where: \"g.gender = 'F'\"}\n"
        "  - {name: broken, description: d, category: static, origin: system, where: g.shoe_size > 40}\n"
    )
    text = tiny.read_text().replace("version: 1\n", f"version: 1\ntags: {rules / 'tags.yaml'}\n")
    tiny.write_text(text)
    master = tmp_path / "out" / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    assert summary.tags.errors[0].startswith("broken (line 3): Binder Error")
    assert query(master, "SELECT tag FROM tag_errors") == [("broken",)]
    assert query(master, "SELECT count(*) FROM customer_tags WHERE tag = 'female'")[0][0] == 2  # Mary, Ann
    problems = check_tags(load_tags(rules / "tags.yaml"), master, set())
    assert len(problems) == 1 and problems[0].startswith("line 3: tag broken: Binder Error")
    assert check_tags(load_tags(rules / "tags.yaml"), None, set()) == []  # without a master: the file is fine


@pytest.mark.parametrize("batch_rows", [250_000, 1])
def test_stored_survey_answer_replaces_the_computed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    """Also when the computed rows are read one at a time: the stored value is merged in by golden id."""
    from mdm.tags import compute

    monkeypatch.setattr(compute, "TAG_BATCH_ROWS", batch_rows)

    config = shipped("preferred_visit_time")
    customers = pl.DataFrame({"golden_id": ["G1", "G2"]})
    survey = pl.DataFrame(
        {
            "golden_id": ["G1", "G2"],
            "event_time": [dt.datetime(2026, 5, 1), dt.datetime(2026, 5, 2)],
            "question": ["preferred_visit_time"] * 2,
            "answer": ["evening", "weekend"],
        }
    )
    stored = pl.DataFrame(
        {
            "golden_id": ["G1"],
            "tag": ["preferred_visit_time"],
            "value": ["morning"],
            "origin": ["survey"],
            "set_by": ["front_desk"],
            "set_at": ["2026-06-01T10:00:00.000+00:00"],
        }
    )
    result = compute.compute_tags(
        {"golden_customers": customers, "customer_xref": pl.DataFrame({"golden_id": ["G1"]}), "events_survey": survey},
        config,
        dt.date(2026, 11, 1),
        event_sources={"survey"},
        stored=stored,
        retired={},
        splits=[],
        work_dir=tmp_path / "tags",
    )
    assert result.customer_tags.select("golden_id", "value", "origin").collect().rows() == [
        ("G1", "morning", "survey"),
        ("G2", "weekend", "survey"),
    ]

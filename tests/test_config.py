"""Config files: every problem reported at once with its line and a fix; load -> dump -> load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mdm.config.dictionary import DEFAULT_DICTIONARY, Dictionary, load_dictionary
from mdm.config.errors import ConfigError
from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules, load_match_rules
from mdm.config.sources import SourcesConfig, load_sources
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample" / "sources.yaml"


def test_sample_sources_load_against_the_dictionary() -> None:
    config = load_sources(SAMPLE, load_dictionary().names)
    assert [s.name for s in config.sources] == ["crm", "billing", "web", "clinic"]
    crm = config.sources[0]
    assert crm.fields["phone"].source_columns == ["mobile_phone", "home_phone"]
    assert crm.fields["birth_date"].format == "%m/%d/%Y"
    assert config.resolve(crm) == SAMPLE.parent / "sources" / "crm.csv"


def test_every_problem_is_reported_with_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - name: CRM Export\n"  # line 2: bad name
        "    kind: xls\n"  # line 3: bad kind
        "    path: crm.csv\n"
        "    record_id: id\n"
        "    fields:\n"
        "      email: {column: e, colour: red}\n"  # line 7: unknown key
        "  - name: billing\n"
        "    kind: sqlite\n"
        "    path: b.sqlite\n"  # no table or query
        "    record_id: id\n"
        "    fields: {email: e}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    problems = caught.value.problems
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "line 2: sources[0].name" in text and "e.g. name: crm_export" in text
    assert "line 3: sources[0].kind" in text and "'csv'" in text
    assert "line 7: sources[0].fields.email.colour" in text
    assert "sources[1]" in text and "e.g. table: accounts" in text


def test_unknown_dictionary_field_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: crm\n    kind: csv\n    path: a.csv\n    record_id: id\n"
        "    fields:\n      e_mail: email\n      surname: last\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_sources(path, load_dictionary().names)
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("line 7: sources[0].fields.e_mail: not a dictionary field; use one of:")


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sources(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("model", "path"),
    [(SourcesConfig, SAMPLE), (Dictionary, DEFAULT_DICTIONARY), (MatchRules, DEFAULT_RULES_DIR / "match.yaml")],
)
def test_load_dump_load(model: type, path: Path) -> None:
    first = model.model_validate(yaml.safe_load(path.read_text()))
    dumped = yaml.safe_dump(first.model_dump(mode="json", exclude_none=True), allow_unicode=True)
    assert model.model_validate(yaml.safe_load(dumped)) == first


def test_dictionary_rejects_a_synonym_of_two_codes(tmp_path: Path) -> None:
    text = DEFAULT_DICTIONARY.read_text().replace("synonyms: [x, non-binary", "synonyms: [f, non-binary")
    path = tmp_path / "fields.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="'f' is a synonym of both F and X"):
        load_dictionary(path)


def test_match_rules_of_version_1_say_how_to_move_on(tmp_path: Path) -> None:
    path = tmp_path / "match.yaml"
    path.write_text("rules:\n  - name: r\n    equal: [email_key]\n")
    with pytest.raises(ConfigError, match="replaced in version 2 by `blocking` and `comparisons`"):
        load_match_rules(path)


def test_match_rules_report_a_misspelt_conflict_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "match.yaml"
    path.write_text("cannot_link:\n  different_birthdate: true\n")
    with pytest.raises(ConfigError, match="line 2: cannot_link.different_birthdate"):
        load_match_rules(path)

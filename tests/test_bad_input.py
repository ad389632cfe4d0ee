"""Bad input that slipped through or took the run down (issue 15 item 6), each a regression test on
the tiny fixture (tests/fixtures/tiny/README.md: crm 7 rows, 3 accepted) with its row accounting:
every input row is accepted or quarantined with its reason, and nothing fails the whole run that
one row can answer for."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from mdm.cli import main
from mdm.config.errors import ConfigError
from mdm.pipeline import PipelineError, run_pipeline
from tests.conftest import AS_OF, query

HEADER = "customer_no,first_name,last_name,birth_date,gender,email,phone,address_line1,city,state,zip,updated_at\n"


def crm_row(number: str, given: str, family: str = "Okafor", email: str = "") -> str:
    return f"{number},{given},{family},01/02/1970,F,{email},,,,,,2026-01-05\n"


def append_crm(tiny: Path, text: str) -> None:
    crm = tiny.parent / "crm.csv"
    crm.write_text(crm.read_text(encoding="utf-8-sig") + text, encoding="utf-8")


def quarantined(master: Path) -> dict[int, list[str]]:
    rows = query(master, "SELECT row_number, reasons FROM quarantine WHERE source = 'crm' ORDER BY row_number")
    return {number: list(reasons) for number, reasons in rows}


def crm_counts(master: Path) -> tuple[int, int, int]:
    [row] = query(
        master, "SELECT rows_read, rows_accepted, rows_quarantined FROM run_source_counts WHERE source = 'crm'"
    )
    return row


def test_a_huge_value_and_a_nul_byte_quarantine_their_row_only(tiny: Path, tmp_path: Path) -> None:
    """A 10 MB field failed the whole run; record ids with NUL bytes were accepted."""
    append_crm(tiny, crm_row("C8", "N" * 10_000_000) + crm_row("C9\x00", "Nul") + crm_row("C10", "Grace"))
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    assert crm_counts(master) == (10, 4, 6)  # 7 + 3 rows read; C10 accepted beside C1, C2, C6
    reasons = quarantined(master)
    assert reasons[8] == ["given_name holds 10000000 characters, more than 10000"]
    assert reasons[9] == ["source_record_id holds a NUL character"]
    assert query(master, "SELECT count(*) FROM customer_xref WHERE source_record_id = 'C10'") == [(1,)]


def test_an_unclosed_quote_reports_the_lines_it_took_in(tiny: Path, tmp_path: Path) -> None:
    """One unclosed quote swallowed 64 lines into one quarantined row without saying which."""
    append_crm(
        tiny, 'C8,"Open,Quote,01/02/1970,F,,,,,,,2026-01-05\n' + crm_row("C9", "Swallowed") + crm_row("C10", 'Too"')
    )
    master = tmp_path / "master.duckdb"
    run_pipeline(tiny, master, as_of=AS_OF)
    assert crm_counts(master) == (8, 3, 5)  # the three lines are one record: read, and quarantined
    [span] = [r for r in quarantined(master)[8] if "unclosed quote" in r]
    assert span == "it runs over file lines 9-11: an unclosed quote took in 2 more line(s)"


def test_parquet_list_columns_are_refused_and_whole_floats_are_ids(tmp_path: Path) -> None:
    """A list column became a golden family_name of `shape: (2,) Series...`; integer ids became "1.0"."""
    (tmp_path / "people.parquet").write_bytes(b"")
    pl.DataFrame(
        {"id": [1.0, 2.0], "given": ["Ann", "Bob"], "family": [["Lee", "Kim"], ["Ng"]], "email": ["a@x.org", None]}
    ).write_parquet(tmp_path / "people.parquet")
    sources = tmp_path / "sources.yaml"
    spec = {"name": "p", "kind": "parquet", "path": "people.parquet", "record_id": "id"}
    fields = {"given_name": "given", "email": "email"}
    sources.write_text(json.dumps({"sources": [spec | {"fields": fields | {"family_name": "family"}}]}))
    with pytest.raises(PipelineError, match=r"column\(s\) family \(List\(String\)\) hold lists or records"):
        run_pipeline(sources, tmp_path / "out" / "master.duckdb", as_of=AS_OF)
    sources.write_text(json.dumps({"sources": [spec | {"fields": fields}]}))
    master = tmp_path / "out" / "master.duckdb"
    run_pipeline(sources, master, as_of=AS_OF)
    assert query(master, "SELECT source_record_id FROM customer_xref ORDER BY 1") == [("1",), ("2",)]


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd"])
def test_source_paths_outside_the_sources_directory_are_refused(tiny: Path, tmp_path: Path, path: str) -> None:
    """A source path of ../../../../etc/passwd or /etc/passwd was read, and the error echoed its first line."""
    sources = tiny.read_text().replace("path: crm.csv", f"path: {path}")
    tiny.write_text(sources)
    result = CliRunner().invoke(main, ["check", "--sources", str(tiny)])
    assert result.exit_code == 1 and "is outside" in result.output and "allowed_dirs" in result.output
    assert "root:" not in result.output
    with pytest.raises(ConfigError, match="is outside"):
        run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)
    if Path(path).is_absolute():
        tiny.write_text(sources + "allowed_dirs: [/etc]\n")
        with pytest.raises(PipelineError, match="not in the source .its header has 1 column") as failed:
            run_pipeline(tiny, tmp_path / "master.duckdb", as_of=AS_OF)  # allowed, and refused for what it is
        assert "root:" not in str(failed.value)


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    """A YAML alias bomb made check and run grow to 6 GB and die with a traceback."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\nsources: *a8\n")
    result = CliRunner().invoke(main, ["check", "--sources", str(tmp_path / "sources.yaml")])
    assert result.exit_code == 1
    assert "expands to 100001 values through anchors and aliases (at most 100000)" in result.output

"""The run report beside the master (issue 16 "Observability"): what a run read, matched and
published, as counts and model parameters only."""

from __future__ import annotations

import re
from pathlib import Path

from mdm.pipeline import run_pipeline
from tests.conftest import AS_OF


def test_each_run_writes_a_report_of_counts_never_customer_values(tiny: Path, tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    summary = run_pipeline(tiny, master, as_of=AS_OF)
    page = (tmp_path / "master.report.html").read_text()
    assert f"<h1>mdm run {summary.run_id}</h1>" in page
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "Rows per source",
        "Quarantined rows by reason",
        "Flagged values by field and source",
        "Candidate pairs per blocking rule",
        "Scored pairs and clusters",
        "Stale contact values by months since the record&#x27;s update: predicted beside observed by evidence",
        "Archive (rules/survivorship.yaml archive.inactive_years)",
        "Match model: m and u per comparison level",
        "Match weights of the scored pairs",
        "Golden customers by number of records",
        "Quality over the last runs (all sources)",
        "The run summary as printed",
    ]
    counts = "<td class=n>7</td><td class=n>3</td><td class=n>4</td><td class=n>0</td><td class=n>3</td>"
    assert f"<tr><td>crm</td><td>csv (full)</td>{counts}</tr>" in page
    for value in ("Robert", "Smith", "robert.smith", "867-2671", "Oak St"):  # the fixture's customers
        assert value.lower() not in page.lower(), value
    assert "<script" not in page

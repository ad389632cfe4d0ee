"""The dictionary, reference tables and default rules ship as package data (issue 16 "Packaging"):
they were found as repository paths, so a normal (non-editable) install lacked them. The wheel is
built and unpacked outside the repository, and the sample is run from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import AS_OF, REPO, query


def test_the_wheel_carries_rules_and_dictionary_and_runs_the_sample_without_the_repo(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = list((tmp_path / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for name in (
        "rules/match.yaml",
        "rules/match_model.json",
        "rules/tags.yaml",
        "dictionary/fields.yaml",
        "dictionary/reference/nicknames.csv",
        "dictionary/reference/LICENSE-nicknames.txt",
    ):
        assert f"mdm/bundled/{name}" in names, name
    assert "mdm/steward/web/templates/queue.html" in names or any(
        n.startswith("mdm/steward/web/templates/") for n in names
    )

    sample = tmp_path / "sample"
    shutil.copytree(REPO / "data" / "sample", sample)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tmp_path / "site")}
    master = tmp_path / "out" / "master.duckdb"
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from mdm.cli import main; main(sys.argv[2:])",
            str(tmp_path / "site"),
            "run",
            "--orchestrator",
            "local",
            "--sources",
            str(sample / "sources.yaml"),
            "--master",
            str(master),
            "--as-of",
            AS_OF.isoformat(),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (
        str(tmp_path / "site" / "mdm")
        in subprocess.run(
            [
                sys.executable,
                "-I",
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]); import mdm; print(mdm.__file__)",
                str(tmp_path / "site"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        ).stdout
    )
    assert query(master, "SELECT count(*) FROM golden_customers")[0][0] > 1000

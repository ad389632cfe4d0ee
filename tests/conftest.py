from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
AS_OF = dt.date(2026, 11, 1)

# Prefect must never write to the developer's ~/.prefect from tests, nor phone home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/tiny (see its README for the expected answer); returns its sources.yaml."""
    target = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", target)
    return target / "sources.yaml"


@pytest.fixture
def data_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh data key in MDM_DATA_KEY, for runs whose sources map a sensitive field (national_id)."""
    from mdm.sensitive import KEY_ENV, KEY_FILE_ENV, new_key_text

    key = new_key_text()
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, key)
    return key


def query(master: Path, sql: str) -> list[tuple]:
    """Rows of a SQL query on a published master, opened read-only as an analyst would."""
    con = duckdb.connect(str(master), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary Prefect server for the tests of one module (tests marked `prefect`)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect_home"))
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield

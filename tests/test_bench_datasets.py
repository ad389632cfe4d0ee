"""bench/datasets.py writes data sets the product accepts, with the right truth (no recordlinkage needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from click.testing import CliRunner

from mdm.cli import main
from tests.conftest import REPO


def _bench_datasets() -> ModuleType:
    # bench/ is a directory of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("bench_datasets", REPO / "bench" / "datasets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


datasets = _bench_datasets()
SHARED = datasets.shared_benchmarks()


@pytest.mark.skipif(
    not (SHARED / "fake_1000.csv").exists(),
    reason=f"{SHARED}/fake_1000.csv is absent (the shared splink_datasets files; set {datasets.SHARED_ENV})",
)
def test_fake_1000_converts_to_sources_the_product_accepts(tmp_path: Path) -> None:
    converted = datasets.convert("fake_1000", tmp_path)

    result = CliRunner().invoke(main, ["check", "--sources", str(converted.sources)])
    assert result.exit_code == 0, result.output
    truth = pl.read_csv(converted.truth, infer_schema=False)
    assert truth.columns == ["source", "record_id", "person_id"]
    assert truth.height == 1000
    # ../shared/benchmarks/README.md says 250 true entities, but `cluster` runs 0..250 in the file:
    # 251 persons (cluster 250 included). The file is the truth.
    assert truth["person_id"].n_unique() == 251
    assert "cluster" not in pl.read_csv(converted.directory / "sources" / "fake_1000.csv").columns


@pytest.mark.skipif(
    not (SHARED / "fake_1000.csv").exists(),
    reason=f"{SHARED}/fake_1000.csv is absent (the shared splink_datasets files; set {datasets.SHARED_ENV})",
)
def test_a_default_variant_has_no_rules_of_its_own(tmp_path: Path) -> None:
    """fake_1000_default is the set as a new user brings it: the product's default rules."""
    own, default = datasets.convert("fake_1000", tmp_path), datasets.convert("fake_1000_default", tmp_path)
    assert (own.directory / "rules" / "match.yaml").exists() and "rules: rules" in own.sources.read_text()
    assert not (default.directory / "rules").exists() and "rules:" not in default.sources.read_text()
    assert default.truth.read_text() == own.truth.read_text()
    assert datasets.parse_datasets("febrl4_default,fake_1000") == ["febrl4_default", "fake_1000"]


def test_linked_pairs_become_persons_by_connected_components() -> None:
    # a-b and b-c chain into one person; d links to nobody; e-f is a second pair.
    persons = datasets.person_ids("abcdef", [("a", "b"), ("c", "b"), ("f", "e")])
    assert persons == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e", "f": "e"}


def test_unknown_dataset_names_list_the_choices() -> None:
    with pytest.raises(SystemExit, match="choose from: fake_1000,historical_50k,febrl1"):
        datasets.parse_datasets("fake_1000,febrl9")


def test_a_set_of_its_own_rules_keeps_the_product_rules_and_adds_blocking(tmp_path: Path) -> None:
    from mdm.config.rules import load_match_rules

    frame = pl.DataFrame({"id": ["1"], "name": ["Ann"]})
    truth = pl.DataFrame({"source": ["s"], "record_id": ["1"], "person_id": ["p"]})
    datasets._write(
        tmp_path, {"s": frame}, "version: 1\n", truth, datasets.HISTORICAL_CANNOT_LINK, datasets.HISTORICAL_BLOCKING
    )

    product, own = load_match_rules(), load_match_rules(tmp_path / "rules" / "match.yaml")
    assert (own.cannot_link.different_birth_date, own.cannot_link.different_given_name) == (True, False)
    names = [rule.name for rule in own.blocking]
    assert names == [rule.name for rule in product.blocking] + [
        "postcode_family_name",
        "name_prefixes",
        "lone_name_postcode",
    ]
    assert own.comparisons == product.comparisons
    assert "rules: rules" in (tmp_path / "sources.yaml").read_text()

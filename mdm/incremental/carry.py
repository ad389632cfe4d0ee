"""The standardized records a published run leaves for the next one, and when they may be used.

`state/records/standardized.parquet` holds the run's standardized records (sensitive fields as
their tokens, mdm/sensitive.py), `record_golden_ids.parquet` their golden ids in the same order
(mdm/files.py RecordFiles), `record_hashes.parquet` a hash of the accepted source row each came
from; `state/records/carry.json` says which run wrote them, under which configuration fingerprint,
and the date formats each source was read with. The next run uses them only when:

- they were written by the store's last published run (a run that failed after writing them is
  not that run, so its files are ignored);
- the fingerprint is the same: sources.yaml, every file of the dictionary's directory (reference
  tables included), the code version and the polars version (the row hash is polars'); any other
  change rebuilds everything;
- per source, ingest settled on the same date formats (else that source is standardized afresh).

Beside them the run leaves its compared candidate pairs (`pairs.parquet`: the comparison levels of
every pair, by the rids of that run, which are the row numbers of `standardized.parquet`) and its
giant blocks, with a fingerprint of the matching rules: the next run compares only the pairs that
touch a new or changed record (mdm/match/delta.py). And its golden records and their lineage
(sensitive values as tokens), with a fingerprint of the survivorship rules: the next run builds
only the golden records whose records changed (mdm/golden/delta.py). And its clustering (each
record's component and label, each link's and pair to review's outcome), with a fingerprint of the
conflict rules: the next run clusters only the components that changed (mdm/cluster/delta.py).
And the evidence of every contact value and the contact outcomes it was found from, with a
fingerprint of the staleness rules and the as-of day: the next run finds the evidence again only
for the customers a change touches (mdm/stale/delta.py). And the store's golden id registry as
the run leaves it (the next run reads it instead of the store's table when the store marks that
run as the registry's last writer) and each golden record's version hash by a quick hash of its
values (the next run's history hashes again only the records whose values moved).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import polars as pl

from mdm.config.project import ProjectConfig
from mdm.files import RecordFiles, fsync_path, place_copy
from mdm.sensitive import RECORD_SUFFIXES, FieldCipher
from mdm.types import ContactAttribute

log = logging.getLogger(__name__)

CARRY_DIRNAME = "records"
RECORDS_FILE = "standardized.parquet"
RECORD_GOLDEN_IDS_FILE = "record_golden_ids.parquet"
"""The golden id of each record of RECORDS_FILE, in its order (the two are the run's RecordFiles)."""
PAIRS_FILE = "pairs.parquet"
GIANT_BLOCKS_FILE = "giant_blocks.parquet"
GOLDEN_FILE = "golden.parquet"
LINEAGE_FILE = "lineage.parquet"
CLUSTER_RECORDS_FILE = "cluster_records.parquet"
CLUSTER_PAIRS_FILE = "cluster_pairs.parquet"
RECORD_HASHES_FILE = "record_hashes.parquet"
"""Each carried record's `rid` (its row in RECORDS_FILE) and `record_hash`: kept apart from the
records so that the records file is the one publish wrote, left as a second name of it (rewriting
a million records to add one column took 5.6 s, bench/RESULTS.md)."""
HASH_FILES = {
    "source_records": "source_records_hashes.parquet",
    "golden_attribute_lineage": "lineage_hashes.parquet",
    "match_pairs": "match_pairs_hashes.parquet",
    "customer_tags": "customer_tags_hashes.parquet",
}
"""The master tables the next run patches (mdm/publish/patch.py) -> the file of their group hashes."""
EVENT_HASHES_FILE = "events_hashes.parquet"
"""The group hashes of every table events_<name> the next run patches, in one file (a `table`
column says whose): the event sources are the configuration's."""
STALE_EVIDENCE_FILES: dict[ContactAttribute, str] = {
    attribute: f"stale_evidence_{attribute}.parquet" for attribute in get_args(ContactAttribute)
}
"""Contact attribute -> the file of the evidence of each customer's values of it (mdm/stale/delta.py)."""
STALE_OUTCOMES_FILE = "stale_outcomes.parquet"
"""The contact outcomes that evidence was found from (mdm/stale/stage.py contact_outcomes)."""
REGISTRY_FILE = "registry.parquet"
"""The store's golden id registry as the run left it (`source`, `source_record_id`, `golden_id`:
the rows it read, those it assigned upserted), which the next run reads instead of the store's
table when the store says that run wrote the registry last (StateStore.registry_run): 990k rows
fetched from SQLite took 0.95 s, read from this file 0.04 s (bench/RESULTS.md)."""
HISTORY_HASHES_FILE = "golden_row_hashes.parquet"
"""Each published golden record's version hash beside a quick hash of the same values
(mdm/golden/history.py `_hashed`): the next run hashes again only the records whose values moved."""
LEFT_FILES = (
    PAIRS_FILE,
    GIANT_BLOCKS_FILE,
    GOLDEN_FILE,
    LINEAGE_FILE,
    CLUSTER_RECORDS_FILE,
    CLUSTER_PAIRS_FILE,
    RECORD_HASHES_FILE,
    *HASH_FILES.values(),
    EVENT_HASHES_FILE,
    *STALE_EVIDENCE_FILES.values(),
    STALE_OUTCOMES_FILE,
    HISTORY_HASHES_FILE,
    REGISTRY_FILE,
)
MATCH_FINGERPRINT = "match_fingerprint"
GOLDEN_FINGERPRINT = "golden_fingerprint"
CLUSTER_FINGERPRINT = "cluster_fingerprint"
STALE_FINGERPRINT = "stale_fingerprint"
STALE_AS_OF = "stale_as_of"
"""The as-of day the left evidence was found on (ISO date): records dated after it read otherwise later."""
META_FILE = "carry.json"
HASH_COLUMN = "record_hash"
PREVIOUS_RID = "previous_rid"
"""A carried record's rid in the last run (its row in `standardized.parquet`), null for a record
standardized afresh or whose as-of fields changed: its pairs are compared again."""
_HASH_SEED = 20261206


def at_rids(rids: pl.Series, values: pl.Series) -> pl.Series:
    """`values` (one per rid of `rids`) placed at their rids: a series as long as the highest rid
    and one, null at the rids not given, for looking values up by rid with `gather` where a join
    would hash every key."""
    rids = rids.cast(pl.Int64)
    size = rids.len() and int(rids.max()) + 1  # type: ignore[arg-type]
    return pl.repeat(None, size, dtype=values.dtype, eager=True).scatter(rids, values)


def row_hash(columns: Sequence[str]) -> pl.Expr:
    """`hash`: one number for a row's values of `columns` (the same values, the same number, in
    any run of this code: what a run compares with the hashes the last run left, here and in
    mdm/publish/patch.py): each value hashed with a seed of its own column, the hashes combined by
    xor (a row hash of a struct of the ~30 columns of a scored pair took 0.20 s a slice of 500k
    pairs, this 0.03 s; 990k records of 127 columns 0.44 s against 0.19 s)."""
    hashed = [pl.col(c).hash(_HASH_SEED + i) for i, c in enumerate(columns)]
    return functools.reduce(lambda a, b: a.xor(b), hashed).alias("hash")


def record_hashes(staged: pl.DataFrame) -> pl.Series:
    """One hash per accepted row over every column but its row number (a row moved in the file is
    not a changed record)."""
    columns = sorted(c for c in staged.columns if c != "row_number")
    return staged.select(row_hash(columns).alias(HASH_COLUMN)).to_series()


def config_fingerprint(config: ProjectConfig, code_version: str) -> str:
    """What the standardized form of a record depends on besides the record: the configuration
    files, the dictionary's reference tables and the code."""
    digest = hashlib.sha256()
    digest.update(f"{code_version}\npolars {pl.__version__}\n".encode())
    digest.update(config.sources_path.read_bytes())
    base = config.dictionary.base_dir
    for path in sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"\n{path.relative_to(base)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class CarryOver:
    """The last published run's standardized records, usable by this run."""

    path: Path
    run_id: str
    formats: dict[str, dict[str, str | None]]
    sensitive: list[str]
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    """What the other left files were made under: MATCH_FINGERPRINT (the matching rules of the
    pairs), GOLDEN_FINGERPRINT (the survivorship rules of the golden records), CLUSTER_FINGERPRINT
    (the conflict rules of the clustering), STALE_FINGERPRINT and STALE_AS_OF (the staleness rules
    and the as-of day of the contact values' evidence)."""

    @property
    def records(self) -> RecordFiles:
        """The carried records with their golden ids."""
        return RecordFiles(self.path, self.path.parent / RECORD_GOLDEN_IDS_FILE)

    def left(self, name: str) -> Path:
        """One of the LEFT_FILES."""
        return self.path.parent / name

    def usable(self, fingerprint: str, value: str, files: Sequence[str]) -> bool:
        """True when the files were left under this value of the fingerprint."""
        return self.fingerprints.get(fingerprint) == value and all(self.left(name).exists() for name in files)

    def source_records(
        self, source: str, formats: dict[str, str | None], cipher: FieldCipher | None
    ) -> pl.DataFrame | None:
        """The source's carried records with their `record_hash` and `previous_rid` (sensitive
        values decrypted), or None when the source was read with other date formats last time (or
        not at all)."""
        if self.formats.get(source) != formats:
            return None
        # the source's rows, found by its column alone: they are one run of rows of the file (the
        # records are in source order), read as a slice, not the whole file numbered and filtered
        rows = (pl.read_parquet(self.path, columns=["source"])["source"] == source).arg_true().cast(pl.Int64)
        first = int(rows[0]) if rows.len() else 0
        scan = pl.scan_parquet(self.path)
        if rows.len() and int(rows[-1]) - first + 1 != rows.len():
            scan = scan.filter(pl.col("source") == source)  # not one run: the rows in their order all the same
        else:
            scan = scan.slice(first, rows.len())
        records = scan.collect().select(rows.alias(PREVIOUS_RID), pl.all())
        hashes = self.left(RECORD_HASHES_FILE)
        if HASH_COLUMN not in records.columns and hashes.exists():  # the hashes beside the records
            by_rid = pl.read_parquet(hashes).with_columns(pl.col("rid").cast(pl.Int64))
            rids = records["rid"].cast(pl.Int64)
            numbered = by_rid["rid"].equals(pl.int_range(by_rid.height, dtype=pl.Int64, eager=True).alias("rid"))
            if numbered and rids.is_between(0, by_rid.height - 1).all():
                picked = by_rid[HASH_COLUMN].gather(rids)  # a rid is its row of the hashes file
                records = records.drop("rid").with_columns(picked)
            else:
                records = (
                    records.with_columns(rids).join(by_rid, on="rid", how="left", maintain_order="left").drop("rid")
                )
        columns = [f"{f}{s}" for f in self.sensitive for s in RECORD_SUFFIXES if f"{f}{s}" in records.columns]
        if columns and cipher is not None:
            records = records.with_columns(cipher.decrypt_series(records[c]).alias(c) for c in columns)
        return records


def carry_dir(state_dir: Path) -> Path:
    return state_dir / CARRY_DIRNAME


def load_carry(state_dir: Path, last_published: str | None, fingerprint: str, sensitive: list[str]) -> CarryOver | None:
    """The carried records when this run may use them (module docstring), else None (a full run)."""
    directory = carry_dir(state_dir)
    try:
        meta = json.loads((directory / META_FILE).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("run_id") != last_published or last_published is None:
        log.info("incremental: the stored records are not the last published run's; a full run")
        return None
    if meta.get("fingerprint") != fingerprint:
        log.info("incremental: the configuration, dictionary or code changed since the last run; a full run")
        return None
    path = directory / RECORDS_FILE
    if not path.exists() or not (directory / RECORD_GOLDEN_IDS_FILE).exists():  # or left by older code
        return None
    fingerprints = {
        k: meta[k]
        for k in (MATCH_FINGERPRINT, GOLDEN_FINGERPRINT, CLUSTER_FINGERPRINT, STALE_FINGERPRINT, STALE_AS_OF)
        if isinstance(meta.get(k), str)
    }
    return CarryOver(path, meta["run_id"], meta.get("formats", {}), sensitive, fingerprints)


def save_carry(
    state_dir: Path,
    run_id: str,
    fingerprint: str,
    formats: dict[str, dict[str, str | None]],
    records: RecordFiles,
    left: Mapping[str, Path] | None = None,
    fingerprints: Mapping[str, str] | None = None,
) -> None:
    """Leave this run's standardized records (already protected, with `rid`) and their golden ids
    (`records`; their record hashes are the left RECORD_HASHES_FILE) for the next run, with the
    other files of `left` (file name -> this run's file: one of LEFT_FILES) and the `fingerprints`
    they were made under; written beside and renamed into place, the metadata last."""
    directory = carry_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"run_id": run_id, "fingerprint": fingerprint, "formats": formats, **(fingerprints or {})}
    placed = [_written(records.values, directory / RECORDS_FILE)]
    placed.append(_written(records.golden_ids, directory / RECORD_GOLDEN_IDS_FILE))
    placed += [_written(path, directory / name) for name, path in (left or {}).items()]
    meta_tmp = directory / f".{META_FILE}.tmp"
    meta_tmp.write_text(json.dumps(meta))
    fsync_path(meta_tmp)
    (directory / META_FILE).unlink(missing_ok=True)  # never new files under an old run's metadata
    for name in LEFT_FILES:
        (directory / name).unlink(missing_ok=True)
    for tmp, final in placed:
        os.replace(tmp, final)
    os.replace(meta_tmp, directory / META_FILE)


def _written(source: Path, final: Path) -> tuple[Path, Path]:
    """`source` copied to a temporary file beside `final`, on disk; (that file, final)."""
    tmp = final.with_name(f".{final.name}.tmp")
    place_copy(source, tmp)
    return tmp, final

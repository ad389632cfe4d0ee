"""Golden records of an incremental run: only the customers whose records changed are built again.

A golden record and its lineage are a function of the customer's records alone (survivorship reads
nothing else). A customer whose records are exactly last run's, each unchanged (`previous_rid`:
same source row, same dates as of today), under the same golden id and the same survivorship
rules and fields, has last run's golden record and lineage: they are read from what the last run
left (mdm/incremental/carry.py), sensitive values decrypted, and the others built as in a full run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import polars as pl

from mdm.config.survivorship import SurvivorshipRules
from mdm.incremental.carry import GOLDEN_FILE, LINEAGE_FILE, PREVIOUS_RID, CarryOver
from mdm.sensitive import FieldCipher

log = logging.getLogger(__name__)


def golden_fingerprint(rules: SurvivorshipRules, fields: list[str]) -> str:
    """What a golden record depends on besides its records: the survivorship rules and the fields."""
    payload = json.dumps({"rules": rules.model_dump(mode="json"), "fields": fields}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def unchanged_customers(records: pl.DataFrame, previous: pl.DataFrame, carried: pl.DataFrame) -> pl.Series:
    """The golden ids whose records are all unchanged and exactly last run's.

    `records`: `rid`, `golden_id` of this run; `previous`: `rid`, `previous_rid`; `carried`: last
    run's `previous_rid`, `golden_id`."""
    before = carried.rename({"golden_id": "_before"})
    now = (
        records.select("rid", "golden_id")
        .join(previous, on="rid", how="left")
        .join(before, on=PREVIOUS_RID, how="left")
        .group_by("golden_id")
        .agg((pl.col("_before") == pl.col("golden_id")).fill_null(False).all().alias("_same"), pl.len().alias("_n"))
    )
    counts = carried.group_by("golden_id").agg(pl.len().alias("_n_before"))
    same = now.join(counts, on="golden_id", how="inner").filter(pl.col("_same") & (pl.col("_n") == pl.col("_n_before")))
    return same["golden_id"]


@dataclass(frozen=True)
class CarriedGolden:
    """The unchanged customers' golden records and lineage, as build_golden gives them."""

    golden: pl.DataFrame
    lineage: pl.LazyFrame
    """The unchanged customers' lineage, read when the run's lineage file is written."""

    @classmethod
    def read(cls, carry: CarryOver, ids: pl.Series, sensitive: list[str], cipher: FieldCipher | None) -> CarriedGolden:
        # filtered by the few customers not carried: a scan filtered by a list of most customers
        # hashes the whole list again for every batch it reads (the lineage's 6M rows by 447k
        # customers took 4.5 s, by the 4.5k others 0.8 s, bench/RESULTS.md). `ids` are customers
        # of the last run, and the lineage's customers are its golden file's: one run wrote both
        last = pl.read_parquet(carry.left(GOLDEN_FILE), columns=["golden_id"])["golden_id"]
        wanted = pl.col("golden_id").is_in(last.filter(~last.is_in(ids.implode())).implode()).not_()
        golden = pl.scan_parquet(carry.left(GOLDEN_FILE)).filter(wanted).collect()
        lineage = pl.scan_parquet(carry.left(LINEAGE_FILE)).filter(wanted)
        if cipher is not None:
            golden = golden.with_columns(
                cipher.decrypt_series(golden[f]).alias(f) for f in sensitive if f in golden.columns
            )
            tokens = pl.col("attribute").is_in(sensitive)
            read = lineage.collect()
            lineage = read.with_columns(
                pl.when(tokens).then(cipher.decrypt_series(read[c])).otherwise(pl.col(c)).alias(c)
                for c in ("value", "runner_up")
            ).lazy()
        return cls(golden, lineage)


def carried_golden_ids(carry: CarryOver) -> pl.DataFrame:
    """Last run's `previous_rid` (row of the carried records) and `golden_id` of every record."""
    return (
        pl.scan_parquet(carry.records.golden_ids)
        .select(pl.int_range(pl.len(), dtype=pl.Int64).alias(PREVIOUS_RID), "golden_id")
        .collect()
    )

"""The run report's calibration table: per bucket of months since a record's update, the predicted
share of stale contact values beside the share the master's own evidence observed.

`predicted` is the mean stale probability of the bucket's values and `flagged` the share flagged.
`checked` counts the values a newer record of the same customer showed again; `observed` is the
share of those it showed with another value, and `expected` what the decay prior predicts for
them at the time of that newer record. When observed runs well above expected, contact data ages
faster than `monthly_decay` says, and every probability is too low (and the reverse).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from mdm.config.survivorship import StalenessRules

AGE_BUCKETS_MONTHS: list[tuple[float, float | None]] = [(0, 3), (3, 6), (6, 12), (12, 24), (24, 48), (48, None)]


def _share(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def calibration_by_months(checks: pl.DataFrame, rules: StalenessRules) -> list[dict[str, Any]]:
    """One row per non-empty bucket: months, values, predicted, flagged, checked, observed, expected.
    `checks`: StaleFlags.checks (mdm/stale/flags.py); undated records are left out."""
    decay = pl.col("attribute").replace_strict({a: rules.decay(a) for a in ("address", "phone", "email")}, default=0.0)
    threshold = rules.threshold_stale_probability
    scored = checks.filter(pl.col("months").is_not_null(), pl.col("stale_probability").is_not_null()).with_columns(
        (1 - (1 - decay).pow(pl.col("checked_months").clip(lower_bound=0))).alias("expected")
    )
    rows = []
    for low, high in AGE_BUCKETS_MONTHS:
        upper = pl.col("months") < high if high is not None else pl.lit(True)
        bucket = scored.filter(pl.col("months") >= low, upper)
        if bucket.is_empty():
            continue
        checked = bucket.filter(pl.col("contradicted").is_not_null())
        rows.append(
            {
                "months": f"{low}-{high}" if high is not None else f"{low}+",
                "values": bucket.height,
                "predicted": _share(bucket["stale_probability"].mean()),
                "flagged": _share((bucket["stale_probability"] >= threshold).mean()),
                "checked": checked.height,
                "observed": _share(checked["contradicted"].mean()) if checked.height else None,
                "expected": _share(checked["expected"].mean()) if checked.height else None,
            }
        )
    return rows

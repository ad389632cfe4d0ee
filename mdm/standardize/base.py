"""What every field standardizer shares: its context, its result, and distinct-value mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mdm.config.dictionary import Dictionary, FieldDef
from mdm.types import BadValuePolicy

FLAGS = pl.List(pl.String)


@dataclass(frozen=True)
class FieldContext:
    """What a standardizer may know besides the values: the field, the source, the run."""

    field: FieldDef
    dictionary: Dictionary
    source_country: str
    value_format: str | None
    as_of: dt.date

    @property
    def policy(self) -> BadValuePolicy:
        return self.field.on_invalid


@dataclass
class Standardized:
    """One field of one batch: clean values, a matching key, and the flags of each value.

    `extra` holds further columns of the field, written as `<field>_<name>`: more matching
    keys (`phonetic`, `canonical`) or parts kept apart (`extension`, `type`, `unit`).
    """

    clean: pl.Series
    key: pl.Series
    flags: pl.Series
    extra: dict[str, pl.Series] = field(default_factory=dict)

    def with_policy(self, raw: pl.Series, policy: BadValuePolicy) -> Standardized:
        """`keep` puts the trimmed raw value back where a flagged value was nulled."""
        if policy == "set_null":
            return self
        restored = pl.select(
            pl.when(self.clean.is_null() & (self.flags.list.len() > 0)).then(tidy(raw)).otherwise(self.clean)
        ).to_series()
        return Standardized(restored.alias(self.clean.name), self.key, self.flags, self.extra)


def tidy(raw: pl.Series) -> pl.Series:
    """Trim, collapse inner white space, blank -> null. Never raises."""
    out = raw.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.select(pl.when(out != "").then(out)).to_series().alias(raw.name)


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """Lower-case, no diacritics, letters and digits only: the form names and streets match in."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]", "")
    )


def fold_series(values: pl.Series) -> pl.Series:
    out = pl.select(fold_expr(pl.lit(values))).to_series()
    return pl.select(pl.when(out != "").then(out)).to_series()


def map_distinct(
    values: pl.Series, fn: Callable[..., tuple[Any, ...]], dtypes: list[Any], extra: pl.Series | None = None
) -> list[pl.Series]:
    """Apply fn once per distinct non-null value (or (value, extra) pair) and spread the
    results back to every row. fn returns a tuple, one element per output dtype."""
    frame = pl.DataFrame(
        {"v": values, "x": extra if extra is not None else pl.repeat(None, len(values), dtype=pl.String, eager=True)}
    )
    distinct = frame.filter(pl.col("v").is_not_null()).unique()
    results = [fn(v, x) if extra is not None else fn(v) for v, x in distinct.iter_rows()]  # type: ignore[call-arg]
    names = [f"r{i}" for i in range(len(dtypes))]
    table = distinct.with_columns(
        pl.Series(name, [r[i] for r in results], dtype=dtype)
        for i, (name, dtype) in enumerate(zip(names, dtypes, strict=True))
    )
    joined = frame.join(table, on=["v", "x"], how="left", maintain_order="left", nulls_equal=True)
    return [joined[name] for name in names]


def no_flags(n: int) -> pl.Series:
    return pl.Series([[] for _ in range(n)], dtype=FLAGS) if n else pl.Series([], dtype=FLAGS)


def flag_when(condition: pl.Series, message: pl.Series | str) -> pl.Series:
    """A flags column holding `message` where condition holds, else empty."""
    msg = pl.lit(message) if isinstance(message, str) else pl.lit(message)
    return pl.select(
        pl.when(condition.fill_null(False)).then(pl.concat_list(msg.cast(pl.String))).otherwise(pl.lit([], FLAGS))
    ).to_series()


def merge_flags(*columns: pl.Series) -> pl.Series:
    return pl.select(pl.concat_list([pl.lit(c) for c in columns])).to_series()


def flags_from(messages: pl.Series) -> pl.Series:
    """A flags column from a column of optional messages (null = no flag)."""
    return flag_when(messages.is_not_null(), messages)

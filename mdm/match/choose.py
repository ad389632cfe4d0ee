"""Which match model a run scores with: the stored one, a newly trained one, or the bundled one."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from mdm.config.rules import DEFAULT_RULES_DIR, MatchRules
from mdm.match.model import MODEL_VERSION, MatchModel, load_model, train_model

ModelOrigin = Literal["reused", "trained", "bundled"]


def choose_model(
    records: pl.DataFrame,
    patterns: pl.DataFrame,
    rules: MatchRules,
    rules_dir: Path,
    stored: str | None,
    retrain: bool = False,
) -> tuple[MatchModel, ModelOrigin]:
    """The model this run scores with, and where it came from.

    The model the last run trained is reused while the comparisons in rules/match.yaml are
    unchanged, so scores (and golden ids) do not drift from night to night; `retrain` or a
    changed comparison trains anew on this run's records. Too few records to learn from
    (below `training.min_records`) fall back to the model shipped beside the rules.
    `stored` is the JSON of the model the durable store holds, if any; `patterns` the
    `pattern_counts` of the run's compared candidate pairs (mdm/match/model.py).
    """
    if not retrain:
        model = _stored_model(stored)
        if model is not None and [t.comparison for t in model.comparisons] == rules.comparisons:
            return model, "reused"
    if records.height >= rules.training.min_records and patterns["_pairs"].sum() > 0:
        return train_model(records, rules, patterns=patterns), "trained"
    bundled = rules_dir / "match_model.json"
    if not bundled.exists():
        bundled = DEFAULT_RULES_DIR / "match_model.json"
    model = load_model(bundled)
    if [t.comparison for t in model.comparisons] != rules.comparisons:
        raise RuntimeError(
            f"{records.height} records are too few to train a match model (training.min_records is"
            f" {rules.training.min_records}) and {bundled} was trained for other comparisons; lower"
            " training.min_records in match.yaml or ship a model for these comparisons beside it"
        )
    return model, "bundled"


def _stored_model(stored: str | None) -> MatchModel | None:
    """The stored model, or None where there is none or it is of an older model_version (retrain)."""
    if stored is None:
        return None
    try:
        model = MatchModel.model_validate_json(stored)
    except ValueError:
        return None
    return model if model.model_version == MODEL_VERSION else None

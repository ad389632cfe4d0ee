"""match: candidate pairs of source records that are the same person.

In the order data moves: `block_pairs` (rules/match.yaml `blocking`) -> `train_model` (u from random pairs, m and the
prior by EM) -> `save_model` / `load_model` (JSON) -> `score_pairs` (weights explained per
comparison, match / review / non_match).
"""

from mdm.match.blocking import Blocked, block_pairs
from mdm.match.comparisons import compare_pairs
from mdm.match.model import MODEL_VERSION, MatchModel, load_model, save_model, train_model
from mdm.match.score import score_pairs

__all__ = [
    "MODEL_VERSION",
    "Blocked",
    "MatchModel",
    "block_pairs",
    "compare_pairs",
    "load_model",
    "save_model",
    "score_pairs",
    "train_model",
]

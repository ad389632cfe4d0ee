"""tags: the tag engine over the published master (rules/tags.yaml; system, manual and survey
tags; static, behaviour and state tags). See config (the file), engine (computed tags), stored
(manual and survey tags through merges and splits) and stage (both into customer_tags)."""

from mdm.tags.config import TagDef, TagsConfig, load_tags
from mdm.tags.engine import evaluate_tags
from mdm.tags.stage import compute_tags

__all__ = ["TagDef", "TagsConfig", "compute_tags", "evaluate_tags", "load_tags"]

"""tags: the tag engine over the published master (rules/tags.yaml; system, manual and survey
tags; static, behaviour and state tags). See engine (computed tags), stored (manual and
survey tags through merges and splits), compute (both into customer_tags) and stage (the run's
stage); the file's typed twin is mdm/config/tags.py."""

from mdm.config.tags import TagDef, TagsConfig, load_tags
from mdm.tags.compute import compute_tags
from mdm.tags.engine import evaluate_tags

__all__ = ["TagDef", "TagsConfig", "compute_tags", "evaluate_tags", "load_tags"]

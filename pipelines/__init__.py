"""Prefect flows: thin wrappers over mdm.pipeline."""

"""Deterministic messy sample data for four source systems, with ground truth (see generator.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mdm.sample.generator import generate_sample

__all__ = ["generate_sample"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `python -m mdm.sample.generator` does not import the module twice.
    if name == "generate_sample":
        from mdm.sample.generator import generate_sample

        return generate_sample
    raise AttributeError(name)

"""How a run calls its steps: each stage, and inside the ingest stage each source's read.

A `StageCaller` calls a step directly or wraps it (a Prefect task, a progress line, a timer).
The steps are the stages (`STAGE_NAMES` in mdm/pipeline.py) and the ingest stage's reads of its
sources, one step each, named `ingest <source>` (`source_step`): the only steps worth retrying
on an I/O failure, and a retry of one re-reads that source alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from mdm.context import RunContext

Result = TypeVar("Result")

SOURCE_STEP_PREFIX = "ingest "


class StageCaller(Protocol):
    """How a run calls each step (a stage, or a source's read): directly, or wrapped."""

    def __call__(self, name: str, stage: Callable[[RunContext], Result], ctx: RunContext) -> Result: ...


def call_directly(name: str, stage: Callable[[RunContext], Result], ctx: RunContext) -> Result:
    return stage(ctx)


def source_step(source: str) -> str:
    """The step name of one source's read in the ingest stage."""
    return SOURCE_STEP_PREFIX + source


def is_source_step(name: str) -> bool:
    return name.startswith(SOURCE_STEP_PREFIX)

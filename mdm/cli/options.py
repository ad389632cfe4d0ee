"""Options several `mdm` commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MASTER = Path("data/out/master.duckdb")


def master_option(
    help: str = "The published master.",
    *,
    required: bool = False,
    default: Path | None = DEFAULT_MASTER,
    exists: bool = False,
) -> Callable[[F], F]:
    """`--master`: the DuckDB customer master a command reads (or `mdm run` publishes)."""
    return click.option(
        "--master",
        type=click.Path(exists=exists, dir_okay=False, path_type=Path),
        required=required,
        default=None if required else default,
        show_default=not required and default is not None,
        help=help,
    )


def state_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """`--state`: the durable store; by default `state/` beside the master."""
    return click.option(
        "--state", type=click.Path(file_okay=False, path_type=Path), required=required, default=None, help=help
    )


def sources_option(
    help: str = "sources.yaml declaring the source systems.", *, required: bool = True
) -> Callable[[F], F]:
    """`--sources`: the project's sources.yaml (which names its dictionary, rules and tags)."""
    return click.option(
        "--sources",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=required,
        default=None,
        help=help,
    )


def state_beside(master: Path, state: Path | None) -> Path:
    """The durable store a command uses: --state, else state/ beside the master."""
    return state if state is not None else master.parent / "state"

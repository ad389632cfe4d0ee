"""The `mdm` command: a thin layer over the library. Every command shows an example in --help.

Commands by what they work on: `run`, `check`, `init`, `sample`, `docs` (mdm/cli/project.py); `explain`,
`query`, `export`, `rollback`, `backup`, `restore` (mdm/cli/master.py); `tags` (mdm/cli/tags.py);
`users`, `review`, `serve` (mdm/cli/steward.py); `tokens` (mdm/cli/tokens.py); `audit` (mdm/cli/audit.py);
`key` (mdm/cli/key.py); `archive` (mdm/cli/archive.py).
"""

from __future__ import annotations

from typing import Any

import click

from mdm.errors import MdmError


class MdmGroup(click.Group):
    """The `mdm` group: an MdmError from any command is printed as one line (exit 1); anything
    else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MdmError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MdmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mdm-customer-master")
def main() -> None:
    """Customer master data: from source systems to a published DuckDB customer master.

    \b
    Example:
      mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb
    """


def _register() -> None:
    from mdm.cli import archive, audit, key, master, project, steward, tags, tokens

    for command in (
        project.run,
        project.check,
        project.init,
        project.sample,
        project.docs,
        master.explain,
        master.query,
        master.export,
        master.rollback,
        master.backup_command,
        master.restore_command,
        tags.tags,
        steward.users,
        steward.review,
        steward.serve,
        tokens.tokens,
        audit.audit,
        key.key,
        archive.archive,
    ):
        main.add_command(command)


_register()

__all__ = ["MdmGroup", "main"]

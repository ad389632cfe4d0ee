"""`mdm key create`: the data key that encrypts sensitive fields at rest (mdm/sensitive.py)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def key() -> None:
    """The data key sensitive fields (national_id, ...) are encrypted with (docs/security.md).

    \b
    Example:
      mdm key create ~/.config/mdm/data.key
    """


@key.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def create(path: Path) -> None:
    """Write a new random data key to PATH (mode 0600; an existing file is never overwritten).

    Keep PATH outside the master's and the state's directories, give it to runs and readers with
    MDM_DATA_KEY_FILE=PATH, and keep a copy apart from the backups: without it the encrypted
    values cannot be read.

    \b
    Example:
      mdm key create ~/.config/mdm/data.key
      export MDM_DATA_KEY_FILE=~/.config/mdm/data.key
    """
    from mdm.sensitive import KEY_FILE_ENV, create_key_file

    made = create_key_file(path)
    click.echo(f"created data key {made.key_id} in {path}")
    click.echo(f"use it:  export {KEY_FILE_ENV}={path.resolve()}")
    click.echo("keep a copy apart from the master's backups: without it the encrypted values cannot be read")

"""`mdm tags`: list tags, show one tag's customers, set and remove stored (manual, survey) tags."""

from __future__ import annotations

from pathlib import Path

import click

from mdm.cli.options import master_option, sources_option, state_option
from mdm.config.tags import TagsConfig


class _TagsGroup(click.Group):
    """`mdm tags` lists, `mdm tags TAG` shows one tag, `mdm tags set|remove ...` edit stored tags."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command

        @click.command(cmd_name, help=f"The customers tagged {cmd_name}.")
        @click.pass_context
        def show(sub: click.Context) -> None:
            from mdm.tags.commands import show_tag

            params = sub.parent.params if sub.parent else {}
            click.echo(show_tag(params["master"], cmd_name, params["limit"]))

        return show


@click.group(cls=_TagsGroup, invoke_without_command=True)
@master_option()
@click.option("--limit", type=int, default=50, show_default=True, help="Customers shown for one tag (0: all).")
@click.pass_context
def tags(ctx: click.Context, master: Path, limit: int) -> None:
    """Tags: each with its category, origin and customers; or one tag's customers.

    \b
    Example:
      mdm tags --master data/out/master.duckdb
      mdm tags --master data/out/master.duckdb postpartum_month
      mdm tags set --state data/out/state G000000001 vip --by anna
      mdm tags set --state data/out/state G000000002 interpreter_needed --value Spanish --by anna
      mdm tags remove --state data/out/state G000000001 vip --by anna
    """
    if ctx.invoked_subcommand is None:
        from mdm.tags.commands import list_tags

        click.echo(list_tags(master))


def _tags_config(sources: Path | None, tags_file: Path | None) -> TagsConfig:
    """The tags of --tags-file, else of --sources' project, else the product's rules/tags.yaml."""
    from mdm.config.project import ProjectConfig
    from mdm.config.rules import DEFAULT_RULES_DIR
    from mdm.config.tags import load_tags

    if tags_file is not None:
        return load_tags(tags_file)
    if sources is not None:
        return ProjectConfig(sources).tags_config
    return load_tags(DEFAULT_RULES_DIR / "tags.yaml")


_state = state_option("The durable store (state/ beside the master by default of `mdm run`).", required=True)
_by = click.option("--by", "by", required=True, help="Who does it (kept with the tag and in its log).")


@tags.command("set")
@_state
@click.argument("golden_id")
@click.argument("tag")
@click.option("--value", default=None, help="The tag's value (a language, an answer...).")
@_by
@sources_option("sources.yaml whose tags file defines the tag (default: rules/tags.yaml).", required=False)
@click.option(
    "--tags-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="tags.yaml to use."
)
def tags_set(
    state: Path, golden_id: str, tag: str, value: str | None, by: str, sources: Path | None, tags_file: Path | None
) -> None:
    """Set a manual or survey tag on a golden customer; the next run publishes it.

    \b
    Example:
      mdm tags set --state data/out/state G000000001 vip --by anna
      mdm tags set --state data/out/state G000000007 preferred_visit_time --value morning --by front_desk
    """
    from mdm.tags.commands import set_tag

    click.echo(set_tag(state, _tags_config(sources, tags_file), golden_id, tag, value, by))


@tags.command("remove")
@_state
@click.argument("golden_id")
@click.argument("tag")
@_by
def tags_remove(state: Path, golden_id: str, tag: str, by: str) -> None:
    """Remove a stored tag (the removal is logged with the value it had).

    \b
    Example:
      mdm tags remove --state data/out/state G000000001 vip --by anna
    """
    from mdm.tags.commands import remove_tag

    click.echo(remove_tag(state, golden_id, tag, by))

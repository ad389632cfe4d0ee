"""The `mdm` command: a thin layer over the library. Every command shows an example in --help."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, cast

import click

from mdm.config.errors import ConfigError


def _prefect_env(master: Path) -> None:
    """Prefect's local state goes in a directory the project owns, with no telemetry."""
    os.environ.setdefault("PREFECT_HOME", str(Path.cwd() / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mdm-customer-master")
def main() -> None:
    """Customer master data: from source systems to a published DuckDB customer master.

    \b
    Example:
      mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb
    """


@main.command()
@click.option(
    "--sources",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="sources.yaml declaring the source systems.",
)
@click.option(
    "--master",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="DuckDB file to publish (replaced atomically).",
)
@click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Durable store (steward decisions, golden id registry, manual tags). Default: state/ beside the master.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate dates (ages, future dates) as of this day. Default: today.",
)
@click.option(
    "--orchestrator",
    type=click.Choice(["prefect", "local"]),
    default="prefect",
    show_default=True,
    help="prefect runs the nightly flow (local ephemeral Prefect, no server needed);"
    " local calls the same stages directly.",
)
@click.option(
    "--retrain",
    is_flag=True,
    default=False,
    help="Train the match model on this run's records instead of reusing the last run's model.",
)
def run(
    sources: Path, master: Path, state: Path | None, as_of: dt.datetime | None, orchestrator: str, retrain: bool
) -> None:
    """Run the nightly job and publish the master.

    The match model trained by the first run is reused by later runs (scores and golden ids
    stay stable) until the comparisons in match.yaml change or --retrain is given.

    \b
    Example:
      mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --state /srv/mdm/state --orchestrator local
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --retrain
    """
    from mdm.pipeline import PipelineError, run_pipeline

    day = as_of.date() if as_of else None
    try:
        if orchestrator == "prefect":
            _prefect_env(master)
            from pipelines.nightly import nightly

            summary: dict[str, Any] = nightly(
                sources=str(sources),
                master=str(master),
                state=str(state) if state else None,
                as_of=day.isoformat() if day else None,
                retrain=retrain,
            )
        else:
            summary = run_pipeline(sources, master, state, day, retrain=retrain).as_dict()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except PipelineError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_summary(summary))


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"run {summary['run_id']} published {summary['master']} in {summary['seconds']} s (as of {summary['as_of']})",
        "",
    ]
    header = f"{'source':<12}{'kind':<9}{'read':>8}{'accepted':>10}{'quarantined':>13}"
    lines += [header, "-" * len(header)]
    for s in summary["sources"]:
        lines.append(
            f"{s['source']:<12}{s['kind']:<9}{s['rows_read']:>8}{s['rows_accepted']:>10}{s['rows_quarantined']:>13}"
        )
    totals = [sum(s[k] for s in summary["sources"]) for k in ("rows_read", "rows_accepted", "rows_quarantined")]
    lines += ["-" * len(header), f"{'total':<21}{totals[0]:>8}{totals[1]:>10}{totals[2]:>13}"]
    for e in summary["stages"]["ingest"].get("events", []):
        counts = f"{e['rows_read']:>8}{e['rows_accepted']:>10}{e['rows_quarantined']:>13}"
        lines.append(f"{e['source']:<12}{e['kind']:<9}{counts}  (events, table events_{e['source']})")
    lines.append("")
    stages = summary["stages"]
    golden = stages["golden"]
    lines.append(
        f"golden customers: {golden['golden_customers']}   duplicates found: {golden['duplicates_found']}"
        f" (records merged into another record's golden customer)"
    )
    lines += _match_lines(stages["match"], stages["cluster"], stages.get("publish", {}).get("tables", {}))
    if "stale" in stages:
        lines += _stale_lines(stages["stale"])
    if "tags" in stages:
        lines += _tag_lines(stages["tags"])
    reasons = stages["ingest"].get("quarantine_reasons", {})
    if reasons:
        lines.append("quarantined rows, by reason:")
        lines += [f"  {n:>6}  {reason}" for reason, n in reasons.items()]
    flagged = stages["standardize"]["flagged_values"]
    if flagged:
        lines.append("flagged values: " + ", ".join(f"{k} {v}" for k, v in sorted(flagged.items())))
        lines += _flag_table(
            stages["standardize"].get("flagged_by_source", {}), [s["source"] for s in summary["sources"]]
        )
    return "\n".join(lines)


def _match_lines(match: dict[str, Any], cluster: dict[str, Any], tables: dict[str, int]) -> list[str]:
    by_rule = ", ".join(f"{r['rule']} {r['new_pairs']}" for r in match["blocking"] if "new_pairs" in r)
    skipped = [f"{r['rule']} ({r['skipped']})" for r in match["blocking"] if "skipped" in r]
    classes = match["pairs_by_class"]
    lines = [
        f"candidate pairs: {match['candidate_pairs']} (new pairs per blocking rule: {by_rule})",
        f"match model: {match['model']} (trained {match['model_trained_at']})",
        f"scored: match {classes['match']} (merged {cluster['merged_pairs']}, blocked by conflicts"
        f" {cluster['blocked_pairs']}), review {classes['review']}, non-match {classes['non_match']}",
    ]
    if match["giant_blocks"]:
        lines.append(f"oversized blocks skipped: {match['giant_blocks']} (see table blocking_giant_blocks)")
    if skipped:
        lines.append("blocking rules skipped: " + ", ".join(skipped))
    lines += [
        f"  blocked {n}: {reason.removeprefix('blocked: ')}" for reason, n in cluster["blocked_by_reason"].items()
    ]
    if "review_queue" in tables:
        lines.append(f"review queue: {tables['review_queue']} pairs for a steward (table review_queue)")
    return lines


def _stale_lines(stale: dict[str, Any]) -> list[str]:
    """Stale flags, and their share by months since a record's update beside a steady 2% a month."""
    golden = ", ".join(f"{attribute} {n}" for attribute, n in stale["stale_golden"].items())
    lines = [
        f"stale: {stale['stale_records']} records; golden customers by attribute: {golden}"
        " (view customers_to_reverify)",
        f"  {'months':<8}{'records':>8}{'stale':>7}{'address':>9}{'phone':>7}{'email':>7}{'1-0.98^m':>10}",
    ]
    for row in stale["by_months_since_update"]:
        shares = "".join(
            f"{'-' if row[k] is None else format(row[k], '.2f'):>{w}}"
            for k, w in (("stale", 7), ("address", 9), ("phone", 7), ("email", 7), ("expected", 10))
        )
        lines.append(f"  {row['months']:<8}{row['records']:>8}{shares}")
    return lines


def _tag_lines(tags: dict[str, Any]) -> list[str]:
    """Tags computed, and every broken tag with its problem (the run goes on without it)."""
    status = ", ".join(f"{s} {n}" for s, n in tags["by_status"].items())
    lines = [
        f"tags: {tags['tags']} defined ({status}); {tags['customer_tags']} customer tags in {tags['seconds']} s"
        f" (table customer_tags, `mdm tags`)"
    ]
    if tags["errors"]:
        lines.append(f"  tag errors ({tags['tags_file']}; table tag_errors has the fix; `mdm check` fails on them):")
        lines += [f"    {e}" for e in tags["errors"]]
    if tags["reviews"]:
        lines.append(f"  tags to review after merges and splits: {tags['reviews']} (view pending_reviews)")
    lines += [f"  stored tags not published: {n} {reason}" for reason, n in tags["not_published"].items()]
    return lines


def _flag_table(by_source: dict[str, dict[str, int]], sources: list[str]) -> list[str]:
    """Flagged values per field (rows) and source (columns): what to read before trusting a source."""
    if not by_source:
        return []
    width = max(8, *(len(s) + 2 for s in sources))
    lines = ["flagged values by source:", f"  {'field':<16}" + "".join(f"{s:>{width}}" for s in sources)]
    for name, counts in by_source.items():
        lines.append(f"  {name:<16}" + "".join(f"{counts.get(s, 0):>{width}}" for s in sources))
    return lines


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/sample"), show_default=True)
@click.option("--seed", type=int, default=20261122, show_default=True)
@click.option("--people", type=int, default=1200, show_default=True)
def sample(out: Path, seed: int, people: int) -> None:
    """Generate the sample source systems, their ground truth and their event sources (deterministic).

    \b
    Example:
      mdm sample --out data/sample
      mdm sample --out /tmp/big --people 300000 --seed 7
    """
    from mdm.sample import generate_sample
    from mdm.sample.events import generate_events

    counts = generate_sample(out, seed=seed, n_people=people)
    counts |= generate_events(out, seed=seed)
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"), show_default=True)
@click.option("--check", is_flag=True, help="Fail if the files on disk differ from what the code generates.")
def docs(out: Path, check: bool) -> None:
    """Generate docs/dictionary.md (from dictionary/fields.yaml) and docs/schema.md (the master's
    tables, from mdm/publish/catalog.py); --check them in CI.

    \b
    Example:
      mdm docs --out docs
      mdm docs --out docs --check
    """
    from mdm.docs import generated_docs

    stale = []
    for name, text in generated_docs().items():
        target = out / name
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
        else:
            out.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            click.echo(f"wrote {target}")
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)}; run `mdm docs --out {out}` and commit")


@main.command()
@click.option(
    "--master",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/master.duckdb"),
    show_default=True,
    help="The published master (its match model sits beside it).",
)
@click.argument("what", nargs=-1, required=True)
def explain(master: Path, what: tuple[str, ...]) -> None:
    """Why two records do or do not match, or why a golden customer holds its records.

    WHAT is two records as SOURCE:RECORD_ID, or one golden id.

    \b
    Example:
      mdm explain --master data/out/master.duckdb crm:C000012 web:W000345
      mdm explain --master data/out/master.duckdb G000000001
    """
    from mdm.match.explain import ExplainError, RecordRef, explain_golden, explain_pair

    try:
        if len(what) == 2:
            click.echo(explain_pair(master, RecordRef.parse(what[0]), RecordRef.parse(what[1])))
        elif len(what) == 1 and ":" not in what[0]:
            click.echo(explain_golden(master, what[0]))
        else:
            raise ExplainError("give two records (SOURCE:RECORD_ID SOURCE:RECORD_ID) or one golden id")
    except ExplainError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("sql")
@click.option(
    "--master",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/master.duckdb"),
    show_default=True,
    help="The published master.",
)
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--max-rows", type=int, default=100, show_default=True, help="Rows shown by the table format.")
def query(sql: str, master: Path, output: str, max_rows: int) -> None:
    """Run one read-only SQL query on the master (tables: docs/schema.md).

    \b
    Example:
      mdm query "SELECT count(*) FROM golden_customers" --master data/out/master.duckdb
      mdm query "SELECT * FROM quality_metrics WHERE metric = 'duplicate_rate'" --format csv
    """
    from mdm.publish.query import OutputFormat, QueryError, query_master

    try:
        click.echo(query_master(master, sql, cast(OutputFormat, output), max_rows))
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option(
    "--master",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/master.duckdb"),
    show_default=True,
    help="The published master (its versions are in .versions/ beside it).",
)
@click.option("--to", "to_run_id", default=None, help="Run id of the version to restore. Default: the previous one.")
@click.option("--list", "list_only", is_flag=True, help="List the kept versions; change nothing.")
def rollback(master: Path, to_run_id: str | None, list_only: bool) -> None:
    """Restore an earlier published master atomically (the durable store is not rolled back).

    Steward decisions, golden ids and the history stay in the store; the next run rebuilds the
    master from the sources and the store. Versions kept: keep_versions in sources.yaml (7).

    \b
    Example:
      mdm rollback --master data/out/master.duckdb --list
      mdm rollback --master data/out/master.duckdb
      mdm rollback --master data/out/master.duckdb --to 20261124T140042Z-736fd9
    """
    from mdm.publish.versions import RollbackError, list_versions, master_run_id
    from mdm.publish.versions import rollback as restore

    if list_only:
        current = master_run_id(master) if master.exists() else None
        versions = list_versions(master)
        if not versions:
            raise click.ClickException(f"no versions kept for {master}")
        click.echo(f"{'run_id':<26}{'published_at':<26}{'golden_customers':>17}")
        for v in versions:
            mark = "  (current)" if v.run_id == current else ""
            click.echo(f"{v.run_id:<26}{v.published_at or '?':<26}{v.golden_customers or 0:>17}{mark}")
        return
    try:
        chosen = restore(master, to_run_id)
    except RollbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"rolled back {master} to run {chosen.run_id} (published {chosen.published_at},"
        f" {chosen.golden_customers} golden customers); the durable store is unchanged:"
        " the next run rebuilds the master from the sources and the store"
    )


@main.command("check")
@click.option("--sources", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--master",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also run every tag's SQL on this master (its tables and event tables).",
)
def check_config(sources: Path, master: Path | None) -> None:
    """Check sources.yaml, the dictionary, the rules and the tags without running anything.

    \b
    Example:
      mdm check --sources data/sample/sources.yaml
      mdm check --sources data/sample/sources.yaml --master data/out/master.duckdb
    """
    from mdm.pipeline import RunContext
    from mdm.tags.commands import check_tags

    ctx = RunContext("check", sources.resolve(), Path("unused"), Path("unused"), dt.date.today(), Path("unused"))
    try:
        names = [s.name for s in ctx.sources.sources]
        _ = ctx.match_rules
        _ = ctx.survivorship_rules, ctx.staleness_rules
        problems = check_tags(ctx.tags_config, master, {e.name for e in ctx.sources.events})
        if problems:
            raise ConfigError(ctx.tags_path, problems)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    events = [e.name for e in ctx.sources.events]
    click.echo(
        f"ok: {len(names)} sources ({', '.join(names)}), {len(events)} event sources ({', '.join(events) or '-'}),"
        f" {len(ctx.dictionary.fields)} dictionary fields, {len(ctx.tags_config.tags)} tags"
        + (" (SQL checked on the master)" if master else "")
    )


class _TagsGroup(click.Group):
    """`mdm tags` lists, `mdm tags TAG` shows one tag, `mdm tags set|remove ...` edit stored tags."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command

        @click.command(cmd_name, help=f"The customers tagged {cmd_name}.")
        @click.pass_context
        def show(sub: click.Context) -> None:
            from mdm.tags.commands import TagCommandError, show_tag

            params = sub.parent.params if sub.parent else {}
            try:
                click.echo(show_tag(params["master"], cmd_name, params["limit"]))
            except TagCommandError as exc:
                raise click.ClickException(str(exc)) from None

        return show


@main.group(cls=_TagsGroup, invoke_without_command=True)
@click.option(
    "--master",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/master.duckdb"),
    show_default=True,
    help="The published master.",
)
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
        from mdm.tags.commands import TagCommandError, list_tags

        try:
            click.echo(list_tags(master))
        except TagCommandError as exc:
            raise click.ClickException(str(exc)) from None


def _tags_file(sources: Path | None, tags_file: Path | None) -> Any:
    from mdm.config.rules import DEFAULT_RULES_DIR
    from mdm.pipeline import RunContext
    from mdm.tags import load_tags

    if tags_file is not None:
        return load_tags(tags_file)
    if sources is not None:
        return RunContext("tags", sources.resolve(), Path(), Path(), dt.date.today(), Path()).tags_config
    return load_tags(DEFAULT_RULES_DIR / "tags.yaml")


_STATE = click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The durable store (state/ beside the master by default of `mdm run`).",
)
_BY = click.option("--by", "by", required=True, help="Who does it (kept with the tag and in its log).")
_SOURCES = click.option(
    "--sources",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="sources.yaml whose tags file defines the tag (default: rules/tags.yaml).",
)
_TAGS_FILE = click.option(
    "--tags-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="tags.yaml to use."
)


@tags.command("set")
@_STATE
@click.argument("golden_id")
@click.argument("tag")
@click.option("--value", default=None, help="The tag's value (a language, an answer...).")
@_BY
@_SOURCES
@_TAGS_FILE
def tags_set(
    state: Path, golden_id: str, tag: str, value: str | None, by: str, sources: Path | None, tags_file: Path | None
) -> None:
    """Set a manual or survey tag on a golden customer; the next run publishes it.

    \b
    Example:
      mdm tags set --state data/out/state G000000001 vip --by anna
      mdm tags set --state data/out/state G000000007 preferred_visit_time --value morning --by front_desk
    """
    from mdm.tags.commands import TagCommandError, set_tag

    try:
        click.echo(set_tag(state, _tags_file(sources, tags_file), golden_id, tag, value, by))
    except (TagCommandError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None


@tags.command("remove")
@_STATE
@click.argument("golden_id")
@click.argument("tag")
@_BY
def tags_remove(state: Path, golden_id: str, tag: str, by: str) -> None:
    """Remove a stored tag (the removal is logged with the value it had).

    \b
    Example:
      mdm tags remove --state data/out/state G000000001 vip --by anna
    """
    from mdm.tags.commands import TagCommandError, remove_tag

    try:
        click.echo(remove_tag(state, golden_id, tag, by))
    except TagCommandError as exc:
        raise click.ClickException(str(exc)) from None


def _add_steward_commands() -> None:
    from mdm.steward.commands import review, serve, users

    for command in (users, review, serve):
        main.add_command(command)


_add_steward_commands()


if __name__ == "__main__":
    sys.exit(main())

"""`mdm run`, `mdm check`, `mdm sample`, `mdm docs`: the commands over a project's sources and code."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mdm.cli.options import master_option, sources_option, state_beside, state_option

if TYPE_CHECKING:  # the CLI imports the pipeline only when a command runs
    from mdm.context import RunContext
    from mdm.pipeline import Report


def prefect_env(state_dir: Path) -> None:
    """Prefect's local state goes under the durable store's directory (not wherever the command
    runs), with no telemetry; the library's own loggers show in Prefect's UI."""
    os.environ.setdefault("PREFECT_HOME", str(state_dir.resolve() / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "mdm")


@click.command()
@sources_option()
@master_option("DuckDB file to publish (replaced atomically).", required=True)
@state_option("Durable store (steward decisions, golden id registry, manual tags). Default: state/ beside the master.")
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
@click.option(
    "--full",
    is_flag=True,
    default=False,
    help="Standardize every record again instead of only the new and changed ones (same master either way).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where the standardize batches and the comparison slices run: here, or on a Dask cluster"
    " (the same master either way; docs/scaling.md).",
)
@click.option(
    "--dask-address",
    metavar="tcp://HOST:PORT",
    default=None,
    help="The Dask scheduler for --executor dask; without it a local cluster of one worker per core.",
)
@click.option(
    "--memory-limit",
    metavar="SIZE",
    default=None,
    help="The run's memory budget (6GiB, 4000MiB): the stages work in partitions sized to it, DuckDB"
    " spills beyond its share, Dask workers get their part. Default: a third of this machine's memory"
    " (docs/scaling.md).",
)
@click.option(
    "--allow-shrink",
    "allow_shrink",
    multiple=True,
    metavar="SOURCE",
    help="Let this source's rows fall by more than its max_shrink (sources.yaml) in this run: its"
    " customers really left. Repeat for several sources.",
)
def run(
    sources: Path,
    master: Path,
    state: Path | None,
    as_of: dt.datetime | None,
    orchestrator: str,
    retrain: bool,
    full: bool,
    executor: str,
    dask_address: str | None,
    memory_limit: str | None,
    allow_shrink: tuple[str, ...],
) -> None:
    """Run the nightly job and publish the master.

    The match model trained by the first run is reused by later runs (scores and golden ids
    stay stable) until the comparisons in match.yaml change or --retrain is given. A run after
    one of the same configuration is incremental: only new and changed records are standardized
    (--full: all of them; the master is the same).

    \b
    Example:
      mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --state /srv/mdm/state --orchestrator local
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --retrain
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --full
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --allow-shrink crm
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --executor dask --dask-address tcp://10.0.0.5:8786
      mdm run --sources prod/sources.yaml --master /srv/mdm/master.duckdb --memory-limit 6GiB
    """
    from mdm.executor import ExecutorSettings
    from mdm.pipeline import run_pipeline
    from mdm.state.audit import os_actor
    from mdm.summary import format_summary

    day = as_of.date() if as_of else None
    # checked by ExecutorSettings (the kind, and the limit's size) before anything runs
    settings = ExecutorSettings(executor, dask_address, memory_limit=memory_limit)  # type: ignore[arg-type]
    by = os_actor("cli")  # the audit log's run_started / run_published / run_failed name who ran it
    if orchestrator == "prefect":
        prefect_env(state_beside(master, state))
        from pipelines.nightly import nightly

        summary = nightly(
            sources=str(sources),
            master=str(master),
            state=str(state) if state else None,
            as_of=day.isoformat() if day else None,
            retrain=retrain,
            allow_shrink=list(allow_shrink),
            started_by=by,
            full=full,
            executor=executor,
            dask_address=dask_address,
            memory_limit=memory_limit,
        )
    else:
        summary = run_pipeline(
            sources,
            master,
            state,
            day,
            retrain=retrain,
            allow_shrink=allow_shrink,
            started_by=by,
            call=_progress,
            full=full,
            executor=settings,
        )
    click.echo(format_summary(summary))


def _progress(name: str, stage: Callable[[RunContext], Report], ctx: RunContext) -> Report:
    """A StageCaller that says on stderr which stage runs and how long it took, and each source's
    read inside ingest, indented (Prefect's own log does this for the prefect orchestrator)."""
    from mdm.pipeline import STAGE_NAMES

    if name not in STAGE_NAMES:  # a step inside a stage: `ingest <source>`
        started = time.monotonic()
        report = stage(ctx)
        click.echo(f"      {name} done in {time.monotonic() - started:.1f} s", err=True)
        return report
    number = f"[{STAGE_NAMES.index(name) + 1}/{len(STAGE_NAMES)}]"
    click.echo(f"{number} {name} ...", err=True)
    started = time.monotonic()
    report = stage(ctx)
    click.echo(f"{number} {name} done in {time.monotonic() - started:.1f} s", err=True)
    return report


@click.command()
@sources_option()
@master_option("Also run every tag's SQL on this master (its tables and event tables).", default=None, exists=True)
@click.option("--config-only", is_flag=True, help="Check the configuration files only; do not open the sources.")
def check(sources: Path, master: Path | None, config_only: bool) -> None:
    """Check sources.yaml, the dictionary, the rules and the tags, then open every source as a run
    would (missing files and columns, encodings, row accounting, clean values and date formats on a
    sample); nothing is written.

    \b
    Example:
      mdm check --sources data/sample/sources.yaml
      mdm check --sources data/sample/sources.yaml --master data/out/master.duckdb
    """
    from mdm.check import SAMPLE_ROWS, check_sources
    from mdm.config.errors import ConfigError
    from mdm.config.project import ProjectConfig
    from mdm.sensitive import run_cipher
    from mdm.tags.commands import check_tags

    config = ProjectConfig(sources).validate()
    events = [e.name for e in config.sources.events]
    problems = check_tags(config.tags_config, master, set(events))
    if problems:
        raise ConfigError(config.tags_path, problems)
    # a run would refuse to start without the data key: say so now (mdm/sensitive.py)
    cipher = run_cipher(config.sensitive_columns, [master.parent] if master else [])
    checked = [] if config_only else check_sources(config, dt.date.today())
    names = [s.name for s in config.sources.sources]
    click.echo(
        f"ok: {len(names)} sources ({', '.join(names)}), {len(events)} event sources ({', '.join(events) or '-'}),"
        f" {len(config.dictionary.fields)} dictionary fields, {len(config.tags_config.tags)} tags"
        + (" (SQL checked on the master)" if master else "")
    )
    if cipher is not None:
        mapped = ", ".join(f"{source} ({', '.join(cols)})" for source, cols in config.sensitive_columns.items())
        click.echo(f"sensitive fields encrypted with data key {cipher.key_id} ({cipher.key.origin}): {mapped}")
    if checked:
        click.echo(f"sources opened (clean shares and dates on up to {SAMPLE_ROWS} accepted rows each):")
        click.echo("\n".join(c.line() for c in checked))


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--csv",
    "csv_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV file of your own to map (repeat for several); its columns are mapped by name.",
)
def init(directory: Path, csv_files: tuple[Path, ...]) -> None:
    """Start a project: DIRECTORY/sources.yaml (commented; your CSV files mapped by their column
    names, every guess marked `# check`) and DIRECTORY/tags.yaml (the tags that need no events).

    \b
    Example:
      mdm init myproject --csv exports/customers.csv
      mdm check --sources myproject/sources.yaml
    """
    from mdm.config.starter import init_project

    sources, notes = init_project(directory, list(csv_files))
    click.echo(f"wrote {sources} and {sources.with_name('tags.yaml')}")
    click.echo("\n".join(f"  note: {n}" for n in notes) if notes else "  every column was mapped")
    click.echo(f"next: check the lines marked `# check`, then `mdm check --sources {sources}`")


@click.command()
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


@click.command()
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

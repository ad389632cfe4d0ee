"""`mdm explain`, `mdm query`, `mdm export`, `mdm rollback`, `mdm backup`, `mdm restore`: the commands
over a published master (and, for backups, its durable store). Queries, exports and rollbacks are
audited in the durable store (mdm/state/audit.py) as `cli:<os user>`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from mdm.cli.options import master_option, state_beside, state_option
from mdm.errors import MdmError

_audit_state = state_option("Durable store whose audit log records this. Default: state/ beside the master.")
_reveal = click.option(
    "--reveal",
    is_flag=True,
    help="Decrypt sensitive values (national_id, ...) in the result; needs the data key (MDM_DATA_KEY_FILE). Audited.",
)


def _item(master: Path) -> str:
    return f"master:{master.resolve()}"


@click.command()
@master_option("The published master (its match model sits beside it).")
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

    if len(what) == 2:
        click.echo(explain_pair(master, RecordRef.parse(what[0]), RecordRef.parse(what[1])))
    elif len(what) == 1 and ":" not in what[0]:
        click.echo(explain_golden(master, what[0]))
    else:
        raise ExplainError("give two records (SOURCE:RECORD_ID SOURCE:RECORD_ID) or one golden id")


@click.command()
@click.argument("sql")
@master_option()
@_audit_state
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--max-rows", type=int, default=100, show_default=True, help="Rows shown by the table format.")
@_reveal
def query(sql: str, master: Path, state: Path | None, output: str, max_rows: int, reveal: bool) -> None:
    """Run one read-only SQL query on the master (tables: docs/schema.md).

    Audited: who, the SQL's first 200 characters and hash, the row count (never the result); the
    result is shown only once its audit entry is written.

    \b
    Example:
      mdm query "SELECT count(*) FROM golden_customers" --master data/out/master.duckdb
      mdm query "SELECT * FROM quality_metrics WHERE metric = 'duplicate_rate'" --format csv
    """
    from mdm.publish.query import OutputFormat, run_query
    from mdm.sensitive import reader_cipher
    from mdm.state.audit import os_actor, record, sql_summary

    details: dict[str, object] = {**sql_summary(sql), "format": output} | ({"reveal": True} if reveal else {})
    where = state_beside(master, state)
    try:
        cipher = reader_cipher() if reveal else None
        result = run_query(master, sql, cast(OutputFormat, output), max_rows, cipher)
    except MdmError as exc:
        if master.exists():  # a refused or failed query on a real master; its message may quote values
            record(where, os_actor("cli"), "query", _item(master), after=details | {"failed": type(exc).__name__})
        raise
    record(where, os_actor("cli"), "query", _item(master), after=details | {"rows": result.rows})
    click.echo(result.text)


@click.command()
@master_option("The published master (its versions are in .versions/ beside it).")
@_audit_state
@click.option("--to", "to_run_id", default=None, help="Run id of the version to restore. Default: the previous one.")
@click.option("--list", "list_only", is_flag=True, help="List the kept versions; change nothing.")
def rollback(master: Path, state: Path | None, to_run_id: str | None, list_only: bool) -> None:
    """Restore an earlier published master atomically (the durable store is not rolled back).

    Steward decisions, golden ids and the history stay in the store; the next run rebuilds the
    master from the sources and the store. Versions kept: keep_versions in sources.yaml (7).
    Audited (who, from which run's master to which), refused attempts too.

    \b
    Example:
      mdm rollback --master data/out/master.duckdb --list
      mdm rollback --master data/out/master.duckdb
      mdm rollback --master data/out/master.duckdb --to 20261124T140042Z-736fd9
    """
    from mdm.publish.versions import list_versions, master_run_id
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
    from mdm.state.audit import AuditUnavailable, os_actor, record

    where, item = state_beside(master, state), _item(master)
    try:
        current = master_run_id(master) if master.exists() else None
    except Exception:  # a damaged master is what one rolls back from: its run is then unknown
        current = None
    try:
        chosen = restore(master, to_run_id)
    except MdmError as exc:
        if master.parent.is_dir():
            record(where, os_actor("cli"), "rollback", item, before={"run_id": current}, after={"failed": str(exc)})
        raise
    after = {"run_id": chosen.run_id, "published_at": chosen.published_at}
    try:
        record(where, os_actor("cli"), "rollback", item, before={"run_id": current}, after=after)
    except AuditUnavailable as exc:
        raise AuditUnavailable(f"rolled back {master} to run {chosen.run_id}, but {exc}") from exc
    click.echo(
        f"rolled back {master} to run {chosen.run_id} (published {chosen.published_at},"
        f" {chosen.golden_customers} golden customers); the durable store is unchanged:"
        " the next run rebuilds the master from the sources and the store"
    )


@click.command("export")
@master_option()
@click.option("--table", required=True, help="The table or view to export (docs/schema.md lists them).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@_audit_state
@_reveal
def export(master: Path, table: str, fmt: str, output: Path, state: Path | None, reveal: bool) -> None:
    """Export a table or view of the master to CSV, Parquet or Excel, safe to open in a spreadsheet
    (text a spreadsheet would run as a formula is neutralised; Excel cells keep text as text).
    Audited: who, which table, the file and the row count.

    \b
    Example:
      mdm export --master data/out/master.duckdb --table golden_customers --format xlsx --output customers.xlsx
      mdm export --table contactable_customers --output contactable.csv
    """
    from mdm.publish.export import ExportFormat, export_table
    from mdm.sensitive import reader_cipher
    from mdm.state.audit import os_actor, record

    rows = export_table(master, table, cast(ExportFormat, fmt), output, reader_cipher() if reveal else None)
    details = {"table": table, "format": fmt, "output": str(output.resolve()), "rows": rows}
    details |= {"reveal": True} if reveal else {}
    record(state_beside(master, state), os_actor("cli"), "export", _item(master), after=details)
    click.echo(f"exported {rows} rows of {table} to {output} ({fmt})")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@master_option()
@state_option("The durable store. Default: state/ beside the master.")
def backup_command(directory: Path, master: Path, state: Path | None) -> None:
    """Back up the durable store and the published master into a new DIRECTORY (with a manifest of
    every file's SHA-256). Refused while a run holds the lock; readers may stay open.

    \b
    Example:
      mdm backup /backups/mdm-2026-12-04 --master data/out/master.duckdb
    """
    from mdm.state.backup import backup

    done = backup(master, state_beside(master, state), directory)
    click.echo(f"backed up {done.files} files ({done.bytes} bytes) into {done.directory} at {done.created_at}")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@master_option()
@state_option("The durable store to restore. Default: state/ beside the master.")
def restore_command(directory: Path, master: Path, state: Path | None) -> None:
    """Restore the store and master of a backup DIRECTORY after checking every file against its
    manifest. The current store is moved aside, never deleted; the master is replaced atomically.

    \b
    Example:
      mdm restore /backups/mdm-2026-12-04 --master data/out/master.duckdb
    """
    from mdm.state.backup import restore

    aside = restore(directory, master, state_beside(master, state))
    kept = f"; the store it replaced is kept in {aside}" if aside else ""
    click.echo(f"restored {directory} into {master} and {state_beside(master, state)}{kept}")

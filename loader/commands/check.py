"""`perm-migrate check`: introspect the v1 source and compare it with the source contract."""

from __future__ import annotations

import click

from loader.commands._source_options import SOURCE_ENV_HELP, source_options
from loader.introspect import introspect, raise_on_errors
from loader.source_config import connect, describe_dsn, resolve_source_dsn


@click.command("check", epilog=SOURCE_ENV_HELP)
@source_options
def command(source_url: str | None, app_table: str | None) -> None:
    """Check that the v1 source is reachable and matches the reference schema.

    A missing table or core column is an error (exit code 2, one line per problem); a missing
    optional column, an extra column or an absent optional table is printed as a note.
    """
    dsn = resolve_source_dsn(source_url)
    with connect(dsn, "source") as conn:
        conn.read_only = True
        report = introspect(conn, app_table or "users", app_table is not None)
    for note in report.notes:
        click.echo(f"note: {note}")
    raise_on_errors(report, lambda line: click.echo(line, err=True))
    tables = sum(1 for t in report.tables if t.present)
    click.echo(f"check: source {describe_dsn(dsn)} matches the contract "
               f"({tables} of {len(report.tables)} tables present, {len(report.notes)} notes)")

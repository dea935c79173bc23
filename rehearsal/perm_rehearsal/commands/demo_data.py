"""`perm-migrate demo-data`: fill a PostgreSQL database with synthetic v1 data (optionally dirty)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from loader.commands._source_options import source_url_option
from perm_rehearsal.demo_data import generate
from perm_rehearsal.demo_data.generator import VARIANTS
from loader.run_folder import write_private
from loader.source_config import describe_dsn, resolve_source_dsn


DEMO_ENV_HELP = (
    "\b\nEnvironment variables:\n"
    "  SUPABASE_DB_URL   DSN of the database to fill, used when --source-url is not given\n"
    "  PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD\n"
    "                    libpq variables, used when neither --source-url nor SUPABASE_DB_URL is set"
)


@click.command("demo-data", epilog=DEMO_ENV_HELP)
@source_url_option
@click.option("--users", "n_users", type=click.IntRange(min=1), default=50, show_default=True,
              help="Number of clean users (auth + app rows, settings, preferences).")
@click.option("--cases", "n_cases", type=click.IntRange(min=0), default=500, show_default=True,
              help="Number of clean cases, spread over every PERM stage.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed always produces identical rows.")
@click.option("--dirty", is_flag=True,
              help="Also inject rows covering every source-data DQ id of MAPPING_SPEC §4.3, "
                   "and write the injection report.")
@click.option("--app-table", default="users", show_default=True, metavar="NAME",
              help="Name of the app user table to create in schema public (`perm_users` is the known variant).")
@click.option("--variant", "variants", multiple=True, type=click.Choice(sorted(VARIANTS)),
              help="Schema variant of MAPPING_SPEC §1.7 (repeatable): " + "; ".join(
                  f"{name}: {text}" for name, (text, _, _) in sorted(VARIANTS.items()))
              + ". With --dirty, values only that variant can hold are injected too.")
@click.option("--replace", is_flag=True, help="Drop the reference tables first if they already exist.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("injected.json"), show_default=True,
              help="With --dirty: where to write the injection report (DQ id -> [{table, v1_id, field, "
                   "detail}]); a summary (row counts, RFI/RFE storage forms, method shapes, variants "
                   "that need a variant schema) goes next to it as <name>.summary.json.")
def command(source_url: str | None, n_users: int, n_cases: int, seed: int, dirty: bool, app_table: str,
            variants: tuple[str, ...], replace: bool, report_path: Path) -> None:
    """Create the reference v1 schema and generate realistic PERM data with bulk COPY.

    The target database (--source-url / SUPABASE_DB_URL / PG*) receives schemas auth and public;
    foreign keys and CHECKs are added NOT VALID after the load, as in the legacy database.
    """
    dsn = resolve_source_dsn(source_url)
    result = generate(dsn, n_users=n_users, n_cases=n_cases, seed=seed, dirty=dirty, app_table=app_table,
                      replace=replace, variants=variants, progress=lambda what, n: click.echo(f"  {n} {what} written", err=True))
    for table, rows in result.counts.items():
        click.echo(f"  {table:<24} {rows:>10} rows")
    if dirty:
        write_private(report_path, (json.dumps(result.injected, indent=2) + "\n").encode())
        summary = result.summary(seed, app_table, dirty, variants)
        summary_path = report_path.with_suffix(".summary.json")
        write_private(summary_path, (json.dumps(summary, indent=2) + "\n").encode())
        click.echo(f"  injected {sum(map(len, result.injected.values()))} problems under "
                   f"{len(result.injected)} DQ ids -> {report_path} (summary {summary_path})")
    click.echo(f"demo-data: seed {seed} written to {describe_dsn(dsn)}")

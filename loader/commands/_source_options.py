"""Click options shared by the commands that read the v1 source."""

from __future__ import annotations

import click

SOURCE_ENV_HELP = (
    "\b\nEnvironment variables:\n"
    "  SUPABASE_DB_URL   v1 source DSN (postgresql://user:password@host:port/db), used when\n"
    "                    --source-url is not given\n"
    "  PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD\n"
    "                    libpq variables, used when neither --source-url nor SUPABASE_DB_URL is set\n"
    "  PERM_RUNS_DIR     where run folders are created (default ./runs)"
)

source_url_option = click.option(
    "--source-url", metavar="DSN", default=None,
    help="v1 source PostgreSQL DSN. Precedence: this flag > SUPABASE_DB_URL > PG* variables. "
         "The password is never printed.",
)
app_table_option = click.option(
    "--v1-user-table", "app_table", metavar="NAME", default=None,
    help="Name of the app user table in schema public (default `users`; known variant `perm_users`). "
         "Setting it explicitly allows a source where public.users and public.perm_users both hold rows (DQ-10).",
)


def source_options(func):
    """`--source-url` and `--v1-user-table`."""
    return source_url_option(app_table_option(func))

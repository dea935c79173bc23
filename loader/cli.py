"""`perm-migrate`: a click group whose subcommands mirror the pipeline steps.

Each command lives in `loader/commands/<name>.py` (a thin wrapper of `loader.pipeline`) and is registered
below. Every step runs in a run folder (`runs/<run_id>/`) whose `state.json` records it.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from loader import __version__
from loader.errors import EXIT_USAGE, MigrationError
from loader.redact import redact

# Files hold personal data or secrets (warehouse, logs, dbt target, exports, backups, emulator state).
PRIVATE_UMASK = 0o077


class MigrationGroup(click.Group):
    """Turns expected failures into one redacted line and the documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MigrationError as exc:
            click.echo(f"error: {redact(exc.operator_message())}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            # `run` logs its own resume advice; a step command is idempotent and simply started again.
            hint = "" if ctx.invoked_subcommand in (None, "run") else "; run the same command again"
            click.echo(f"interrupted{hint}", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - last line of defence: never show a raw traceback
            if os.environ.get("PERM_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"error: unexpected {type(exc).__name__}: {redact(str(exc))} "
                "(set PERM_DEBUG=1 to see the traceback)",
                err=True,
            )
            sys.exit(EXIT_USAGE)


@click.group(cls=MigrationGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perm-migrate")
def main() -> None:
    """Migrate PERM Tracker v1 (Supabase) to v2 (Convex).

    \b
    Pipeline: check -> extract -> stage -> transform -> export -> backup -> import -> verify -> report
    `perm-migrate run` performs every step in one resumable run folder.

    \b
    Environment variables (flags win over environment, environment over defaults):
      SUPABASE_DB_URL               v1 source DSN (postgresql://...), or the PG* variables
      CONVEX_URL, CONVEX_DEPLOY_KEY target deployment (cloud)
      CONVEX_SELF_HOSTED_URL, CONVEX_SELF_HOSTED_ADMIN_KEY
                                    target deployment (self-hosted or the local emulator)
      PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
                                    Postgres warehouse (--warehouse postgres), or the source
      PERM_RUNS_DIR                 where run folders are created (default ./runs)
      PERM_MAPPING_DB               durable v1 -> Convex id mapping table
                                    (default <runs dir>/mapping.sqlite)
      PERM_CONVEX_TIMEOUT_S         seconds one Convex request may take (default 60)
      PERM_DUCKDB_MEMORY_LIMIT      DuckDB memory limit of stage, dbt and export (default 1GB)
      PERM_CASES_PER_PIECE          cases per piece of the wide case models (DuckDB; default 100000)
      PERM_DEBUG=1                  show tracebacks of unexpected errors

    Every file the tool creates is private (0600, folders 0700), whatever the umask.
    """
    os.umask(PRIVATE_UMASK)


# Subcommands: one module per pipeline step (registered in pipeline order).
from loader.commands import register_all  # noqa: E402

register_all(main)

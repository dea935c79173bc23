"""Click options shared by the commands that work on a run folder: which run, where runs live, reject limit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click


def run_id_option(help_text: str = "Run folder (an id under the runs dir, or a path). Default: the latest run."
                  ) -> Callable:
    return click.option("--run-id", default=None, metavar="RUN_ID", help=help_text)


runs_dir_option = click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                               help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
max_rejects_option = click.option(
    "--max-rejects", default=None, metavar="N|P%",
    help="Fail (exit 1) before any Convex write if rejected rows exceed N (a whole number), or P% "
         "(0 < P <= 100) of extracted rows.")
warehouse_url_option = click.option(
    "--warehouse-url", default=None, metavar="DSN",
    help="Postgres warehouse DSN for a run on the postgres warehouse (default: the PG* variables).")


def run_options(func: Callable) -> Callable:
    """`--run-id` (default: the latest run) and `--runs-dir`."""
    return run_id_option()(runs_dir_option(func))

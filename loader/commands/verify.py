"""`perm-migrate verify RUN_ID`: 100% read-back reconciliation of what a run wrote."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._target import run_target
from loader.convex.gateway import ConvexGateway
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder
from loader.verify import VERIFY_FILE, build_inputs, failure_summary, raise_if_failed, verify_run


@click.command("verify")
@click.argument("run_id")
@click.option("--url", default=None, help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
@click.option("--admin-key", default=None,
              help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or CONVEX_DEPLOY_KEY).")
@click.option("--warehouse-url", default=None, metavar="DSN",
              help="Postgres warehouse DSN for a run on the postgres warehouse (default: the PG* variables).")
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable mapping table (default: the one the run's import recorded).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
def command(run_id: str, url: str | None, admin_key: str | None, warehouse_url: str | None,
            mapping_db: Path | None, runs_dir: Path | None) -> None:
    """Read back every document RUN_ID wrote and compare it with the exported files.

    \b
    Checks documents field by field (through the mapping table), references, each case's
    legacyUserId group, conservation per source table, and that pre-run documents are unchanged.
    Writes runs/<run_id>/verify.json. Exit 1 on any mismatch (the first ones are printed).
    A demo run is verified against its own emulator (runs/<run_id>/emulator), started for it.
    """
    folder = RunFolder.open(run_id, runs_dir)
    with folder.locked(), run_target(folder, url, admin_key) as target, \
            MappingTable.for_run(folder, mapping_db) as mapping, ConvexGateway(target) as gateway:
        result = verify_run(build_inputs(folder, mapping, warehouse_dsn=warehouse_url), gateway)
    for line in failure_summary(result):
        click.echo(line, err=True)
    raise_if_failed(result)
    verified = sum(t.get("verified", 0) for t in result["tables"].values())
    click.echo(f"verification PASSED: {verified} documents, references, user groups, conservation "
               f"and pre-run documents checked ({folder.path(VERIFY_FILE)})")

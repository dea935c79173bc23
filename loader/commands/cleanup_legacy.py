"""`perm-migrate cleanup-legacy`: after sign-off, clear the legacy fields in batches of 100."""

from __future__ import annotations

import click

from loader.commands._target import target_options
from loader.commands.rollback import confirm_or_refuse
from loader.convex.gateway import ConvexGateway, resolve_target
from loader.errors import MigrationError
from loader.legacy_cleanup import BATCH, LEGACY_TABLES, clear_legacy_fields, remaining_legacy_fields


@click.command("cleanup-legacy")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@target_options
def command(yes: bool, url: str | None, admin_key: str | None) -> None:
    """Remove legacyId/legacyUserId/legacyAuthId from cases and userProfiles (after sign-off).

    \b
    Runs the companion module's internal mutation `migration:clearLegacyFields` page by page
    (100 documents per transaction) until done. Safe to re-run. The local mapping table keeps
    every v1 -> Convex id mapping, so nothing is lost.
    """
    target = resolve_target(url, admin_key)
    confirm_or_refuse(f"Clear the legacy fields of {', '.join(LEGACY_TABLES)} on {target.url}?", yes)
    with ConvexGateway(target) as gateway:
        for table in LEGACY_TABLES:
            total = gateway.table_size(table)
            with click.progressbar(length=total, label=f"cleanup {table}", file=click.get_text_stream("stderr"),
                                   show_pos=True, show_eta=True) as bar:
                cleared = clear_legacy_fields(gateway, table,
                                              on_page=lambda _page: bar.update(min(BATCH, total - bar.pos)))
            remaining = remaining_legacy_fields(gateway, table)
            click.echo(f"{table}: cleared legacy fields on {cleared} of {total} documents; {remaining} remaining")
            if remaining:
                raise MigrationError(f"{table}: {remaining} documents still carry legacy fields "
                                     "(written during the cleanup?); run cleanup-legacy again")

"""Click options shared by the commands that talk to the Convex target."""

from __future__ import annotations

from collections.abc import Callable

import click

url_option = click.option("--url", default=None,
                          help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
admin_key_option = click.option("--admin-key", default=None,
                                help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or "
                                     "CONVEX_DEPLOY_KEY). Never logged.")


def target_options(func: Callable) -> Callable:
    """`--url` and `--admin-key` (flags win over the environment)."""
    return url_option(admin_key_option(func))

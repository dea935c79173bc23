"""The Convex target of a command working on a run: flags or environment, or a demo run's own emulator."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import click

from loader.convex.gateway import ConvexTarget, resolve_target
from loader.errors import ConfigError
from loader.run_folder import RunFolder
from loader.run_state import STATE_FILE

DEMO_EMULATOR_DIR = "emulator"


def is_demo_run(folder: RunFolder) -> bool:
    try:
        return bool(json.loads(folder.path(STATE_FILE).read_text())["options"].get("demo"))
    except (FileNotFoundError, ValueError, KeyError):
        return False


@contextlib.contextmanager
def run_target(folder: RunFolder, url: str | None, admin_key: str | None) -> Iterator[ConvexTarget]:
    """`--url`/`--admin-key` or the environment; for a demo run without flags, its emulator.

    A demo run's target was an in-process emulator whose state is `runs/<id>/emulator`: it is
    started again here on that state for the duration of the command.
    """
    if url or admin_key or not is_demo_run(folder):
        yield resolve_target(url, admin_key)
        return
    from loader.rehearsal_rig import import_rig

    running_emulator = import_rig("perm_rehearsal.emulator", "verify/rollback of a demo run").running_emulator
    state_dir = folder.path(DEMO_EMULATOR_DIR)
    if not state_dir.is_dir():
        raise ConfigError(f"demo run {folder.run_id} has no emulator state ({state_dir}); it never reached the target")
    with running_emulator(state_dir) as emulator:
        click.echo(f"demo run: target is its emulator, started on {state_dir} at {emulator.url}", err=True)
        yield ConvexTarget(emulator.url, emulator.admin_key, source="the demo run's emulator")

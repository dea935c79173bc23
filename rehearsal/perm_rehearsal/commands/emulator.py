"""`perm-migrate emulator serve`: run the local Convex emulator in the foreground."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from loader.convex.schema import CONTRACT_PATH, SchemaError
from perm_rehearsal.emulator import EmulatorConfig, new_admin_key
from perm_rehearsal.emulator.faults import Faults, FaultRuleError
from loader.errors import ConfigError

KEY_FILE = "admin_key"


def _admin_key(state_dir: Path, given: str | None) -> tuple[str, str]:
    """The key to use and where it came from; a generated key is kept in `<state-dir>/admin_key` (mode 0600)."""
    if given:
        if ":" in given.split("|", 1)[-1] or "|" not in given:
            raise ConfigError("--admin-key must look like `<name>|<secret>` with no `:` after the prefix")
        return given, "the given key"
    key_path = state_dir / KEY_FILE
    if key_path.exists():
        return key_path.read_text().strip(), str(key_path)
    key = new_admin_key()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key, str(key_path)


def _pins(values: tuple[str, ...]) -> dict[str, int]:
    pins = {}
    for value in values:
        name, _, number = value.partition("=")
        if not name or not number.isdigit() or int(number) < 1:
            raise ConfigError(f"--pin-table expects <table>=<number>, got {value!r}")
        pins[name] = int(number)
    return pins


@click.group(name="emulator")
def command() -> None:
    """Local Convex emulator (CONVEX_HTTP §7) for rehearsals and tests."""


@command.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3210, show_default=True, type=int)
@click.option("--state-dir", default=".emulator", show_default=True, type=click.Path(path_type=Path),
              help="Durable state (SQLite, uploads, exports); survives restarts.")
@click.option("--admin-key", envvar="CONVEX_SELF_HOSTED_ADMIN_KEY", default=None,
              help="Admin key (env CONVEX_SELF_HOSTED_ADMIN_KEY). Default: generated once into <state-dir>/admin_key.")
@click.option("--schema", "schema_path", default=str(CONTRACT_PATH), show_default=True,
              type=click.Path(path_type=Path), help="Schema JSON (defineSchema().export() shape).")
@click.option("--no-schema", is_flag=True, help="Run without a schema (no validation, no pre-created tables).")
@click.option("--pin-table", multiple=True, metavar="TABLE=NUMBER", help="Pin a table number (repeatable).")
@click.option("--polls-per-state", default=0, show_default=True, type=int,
              help="Keep each import state visible for this many status polls.")
@click.option("--min-part-size", default=5 << 20, show_default=True, type=int, help="Minimum non-final upload part.")
@click.option("--noop-store", is_flag=True, help="Validate and count imported documents, store none (benchmarks).")
@click.option("--faults", "faults_file", type=click.Path(exists=True, path_type=Path),
              help="JSON list of fault rules (see rehearsal/perm_rehearsal/emulator/faults.py).")
def serve(host, port, state_dir, admin_key, schema_path, no_schema, pin_table, polls_per_state, min_part_size,
          noop_store, faults_file) -> None:
    """Serve the emulator until interrupted. The admin key is never printed."""
    from perm_rehearsal.emulator.server import create_app, emulator_lock
    from perm_rehearsal.emulator.state import EmulatorState

    with emulator_lock(state_dir):
        state_dir.chmod(0o700)  # its SQLite, uploads and exports hold personal data (files 0600: the CLI's umask)
        key, key_source = _admin_key(state_dir, admin_key)
        try:
            rules = json.loads(faults_file.read_text()) if faults_file else []
            faults = Faults(rules if isinstance(rules, list) else [rules])
        except (ValueError, FaultRuleError, TypeError) as exc:
            raise ConfigError(f"--faults {faults_file}: {exc}") from None
        config = EmulatorConfig(
            state_dir=state_dir, admin_key=key, schema_path=None if no_schema else schema_path,
            pinned_table_numbers=_pins(pin_table), noop_store=noop_store, polls_per_state=polls_per_state,
            min_part_size=min_part_size,
        )
        try:
            state = EmulatorState(config)
        except SchemaError as exc:
            raise ConfigError(str(exc)) from None
        from aiohttp import web

        click.echo(f"Convex emulator on http://{host}:{port} (state {state_dir}; admin key from {key_source})",
                   err=True)
        web.run_app(create_app(state, faults), host=host, port=port, access_log=None, print=None)

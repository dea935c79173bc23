"""CLI subcommands, one module per pipeline step. `register_all` adds them to the group."""

from __future__ import annotations

import importlib

import click

# Module name -> attribute holding the click command (or group). Pipeline order.
COMMANDS: list[tuple[str, str]] = [
    ("demo_data", "command"), ("check", "command"), ("extract", "command"), ("stage", "command"),
    ("transform", "command"),
    ("emulator", "command"),
    ("export", "command"),
    ("import_", "command"),
    ("verify", "command"), ("report", "command"), ("rollback", "command"), ("cleanup_legacy", "command"),
    ("status", "command"), ("run", "run_command"),
]


def register_all(group: click.Group) -> None:
    for module_name, attr in COMMANDS:
        module = importlib.import_module(f"loader.commands.{module_name}")
        group.add_command(getattr(module, attr))

"""The product's one door to the rehearsal rig (package `perm_rehearsal`, distribution
perm-migrate-rehearsal, directory `rehearsal/`): emulator, demo data, throwaway PostgreSQL.

A real migration never imports the rig; `run --demo`, `emulator` and `demo-data` import it when they
run, and say what to install when it is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import click

from loader.errors import ConfigError

INSTALL_COMMAND = "pip install -e ./rehearsal"


class RigMissing(ConfigError):
    """The rehearsal rig (or a dependency of it) is not installed."""

    def __init__(self, command: str, missing_module: str | None) -> None:
        super().__init__(
            f"`perm-migrate {command}` needs the rehearsal rig (emulator, demo data, throwaway PostgreSQL), "
            f"which is not installed (no module {missing_module!r}): run `{INSTALL_COMMAND}` in the "
            "perm-migrate checkout (`make venv` does)"
        )


def import_rig(module: str, command: str) -> ModuleType:
    """`module` of the rig; RigMissing when the rig or one of its dependencies is not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise RigMissing(command, exc.name) from None


class RigCommand(click.Command):
    """A rig command listed with its one-line help; its module is imported only when it runs."""

    def __init__(self, name: str, module: str, help_line: str) -> None:
        super().__init__(name, help=help_line)
        self.module = module

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """The context of the rig's own command (options, `--help`, subcommands all come from it)."""
        command = import_rig(self.module, self.name).command
        return command.make_context(info_name, args, parent=parent, **extra)

"""Local Convex emulator (CONVEX_HTTP §7): `Emulator(EmulatorConfig(state_dir=...))` or `perm-migrate emulator serve`."""

from perm_rehearsal.emulator.config import EmulatorConfig, new_admin_key
from perm_rehearsal.emulator.server import Emulator, create_app, running_emulator

__all__ = ["Emulator", "EmulatorConfig", "create_app", "new_admin_key", "running_emulator"]

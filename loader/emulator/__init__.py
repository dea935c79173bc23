"""Local Convex emulator (CONVEX_HTTP §7): `Emulator(EmulatorConfig(state_dir=...))` or `perm-migrate emulator serve`."""

from loader.emulator.config import EmulatorConfig, new_admin_key
from loader.emulator.server import Emulator, create_app, running_emulator

__all__ = ["Emulator", "EmulatorConfig", "create_app", "new_admin_key", "running_emulator"]

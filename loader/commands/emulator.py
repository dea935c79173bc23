"""`perm-migrate emulator serve`: the rehearsal rig's local Convex emulator (body in perm_rehearsal)."""

from loader.rehearsal_rig import RigCommand

command = RigCommand("emulator", "perm_rehearsal.commands.emulator",
                     "Local Convex emulator (CONVEX_HTTP §7) for rehearsals and tests.")
